# SPDX-License-Identifier: GPL-3.0-or-later
"""The engagement commands: lpt action, draft, replies, engagement, survey invite-due.
Bad input exits 2 and writes nothing."""
from __future__ import annotations

import json

import pytest

from lpt_cli.main import main
from spatial_core import open_store


@pytest.fixture
def demo(demo_builds, tmp_path, monkeypatch):
    path = demo_builds.copy(tmp_path / "d", households=2_000, months=6)
    monkeypatch.setenv("LPT_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv("LPT_SMTP_URL", raising=False)
    monkeypatch.delenv("LPT_CONTACTS_KEY", raising=False)
    return str(path)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _fingerprint(path):
    with open_store(path, create=False) as s:
        return s.fingerprint()


def _beat(path):
    with open_store(path, create=False) as s:
        return sorted(s.read("areas", ["area_id", "level"]).query("level == 'beat'")["area_id"])[0]


def test_action_add_list_and_draft(demo, capsys):
    beat = _beat(demo)
    code, out, _ = _run(capsys, "--store", demo, "action", "add", "--area", beat, "--priority",
                        "Anti-social behaviour", "--what", "Evening patrols at the shops",
                        "--partner", "City council", "--date", "2026-09-20", "--by", "PC 9",
                        "--json")
    assert code == 0
    action_id = json.loads(out)["action_id"]
    code, out, _ = _run(capsys, "--store", demo, "action", "list", "--area", beat, "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["action_id"] == action_id
    assert rows[0]["priority"] == "asb" and rows[0]["partner"] == "City council"
    code, out, _ = _run(capsys, "--store", demo, "draft", "--area", beat, "--min-n", "1",
                        "--json")
    d = json.loads(out)
    assert code == 0 and d["subject"].startswith("You said, we did: ")
    assert d["respondents"] >= 1 and "YOU SAID" in d["body"]
    code, out, _ = _run(capsys, "--store", demo, "draft", "--area", beat, "--min-n", "1")
    assert code == 0 and out.startswith("Subject: You said, we did")


@pytest.mark.parametrize("argv, message", [
    (["action", "add", "--area", "BEAT", "--priority", "parking", "--what", "x", "--by", "PC"],
     "not one of"),
    (["action", "add", "--area", "beat:NOPE", "--priority", "asb", "--what", "x", "--by", "PC"],
     "no area"),
    (["action", "add", "--area", "BEAT", "--priority", "asb", "--what", "x", "--by", "PC",
      "--date", "2099-01-01"], "future"),
    (["action", "add", "--area", "BEAT", "--priority", "asb", "--what", " ", "--by", "PC"],
     "empty"),
    (["draft", "--area", "beat:NOPE"], "no area"),
    (["engagement", "--k", "1"], "k must be"),
    (["survey", "invite-due", "--every-months", "0"], "every-months"),
])
def test_bad_input_exits_2_and_writes_nothing(demo, capsys, argv, message):
    beat = _beat(demo)
    before = _fingerprint(demo)
    code, _, err = _run(capsys, "--store", demo, *[beat if a == "BEAT" else a for a in argv])
    assert code == 2 and message in err
    assert _fingerprint(demo) == before


def test_replies_and_engagement_figures(demo, capsys):
    code, out, _ = _run(capsys, "--store", demo, "replies", "--json")
    replies = json.loads(out)
    with open_store(demo, create=False) as s:
        assert len(replies) == s.count("replies") > 0
    assert [r["urgent"] for r in replies] == sorted((r["urgent"] for r in replies), reverse=True)
    assert not {"name", "email", "mobile"} & set(replies[0])
    first = replies[0]["message_id"]
    code, out, _ = _run(capsys, "--store", demo, "replies", "--message", first, "--json")
    assert code == 0 and {r["message_id"] for r in json.loads(out)} == {first}
    code, again, _ = _run(capsys, "--store", demo, "message", "replies", first, "--json")
    assert code == 0 and json.loads(again) == json.loads(out)
    code, out, err = _run(capsys, "--store", demo, "message", "replies", "msg-none", "--json")
    assert code == 2 and out == "" and "no message 'msg-none'" in err
    code, out, _ = _run(capsys, "--store", demo, "engagement", "--by", "message", "--k", "0",
                        "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and sum(r["replied"] for r in rows) == len({(r["message_id"],
                                                                  r["member_id"])
                                                                 for r in replies})
    code, out, _ = _run(capsys, "--store", demo, "engagement", "--json")
    data = json.loads(out)
    assert data["k"] == 5 and all(v is None or not 1 <= v <= 4 for r in data["rows"]
                                  for k, v in r.items() if k in ("sent", "replied"))
    code, out, _ = _run(capsys, "--store", demo, "engagement", "--by", "sender")
    assert code == 0 and "sender" in out


def test_engagement_effect(demo, capsys):
    code, out, _ = _run(capsys, "--store", demo, "engagement", "effect", "--json")
    e = json.loads(out)
    assert code == 0 and e["kind"] == "you_said_we_did" and "Observational" in e["statement"]
    assert e["treated"] > 0
    code, out2, _ = _run(capsys, "--store", demo, "engagement", "--effect", "--json")
    assert json.loads(out2) == e
    code, out, _ = _run(capsys, "--store", demo, "engagement", "effect")
    assert code == 0 and "Effect of" in out


def test_survey_invite_due_needs_messaging_switched_on(demo, capsys, monkeypatch):
    before = _fingerprint(demo)
    code, _, err = _run(capsys, "--store", demo, "survey", "invite-due", "--json")
    assert code == 2 and "messaging is switched off" in err
    assert _fingerprint(demo) == before
    # with a key but no contact kept at import, everyone due is held back for no contact
    from cryptography.fernet import Fernet

    monkeypatch.setenv("LPT_CONTACTS_KEY", Fernet.generate_key().decode())
    code, out, _ = _run(capsys, "--store", demo, "survey", "invite-due", "--now",
                        "2026-12-20T09:00:00", "--json")
    r = json.loads(out)
    assert code == 0 and r["due"] > 0 and r["sent"] == 0 and r["invited"] == 0
    assert r["held_back"]["no_contact"] > 0
    code, out, _ = _run(capsys, "--store", demo, "survey", "form", "--json")
    assert [q["name"] for q in json.loads(out)][0] == "priorities"
