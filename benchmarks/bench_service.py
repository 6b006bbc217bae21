# SPDX-License-Identifier: GPL-3.0-or-later
"""A beat's street-score layer at 32 concurrent clients: our service against pygeoapi's own
SQLite/GeoPackage provider serving the same rows, in the same run.

    .venv/bin/python benchmarks/bench_service.py [--households 20000] [--clients 32]
        [--requests 1500] [--seconds 60] [--worker-class gthread|sync] [--threads 8]
        [--json out.json]

Builds a demo force GeoPackage, starts ``lpt serve`` (gunicorn, 2 workers of
``--worker-class``) with API keys for one beat officer per beat (up to ``--clients``) and a
force analyst, exports the first officer's scored streets (the newest run, as the
``street_scores`` collection serves them, geometry in WGS84) to a plain GeoPackage and
serves it with ``pygeoapi.provider.sqlite.SQLiteGPKGProvider`` under the same gunicorn
settings. ``--clients`` threads issue GET requests (a new connection each, as a browser on
a phone would after idling; ``Accept-Encoding: gzip``, bodies decompressed) until
``--requests`` are done or ``--seconds`` pass. Runs, in this order, on our side: every
client a different beat (cold start), one beat warm, every request a different page (no
answer repeats), one cold request at a time; then pygeoapi's provider. Latencies are split
by our ``X-Cache`` header (HIT / MISS / WAIT). 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-officer-key-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url}:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _stats(times: list[float]) -> dict:
    if not times:
        return {"requests": 0}
    times = sorted(times)
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    return {"requests": len(times), "p50_ms": round(1000 * q[49], 1),
            "p95_ms": round(1000 * q[94], 1), "max_ms": round(1000 * times[-1], 1)}


def _load(base: str, plans: list[list[tuple[str, dict]]], total: int, seconds: float,
          warmup: bool = True) -> dict:
    """``len(plans)`` client threads; client i cycles through ``plans[i]`` (path, headers).

    Each request opens a new connection (as a phone after idling) and reads and, when the
    answer is gzip, decompresses the whole body. Latencies are also split by the server's
    ``X-Cache`` header (HIT, MISS = computed, WAIT = waited for another thread's MISS)."""
    def one(path: str, headers: dict) -> tuple[float, int, int, str]:
        t0 = time.perf_counter()
        req = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            body = r.read()
            if r.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            status, how = r.status, r.headers.get("X-Cache", "-")
        return time.perf_counter() - t0, status, len(body), how

    if warmup:
        for _ in range(20):  # warm-up: imports, connections, the first plan's key
            one(*plans[0][0])
    clients = len(plans)
    deadline = time.monotonic() + seconds
    times: list[float] = []
    by_cache: dict[str, list[float]] = {}
    errors = 0
    sizes: set[int] = set()

    def worker(i: int, n: int) -> None:
        nonlocal errors
        plan = plans[i]
        for j in range(n):
            if time.monotonic() > deadline:
                return
            try:
                dt, status, size, how = one(*plan[j % len(plan)])
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            times.append(dt)
            by_cache.setdefault(how, []).append(dt)
            sizes.add(size)

    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients), per))
    wall = time.perf_counter() - t0
    out = {**_stats(times), "errors": errors, "seconds": round(wall, 2),
           "rps": round(len(times) / wall, 1),
           "bytes": [min(sizes), max(sizes)] if sizes else []}
    if set(by_cache) != {"-"}:
        out["by_cache"] = {k: _stats(v) for k, v in sorted(by_cache.items())}
    return out


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--beat", default="beat:DM01B01")
    ap.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args(argv)

    import geopandas as gpd
    import yaml

    from geoservice.auth import hash_api_key
    from spatial_core import open_store
    from spatial_core.demo import build_demo

    work = Path(tempfile.mkdtemp(prefix="lpt-bench-service-"))
    store_path = work / "demo.gpkg"
    t = time.perf_counter()
    s = open_store(store_path)
    build_demo(s, work / "files", households=args.households, months=3)
    s.close()
    build_s = time.perf_counter() - t
    s = open_store(store_path, create=False)
    areas = s.read("areas", ["area_id", "level"])
    s.close()
    beats = sorted(areas.loc[areas["level"] == "beat", "area_id"])
    others = [b for b in beats if b != args.beat][:args.clients - 1]
    client_beats = [args.beat, *others]
    keys = [{"name": "officer", "sha256": hash_api_key(KEY), "role": "beat_officer",
             "areas": [args.beat], "purpose": "benchmark"},
            {"name": "analyst", "sha256": hash_api_key(KEY + "-analyst"),
             "role": "force_analyst", "purpose": "benchmark"}]
    keys += [{"name": f"officer-{i}", "sha256": hash_api_key(f"{KEY}-{i}"),
              "role": "beat_officer", "areas": [b], "purpose": "benchmark"}
             for i, b in enumerate(others)]
    (work / "service.yml").write_text(yaml.safe_dump({
        "store": str(store_path), "auth": {"api_keys": keys},
        "audit": {"path": str(work / "audit.jsonl")}}))
    procs: list[subprocess.Popen] = []
    try:
        port = _port()
        log = work / "lpt.log"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "spatial_core.cli", "serve", "--config",
             str(work / "service.yml"), "--port", str(port), "--workers",
             str(args.workers), "--worker-class", args.worker_class,
             "--threads", str(args.threads)],
            cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True))
        ours = f"http://127.0.0.1:{port}"
        _wait(ours + "/health", procs[-1], log)

        # The same rows in a plain GeoPackage (WGS84), for pygeoapi's own provider.
        with urllib.request.urlopen(urllib.request.Request(
                ours + "/collections/street_scores/items?f=json&limit=10000",
                headers={"X-API-Key": KEY}), timeout=60) as r:
            fc = json.loads(r.read())
        frame = gpd.GeoDataFrame.from_features(fc["features"], crs=4326)
        frame["components"] = frame["components"].map(json.dumps)
        gpkg = work / "beat_scores.gpkg"
        frame.to_file(gpkg, layer="street_scores", driver="GPKG")
        n_streets = len(frame)

        pport = _port()
        pg = {
            "server": {"bind": {"host": "127.0.0.1", "port": pport},
                       "url": f"http://127.0.0.1:{pport}", "mimetype": "application/json",
                       "encoding": "utf-8", "languages": ["en-GB"], "pretty_print": False,
                       "limits": {"default_items": 100, "max_items": 10000},
                       "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                               "attribution": "OSM"}},
            "logging": {"level": "ERROR"},
            "metadata": {"identification": {"title": "bench", "description": "bench",
                                            "keywords": ["x"], "keywords_type": "theme",
                                            "terms_of_service": "x", "url": "http://x"},
                         "license": {"name": "x", "url": "http://x"},
                         "provider": {"name": "x", "url": "http://x"},
                         "contact": {"name": "x", "position": "x", "email": "x@x.invalid",
                                     "role": "pointOfContact"}},
            "resources": {"street_scores": {
                "type": "collection", "title": "scores", "description": "scores",
                "keywords": ["x"], "links": [],
                "extents": {"spatial": {"bbox": [-8, 49, 2, 61],
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [{"type": "feature", "name": "SQLiteGPKG", "data": str(gpkg),
                               "id_field": "street_id", "table": "street_scores"}]}},
        }
        (work / "pygeoapi.yml").write_text(yaml.safe_dump(pg))
        from pygeoapi.openapi import get_oas

        (work / "openapi.json").write_text(json.dumps(get_oas(pg)))
        plog = work / "pygeoapi.log"
        env = dict(os.environ, PYGEOAPI_CONFIG=str(work / "pygeoapi.yml"),
                   PYGEOAPI_OPENAPI=str(work / "openapi.json"))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{pport}", "--workers",
             str(args.workers), "--worker-class", args.worker_class,
             *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
             "--preload", "pygeoapi.flask_app:APP"], cwd=work, env=env,
            stdout=open(plog, "wb"), stderr=subprocess.STDOUT, start_new_session=True))
        theirs = f"http://127.0.0.1:{pport}"
        _wait(theirs + "/collections/street_scores/items?f=json&limit=1", procs[-1], plog)

        path = "/collections/street_scores/items?f=json&limit=1000"
        gz = {"Accept-Encoding": "gzip"}  # what a browser sends
        officer = {"X-API-Key": KEY, **gz}
        analyst = {"X-API-Key": KEY + "-analyst", **gz}
        n = args.clients
        results: dict = {}
        loads: dict = {}

        def run(name: str, base: str, plans, total: int, warmup: bool = True) -> None:
            loads[name] = {"before": _loadavg()}
            results[name] = _load(base, plans, total, args.seconds, warmup=warmup)
            loads[name]["after"] = _loadavg()

        # 1. every client a different beat officer and beat, cold at the start (no warm-up):
        #    first request per key is a MISS (or a WAIT behind another thread's MISS).
        #    With fewer beats than clients, clients of one beat ask for different pages
        #    (offset 0, 1, 2 ...), so every client has a key of its own.
        nb = len(client_beats)
        run("lpt_distinct_keys", ours,
            [[(f"{path}&offset={i // nb}",
               {"X-API-Key": KEY if i % nb == 0 else f"{KEY}-{i % nb - 1}", **gz})]
             for i in range(n)], args.requests, warmup=False)
        # 2. one beat, one key, warm: the figure the 50 ms target is about.
        run("lpt_one_beat_warm", ours, [[(path, officer)]] * n, args.requests)
        # 3. nothing repeats: a force analyst pages through the force, every request a
        #    different page (offset) -> every request computed (cache miss + store).
        page = "/collections/street_scores/items?f=json&limit=175&offset={}"
        run("lpt_every_request_new_page", ours,
            [[(page.format(i + n * j), analyst) for j in range(1000)]
             for i in range(n)], min(args.requests, 600), warmup=False)
        # 4. cold, one request at a time (no queue): the cost of computing one answer.
        run("lpt_cold_sequential", ours,
            [[(page.format(j) + "&sortby=-score", analyst)
              for j in range(30)]], 30, warmup=False)
        # 5. pygeoapi's own provider on the same rows (it does not gzip).
        run("pygeoapi_sqlite_gpkg", theirs, [[(path, gz)]] * n, args.requests)
    finally:
        for p in procs:
            _stop(p)
    warm = results["lpt_one_beat_warm"]
    out = {"households": args.households, "beat": args.beat, "streets_in_beat": n_streets,
           "beats_in_force": len(beats), "clients": args.clients,
           "build_s": round(build_s, 1), "cpus": os.cpu_count(), "workers": args.workers,
           "worker_class": args.worker_class,
           "threads": args.threads if args.worker_class == "gthread" else 1,
           "path": path, "results": results, "loadavg": loads, "target_p95_ms": 50,
           "meets_target_one_beat_warm": warm.get("p95_ms", 1e9) < 50}
    text = json.dumps(out, indent=2)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
