# SPDX-License-Identifier: GPL-3.0-or-later
"""A beat's street-score layer at 32 concurrent clients: our service against pygeoapi's own
SQLite/GeoPackage provider serving the same rows, in the same run.

    .venv/bin/python benchmarks/bench_service.py [--households 20000] [--clients 32]
        [--requests 1500] [--seconds 60] [--json out.json]

Builds a demo force GeoPackage, starts ``lpt serve`` (gunicorn, 2 sync workers) with a
beat officer's API key, exports that beat's scored streets (the newest run, as the
``street_scores`` collection serves them, geometry in WGS84) to a plain GeoPackage and
serves it with ``pygeoapi.provider.sqlite.SQLiteGPKGProvider`` under the same gunicorn
settings. Each side gets a warm-up, then ``--clients`` threads issue GET requests (a new
connection each, as a browser on a phone would after idling) until ``--requests`` are done
or ``--seconds`` pass. 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
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


def _load(url: str, headers: dict, clients: int, total: int, seconds: float) -> dict:
    def one() -> tuple[float, int, int]:
        t0 = time.perf_counter()
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            status = r.status
        return time.perf_counter() - t0, status, len(body)

    for _ in range(20):  # warm-up: caches, imports, connections
        one()
    deadline = time.monotonic() + seconds
    times: list[float] = []
    errors = 0
    sizes: set[int] = set()

    def worker(n: int) -> None:
        nonlocal errors
        for _ in range(n):
            if time.monotonic() > deadline:
                return
            try:
                dt, status, size = one()
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            times.append(dt)
            sizes.add(size)

    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, per))
    wall = time.perf_counter() - t0
    times.sort()
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    return {"requests": len(times), "errors": errors, "seconds": round(wall, 2),
            "rps": round(len(times) / wall, 1), "p50_ms": round(1000 * q[49], 1),
            "p95_ms": round(1000 * q[94], 1), "max_ms": round(1000 * times[-1], 1),
            "bytes": sorted(sizes)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--beat", default="beat:DM01B01")
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
    (work / "service.yml").write_text(yaml.safe_dump({
        "store": str(store_path),
        "auth": {"api_keys": [{"name": "officer", "sha256": hash_api_key(KEY),
                               "role": "beat_officer", "areas": [args.beat],
                               "purpose": "benchmark"}]},
        "audit": {"path": str(work / "audit.jsonl")}}))
    procs: list[subprocess.Popen] = []
    try:
        port = _port()
        log = work / "lpt.log"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "spatial_core.cli", "serve", "--config",
             str(work / "service.yml"), "--port", str(port), "--workers", "2"],
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
             "2", "--preload", "pygeoapi.flask_app:APP"], cwd=work, env=env,
            stdout=open(plog, "wb"), stderr=subprocess.STDOUT, start_new_session=True))
        theirs = f"http://127.0.0.1:{pport}"
        _wait(theirs + "/collections/street_scores/items?f=json&limit=1", procs[-1], plog)

        path = "/collections/street_scores/items?f=json&limit=1000"
        results = {
            "lpt_street_scores": _load(ours + path, {"X-API-Key": KEY}, args.clients,
                                       args.requests, args.seconds),
            "pygeoapi_sqlite_gpkg": _load(theirs + path, {}, args.clients, args.requests,
                                          args.seconds),
        }
    finally:
        for p in procs:
            _stop(p)
    out = {"households": args.households, "beat": args.beat, "streets_in_beat": n_streets,
           "clients": args.clients, "build_s": round(build_s, 1), "cpus": os.cpu_count(),
           "workers": 2, "path": path, "results": results,
           "target_p95_ms": 50, "meets_target": results["lpt_street_scores"]["p95_ms"] < 50}
    text = json.dumps(out, indent=2)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
