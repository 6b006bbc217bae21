# SPDX-License-Identifier: GPL-3.0-or-later
"""The synthetic nation: N demo forces, each in its own store, sized from real force counts.

Each force is the ordinary demo force (:func:`spatial_core.demo.build_demo`: the real input
formats, loaded through the ordinary importers) with its own police.uk code, name, seed and
place: ``households`` is the force area's approximate household count times ``scale``
(:func:`spatial_core.national.forces.national_forces`), the seed is ``seed + k`` for the
``k``-th force of :data:`~spatial_core.national.forces.FORCES` (so a force is the same
whatever ``n``), and it lies around the real force's middle.

The forces folder holds ``<code>.gpkg`` per force, the generated files under
``files/<code>/`` and ``forces.json``, the manifest :func:`read_manifest` reads.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

from spatial_core.demo.force import DEMO_END_MONTH, DEMO_MONTHS, DEMO_SEED
from spatial_core.errors import InputError
from spatial_core.national.forces import FORCES, ForceSpec, national_forces

__all__ = ["build_force", "build_national_demo", "read_manifest", "MANIFEST"]

log = logging.getLogger(__name__)

MANIFEST = "forces.json"


def build_force(code: str, households: int, out_dir: str, *, seed: int = DEMO_SEED,
                months: int = DEMO_MONTHS, end_month: str = DEMO_END_MONTH,
                location: str | None = None) -> dict:
    """Build one synthetic force into ``out_dir/<code>.gpkg`` (replacing it), or into the
    store at ``location`` (an empty PostGIS database's ``postgresql://`` URL): a Dask task.

    Returns plain data: ``code``, ``name``, ``households``, ``store``, ``seconds`` (wall)
    and ``cpu_seconds``, the
    ``counts`` of the store, and where it ran (``worker_pid``, ``peak_rss_bytes``: the
    process's peak resident memory so far).
    """
    from spatial_core.demo import build_demo
    from spatial_core.store import open_store
    from spatial_core.store.status import store_status

    spec = _spec(code)
    k = FORCES.index(spec)
    out = Path(out_dir)
    if location is None:
        location = out / f"{code}.gpkg"
        if location.exists():
            location.unlink()
    started, cpu = time.perf_counter(), time.process_time()
    store = open_store(str(location))
    try:
        build_demo(store, out / "files" / code, households=int(households), seed=seed + k,
                   months=months, end_month=end_month, force_code=code, force_name=spec.name,
                   centre=(spec.easting, spec.northing))
        counts = store_status(store)["counts"]
    finally:
        store.close()
    return {"code": code, "name": spec.name, "households": int(households),
            "store": str(location), "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu,
            "counts": {k_: int(v) for k_, v in counts.items()},
            "worker_pid": os.getpid(), "peak_rss_bytes": _peak_rss()}


def build_national_demo(out_dir: str | os.PathLike, *, forces: int | None = None,
                        scale: float = 0.01, seed: int = DEMO_SEED, months: int = DEMO_MONTHS,
                        end_month: str = DEMO_END_MONTH, client=None,
                        progress: Callable[[float, str], None] | None = None) -> list[dict]:
    """Build ``forces`` synthetic forces (all 43 when None) into ``out_dir``.

    With a ``dask.distributed`` ``client`` each force is one task (largest first); without,
    they are built one after another here. Writes ``forces.json`` and returns its entries
    (those of :func:`build_force`), in police.uk id order.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    chosen = sorted(national_forces(forces, scale=scale), key=lambda fh: -fh[1])
    results: list[dict] = []

    def done(r: dict) -> None:
        results.append(r)
        if progress:
            progress(len(results) / len(chosen), f"built {r['code']}")

    options = {"seed": seed, "months": months, "end_month": end_month}
    if client is None:
        for spec, hh in chosen:
            done(build_force(spec.code, hh, str(out), **options))
    else:
        from dask.distributed import as_completed

        futures = [client.submit(build_force, spec.code, hh, str(out), **options,
                                 key=f"lpt-build-{spec.code}-{time.time_ns()}", pure=False)
                   for spec, hh in chosen]
        for fut in as_completed(futures):
            done(fut.result())
    order = [f.code for f in FORCES]
    results.sort(key=lambda r: order.index(r["code"]))
    manifest = {"scale": scale, "seed": seed, "months": months, "end_month": end_month,
                "forces": [{"code": r["code"], "name": r["name"], "households": r["households"],
                            "store": Path(r["store"]).name} for r in results]}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return results


def read_manifest(forces_dir: str | os.PathLike) -> dict[str, str]:
    """The force stores of a forces folder: ``{code: location}``.

    From ``forces.json`` when there is one (store paths relative to the folder, or
    ``postgresql://`` URLs), else every ``*.gpkg`` in the folder, named by its file name.
    """
    d = Path(forces_dir).resolve()
    if not d.is_dir():
        raise InputError(f"no forces folder {str(d)!r}")
    manifest = d / MANIFEST
    if manifest.exists():
        entries = json.loads(manifest.read_text(encoding="utf-8"))["forces"]
        return {e["code"]: (e["store"] if str(e["store"]).startswith("postgres")
                            else str(d / e["store"])) for e in entries}
    stores = {p.stem: str(p) for p in sorted(d.glob("*.gpkg"))}
    if not stores:
        raise InputError(f"no force stores in {str(d)!r}: expected forces.json or *.gpkg")
    return stores


def _spec(code: str) -> ForceSpec:
    for f in FORCES:
        if f.code == code:
            return f
    raise InputError(f"no force {code!r}; the forces are {', '.join(f.code for f in FORCES)}")


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports kilobytes)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
