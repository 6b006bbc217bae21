# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt message`` and ``lpt contacts`` through ``lpt_cli.main.main``."""
from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from lpt_cli.main import main
from spatial_core import open_store
from spatial_core.io.members import import_members
from spatial_core.store import schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from smtp_helper import SmtpSink  # noqa: E402

KEY = Fernet.generate_key().decode()
KNOWN = "cli.person@example.invalid"
BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-messaging")
    old = os.environ.get("LPT_CONTACTS_KEY")
    os.environ["LPT_CONTACTS_KEY"] = KEY
    try:
        from spatial_core.demo import build_demo

        store = open_store(root / "demo.gpkg")
        build_demo(store, root / "files", households=3000, months=6)
        a = schema.addresses
        uprn = store.read("addresses", ["uprn"], where=a.c.beat_id == BEAT)["uprn"].iloc[0]
        (root / "known.csv").write_text(
            "member_id,email,phone,uprn,consents,joined\n"
            f"M-CLI,{KNOWN},07700 900888,{uprn},police,2020-01-01\n", encoding="utf-8")
        import_members(store, [root / "known.csv"])
        store.close()
    finally:
        if old is None:
            os.environ.pop("LPT_CONTACTS_KEY", None)
        else:
            os.environ["LPT_CONTACTS_KEY"] = old
    return root


@pytest.fixture
def gpkg(source, tmp_path, monkeypatch):
    shutil.copyfile(source / "demo.gpkg", tmp_path / "demo.gpkg")
    monkeypatch.setenv("LPT_CONTACTS_KEY", KEY)
    monkeypatch.setenv("LPT_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("LPT_PUBLIC_URL", "https://lpt.example.invalid")
    for name in ("LPT_CONTACTS_KEY_FILE", "LPT_LINK_KEY", "LPT_SMTP_URL", "LPT_CAP_PER_WEEK",
                 "LPT_CAP_PER_28_DAYS", "LPT_STORE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "demo.gpkg"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _create(capsys, gpkg, *extra):
    return run(capsys, "--store", str(gpkg), "message", "create", "--area", BEAT, "--kind",
               "update", "--text", "The speed checks on Mill Lane start on Monday.",
               "--by", "PC 101", *extra)


def test_create_send_list_json(capsys, gpkg, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    code, out, err = _create(capsys, gpkg, "--json")
    assert code == 0, err
    preview = json.loads(out)
    assert set(preview) == {"message_id", "recipients", "held_back"}
    assert set(preview["held_back"]) == {"cap", "consent", "opted_out", "no_contact"}
    assert preview["recipients"] > 10
    code, out2, err2 = run(capsys, "--store", str(gpkg), "message", "send",
                           preview["message_id"], "--json")
    assert code == 0, err2
    sent = json.loads(out2)
    assert (sent["sent"], sent["failed"], sent["uncertain"], sent["channel"]) == \
        (preview["recipients"], 0, 0, "eml")
    files = list((tmp_path / "outbox" / preview["message_id"]).glob("*.eml"))
    assert len(files) == preview["recipients"]
    msg = email.message_from_bytes((tmp_path / "outbox" / preview["message_id"]
                                    / "M-CLI.eml").read_bytes(), policy=email.policy.default)
    assert msg["To"] == KNOWN
    assert str(msg["List-Unsubscribe"]).startswith("<https://lpt.example.invalid/engage/")
    code, out3, err3 = run(capsys, "--store", str(gpkg), "message", "list", "--json")
    listed = json.loads(out3)
    mine = [(m["message_id"], m["status"], m["sent"]) for m in listed
            if m["message_id"] == preview["message_id"]]
    assert mine == [(preview["message_id"], "sent", preview["recipients"])]
    code, out4, err4 = run(capsys, "--store", str(gpkg), "message", "list")
    assert preview["message_id"] in out4
    # no contact anywhere in what the commands printed or logged
    for text in (out, err, out2, err2, out3, err3, out4, err4, caplog.text):
        assert KNOWN not in text and "900888" not in text and "@example.invalid" not in text


def test_text_output_and_text_file(capsys, gpkg, tmp_path):
    f = tmp_path / "text.txt"
    f.write_text("You said: parking on the school run.\n\nWe did: patrols at 8.30.\n")
    code, out, err = run(capsys, "--store", str(gpkg), "message", "create", "--area", BEAT,
                         "--kind", "you_said_we_did", "--text-file", str(f), "--by", "PC 1")
    assert code == 0, err
    assert out.startswith("message msg-") and "recipient(s); held back:" in out
    mid = out.split()[1]
    code, out, err = run(capsys, "--store", str(gpkg), "message", "send", mid)
    assert code == 0 and f"message {mid} through EmlFolderDelivery" in out


@pytest.mark.parametrize("argv, expected", [
    (["--area", "beat:NOPE", "--kind", "update", "--text", "x"], "no area 'beat:NOPE'"),
    (["--area", BEAT, "--kind", "update", "--text", "  "], "message text is empty"),
    (["--area", BEAT, "--kind", "spam", "--text", "x"], "kind 'spam' is not one of"),
    (["--area", BEAT, "--kind", "update", "--text", "x", "--group", "nope"],
     "no member group 'nope'"),
])
def test_bad_input_exit_2_and_nothing_written(capsys, gpkg, argv, expected):
    store = open_store(gpkg)
    before = store.fingerprint()
    store.close()
    code, out, err = run(capsys, "--store", str(gpkg), "message", "create", *argv, "--by", "PC 1")
    assert code == 2 and expected in err and "Traceback" not in err
    store = open_store(gpkg)
    assert store.fingerprint() == before
    store.close()


def test_send_errors_exit_2(capsys, gpkg, monkeypatch):
    code, out, _ = _create(capsys, gpkg, "--json")
    mid = json.loads(out)["message_id"]
    assert run(capsys, "--store", str(gpkg), "message", "send", "msg-nope")[0] == 2
    monkeypatch.delenv("LPT_CONTACTS_KEY")
    code, out, err = run(capsys, "--store", str(gpkg), "message", "send", mid)
    assert code == 2 and "LPT_CONTACTS_KEY_FILE" in err
    monkeypatch.setenv("LPT_CONTACTS_KEY", KEY)
    assert run(capsys, "--store", str(gpkg), "message", "send", mid)[0] == 0
    code, out, err = run(capsys, "--store", str(gpkg), "message", "send", mid)
    assert code == 2 and "already sent" in err


def test_send_through_smtp_from_the_environment(capsys, gpkg, monkeypatch):
    code, out, _ = _create(capsys, gpkg, "--json")
    preview = json.loads(out)
    with SmtpSink() as sink:
        monkeypatch.setenv("LPT_SMTP_URL", sink.url)
        code, out, err = run(capsys, "--store", str(gpkg), "message", "send",
                             preview["message_id"], "--json")
        got = sink.recipients()
    assert code == 0, err
    assert json.loads(out)["channel"] == "smtp"
    assert len(got) == len(set(got)) == preview["recipients"] and KNOWN in got


def test_contacts_opt_out_and_rotate_key(capsys, gpkg, tmp_path, monkeypatch):
    code, out, err = run(capsys, "--store", str(gpkg), "contacts", "opt-out", "M-CLI",
                         "--by", "PC 7")
    assert code == 0 and "member M-CLI opted out" in out
    store = open_store(gpkg)
    o = store.read("opt_outs").set_index("member_id").loc["M-CLI"]
    assert (o["source"], o["recorded_by"]) == ("officer", "PC 7")
    assert store.count("member_contacts", where=schema.member_contacts.c.member_id == "M-CLI") == 0
    store.close()
    assert run(capsys, "--store", str(gpkg), "contacts", "opt-out", "M-NOPE", "--by", "PC 7"
               )[0] == 2
    assert run(capsys, "--store", str(gpkg), "contacts", "opt-out", "M-CLI", "--by", " "
               )[0] == 2
    key = tmp_path / "new.key"
    code, out, err = run(capsys, "contacts", "new-key", "--out", str(key))
    assert code == 0 and oct(key.stat().st_mode & 0o777) == "0o600"
    assert run(capsys, "contacts", "new-key", "--out", str(key))[0] == 2  # never overwritten
    code, out, err = run(capsys, "--store", str(gpkg), "contacts", "rotate-key",
                         "--new-key-file", str(key), "--json")
    assert code == 0, err
    assert json.loads(out)["reencrypted"] > 300
    code, out, _ = _create(capsys, gpkg, "--json")
    mid = json.loads(out)["message_id"]
    code, out, err = run(capsys, "--store", str(gpkg), "message", "send", mid)  # the old key
    assert code == 1 and "cannot be decrypted" in err
    store = open_store(gpkg)
    r = schema.message_recipients
    assert store.count("message_recipients", where=(r.c.message_id == mid)
                       & r.c.state.in_(("claimed", "uncertain", "sent"))) == 0  # none claimed
    store.close()
    monkeypatch.delenv("LPT_CONTACTS_KEY")
    monkeypatch.setenv("LPT_CONTACTS_KEY_FILE", str(key))
    code, out, err = run(capsys, "--store", str(gpkg), "message", "send", mid, "--json")
    assert code == 0, err
    assert json.loads(out)["sent"] == json.loads(_create_json_recipients(gpkg, mid))


def _create_json_recipients(gpkg, mid) -> str:
    store = open_store(gpkg)
    r = schema.message_recipients
    n = store.count("message_recipients", where=(r.c.message_id == mid) & (r.c.state == "sent"))
    store.close()
    return json.dumps(n)
