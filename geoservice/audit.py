# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit log of personal data: an append-only JSON Lines file with a hash chain.

Every read or write of personal data (and every refused attempt) appends one line: when
(UTC), who (``sub``, role, how they signed in), what (action, collection, item ids or the
query), which area (the beats the caller's scope allowed), why (the ``X-Purpose`` header) and
the outcome. Each line carries ``seq``, the previous line's ``hash`` and its own
``hash = sha256(prev + canonical JSON of the entry)``, so a removed, reordered or edited
line breaks the chain (:func:`verify`); with a key (``$LPT_AUDIT_KEY``) each entry also
carries ``mac`` = HMAC-SHA256(key, hash) and ``<log>.head`` keeps the count and last hash
(MAC'd), so a chain recomputed without the key, a truncated tail or an emptied file fail
too (see :class:`AuditLog`). Writers take an exclusive ``flock`` on the file, so
several gunicorn workers append in one order; the file is opened ``O_APPEND`` and never
rewritten. Export with ``lpt audit export``.

This module imports nothing from the web stack, so the command line can read the log.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "read_entries", "verify", "export", "GENESIS", "FIELDS", "audit_key",
           "parse_line", "head_path", "ENV_KEY"]

GENESIS = "0" * 64
FIELDS = ("seq", "ts", "request_id", "sub", "role", "via", "action", "collection", "ids",
          "query", "scope", "purpose", "outcome", "number_matched", "remote_addr", "torn",
          "prev", "hash", "mac")


ENV_KEY = "LPT_AUDIT_KEY"
"""Environment variable holding the audit key (any text; keep it off the host's disk)."""


def audit_key(key: str | bytes | None = None) -> bytes | None:
    """The MAC key: ``key``, else ``$LPT_AUDIT_KEY``; None when neither is set."""
    if key is None:
        key = os.environ.get(ENV_KEY) or None
    if key is None:
        return None
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _digest(prev: str, entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k not in ("hash", "mac")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + text).encode("utf-8")).hexdigest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


class DuplicateKey(ValueError):
    """A JSON object with the same key twice (a reader would see only one of them)."""


def _strict_object(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKey(f"key {k!r} appears twice")
        out[k] = v
    return out


def parse_line(line: bytes | str) -> dict:
    """One entry; ValueError when it is not one JSON object or repeats a key."""
    got = json.loads(line, object_pairs_hook=_strict_object)
    if not isinstance(got, dict):
        raise ValueError("not a JSON object")
    return got


def _tail(fh) -> tuple[bytes, bytes]:
    """(last complete entry line, torn bytes after it) of a log opened ``rb``: a line
    without its newline, or one that is not an entry, is torn (a write cut short)."""
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return b"", b""
    block, pos, data = 65536, end, b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step) + data
        if data.count(b"\n") >= 3 or pos == 0:
            break
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: b"" when the file ends with one
    while lines and not lines[-1].strip():
        lines.pop()
    if not torn.strip() and lines:
        try:
            parse_line(lines[-1])
        except ValueError:
            torn = lines.pop()
    return (lines[-1] if lines else b""), torn


class AuditLog:
    """Appends hash-chained, keyed entries to a JSON Lines file (and keeps its head).

    With a key (``key`` or ``$LPT_AUDIT_KEY``) each entry carries ``mac`` =
    HMAC-SHA256(key, its hash): an entry edited, deleted or inserted, with the chain
    recomputed, fails :func:`verify` without the key. The head (count, last hash and its MAC)
    is written to ``<log>.head`` after every append, so that a truncated or emptied log fails
    too; ship the log and its head off the host (syslog, a WORM bucket) for a copy the host
    cannot roll back. A torn last line (a write cut short) is closed and named by the next
    entry (``torn`` = its SHA-256), so it neither breaks later appends nor hides an edit.
    """

    def __init__(self, path: str | os.PathLike, key: str | bytes | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key = audit_key(key)

    @property
    def head_path(self) -> Path:
        return head_path(self.path)

    def append(self, **entry: Any) -> dict:
        """Append one entry (``ts``, ``seq``, ``prev``, ``hash``, ``mac`` are added)."""
        entry = {k: v for k, v in entry.items() if v is not None}
        entry.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with open(self.path, "rb") as fh:
                last, torn = _tail(fh)
                size = fh.seek(0, os.SEEK_END)
                ends_open = False
                if size:
                    fh.seek(-1, os.SEEK_END)
                    ends_open = fh.read(1) != b"\n"
            if last:
                prev_entry = parse_line(last)
                prev, seq = prev_entry["hash"], int(prev_entry["seq"]) + 1
            else:
                prev, seq = GENESIS, 1
            if torn.strip():
                entry["torn"] = hashlib.sha256(torn).hexdigest()
            entry["seq"] = seq
            entry["prev"] = prev
            entry["hash"] = _digest(prev, entry)
            if self.key is not None:
                entry["mac"] = _mac(self.key, entry["hash"])
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
            os.write(fd, (b"\n" if ends_open else b"") + line.encode("utf-8"))
            os.fsync(fd)
            self._write_head(seq, entry["hash"])
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return entry

    def _write_head(self, count: int, last_hash: str) -> None:
        head = {"count": count, "hash": last_hash}
        if self.key is not None:
            head["mac"] = _mac(self.key, f"{count}:{last_hash}")
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        tmp.write_text(json.dumps(head, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)


def head_path(path: str | os.PathLike) -> Path:
    """Where the head of the log at ``path`` is kept."""
    p = Path(path)
    return p.with_name(p.name + ".head")


def read_entries(path: str | os.PathLike) -> Iterator[dict]:
    """The entries of a log, in order (a torn line left out; duplicate keys refused)."""
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except DuplicateKey:
                raise
            except ValueError:
                continue  # a torn line: verify() checks that the next entry names it


def verify(path: str | os.PathLike, key: str | bytes | None = None) -> tuple[int, str | None]:
    """Check the log: (entries checked, None) or (entries, what is wrong).

    The hash chain; with a key (``key`` or ``$LPT_AUDIT_KEY``) every entry's MAC; the head
    (count and last hash, MAC-checked with a key) against the log's end; a torn line only
    where the next entry names it; and no JSON object with a key twice."""
    k = audit_key(key)
    prev, n, torn = GENESIS, 0, None
    p = Path(path)
    lines = p.read_bytes().split(b"\n") if p.exists() else []
    for raw in lines:
        if not raw.strip():
            continue
        try:
            e = parse_line(raw)
        except DuplicateKey as exc:
            return n + 1, f"entry {n + 1}: {exc} (a reader would see a forged value)"
        except ValueError:
            if torn is not None:
                return n, f"after entry {n}: a line that is not an entry"
            torn = hashlib.sha256(raw).hexdigest()
            continue
        n += 1
        if torn is not None and e.get("torn") != torn:
            return n, f"entry {n}: follows a line that is not an entry and does not name it"
        torn = None
        if e.get("seq") != n:
            return n, f"entry {n}: seq is {e.get('seq')}, expected {n} (a line is missing)"
        if e.get("prev") != prev:
            return n, f"entry {n}: prev does not match the hash of entry {n - 1}"
        if _digest(prev, e) != e.get("hash"):
            return n, f"entry {n}: hash does not match its content (edited)"
        if k is not None and not hmac.compare_digest(str(e.get("mac", "")),
                                                     _mac(k, e["hash"])):
            return n, f"entry {n}: MAC does not match (written or rewritten without the key)"
        prev = e["hash"]
    hp = head_path(p)
    if not hp.exists():
        if k is not None:
            return n, f"the head {hp.name} is missing (the log cannot be checked for truncation)"
        return n, None
    try:
        head = parse_line(hp.read_bytes())
    except ValueError:
        return n, f"the head {hp.name} is not readable"
    if k is not None and not hmac.compare_digest(
            str(head.get("mac", "")), _mac(k, f"{head.get('count')}:{head.get('hash')}")):
        return n, f"the head {hp.name} has no valid MAC"
    if head.get("count") != n or (n and head.get("hash") != prev):
        return n, (f"the log ends at entry {n} but its head says {head.get('count')} entries "
                   "(truncated, emptied or rewritten)")
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
