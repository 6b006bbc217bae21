# SPDX-License-Identifier: GPL-3.0-or-later
"""A force-wide street-score view as vector tiles against the GeoJSON of the same features,
in the same run: bytes on the wire and time, cold and cached.

    .venv/bin/python benchmarks/bench_tiles.py [--households 20000] [--zooms 12,13,14]
        [--parallel 6] [--json out.json]

Builds a demo force GeoPackage, starts ``lpt serve`` (gunicorn, 1 worker × 8 threads, so
that "cached" means this worker's response cache) with a force analyst's API key, and reads
the ``street_scores`` layer for the whole force:

- **tiles**: every WebMercatorQuad tile covering the force's streets at each zoom of
  ``--zooms``, fetched over ``--parallel`` connections at once (a browser or phone map opens
  about six per host), ``Accept-Encoding: gzip``;
- **GeoJSON**: ``/collections/street_scores/items?f=json&limit=10000`` (every property, as a
  client reads the layer today) and the same with ``properties=`` the tiles' compact set.

Each is read twice: *cold* (the service's response cache has never seen the URL; the score
frame is computed once before, by a warm-up request, for both), then *cached*. Bytes are the
gzip bodies (what crosses the network) and the identity bodies. Time is the wall time of the
whole view as the client sees it. 127.0.0.1 only; the machine is shared, so the figures are
of one run, both methods side by side.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-tiles-analyst-key-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, int, str]:
    """(gzip bytes, identity bytes, X-Cache) of one GET."""
    req = urllib.request.Request(url, headers={"X-API-Key": KEY, "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
        gz = r.headers.get("Content-Encoding") == "gzip"
        return len(body), len(gzip.decompress(body)) if gz else len(body), \
            r.headers.get("X-Cache", "")


def _tiles(bounds, z: int) -> list[tuple[int, int, int]]:
    from spatial_core.geo.crs import bng_to_lnglat

    lng, lat = bng_to_lnglat([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    n = 1 << z

    def xy(lo: float, la: float) -> tuple[int, int]:
        return (int((lo + 180) / 360 * n),
                int((1 - math.asinh(math.tan(math.radians(la))) / math.pi) / 2 * n))

    x0, y0 = xy(lng[0], lat[1])
    x1, y1 = xy(lng[1], lat[0])
    return [(z, y, x) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def _view(urls: list[str], parallel: int) -> dict:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        got = list(pool.map(_get, urls))
    ms = 1000 * (time.perf_counter() - t0)
    return {"requests": len(urls), "ms": round(ms, 1),
            "gzip_bytes": sum(g for g, _, _ in got),
            "bytes": sum(b for _, b, _ in got),
            "cache": sorted({c for _, _, c in got})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--zooms", default="12,13,14")
    ap.add_argument("--parallel", type=int, default=6)
    ap.add_argument("--json")
    a = ap.parse_args(argv)

    from geoservice.auth import hash_api_key
    from geoservice.config import TILES
    from spatial_core import open_store
    from spatial_core.demo import build_demo

    work = Path(tempfile.mkdtemp(prefix="lpt-bench-tiles-"))
    s = open_store(work / "demo.gpkg")
    build_demo(s, work / "files", households=a.households, months=3)
    streets = s.read("streets", ["street_id", "geom"])
    bounds = streets.total_bounds
    s.close()
    (work / "service.yml").write_text(f"""
store: demo.gpkg
auth:
  api_keys:
    - name: analyst
      sha256: {hash_api_key(KEY)}
      role: force_analyst
audit:
  path: audit.jsonl
""")
    port = _port()
    log = open(work / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "lpt_cli.main", "serve", "--config",
                             str(work / "service.yml"), "--port", str(port), "--workers", "1"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    out: dict = {"households": a.households, "streets": len(streets), "runs": []}
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError((work / "serve.log").read_text()[-3000:])
            try:
                urllib.request.urlopen(base + "/health", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        _get(base + "/collections/street_scores/items?f=json&limit=1")  # the score frame
        t0 = time.perf_counter()  # a tile far from the force: projects the frame once
        _get(base + "/collections/street_scores/tiles/WebMercatorQuad/12/0/0?f=mvt")
        out["first_tile_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        compact = ",".join(TILES["street_scores"]["properties"])
        cases = [(f"GeoJSON, every property ({len(streets)} features)",
                  [base + "/collections/street_scores/items?f=json&limit=10000"]),
                 ("GeoJSON, the tiles' compact properties",
                  [base + "/collections/street_scores/items?f=json&limit=10000"
                   f"&properties={compact}"])]
        for z in (int(v) for v in a.zooms.split(",")):
            ts = _tiles(bounds, z)
            cases.append((f"tiles z{z} ({len(ts)} tiles)",
                          [f"{base}/collections/street_scores/tiles/WebMercatorQuad/"
                           f"{t[0]}/{t[1]}/{t[2]}?f=mvt" for t in ts]))
        # a phone screen (390 x 844 CSS px, 256 px tiles) at z15 on the force's centre: the
        # 2 x 4 tiles it needs, against the GeoJSON of the same box (bbox=)
        z = 15
        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        (_, y0, x0), = _tiles((cx, cy, cx, cy), z)
        phone = [(z, y, x) for y in range(y0 - 2, y0 + 2) for x in range(x0 - 1, x0 + 1)]
        from spatial_core.geo.crs import transform_xy

        half = 20037508.342789244
        size = 2 * half / (1 << z)
        mx = [-half + (x0 - 1) * size, -half + (x0 + 1) * size]
        my = [half - (y0 + 2) * size, half - (y0 - 2) * size]
        lng, lat = transform_xy(mx, my, 3857, 4326)
        bbox = f"{lng[0]:.6f},{lat[0]:.6f},{lng[1]:.6f},{lat[1]:.6f}"
        cases += [("phone screen z15: GeoJSON of its box, every property",
                   [base + f"/collections/street_scores/items?f=json&limit=10000&bbox={bbox}"]),
                  ("phone screen z15: tiles (8)",
                   [f"{base}/collections/street_scores/tiles/WebMercatorQuad/"
                    f"{t[0]}/{t[1]}/{t[2]}?f=mvt" for t in phone])]
        for name, urls in cases:
            cold = _view(urls, a.parallel)
            cached = _view(urls, a.parallel)
            out["runs"].append({"name": name, "cold": cold, "cached": cached})
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it had exited: its log says why
        log.close()
    print(f"street_scores, whole force: {out['streets']} streets "
          f"({a.households} households), force analyst, {a.parallel} connections\n")
    print(f"first tile after start (projects the score frame to EPSG:3857 once): "
          f"{out['first_tile_ms']} ms\n")
    print("| view | requests | gzip kB | kB | cold ms | cached ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in out["runs"]:
        c, h = r["cold"], r["cached"]
        print(f"| {r['name']} | {c['requests']} | {c['gzip_bytes'] / 1000:,.1f} | "
              f"{c['bytes'] / 1000:,.1f} | {c['ms']:,.0f} | {h['ms']:,.0f} |")
        assert h["cache"] == ["HIT"], r  # the second pass really came from the cache
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
