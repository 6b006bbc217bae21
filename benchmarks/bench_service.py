# SPDX-License-Identifier: GPL-3.0-or-later
"""A beat's street-score layer at 32 concurrent clients: our service against pygeoapi's own
SQLite/GeoPackage provider serving the same rows, in the same run.

    .venv/bin/python benchmarks/bench_service.py [--households 20000] [--clients 32]
        [--seconds 15] [--client wrk|python] [--worker-class gthread|sync] [--threads 8]
        [--only RUN,RUN] [--json out.json]

Builds a demo force GeoPackage, starts ``lpt serve`` (gunicorn, 2 workers of
``--worker-class``) with API keys for one beat officer per beat (up to ``--clients``) and a
force analyst, exports the first officer's scored streets (the newest run, as the
``street_scores`` collection serves them, geometry in WGS84) to a plain GeoPackage and
serves it with ``pygeoapi.provider.sqlite.SQLiteGPKGProvider`` (gunicorn, 2 ``sync``
workers: that provider shares one SQLite connection between threads and fails under
``gthread``).

The load generator is ``wrk`` (Debian package; ``--client wrk``, the default when it is
installed): ``--clients`` connections over two wrk threads for ``--seconds`` a run, each
request with ``Accept-Encoding: gzip`` and, unless the run says keep-alive, ``Connection:
close`` (a new connection for every request, as a phone opening the layer after idling).
wrk costs ~0.1 ms of CPU a request; the Python client of earlier runs (``--client python``:
urllib, a thread a client, bodies decompressed) costs ~1.5 ms, as much as the server, on
the same two cores, so it measured itself as much as the service. wrk corrects its
percentiles for coordinated omission (a stall counts for the requests that would have been
sent during it), which is why a cold start shows in p95. Server and client CPU per request
are read from ``/proc`` (the server's process group) and ``getrusage``.

Runs, in this order (``--only`` picks some): every collection's first page cold, one
request each right after the service started (``cold_first_pages``, target < 500 ms); 32
officers of different beats from cold, the same once cached, one beat warm (new connections;
keep-alive; the Python client; while visits are recorded, and the same emptying the cache
after each visit as the baseline), every request a different page (nothing repeats; target
p95 < 200 ms), one request at a time from cold, pygeoapi's
provider. Requests are counted by our ``X-Cache`` header (HIT / MISS / WAIT). 127.0.0.1
only.
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
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


# -- wrk: the load generator (C, event loop; ~0.05 ms of CPU a request) --------------------
_WRK_LUA = r"""
local reqs = {}
local plan = %(plan)s
local counter, step = 0, 1
statuses, caches = {}, {}  -- globals: done() reads them with thread:get
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  for i, p in ipairs(plan) do
    reqs[i] = wrk.format("GET", p[1], p[2])
  end
  counter = tid
  step = %(threads)d
end

function request()
  local r = reqs[(counter %% #reqs) + 1]
  counter = counter + step
  return r
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local how = headers["X-Cache"] or "-"
  caches[how] = (caches[how] or 0) + 1
end

local function merge(into, name, t)
  for k, v in pairs(t) do into[k] = (into[k] or 0) + v end
end

function done(summary, latency, requests)
  local st, ca = {}, {}
  for _, t in ipairs(threads) do
    merge(st, "s", t:get("statuses"))
    merge(ca, "c", t:get("caches"))
  end
  local parts = {}
  for k, v in pairs(st) do table.insert(parts, string.format('"%%s":%%d', k, v)) end
  local cparts = {}
  for k, v in pairs(ca) do table.insert(cparts, string.format('"%%s":%%d', k, v)) end
  local e = summary.errors
  local f = io.open("%(out)s", "w")
  f:write(string.format('{"requests":%%d,"duration_us":%%d,"bytes":%%d,' ..
    '"p50_ms":%%.2f,"p95_ms":%%.2f,"p99_ms":%%.2f,"max_ms":%%.2f,' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
    '"statuses":{%%s},"x_cache":{%%s}}',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), table.concat(cparts, ",")))
  f:close()
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid Lua string literal for ASCII text


def _server_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in the group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _load_wrk(base: str, plans: list[list[tuple[str, dict]]], seconds: float,
              connections: int, *, keepalive: bool, server_pgid: int | None,
              warmup: bool = True, threads: int = 2) -> dict:
    """``connections`` connections over ``threads`` wrk threads for ``seconds``.

    The requests of all ``plans`` are interleaved into one list each wrk thread walks
    through (thread t takes t, t + threads, …), so distinct plans stay distinct. Without
    ``keepalive`` every request carries ``Connection: close`` and wrk opens a new
    connection for the next one (a phone after idling). wrk does not decompress: the
    body is read as sent (gzip when the server compressed it)."""
    flat: list[tuple[str, dict]] = []
    longest = max(len(p) for p in plans)
    for j in range(longest):
        for p in plans:
            if j < len(p):
                flat.append(p[j])
    plan_lua = "{" + ",".join(
        "{" + _lua_str(path) + ",{" + ",".join(
            f"[{_lua_str(k)}]={_lua_str(v)}" for k, v in
            {**h, **({} if keepalive else {"Connection": "close"})}.items()) + "}}"
        for path, h in flat) + "}"
    with tempfile.TemporaryDirectory(prefix="lpt-wrk-") as tmp:
        out = Path(tmp) / "out.json"
        script = Path(tmp) / "load.lua"
        threads = min(threads, connections)
        script.write_text(_WRK_LUA % {"plan": plan_lua, "threads": threads, "out": out})
        if warmup:
            for path, h in flat[:20]:
                urllib.request.urlopen(urllib.request.Request(base + path, headers=h),
                                       timeout=60).read()
        cpu0 = _server_cpu_s(server_pgid) if server_pgid else None
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d",
                               f"{max(1, round(seconds))}s", "--timeout", "30s", "-s",
                               str(script), base], capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu1 = _server_cpu_s(server_pgid) if server_pgid else None
        r = json.loads(out.read_text())
    n = r["requests"]
    wall = r["duration_us"] / 1e6
    res = {"requests": n, "p50_ms": round(r["p50_ms"], 1), "p95_ms": round(r["p95_ms"], 1),
           "p99_ms": round(r["p99_ms"], 1), "max_ms": round(r["max_ms"], 1),
           "errors": sum(r["errors"].values()) + sum(
               v for k, v in r["statuses"].items() if k != "200"),
           "seconds": round(wall, 2), "rps": round(n / wall, 1),
           "bytes_per_request": round(r["bytes"] / max(n, 1)),
           "statuses": r["statuses"], "connections": connections,
           "keepalive": keepalive, "client": "wrk"}
    if set(r["x_cache"]) != {"-"}:
        res["x_cache"] = r["x_cache"]
    client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    res["client_cpu_ms_per_request"] = round(1000 * client_cpu / max(n, 1), 3)
    if cpu0 is not None:
        res["server_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / max(n, 1), 3)
    return res


_VISIT_NUMBERS = itertools.count(1)


class _VisitPoster:
    """Records door-knock visits through the service (OGC API Features create) at ``rate``
    a second in a background thread while a load runs, as officers in the field do.
    ``invalidate``: after each visit, also bump the store's data version, as the service
    did before visits stopped bumping it (every worker's response cache then empties)."""

    def __init__(self, base: str, key: str, uprns: list[str], rate: float, store_path: Path,
                 invalidate: bool) -> None:
        import threading

        self.base, self.key, self.uprns, self.rate = base, key, uprns, rate
        self.store_path, self.invalidate = store_path, invalidate
        self.sent = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _VisitPoster:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        from spatial_core import open_store
        from spatial_core.store.data_version import bump_data_version

        store = open_store(self.store_path, create=False) if self.invalidate else None
        try:
            while not self._stop.wait(1.0 / self.rate):
                n = next(_VISIT_NUMBERS)  # every visit distinct across runs
                feature = {"type": "Feature", "geometry": None, "properties": {
                    "uprn": self.uprns[n % len(self.uprns)], "outcome": "not_in",
                    "visited_at": f"2026-10-{1 + n % 28:02d}T{8 + n % 12:02d}:{n % 60:02d}:00",
                    "notes": f"benchmark visit {n}"}}
                req = urllib.request.Request(
                    self.base + "/collections/visits/items", method="POST",
                    data=json.dumps(feature).encode(),
                    headers={"X-API-Key": self.key, "Content-Type": "application/geo+json",
                             "X-Purpose": "benchmark"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        ok = r.status == 201
                except OSError:
                    ok = False
                if not ok:
                    self.failed += 1
                    continue
                self.sent += 1
                if store is not None:
                    bump_data_version(store)
        finally:
            if store is not None:
                store.close()


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--beat", default="beat:DM01B01")
    ap.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--pygeoapi-worker-class", default="sync", choices=("gthread", "sync"),
                    help="pygeoapi's server (default sync: its SQLite provider shares one "
                         "connection between threads and answers 500s under gthread)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--client", choices=("wrk", "python"),
                    default="wrk" if shutil.which("wrk") else "python",
                    help="load generator (default wrk when installed)")
    ap.add_argument("--visits-per-second", type=float, default=5.0,
                    help="visits recorded during the 'with visits' runs")
    ap.add_argument("--only", default="",
                    help="comma-separated run names to run (default all)")
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
    n_force_streets = len(s.read("streets", ["street_id"]))
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
            [sys.executable, "-m", "lpt_cli.main", "serve", "--config",
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
             str(args.workers), "--worker-class", args.pygeoapi_worker_class,
             *(["--threads", str(args.threads)]
               if args.pygeoapi_worker_class == "gthread" else []),
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

        def run(name: str, base: str, plans, total: int, warmup: bool = True, *,
                keepalive: bool = False, client: str = args.client,
                connections: int | None = None) -> None:
            if args.only and name not in args.only.split(","):
                return
            loads[name] = {"before": _loadavg()}
            pgid = procs[0].pid if base == ours else procs[1].pid
            if client == "wrk":
                results[name] = _load_wrk(base, plans, args.seconds, connections or len(plans),
                                          keepalive=keepalive, server_pgid=pgid,
                                          warmup=warmup)
            else:
                results[name] = {**_load(base, plans, total, args.seconds, warmup=warmup),
                                 "client": "python", "keepalive": False}
            loads[name]["after"] = _loadavg()

        # 0. every collection's first page, cold: the first request of each after the
        #    service started (one at a time, the force analyst; issue 13's target < 500 ms).
        if not args.only or "cold_first_pages" in args.only.split(","):
            cold = {}
            with urllib.request.urlopen(ours + "/collections?f=json", timeout=60) as resp:
                cids = [c["id"] for c in json.load(resp)["collections"]]
            for cid in cids:
                req = urllib.request.Request(
                    f"{ours}/collections/{cid}/items?f=json&limit=100",
                    headers={**analyst, "X-Purpose": "benchmark"})
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=120) as resp:
                        resp.read()
                        status = resp.status
                except urllib.error.HTTPError as err:
                    status = err.code
                cold[cid] = {"ms": round(1000 * (time.perf_counter() - started), 1),
                             "status": status}
            results["cold_first_pages"] = cold
        # 1. every client a different beat officer and beat, cold at the start (no warm-up):
        #    first request per key is a MISS (or a WAIT behind another thread's MISS).
        #    With fewer beats than clients, clients of one beat ask for different pages
        #    (offset 0, 1, 2 ...), so every client has a key of its own.
        nb = len(client_beats)
        distinct = [[(f"{path}&offset={i // nb}",
                      {"X-API-Key": KEY if i % nb == 0 else f"{KEY}-{i % nb - 1}", **gz})]
                    for i in range(n)]
        run("lpt_distinct_keys", ours, distinct, args.requests, warmup=False)
        # 1b. the same 32 officers once their layers are cached (steady state).
        run("lpt_distinct_keys_warm", ours, distinct, args.requests, warmup=False)
        # 2. one beat, one key, warm, a new connection for every request: the figure the
        #    50 ms target is about (a phone opening the layer after idling).
        run("lpt_one_beat_warm", ours, [[(path, officer)]] * n, args.requests)
        # 3. the same over keep-alive connections (a page already open).
        if args.client == "wrk":
            run("lpt_one_beat_warm_keepalive", ours, [[(path, officer)]] * n, args.requests,
                keepalive=True)
            # 3b. the same as 2 with the Python client of earlier runs (urllib, a thread per
            #     client, decompressing): how much of the latency is the load generator's.
            run("lpt_one_beat_warm_python_client", ours, [[(path, officer)]] * n,
                args.requests, client="python")
        # 3c. the warm beat while officers record visits (--visits-per-second through the
        #     service), then the same with the cache emptied after every visit (what the
        #     service did before a visit stopped bumping the data version): the baseline.
        if args.client == "wrk":
            s = open_store(store_path, create=False)
            uprns = sorted(s.read("addresses", ["uprn", "beat_id"]).query(
                "beat_id == @args.beat")["uprn"])[:500]
            s.close()
            for name, invalidate in (("lpt_one_beat_warm_with_visits", False),
                                     ("lpt_one_beat_warm_with_visits_invalidating", True)):
                if args.only and name not in args.only.split(","):
                    continue
                with _VisitPoster(ours, KEY, uprns, args.visits_per_second, store_path,
                                  invalidate) as poster:
                    run(name, ours, [[(path, officer)]] * n, args.requests)
                results[name]["visits_recorded"] = poster.sent
                results[name]["visit_errors"] = poster.failed
        # 4. nothing repeats: a force analyst pages through the force, every request a
        #    different page (offset) -> every request computed (cache miss + store).
        #    (offset k mod the force's streets, limit 175 + k div it: every key distinct).
        def page(k: int) -> str:
            return (f"/collections/street_scores/items?f=json&limit={175 + k // n_force_streets}"
                    f"&offset={k % n_force_streets}")

        run("lpt_every_request_new_page", ours,
            [[(page(i + n * j), analyst) for j in range(300)] for i in range(n)],
            min(args.requests, 600), warmup=False)
        # 5. cold, one request at a time (no queue): the cost of computing one answer.
        run("lpt_cold_sequential", ours,
            [[(page(j) + "&sortby=-score", analyst) for j in range(2000)]], 30,
            warmup=False)
        # 6. pygeoapi's own provider on the same rows (it does not gzip), as 2.
        run("pygeoapi_sqlite_gpkg", theirs, [[(path, gz)]] * n, args.requests)
    finally:
        for p in procs:
            _stop(p)
    warm = results.get("lpt_one_beat_warm", {})
    cold_pages = results.get("cold_first_pages", {})
    new_pages = results.get("lpt_every_request_new_page", {})
    out = {"households": args.households, "beat": args.beat, "streets_in_beat": n_streets,
           "beats_in_force": len(beats), "clients": args.clients,
           "build_s": round(build_s, 1), "cpus": os.cpu_count(), "workers": args.workers,
           "worker_class": args.worker_class, "client": args.client,
           "pygeoapi_worker_class": args.pygeoapi_worker_class,
           "seconds_per_run": args.seconds,
           "threads": args.threads if args.worker_class == "gthread" else 1,
           "path": path, "results": results, "loadavg": loads, "target_p95_ms": 50,
           "meets_target_one_beat_warm": warm.get("p95_ms", 1e9) < 50,
           "target_cold_first_page_ms": 500,
           "meets_target_cold_first_page": bool(cold_pages) and max(
               v["ms"] for v in cold_pages.values()) < 500,
           "target_new_pages_p95_ms": 200,
           "meets_target_new_pages": new_pages.get("p95_ms", 1e9) < 200}
    text = json.dumps(out, indent=2)
    if args.json_path:
        Path(args.json_path).write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
