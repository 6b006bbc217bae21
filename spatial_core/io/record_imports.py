# SPDX-License-Identifier: GPL-3.0-or-later
"""The skeleton shared by the importers of CSV records keyed by an id and placed at a point:
members (``member_id``), survey responses (``response_id``) and visits (``visit_id``).

:func:`import_records` reads every file (each importer brings its own reader), checks the
key is unique across all of them, then in one transaction places the rows (each importer
brings its own way of locating them), writes them, and records the import. The common
writer, :func:`insert_new_records`, inserts the rows whose key is new and skips the stored
ones as "already in the store", together with their child rows (groups, priorities …).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import false
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.io.imports import ImportReport, Progress, record_import
from spatial_core.io.sources import expand_paths, file_sha256
from spatial_core.store import schema

__all__ = [
    "ALREADY",
    "import_records",
    "insert_new_records",
    "located_columns",
    "report_progress",
    "check_unique",
    "stored_keys",
    "read_by_keys",
    "skip_rows",
    "note_rows",
]

log = logging.getLogger(__name__)

ALREADY = "already in the store"

Reader = Callable[[Path, ImportReport], tuple[pd.DataFrame, Mapping[str, pd.DataFrame]]]
"""``read(path, report) -> (rows, children)``: one file's rows (with ``_file`` and ``_line``)
and its child rows by table name (``{"member_groups": …}``; empty for none)."""

Placer = Callable[[Connection, pd.DataFrame, ImportReport], tuple[pd.DataFrame, np.ndarray]]
"""``place(conn, rows, report) -> (locations, keep)``: where each row is, and which to keep;
skipped rows are reported by the placer."""

Writer = Callable[[Connection, pd.DataFrame, pd.DataFrame, np.ndarray,
                   Mapping[str, pd.DataFrame], ImportReport], None]
"""``write(conn, rows, locations, keep, children, report)``: store the kept rows and set
``report.imported``."""


def report_progress(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` when the caller gave one."""
    if progress is not None:
        progress(fraction, message)


def import_records(store, paths: Sequence[str | Path], *, kind: str, table: str, key: str,
                   what: str, noun: str, read: Reader, place: Placer,
                   rows: Callable[[pd.DataFrame, pd.DataFrame, np.ndarray], pd.DataFrame],
                   placing: str, write: Writer | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Read ``paths`` completely, then place, write and record them in one transaction.

    Parameters
    ----------
    kind : str
        The import kind (``"members"``), for the report.
    table, key, what, noun : str
        The table written, its key column (unique across all files), what the key is called
        in the duplicate message (``"member id"``) and the rows in progress messages.
    read, place : callable
        See :data:`Reader` and :data:`Placer`.
    rows : callable
        ``rows(frame, locations, mask)``: the table's rows for the rows under ``mask``.
    placing : str
        The progress message while rows are placed (``"locating members"``).
    write : callable, optional
        See :data:`Writer`; by default :func:`insert_new_records` (new keys only).
    """
    files = list(dict.fromkeys(expand_paths(paths)))  # a file given twice is read once
    report = ImportReport(kind, files=[str(f) for f in files])
    frames, children = [], []
    for i, f in enumerate(files):
        report_progress(progress, 0.5 * i / len(files), f"reading {f.name}")
        frame, child = read(f, report)
        frames.append(frame)
        children.append(child)
    frame = pd.concat(frames, ignore_index=True)
    check_unique(frame, key, what)
    report.read = len(frame)
    merged = {name: pd.concat([c[name] for c in children], ignore_index=True)
              for name in (children[0] if children else {})}
    shas = [file_sha256(f) for f in files]
    report_progress(progress, 0.5, placing)
    with store.begin() as conn:
        loc, keep = place(conn, frame, report)
        if write is None:
            insert_new_records(store, conn, frame, loc, keep, merged, report, table=table,
                               key=key, rows=rows, noun=noun, progress=progress)
        else:
            write(conn, frame, loc, keep, merged, report)
        record_import(store, conn, report, shas)
    report_progress(progress, 1.0, report.summary().splitlines()[0])
    log.info("%s", report.summary())
    return report


def insert_new_records(store, conn: Connection, frame: pd.DataFrame, loc: pd.DataFrame,
                       keep: np.ndarray, children: Mapping[str, pd.DataFrame],
                       report: ImportReport, *, table: str, key: str,
                       rows: Callable[[pd.DataFrame, pd.DataFrame, np.ndarray], pd.DataFrame],
                       noun: str, progress: Progress | None = None,
                       stored: np.ndarray | None = None) -> pd.DataFrame:
    """Insert the kept rows whose ``key`` is new (and their children); returns them.

    ``rows(frame, loc, mask)`` builds the table's rows. Kept rows already stored are skipped
    as :data:`ALREADY`, unless the caller passes ``stored`` (which rows are stored) and
    deals with them itself.
    """
    if stored is None:
        stored = stored_keys(store, conn, table, key, frame[key].to_numpy())
        skip_rows(report, ALREADY, frame, keep & stored)
    new = rows(frame, loc, keep & ~stored)
    report_progress(progress, 0.7, f"writing {len(new)} {noun}")
    report.imported = store.insert_new(conn, table, new)
    for name, child in children.items():
        store.insert_new(conn, name, child[child[key].isin(new[key])])
    return new


def located_columns(loc: pd.DataFrame) -> dict[str, np.ndarray]:
    """The point columns every located table stores, from :func:`~spatial_core.io.locations.locate`
    rows: ``lat``, ``lng``, ``x``, ``y``, ``cell`` and the ``geom`` point."""
    return {
        "lat": loc["lat"].to_numpy(), "lng": loc["lng"].to_numpy(),
        "x": loc["x"].to_numpy(), "y": loc["y"].to_numpy(),
        "cell": loc["cell"].to_numpy("int64"),
        "geom": shapely.points(loc["x"].to_numpy(float), loc["y"].to_numpy(float)),
    }


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


def stored_keys(store, conn: Connection, table: str, key: str, values: np.ndarray) -> np.ndarray:
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


def skip_rows(report: ImportReport, reason: str, frame: pd.DataFrame, mask: np.ndarray) -> None:
    """``report.skip`` for the rows of ``frame`` under ``mask``, file by file."""
    _by_file(report.skip, reason, frame, mask)


def note_rows(report: ImportReport, what: str, frame: pd.DataFrame, mask: np.ndarray) -> None:
    """``report.note`` for the rows of ``frame`` under ``mask``, file by file."""
    _by_file(report.note, what, frame, mask)


def _by_file(fn, reason: str, frame: pd.DataFrame, mask: np.ndarray) -> None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    sel = frame.loc[mask, ["_file", "_line"]]
    for file, lines in sel.groupby("_file", sort=False)["_line"]:
        fn(reason, lines.to_numpy(), file)
