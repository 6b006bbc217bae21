# SPDX-License-Identifier: GPL-3.0-or-later
"""The one importer protocol, its report, and the entry point that dispatches an import.

Each kind lives in its own module (``crimes``, ``postcodes`` …) and exposes
``import_<kind>(store, paths, **options) -> ImportReport``, which hands :func:`run_import`
only what is its own:

1. **read** one file completely, validated (bad input raises
   :class:`~spatial_core.errors.InputError` naming file, row, column and value), every row
   carrying ``_file`` and ``_line``;
2. **validate** what was read across all the files (a key given twice …) into one batch;
3. **locate** the batch, inside the import's transaction (lookups of stored points, areas);
4. **write** it in that transaction (:meth:`Store.begin`): rows whose natural key is already
   stored are skipped as :data:`ALREADY` ("already in the store", :func:`skip_rows`), so
   importing the same file twice changes nothing. The member importer alone updates stored
   rows whose fields changed (a member export is a snapshot); it counts them in ``updated``
   and the rows found identical in ``unchanged`` (which are also skipped).

Every importer takes ``store``, ``paths`` (files, or folders searched for the kind's
files), ``encoding`` (of text files; UTF-8 by default, ``cp1252`` for spreadsheet exports)
and ``progress``, besides ``crs`` and its own options (:func:`import_options`).
:func:`run_import` does the rest once for every kind: expand the paths (a file given twice is
read once), hash each file, read them all before anything is written, open the transaction,
record the import in ``lpt_imports`` (:func:`record_import`) in it, and report progress
through one plain callable, ``progress(fraction_done, message)`` (:data:`Progress`).
"""
from __future__ import annotations

import importlib
import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import false
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.io.sources import expand_paths, file_sha256
from spatial_core.progress import Progress, no_progress
from spatial_core.store import schema
from spatial_core.store.data_version import bump_data_version

__all__ = ["ALREADY", "ImportReport", "KINDS", "Progress", "check_unique", "import_files",
           "import_options", "import_records", "insert_new_records", "located_columns",
           "no_progress", "note_rows", "read_by_keys", "record_import", "run_import",
           "skip_rows", "skip_stored", "stored_keys"]

log = logging.getLogger(__name__)

"""A progress callable: ``progress(fraction_done, message)``; fronts pass their own."""

ALREADY = "already in the store"
"""The reason rows whose key is stored are skipped, in every importer."""

KINDS: dict[str, str] = {
    "crimes": "spatial_core.io.crimes:import_crimes",
    "postcodes": "spatial_core.io.postcodes:import_postcodes",
    "boundaries": "spatial_core.io.boundaries:import_boundaries",
    "classification": "spatial_core.io.classification:import_classification",
    "streets": "spatial_core.io.streets:import_streets",
    "addresses": "spatial_core.io.addresses:import_addresses",
    "members": "spatial_core.io.members:import_members",
    "surveys": "spatial_core.io.surveys:import_surveys",
    "visits": "spatial_core.io.visits:import_visits",
    "census": "spatial_core.io.census:import_census",
}


@dataclass
class ImportReport:
    """What an import did: rows read, imported, skipped and why (with row numbers)."""

    kind: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    imported: int = 0
    skipped: int = 0
    updated: int | None = None
    """Stored rows this import changed; None for kinds that never update."""
    unchanged: int | None = None
    """Stored rows this import found identical (also counted in ``skipped``); None as above."""
    reasons: dict[str, dict] = field(default_factory=dict)
    notes: dict[str, dict] = field(default_factory=dict)

    MAX_ROWS_LISTED = 20

    def skip(self, reason: str, rows: Sequence[int] | np.ndarray, file: str | None = None) -> None:
        """Count rows skipped for ``reason``; the first few row numbers are kept."""
        self._add(self.reasons, reason, rows, file)
        self.skipped += len(rows)

    def note(self, what: str, rows: Sequence[int] | np.ndarray, file: str | None = None) -> None:
        """Count rows imported but worth telling about (no coordinates, outliers …)."""
        self._add(self.notes, what, rows, file)

    def _add(self, bucket: dict, key: str, rows, file: str | None) -> None:
        rows = [int(r) for r in np.asarray(rows).ravel()]
        if not rows:
            return
        entry = bucket.setdefault(key, {"count": 0, "rows": []})
        entry["count"] += len(rows)
        room = self.MAX_ROWS_LISTED - len(entry["rows"])
        if room > 0:
            prefix = f"{Path(file).name}:" if file and len(self.files) > 1 else ""
            entry["rows"].extend(f"{prefix}{r}" if prefix else r for r in rows[:room])

    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary(self) -> str:
        first = f"{self.kind}: read {self.read}, imported {self.imported}"
        if self.updated is not None:
            first += f", updated {self.updated}, unchanged {self.unchanged or 0}"
        lines = [f"{first}, skipped {self.skipped}"]
        for reason, entry in self.reasons.items():
            lines.append(f"  skipped {entry['count']}: {reason}{_rows(entry['rows'])}")
        for what, entry in self.notes.items():
            lines.append(f"  note {entry['count']}: {what}{_rows(entry['rows'])}")
        return "\n".join(lines)


def _rows(rows: list) -> str:
    if not rows:  # a count without rows (members no longer in a full snapshot)
        return ""
    shown = ", ".join(str(r) for r in rows[:8])
    return f" (rows {shown}" + (", …)" if len(rows) > 8 else ")")


def record_import(store, conn: Connection, report: ImportReport, shas: Sequence[str]) -> None:
    """Write the report into ``lpt_imports`` inside the import's own transaction, one row
    per file with its SHA-256."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    frame = pd.DataFrame({
        "kind": [report.kind] * len(report.files),
        "file_name": report.files,
        "sha256": list(shas),
        "rows_read": [report.read] * len(report.files),
        "imported": [report.imported] * len(report.files),
        "skipped": [report.skipped] * len(report.files),
        "report": [report.to_json()] * len(report.files),
        "imported_at": [now] * len(report.files),
    })
    store.insert_new(conn, "lpt_imports", frame)


def _importer(kind: str) -> Callable[..., ImportReport]:
    if kind not in KINDS:
        raise InputError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    module, func = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), func)


def import_options(kind: str) -> frozenset[str]:
    """The keyword options the importer of ``kind`` accepts (``crs``, ``level`` …).

    Examples
    --------
    >>> sorted(import_options("postcodes"))
    ['crs', 'encoding', 'progress']
    """
    params = inspect.signature(_importer(kind)).parameters
    return frozenset(n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY)


def import_files(store, kind: str, paths: Sequence[str | Path], **options) -> ImportReport:
    """Import ``paths`` as ``kind`` (one of :data:`KINDS`)."""
    report = _importer(kind)(store, list(paths), **options)
    # Every import that succeeded, even one that stored no new row: some write more than
    # their rows count (a classification import writes its output areas and class names).
    # After the import's own transaction: a reader that cached the data in between cached
    # it under the old version, which this drops. Imports are rare; caches refill.
    bump_data_version(store)
    return report


# -- the protocol -----------------------------------------------------------------------

CSV_PATTERNS = ("*.csv", "*.csv.gz")
"""The files a folder given to a CSV importer is searched for."""



def _concat(parts: list, report: ImportReport) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def run_import(store, kind: str, paths: Sequence[str | Path], *,
               read: Callable[[Path, ImportReport], Any],
               write: Callable[[Connection, Any, ImportReport], None],
               validate: Callable[[list, ImportReport], Any] = _concat,
               locate: Callable[[Connection, Any, ImportReport], Any] | None = None,
               patterns: Sequence[str] = CSV_PATTERNS, once: bool = True,
               progress: Progress | None = None, reading: float = 0.5,
               writing: str = "writing") -> ImportReport:
    """Import ``paths`` as ``kind``: read → validate → locate → write, then record.

    Parameters
    ----------
    read : callable
        ``read(path, report) -> part``: one file, completely and validated; it counts its
        rows in ``report.read`` unless ``validate`` does.
    validate : callable, optional
        ``validate(parts, report) -> batch``: checks across files; by default the parts
        (frames) concatenated.
    locate : callable, optional
        ``locate(conn, batch, report) -> batch``: placing the rows, in the transaction.
    write : callable
        ``write(conn, batch, report)``: store the batch and set ``report.imported``.
    patterns : sequence of str
        The files searched for in a folder.
    once : bool
        A file given twice is read once; with False it is read twice, and the importer
        skips its rows the second time as rows seen earlier in the import (as the crime,
        postcode, address, street and classification importers always have).
    progress : callable, optional
        :data:`Progress`: the files are read up to the fraction ``reading``, then the message
        ``writing`` is shown until the import is recorded (at 1.0, with the report's first
        line). A long write may call the same callable itself in between.

    Nothing is written until every file is read and validated, and everything is written
    in one transaction with its ``lpt_imports`` record.
    """
    say = progress or no_progress
    if not paths:
        raise InputError(f"no files given to import as {kind}")
    files = expand_paths(paths, patterns)
    if once:
        files = list(dict.fromkeys(files))
    report = ImportReport(kind, files=[str(f) for f in files])
    say(0.0, f"reading {len(files)} file(s)")
    parts = []
    for i, f in enumerate(files):
        say(reading * i / len(files), f"reading {f.name}")
        parts.append(read(f, report))
    batch = validate(parts, report)
    shas = [file_sha256(f) for f in files]
    say(reading, writing)
    with store.begin() as conn:
        if locate is not None:
            batch = locate(conn, batch, report)
        write(conn, batch, report)
        record_import(store, conn, report, shas)
    first = report.summary().splitlines()[0]
    say(1.0, first)
    log.info("%s (%d file(s))", first, len(files))
    return report


def skip_rows(report: ImportReport, reason: str, frame: pd.DataFrame, mask) -> None:
    """``report.skip`` for the rows of ``frame`` (with ``_file`` and ``_line``) under
    ``mask``, file by file."""
    _by_file(report.skip, reason, frame, mask)


def note_rows(report: ImportReport, what: str, frame: pd.DataFrame, mask) -> None:
    """``report.note`` for the rows of ``frame`` under ``mask``, file by file."""
    _by_file(report.note, what, frame, mask)


def _by_file(fn, reason: str, frame: pd.DataFrame, mask) -> None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    sel = frame.loc[mask, ["_file", "_line"]]
    for file, lines in sel.groupby("_file", sort=False)["_line"]:
        fn(reason, lines.to_numpy(), str(file))


def skip_stored(store, conn: Connection, report: ImportReport, frame: pd.DataFrame, table: str,
                key: str) -> np.ndarray:
    """Skip the rows of ``frame`` whose ``key`` is already stored in ``table`` (reason
    :data:`ALREADY`, so importing a file again changes nothing); returns the mask of the
    rows to write."""
    stored = stored_keys(store, conn, table, key, frame[key].to_numpy())
    skip_rows(report, ALREADY, frame, stored)
    return ~stored


def stored_keys(store, conn: Connection, table: str, key: str, values) -> np.ndarray:
    """Which of ``values`` are already stored as ``table.key``."""
    t = schema.table(table)
    wanted = pd.unique(pd.Series(values, dtype=object).dropna())
    found: set = set()
    stored = store.count(table, conn=conn) if len(wanted) else 0
    if stored == 0:
        return np.zeros(len(values), dtype=bool)
    if stored <= 4 * len(wanted):  # reading the whole key column beats many IN (…) queries
        found.update(store.read(table, [key], conn=conn)[key].tolist())
        wanted = wanted[:0]
    for i in range(0, len(wanted), 5000):
        chunk = [str(v) for v in wanted[i:i + 5000]]
        got = store.read(table, [key], where=t.c[key].in_(chunk), conn=conn)
        found.update(got[key].tolist())
    return pd.Series(values, dtype=object).isin(found).to_numpy()


def read_by_keys(store, conn: Connection, table: str, key: str, values,
                 columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The stored rows of ``table`` whose ``key`` is one of ``values`` (read in chunks)."""
    t = schema.table(table)
    wanted = [str(v) for v in pd.unique(pd.Series(values, dtype=object).dropna())]
    if not wanted:
        return store.read(table, columns, where=false(), conn=conn)
    parts = [store.read(table, columns, where=t.c[key].in_(wanted[i:i + 5000]), conn=conn)
             for i in range(0, len(wanted), 5000)]
    return pd.concat(parts, ignore_index=True)


def check_unique(frame: pd.DataFrame, key: str, what: str) -> None:
    """An error naming both rows when a key appears twice (across all files of an import)."""
    dup = frame[key].duplicated(keep=False).to_numpy() & frame[key].notna().to_numpy()
    if dup.any():
        first_key = frame[key].to_numpy()[np.flatnonzero(dup)[0]]
        rows = frame.loc[frame[key] == first_key]
        a, b = rows.iloc[0], rows.iloc[1]
        where = f"row {a['_line']}" + ("" if a["_file"] == b["_file"] else f" of {a['_file']}")
        raise InputError(f"duplicate {what}: the same as {where}; expected each {what} once",
                         file=b["_file"],
                         row=int(b["_line"]), column=key, value=first_key)


def located_columns(loc: pd.DataFrame) -> dict[str, np.ndarray]:
    """The point columns every located table stores, from
    :func:`~spatial_core.io.locations.locate` rows: ``lat``, ``lng``, ``x``, ``y``, ``cell``
    and the ``geom`` point."""
    return {
        "lat": loc["lat"].to_numpy(), "lng": loc["lng"].to_numpy(),
        "x": loc["x"].to_numpy(), "y": loc["y"].to_numpy(),
        "cell": loc["cell"].to_numpy("int64"),
        "geom": shapely.points(loc["x"].to_numpy(float), loc["y"].to_numpy(float)),
    }


def insert_new_records(store, conn: Connection, frame: pd.DataFrame, loc: pd.DataFrame,
                       keep: np.ndarray, children: Mapping[str, pd.DataFrame],
                       report: ImportReport, *, table: str, key: str,
                       rows: Callable[[pd.DataFrame, pd.DataFrame, np.ndarray], pd.DataFrame],
                       stored: np.ndarray | None = None) -> pd.DataFrame:
    """Insert the kept rows whose ``key`` is new (and their child rows); returns them.

    ``rows(frame, loc, mask)`` builds the table's rows. Kept rows already stored are skipped
    as :data:`ALREADY`, unless the caller passes ``stored`` (which rows are stored) and
    deals with them itself.
    """
    if stored is None:
        stored = np.zeros(len(frame), dtype=bool)
        stored[keep] = ~skip_stored(store, conn, report, frame[keep], table, key)
    new = rows(frame, loc, keep & ~stored)
    report.imported = store.insert_new(conn, table, new)
    for name, child in children.items():
        store.insert_new(conn, name, child[child[key].isin(new[key])])
    return new


def import_records(store, paths: Sequence[str | Path], *, kind: str, table: str, key: str,
                   what: str, read: Callable, place: Callable,
                   rows: Callable[[pd.DataFrame, pd.DataFrame, np.ndarray], pd.DataFrame],
                   write: Callable | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """:func:`run_import` for CSV records keyed by an id and placed at a point (members,
    survey responses, visits).

    ``read(path, report) -> (rows, children)`` gives one file's rows and its child rows by
    table (``{"member_groups": …}``); the key must be unique across all files (``what`` names
    it in the message); ``place(conn, rows, report) -> (locations, keep)`` locates them;
    ``write(conn, rows, locations, keep, children, report)`` stores them, by default
    :func:`insert_new_records` (new keys only, built by ``rows(frame, locations, mask)``).
    """
    def validate(parts: list, report: ImportReport):
        frame = pd.concat([f for f, _ in parts], ignore_index=True)
        check_unique(frame, key, what)
        report.read = len(frame)
        children = {name: pd.concat([c[name] for _, c in parts], ignore_index=True)
                    for name in (parts[0][1] if parts else {})}
        return frame, children

    def locate(conn, batch, report: ImportReport):
        frame, children = batch
        loc, keep = place(conn, frame, report)
        return frame, loc, keep, children

    def store_them(conn, batch, report: ImportReport) -> None:
        frame, loc, keep, children = batch
        if write is None:
            insert_new_records(store, conn, frame, loc, keep, children, report, table=table,
                               key=key, rows=rows)
        else:
            write(conn, frame, loc, keep, children, report)

    return run_import(store, kind, paths, read=read, validate=validate, locate=locate,
                      write=store_them, progress=progress)
