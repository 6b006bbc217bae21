# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit log is tamper-evident for real (issue 13): a keyed MAC per entry and a head kept
beside the log catch truncation, emptying and a chain recomputed without the key; a
duplicated JSON key is refused; a torn last line does not stop later appends."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from geoservice.audit import AuditLog, _digest, head_path, read_entries, verify

KEY = "audit-test-key-0123456789"


@pytest.fixture
def log(tmp_path):
    a = AuditLog(tmp_path / "audit.jsonl", key=KEY)
    for i in range(5):
        a.append(request_id=f"r{i}", sub=f"pc-{i}", role="beat_officer", action="read",
                 collection="visits", purpose="patrols")
    return a


def _lines(log):
    return log.path.read_text().splitlines()


def test_an_intact_log_verifies_with_the_key(log):
    assert verify(log.path, key=KEY) == (5, None)
    assert all(len(e["mac"]) == 64 for e in read_entries(log.path))


def test_truncating_the_tail_fails(log):
    log.path.write_text("\n".join(_lines(log)[:3]) + "\n")
    n, problem = verify(log.path, key=KEY)
    assert problem == ("the log ends at entry 3 but its head says 5 entries (truncated, "
                       "emptied or rewritten)")


def test_emptying_the_file_fails(log):
    log.path.write_text("")
    assert verify(log.path, key=KEY)[1].startswith("the log ends at entry 0 but its head says 5")


def test_a_chain_recomputed_without_the_key_fails(log):
    entries = [json.loads(x) for x in _lines(log)]
    del entries[2]  # delete an entry, then recompute seq/prev/hash as an attacker would
    prev, out = "0" * 64, []
    for i, e in enumerate(entries, start=1):
        e = {k: v for k, v in e.items() if k not in ("hash", "mac")}
        e["seq"], e["prev"] = i, prev
        e["hash"] = _digest(prev, e)
        prev = e["hash"]
        out.append(json.dumps(e, sort_keys=True))
    log.path.write_text("\n".join(out) + "\n")
    head_path(log.path).write_text(json.dumps({"count": 4, "hash": prev}))
    n, problem = verify(log.path, key=KEY)
    assert problem == "entry 1: MAC does not match (written or rewritten without the key)"
    # and with someone else's key the entries are not accepted either
    assert verify(log.path, key="another key")[1].startswith("entry 1: MAC does not match")


def test_a_duplicated_key_is_refused(log):
    lines = _lines(log)
    lines[1] = lines[1][:-1] + ', "sub": "someone-else"}'
    log.path.write_text("\n".join(lines) + "\n")
    assert verify(log.path, key=KEY) == (
        2, "entry 2: key 'sub' appears twice (a reader would see a forged value)")


def test_a_torn_last_line_is_recovered_and_named(log):
    with open(log.path, "ab") as fh:
        fh.write(b'{"seq": 6, "sub": "pc-cut-sh')  # a write cut short
    entry = log.append(request_id="r6", sub="pc-6", role="beat_officer", action="read",
                       collection="visits", purpose="patrols")
    assert entry["seq"] == 6
    assert entry["torn"] == hashlib.sha256(b'{"seq": 6, "sub": "pc-cut-sh').hexdigest()
    assert verify(log.path, key=KEY) == (6, None)
    log.append(request_id="r7", sub="pc-7", role="beat_officer", action="read",
               collection="visits")
    assert verify(log.path, key=KEY) == (7, None)
    # a garbage line slipped in elsewhere, not named by the next entry, is an error
    lines = _lines(log)
    lines.insert(2, "garbage")
    log.path.write_text("\n".join(lines) + "\n")
    assert verify(log.path, key=KEY)[1] == ("entry 3: follows a line that is not an entry "
                                            "and does not name it")


def test_lpt_audit_verify_reads_the_key_from_the_environment(log, tmp_path):
    def run(env_key):
        env = {"PATH": "/usr/bin:/bin", "LPT_AUDIT_KEY": env_key}
        return subprocess.run([sys.executable, "-m", "lpt_cli.main", "audit", "verify",
                               "--log", str(log.path)], capture_output=True, text=True,
                              env=env, timeout=120)
    ok = run(KEY)
    assert ok.returncode == 0 and "audit log intact: 5 entries" in ok.stdout
    bad = run("wrong")
    assert bad.returncode == 1 and "MAC does not match" in bad.stderr
