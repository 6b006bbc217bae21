# SPDX-License-Identifier: GPL-3.0-or-later
"""National inputs partitioned on import: each force store gets its own rows, on Dask.

Some inputs come for the whole country at once: the police.uk archive holds every force's
street-level crimes of a month, Code-Point Open every postcode of Great Britain. Loading them
whole into every force store would repeat the nation 43 times; :func:`partition_import`
instead

1. **splits** each input file on its own Dask task: the file is read and validated with the
   core's own reader (a bad row is an :class:`~spatial_core.errors.InputError` naming the
   input file, its row and column, and then nothing is imported anywhere), and its rows, as
   they are in the file, are written to one staged file per force
   (``<staging>/<force>/<file>-<sha>.csv.gz``). Crimes go to the force named in police.uk's
   ``Falls within`` column (by name or police.uk id), or, for a force extract without it, to
   the force whose outline holds the point; postcodes to the force whose outline holds the
   point. Rows of forces that are not in the run are counted as ``unassigned``;
2. **imports** each force's staged files into its store on its own task, with the ordinary
   importer (:func:`spatial_core.io.imports.import_files`): all-or-nothing per force, and
   idempotent, so running the same national files again imports nothing new.

A force whose import fails is reported and the others go on (each force store is its own
transaction; running again completes it, because what was stored is skipped). The staged
files are removed once every force has imported them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.progress import Progress

__all__ = ["PARTITION_KINDS", "PartitionReport", "partition_import", "split_file",
           "force_outlines", "force_names"]

log = logging.getLogger(__name__)


PARTITION_KINDS = ("crimes", "postcodes")
"""The national inputs that are partitioned by force on import."""


@dataclass
class PartitionReport:
    """What a partitioned import did: rows per force, rows of no force in the run, errors."""

    kind: str
    files: list[str]
    rows: int = 0
    unassigned: int = 0
    assigned: dict[str, int] = field(default_factory=dict)
    imported: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"{self.kind}: {self.rows:,} rows in {len(self.files)} file(s); "
                 f"{sum(self.assigned.values()):,} to {len(self.assigned)} force(s), "
                 f"{self.unassigned:,} of no force in the run; "
                 f"{sum(self.imported.values()):,} imported in {self.seconds:.1f} s"]
        for code in sorted(self.assigned):
            lines.append(f"  {code}: {self.assigned[code]:,} rows, "
                         f"{self.imported.get(code, 0):,} imported, "
                         f"{self.skipped.get(code, 0):,} skipped")
        for code, why in sorted(self.failures.items()):
            lines.append(f"  {code}: FAILED: {why}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "files": self.files, "rows": self.rows,
                "unassigned": self.unassigned, "assigned": self.assigned,
                "imported": self.imported, "skipped": self.skipped,
                "failures": self.failures, "seconds": self.seconds}


def _norm(name: str) -> str:
    return " ".join(str(name).lower().replace("-", " ").split())


def force_names(forces_dir: str | Path) -> dict[str, str]:
    """``{normalised name or police.uk id: code}`` of the forces of a forces folder (from
    ``forces.json``; a folder of ``*.gpkg`` has ids only)."""
    from spatial_core.national.forces import FORCES
    from spatial_core.national.synthetic import MANIFEST, read_manifest

    codes = list(read_manifest(forces_dir))
    known = {f.code: f.name for f in FORCES}
    manifest = Path(forces_dir) / MANIFEST
    if manifest.exists():
        for e in json.loads(manifest.read_text(encoding="utf-8"))["forces"]:
            known[e["code"]] = e.get("name") or known.get(e["code"], e["code"])
    out: dict[str, str] = {}
    for code in codes:
        out[_norm(code)] = code
        if code in known:
            out[_norm(known[code])] = code
    return out


def force_outlines(stores: Mapping[str, str]) -> dict[str, object]:
    """Each force store's outline (its areas of level ``force``, EPSG:27700), by code; a store
    without one is left out (its rows can then only be assigned by name)."""
    from spatial_core.store import open_store, schema

    out = {}
    for code, location in stores.items():
        store = open_store(location)
        try:
            areas = store.read("areas", ["area_id", "geom"],
                               where=schema.table("areas").c.level == "force")
        finally:
            store.close()
        geoms = [g for g in areas.geometry if g is not None and not g.is_empty]
        if geoms:
            out[code] = shapely.union_all(geoms)
    return out


def _by_location(x: np.ndarray, y: np.ndarray, outlines: Mapping[str, object]) -> np.ndarray:
    """The force code of each point (None outside every outline; the first outline wins)."""
    codes = np.full(len(x), None, dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    for code, outline in outlines.items():
        free = ok & pd.isna(codes)
        if not free.any():
            break
        inside = np.zeros(len(x), dtype=bool)
        inside[free] = shapely.contains_xy(outline, x[free], y[free])
        codes[inside] = code
    return codes


def _assign(kind: str, path: Path, names: Mapping[str, str], outlines: Mapping[str, object],
            crs: int | None, encoding: str | None):
    """Read and validate ``path`` as ``kind``; its raw table and each row's force (or None)."""
    from spatial_core.io.sources import read_csv_table

    if kind == "crimes":
        from spatial_core.io.crimes import crime_frame

        table = read_csv_table(path, encoding=encoding)
        frame = crime_frame(table, crs=crs)  # validates, or raises
        falls = {_norm(c): c for c in table.columns}.get("falls within")
        if falls is not None:
            key = table.frame[falls].map(_norm)
            return table, key.map(names).to_numpy(dtype=object)
        return table, _by_location(frame["x"].to_numpy(float), frame["y"].to_numpy(float),
                                   outlines)
    if kind == "postcodes":
        from spatial_core.geo.crs import STORE_SRID, WGS84
        from spatial_core.io.locations import parse_points
        from spatial_core.io.postcodes import _frame, read_postcode_table

        table, _layout = read_postcode_table(path, encoding)
        _frame(table, crs, 9)  # validates every row (postcode, coordinates, dates), or raises
        _lng, _lat, x, y = parse_points(table, [("x", "y", STORE_SRID), ("lng", "lat", WGS84)],
                                        crs=crs)
        return table, _by_location(x, y, outlines)
    raise InputError(f"national inputs partitioned on import are {', '.join(PARTITION_KINDS)}, "
                     f"not {kind!r}")


def split_file(kind: str, path: str, staging: str, names: Mapping[str, str],
               outlines: Mapping[str, object], *, crs: int | None = None,
               encoding: str | None = None) -> dict:
    """Split one national input file into staged files, one a force: a Dask task.

    Returns ``{"file", "rows", "unassigned", "staged": {code: [path, rows]}}``. Raises the
    reader's :class:`InputError` (naming this file, row and column) on a bad row, before
    writing anything.
    """
    p = Path(path)
    table, codes = _assign(kind, p, names, outlines, crs, encoding)
    sha = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    stem = p.name.removesuffix(".gz").removesuffix(".csv")
    staged: dict[str, list] = {}
    raw = table.frame
    known = ~pd.isna(codes)
    for code in sorted(set(codes[known])):
        rows = raw.loc[codes == code]
        out = Path(staging) / code / f"{stem}-{sha}.csv.gz"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".part")
        rows.to_csv(tmp, index=False, header=table.has_header, compression="gzip",
                    encoding="utf-8")
        tmp.replace(out)
        staged[code] = [str(out), int(len(rows))]
    return {"file": str(p), "rows": int(len(raw)), "unassigned": int((~known).sum()),
            "staged": staged}


def _import_force(kind: str, code: str, location: str, files: Sequence[str],
                  crs: int | None) -> dict:
    """Import one force's staged files into its store (one transaction): a Dask task."""
    from spatial_core.io.imports import import_files
    from spatial_core.store import open_store

    store = open_store(location)
    try:
        # the staged rows are the input's own, in its coordinates
        report = import_files(store, kind, list(files), **({"crs": crs} if crs else {}))
    finally:
        store.close()
    return {"code": code, "read": int(report.read), "imported": int(report.imported)}


def partition_import(kind: str, paths: Sequence[str | Path], forces_dir: str | Path, *,
                     client=None, scheduler: str | None = None, workers: int | None = None,
                     memory_limit: str | None = "4GB", staging: str | Path | None = None,
                     crs: int | None = None, encoding: str | None = None,
                     only: Sequence[str] = (), progress: Progress | None = None
                     ) -> PartitionReport:
    """Import national ``paths`` of ``kind`` (:data:`PARTITION_KINDS`) into the force stores
    of ``forces_dir``, each force getting only its own rows (see the module docstring).

    ``only`` limits the run to these force codes (rows of the others are unassigned).
    ``client`` is used as it is; otherwise a cluster is made as for the national run
    (:func:`spatial_core.national.run.national_client`) and closed after.

    Raises
    ------
    InputError
        A bad input file (file, row, column): nothing is imported into any store.
    """
    from dask.distributed import as_completed

    from spatial_core.io.sources import expand_paths
    from spatial_core.national.run import close_client, national_client
    from spatial_core.national.synthetic import read_manifest

    if kind not in PARTITION_KINDS:
        raise InputError(f"national inputs partitioned on import are "
                         f"{', '.join(PARTITION_KINDS)}, not {kind!r}")
    say = progress or (lambda f, m: None)
    stores = read_manifest(forces_dir)
    unknown = sorted(set(only) - set(stores))
    if unknown:
        raise InputError(f"no force {', '.join(unknown)} in {forces_dir}; the forces are "
                         + ", ".join(sorted(stores)))
    if only:
        stores = {c: stores[c] for c in only}
    files = [str(f) for f in expand_paths(paths, ("*.csv", "*.csv.gz"))]
    if not files:
        raise InputError(f"no files given to import as {kind}")
    names = {k: v for k, v in force_names(forces_dir).items() if v in stores}
    outlines = force_outlines(stores)
    staging = Path(staging or Path(forces_dir) / "staging" / f"{kind}-{time.time_ns()}")
    report = PartitionReport(kind, files)
    started = time.perf_counter()
    own = client is None
    if own:
        client = national_client(scheduler=scheduler, workers=workers,
                                 memory_limit=memory_limit)
    try:
        stamp = time.time_ns()
        split = [client.submit(split_file, kind, f, str(staging), names, outlines, crs=crs,
                               encoding=encoding, key=f"lpt-split-{i}-{stamp}", pure=False)
                 for i, f in enumerate(files)]
        per_force: dict[str, list[str]] = {}
        errors = []
        for n, fut in enumerate(as_completed(split), start=1):
            try:
                part = fut.result()
            except InputError as exc:
                errors.append(exc)
                continue
            report.rows += part["rows"]
            report.unassigned += part["unassigned"]
            for code, (path, rows) in part["staged"].items():
                per_force.setdefault(code, []).append(path)
                report.assigned[code] = report.assigned.get(code, 0) + rows
            say(0.5 * n / len(split), f"split {n}/{len(split)} file(s)")
        if errors:
            # the first bad file by its order on the command line; nothing is imported
            first = min(errors, key=lambda e: files.index(e.file) if getattr(e, "file", None)
                        in files else len(files))
            raise first
        imports = {client.submit(_import_force, kind, code, stores[code],
                                 sorted(per_force[code]), crs,
                                 key=f"lpt-import-{code}-{stamp}", pure=False): code
                   for code in sorted(per_force)}
        for n, fut in enumerate(as_completed(imports), start=1):
            code = imports[fut]
            try:
                done = fut.result()
                report.imported[code] = done["imported"]
                report.skipped[code] = done["read"] - done["imported"]
            except Exception as exc:  # noqa: BLE001 - reported per force, the rest go on
                report.failures[code] = f"{type(exc).__name__}: {exc}"
                log.error("national import: force %s failed: %s", code, report.failures[code])
            say(0.5 + 0.5 * n / len(imports), f"imported {n}/{len(imports)} force(s) ({code})")
    finally:
        if own:
            close_client(client)
        if not report.failures:
            shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report
