# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit log of personal data: an append-only JSON Lines file with a hash chain.

Every read or write of personal data (and every refused attempt) appends one line: when
(UTC), who (``sub``, role, how they signed in), what (action, collection, item ids or the
query), which area (the beats the caller's scope allowed), why (the ``X-Purpose`` header) and
the outcome. Each line carries ``seq``, the previous line's ``hash`` and its own
``hash = sha256(prev + canonical JSON of the entry)``, so a removed, reordered or edited
line breaks the chain (:func:`verify`). Writers take an exclusive ``flock`` on the file, so
several gunicorn workers append in one order; the file is opened ``O_APPEND`` and never
rewritten. Export with ``lpt audit export``.

This module imports nothing from the web stack, so the command line can read the log.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "read_entries", "verify", "export", "GENESIS", "FIELDS"]

GENESIS = "0" * 64
FIELDS = ("seq", "ts", "request_id", "sub", "role", "via", "action", "collection", "ids",
          "query", "scope", "purpose", "outcome", "number_matched", "remote_addr", "prev",
          "hash")


def _digest(prev: str, entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + text).encode("utf-8")).hexdigest()


def _last_line(fh) -> bytes:
    """The last complete line of a file opened ``rb`` (b'' when empty)."""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return b""
    block = 4096
    pos = end
    data = b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        if data.count(b"\n") >= 2 or pos == 0:
            break
    lines = data.rstrip(b"\n").split(b"\n")
    return lines[-1]


class AuditLog:
    """Appends hash-chained entries to a JSON Lines file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, **entry: Any) -> dict:
        """Append one entry (``ts``, ``seq``, ``prev`` and ``hash`` are added) and return it."""
        entry = {k: v for k, v in entry.items() if v is not None}
        entry.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with open(self.path, "rb") as fh:
                last = _last_line(fh)
            if last:
                prev_entry = json.loads(last)
                prev, seq = prev_entry["hash"], int(prev_entry["seq"]) + 1
            else:
                prev, seq = GENESIS, 1
            entry["seq"] = seq
            entry["prev"] = prev
            entry["hash"] = _digest(prev, entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return entry


def read_entries(path: str | os.PathLike) -> Iterator[dict]:
    """The entries of a log, in order."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def verify(path: str | os.PathLike) -> tuple[int, str | None]:
    """Check the hash chain: (entries checked, None) or (entries, what is wrong)."""
    prev, n = GENESIS, 0
    for n, e in enumerate(read_entries(path), start=1):
        if e.get("seq") != n:
            return n, f"entry {n}: seq is {e.get('seq')}, expected {n} (a line is missing)"
        if e.get("prev") != prev:
            return n, f"entry {n}: prev does not match the hash of entry {n - 1}"
        if _digest(prev, e) != e.get("hash"):
            return n, f"entry {n}: hash does not match its content (edited)"
        prev = e["hash"]
    return n, None


def export(path: str | os.PathLike, *, fmt: str = "jsonl", since: str | None = None,
           until: str | None = None, sub: str | None = None) -> str:
    """The log's entries as JSON Lines or CSV, optionally from/to an ISO time and one user."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"format {fmt!r}: expected jsonl or csv")
    rows = [e for e in read_entries(path)
            if (since is None or e.get("ts", "") >= since)
            and (until is None or e.get("ts", "") < until)
            and (sub is None or e.get("sub") == sub)]
    if fmt == "jsonl":
        return "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in rows)
    from spatial_core.api.export import csv_cell  # the one CSV rule: no formulas

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(FIELDS), extrasaction="ignore",
                       lineterminator="\n")
    w.writeheader()
    for e in rows:
        w.writerow({k: csv_cell(json.dumps(v) if isinstance(v, (list, dict)) else v)
                    for k, v in e.items()})
    return buf.getvalue()
