# SPDX-License-Identifier: GPL-3.0-or-later
"""Import reports and the one entry point that dispatches an import to its kind.

Each kind lives in its own module (``crimes``, ``postcodes`` …) and exposes
``import_<kind>(store, paths, **options) -> ImportReport``. Every importer follows the
same contract:

1. read and validate every file completely before writing anything (bad input raises
   :class:`~spatial_core.errors.InputError` naming file, row, column and value);
2. write all its rows in one transaction (:meth:`Store.begin`); rows whose natural key is
   already stored are counted as skipped ("already in the store"), so importing the same
   file twice changes nothing. The member importer alone updates stored rows whose fields
   changed (a member export is a snapshot); it counts them in ``updated`` and the rows
   found identical in ``unchanged`` (which are also skipped);
3. record the import in ``lpt_imports`` in the same transaction and return the report.
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.store.data_version import bump_data_version

__all__ = ["ImportReport", "KINDS", "import_files", "record_import", "Progress"]

Progress = Callable[[float, str], None]
"""A progress callable: ``progress(fraction_done, message)``; fronts pass their own."""

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
    """Write the report into ``lpt_imports`` inside the import's own transaction."""
    import pandas as pd

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


def import_files(store, kind: str, paths: Sequence[str | Path], **options) -> ImportReport:
    """Import ``paths`` as ``kind`` (one of :data:`KINDS`)."""
    if kind not in KINDS:
        raise InputError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not paths:
        raise InputError(f"no files given to import as {kind}")
    module, func = KINDS[kind].split(":")
    fn = getattr(importlib.import_module(module), func)
    report = fn(store, list(paths), **options)
    # Every import that succeeded, even one that stored no new row: some write more than
    # their rows count (a classification import writes its output areas and class names).
    # After the import's own transaction: a reader that cached the data in between cached
    # it under the old version, which this drops. Imports are rare; caches refill.
    bump_data_version(store)
    return report
