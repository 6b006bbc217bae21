# SPDX-License-Identifier: GPL-3.0-or-later
"""Messaging core: contacts encrypted at rest, consent and opt-out, the frequency cap,
messages and their outbox, delivery through a real SMTP server (aiosmtpd on 127.0.0.1),
link tokens."""
from __future__ import annotations

import email
import email.policy
import logging
import os
import shutil
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from cryptography.fernet import Fernet

from spatial_core import open_store
from spatial_core.engagement.consent import FrequencyCap, opt_out, opt_out_by_link
from spatial_core.engagement.delivery import (
    EmlFolderDelivery,
    PlatformFileDelivery,
    SmtpDelivery,
)
from spatial_core.engagement.messages import (
    OutOfScope,
    create_message,
    list_messages,
    send_message,
)
from spatial_core.engagement.tokens import (
    ExpiredLink,
    InvalidLink,
    link_secret,
    make_link_token,
    read_link_token,
)
from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.members import import_members
from spatial_core.store import schema
from spatial_core.store.contacts import (
    MESSAGING_OFF,
    contact_cipher,
    read_contacts_for_delivery,
    rotate_contacts_key,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from smtp_helper import SmtpSink  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEY = Fernet.generate_key().decode()
KNOWN = "known.person@example.invalid"
KNOWN_MOBILE = "07700 900777"
BEAT = "beat:DM01B01"
URL = "https://lpt.example.invalid"
NOW = "2026-03-02T09:00:00"


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory):
    """A small demo force built with a contacts key, plus one known member (M-KNOWN) in
    BEAT with police consent and a known address."""
    root = tmp_path_factory.mktemp("messaging-demo")
    old = os.environ.get("LPT_CONTACTS_KEY")
    os.environ["LPT_CONTACTS_KEY"] = KEY
    try:
        from spatial_core.demo import build_demo

        store = open_store(root / "demo.gpkg")
        build_demo(store, root / "files", households=3000, months=6)
        a = schema.addresses
        uprn = store.read("addresses", ["uprn"], where=a.c.beat_id == BEAT)["uprn"].iloc[0]
        (root / "known.csv").write_text(
            "member_id,name,email,phone,uprn,groups,consents,joined\n"
            f"M-KNOWN,Known Person,{KNOWN},{KNOWN_MOBILE},{uprn},Neighbourhood Watch,police,"
            "2020-01-01\n", encoding="utf-8")
        import_members(store, [root / "known.csv"])
        store.close()
    finally:
        if old is None:
            os.environ.pop("LPT_CONTACTS_KEY", None)
        else:
            os.environ["LPT_CONTACTS_KEY"] = old
    return root


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("LPT_CONTACTS_KEY", KEY)
    for name in ("LPT_CONTACTS_KEY_FILE", "LPT_LINK_KEY", "LPT_CAP_PER_WEEK",
                 "LPT_CAP_PER_28_DAYS", "LPT_SMTP_URL", "LPT_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(demo_source, tmp_path):
    shutil.copyfile(demo_source / "demo.gpkg", tmp_path / "demo.gpkg")
    s = open_store(tmp_path / "demo.gpkg")
    yield s
    s.close()


def _message(store, **kw):
    args = {"created_by": "PC 101", "scope_areas": None, "kind": "update", "subject": None,
            "body": "Thank you for telling us about speeding on Mill Lane.", "areas": [BEAT],
            "now": NOW}
    args.update(kw)
    return create_message(store, **args)


def _recipients(store, message_id):
    r = schema.message_recipients
    return store.read("message_recipients", where=r.c.message_id == message_id)


def _address_of(store, member_ids):
    contacts = read_contacts_for_delivery(store, member_ids, contact_cipher())
    return {c.email: m for m, c in contacts.items()}


# -- tokens -----------------------------------------------------------------------------------

def test_link_token_reads_back_and_refuses_tampering_expiry_and_other_purposes():
    secret = b"s" * 32
    token = make_link_token(secret, "msg-1", "M7", "reply", "2026-06-01T00:00:00")
    link = read_link_token(secret, token, purpose="reply", now="2026-05-31T23:59:59")
    assert (link.message_id, link.member_id, link.purpose, link.expires_at) == \
        ("msg-1", "M7", "reply", "2026-06-01T00:00:00")
    with pytest.raises(ExpiredLink):
        read_link_token(secret, token, now="2026-06-01T00:00:01")
    with pytest.raises(InvalidLink, match="for reply, not unsubscribe"):
        read_link_token(secret, token, purpose="unsubscribe", now="2026-05-01T00:00:00")
    with pytest.raises(InvalidLink):
        read_link_token(b"t" * 32, token, now="2026-05-01T00:00:00")
    body, sig = token.split(".")
    other = make_link_token(secret, "msg-1", "M8", "reply", "2026-06-01T00:00:00")
    for bad in (other.split(".")[0] + "." + sig, body + "." + sig[:-2] + "AA", body, "",
                token + "x", "a.b.c", body[:-1] + "." + sig):
        with pytest.raises(InvalidLink):
            read_link_token(secret, bad, now="2026-05-01T00:00:00")
    # an expiry pushed later is a signature failure, not a longer life
    later = make_link_token(b"x" * 32, "msg-1", "M7", "reply", "2027-01-01T00:00:00")
    with pytest.raises(InvalidLink):
        read_link_token(secret, later.split(".")[0] + "." + sig, now="2026-05-01T00:00:00")
    assert issubclass(InvalidLink, InputError) and issubclass(ExpiredLink, InputError)


def test_link_secret_is_kept_in_the_store_unless_configured(store, monkeypatch):
    first = link_secret(store)
    assert len(first) == 32 and link_secret(store) == first
    assert store.get_meta("link_secret") == first.hex()
    monkeypatch.setenv("LPT_LINK_KEY", "a-configured-secret-of-some-length")
    assert link_secret(store) == b"a-configured-secret-of-some-length"
    monkeypatch.setenv("LPT_LINK_KEY", "short")
    with pytest.raises(InputError, match="too short"):
        link_secret(store)


# -- contacts ----------------------------------------------------------------------------------

def test_contacts_are_encrypted_at_rest_and_shown_nowhere(store, demo_source, caplog):
    c = schema.member_contacts
    row = store.read("member_contacts", where=c.c.member_id == "M-KNOWN").iloc[0]
    assert row["email_enc"].startswith("gAAAA") and KNOWN not in row["email_enc"]
    contact = read_contacts_for_delivery(store, ["M-KNOWN"], contact_cipher())["M-KNOWN"]
    assert (contact.email, contact.mobile) == (KNOWN, "07700900777")
    assert KNOWN not in repr(contact) and "900777" not in str(contact)
    # every table but member_contacts, as text, holds neither contact
    for name in schema.metadata.tables:
        text = store.read(name).astype(str).to_csv()
        assert KNOWN not in text and "900777" not in text, name
    # the file's bytes neither
    with caplog.at_level(logging.DEBUG):
        p = _message(store)
        send_message(store, p.message_id, EmlFolderDelivery(demo_source / "out-shown"),
                     public_url=URL, now=NOW)
    raw = Path(store.location).read_bytes()
    assert KNOWN.encode() not in raw and b"900777" not in raw
    assert KNOWN not in caplog.text and "900777" not in caplog.text
    assert "message " + p.message_id in caplog.text  # the audit line is there


def test_without_a_key_contacts_are_dropped_and_messaging_says_how(store, tmp_path, monkeypatch):
    monkeypatch.delenv("LPT_CONTACTS_KEY")
    assert contact_cipher() is None
    csv = tmp_path / "m.csv"
    uprn = store.read("members", ["uprn"], where=schema.members.c.member_id == "M-KNOWN")
    csv.write_text("member_id,email,phone,uprn\n"
                   f"M-NEW,new.person@example.invalid,07700900555,{uprn['uprn'].iloc[0]}\n")
    report = import_members(store, [csv])
    assert report.imported == 1
    assert any("LPT_CONTACTS_KEY" in note for note in report.notes)
    assert "new.person" not in report.to_json()
    assert store.count("member_contacts", where=schema.member_contacts.c.member_id == "M-NEW") == 0
    p = _message(store)
    before = store.fingerprint()
    with pytest.raises(InputError, match="LPT_CONTACTS_KEY_FILE") as err:
        send_message(store, p.message_id, EmlFolderDelivery(tmp_path / "out"), public_url=URL)
    assert str(err.value) == MESSAGING_OFF
    assert store.fingerprint() == before
    assert _recipients(store, p.message_id)["state"].eq("queued").sum() == p.recipients


def test_key_from_a_file_and_bad_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("LPT_CONTACTS_KEY")
    f = tmp_path / "key"
    f.write_text(KEY + "\n")
    monkeypatch.setenv("LPT_CONTACTS_KEY_FILE", str(f))
    assert contact_cipher() is not None
    f.write_text("not-a-key")
    with pytest.raises(InputError, match="not a Fernet key") as err:
        contact_cipher()
    assert "not-a-key" not in str(err.value)
    with pytest.raises(InputError, match="cannot read"):
        monkeypatch.setenv("LPT_CONTACTS_KEY_FILE", str(tmp_path / "missing"))
        contact_cipher()


def test_opt_out_in_the_export_is_recorded_and_erases_the_contact(store, tmp_path):
    uprn = store.read("members", ["uprn"], where=schema.members.c.member_id == "M-KNOWN")
    csv = tmp_path / "again.csv"
    csv.write_text("member_id,email,uprn,consents,joined,opted out\n"
                   f"M-KNOWN,{KNOWN},{uprn['uprn'].iloc[0]},police,2020-01-01,Yes\n")
    p = _message(store)  # queued before the opt-out
    assert _recipients(store, p.message_id).set_index("member_id").loc["M-KNOWN", "state"] == \
        "queued"
    report = import_members(store, [csv])
    assert any("opted out in the export" in n for n in report.notes)
    o = store.read("opt_outs").set_index("member_id")
    assert o.loc["M-KNOWN", "source"] == "export"
    assert store.count("member_contacts", where=schema.member_contacts.c.member_id == "M-KNOWN") \
        == 0
    rec = _recipients(store, p.message_id).set_index("member_id").loc["M-KNOWN"]
    assert (rec["state"], rec["held_reason"]) == ("held", "opted_out")
    import_members(store, [csv])  # the address in the export is never kept again
    assert store.count("member_contacts", where=schema.member_contacts.c.member_id == "M-KNOWN") \
        == 0


def test_rotate_key_reencrypts_every_contact(store):
    old = contact_cipher()
    new_key = Fernet.generate_key().decode()
    n_contacts = store.count("member_contacts")
    assert rotate_contacts_key(store, old, contact_cipher(new_key)) == n_contacts > 300
    with pytest.raises(Exception, match="cannot be decrypted"):
        read_contacts_for_delivery(store, ["M-KNOWN"], old)
    got = read_contacts_for_delivery(store, ["M-KNOWN"], contact_cipher(new_key))
    assert got["M-KNOWN"].email == KNOWN
    # a wrong "old" key changes nothing
    before = store.read("member_contacts", ["member_id", "email_enc"])
    with pytest.raises(Exception, match="cannot be decrypted"):
        rotate_contacts_key(store, old, contact_cipher(Fernet.generate_key().decode()))
    assert store.read("member_contacts", ["member_id", "email_enc"]).equals(before)


# -- preview, consent, cap ---------------------------------------------------------------------

def test_preview_counts_each_held_back_reason_in_order(store):
    from spatial_core.analytics.population import members_frame

    beat = members_frame(store, as_of=NOW[:10])
    ids = set(beat.loc[beat["beat_id"] == BEAT, "member_id"])
    consent = set(store.read("member_consents", where=schema.member_consents.c.organisation
                             == "police")["member_id"])
    no_consent = sorted(ids - consent)
    with_consent = sorted(ids & consent - {"M-KNOWN"})
    assert no_consent and len(with_consent) > 3
    opt_out(store, no_consent[0], source="officer", recorded_by="PC 9", now=NOW)  # both reasons
    opt_out(store, with_consent[0], source="officer", recorded_by="PC 9", now=NOW)
    with store.begin() as conn:  # one member without a contact
        store.delete_where(conn, "member_contacts",
                           schema.member_contacts.c.member_id == with_consent[1])
    p = _message(store)
    assert p.held_back == {"cap": 0, "consent": len(no_consent) - 1, "opted_out": 2,
                           "no_contact": 1}
    assert p.recipients == len(ids) - len(no_consent) - 2
    rec = _recipients(store, p.message_id).set_index("member_id")
    assert set(rec.index) == ids
    assert rec.loc[no_consent[0], "held_reason"] == "opted_out"
    assert rec.loc[with_consent[1], "held_reason"] == "no_contact"
    assert (rec["state"] == "queued").sum() == p.recipients
    assert rec["area_id"].eq(BEAT).all()


def test_frequency_cap_one_a_week_four_in_28_days(store, tmp_path):
    first = _message(store)
    assert first.held_back["cap"] == 0
    again = _message(store, now="2026-03-05T09:00:00")  # queued ones count too
    assert (again.recipients, again.held_back["cap"]) == (0, first.recipients)
    wider = _message(store, now="2026-03-05T09:00:00", cap=FrequencyCap(per_week=3))
    assert wider.recipients == first.recipients
    t0 = datetime.fromisoformat(NOW)
    two = FrequencyCap(per_week=2, per_28_days=4)  # with 1 a week, 4 in 28 days never binds
    counts = [_message(store, now=(t0 + timedelta(days=d)).isoformat(), cap=two).recipients
              for d in (8, 9, 11, 19)]
    # day 8: 1 in the week; day 9: 2 in the week; day 11: the 4th in 28 days; day 19: a 5th
    assert counts == [first.recipients, 0, first.recipients, 0]
    assert FrequencyCap.from_env() == FrequencyCap(1, 4)
    with pytest.raises(InputError):
        FrequencyCap(per_week=-1)


def test_bad_input_is_refused_and_changes_nothing(store, tmp_path):
    before = store.fingerprint()
    cases = [
        (NotFoundError, {"areas": ["beat:NOPE"]}),
        (InputError, {"body": "   "}),
        (InputError, {"kind": "spam"}),
        (InputError, {"areas": None}),
        (InputError, {"body": "x" * 20_001}),
        (OutOfScope, {"scope_areas": ["beat:DM02B01"]}),
        (NotFoundError, {"group": "no_such_group"}),
        (NotFoundError, {"setup_id": "no-such-setup"}),
    ]
    for error, kw in cases:
        with pytest.raises(error):
            _message(store, **kw)
    assert store.fingerprint() == before
    # a beat officer may message their beat, a supervisor their npa's beats
    assert _message(store, scope_areas=[BEAT]).recipients > 0
    assert _message(store, scope_areas=["npa:DM01"], now="2026-04-01T09:00:00").recipients > 0
    with pytest.raises(NotFoundError):
        send_message(store, "msg-nope", EmlFolderDelivery(tmp_path), public_url=URL)


def test_group_and_street_audiences(store):
    p = _message(store, group="neighbourhood_watch")
    g = set(store.read("member_groups", where=schema.member_groups.c.grp
                       == "neighbourhood_watch")["member_id"])
    rec = _recipients(store, p.message_id)
    assert set(rec["member_id"]) <= g and "M-KNOWN" in set(rec["member_id"])
    street = store.read("addresses", ["street_id"], where=schema.addresses.c.beat_id == BEAT
                        )["street_id"].iloc[0]
    s = _message(store, areas=[street], now="2026-05-01T09:00:00")
    assert s.considered > 0 and s.area_id == BEAT  # a street speaks for its beat
    on_street = set(store.read("addresses", ["uprn"], where=schema.addresses.c.street_id
                               == street)["uprn"])
    members = store.read("members", ["member_id", "uprn"]).set_index("member_id")["uprn"]
    assert all(members[m] in on_street for m in _recipients(store, s.message_id)["member_id"])
    with pytest.raises(OutOfScope):
        _message(store, areas=None, group="neighbourhood_watch", scope_areas=[BEAT])


def test_class_ethnicity_and_setup_audiences(store):
    from spatial_core.analytics.population import members_frame
    from spatial_core.targeting.setups import create_setup

    m = members_frame(store, scheme="oac2011", level=1, as_of=NOW[:10])
    in_beat = m[m["beat_id"] == BEAT]
    code = str(in_beat["group"].value_counts().index[0])
    p = _message(store, group=f"oac2011:{code}")
    assert set(_recipients(store, p.message_id)["member_id"]) == \
        set(in_beat.loc[in_beat["group"].astype(str) == code, "member_id"])
    eth = store.read("members", ["member_id", "ethnicity"]).set_index("member_id")["ethnicity"]
    e = _message(store, group="ethnicity:white", now="2026-04-01T09:00:00")
    got = set(_recipients(store, e.message_id)["member_id"])
    assert got and all(str(eth[mid]).startswith("white") for mid in got)
    with pytest.raises(NotFoundError):
        _message(store, group="oac2011:99z")
    setup = create_setup(store, "messaging test", areas=[BEAT], revisit_registered=True,
                         max_streets=3, now="2026-02-01T09:00:00")
    uprns = set(store.read("setup_households", where=schema.setup_households.c.setup_id
                           == setup.setup_id)["uprn"])
    s = _message(store, areas=None, setup_id=setup.setup_id, scope_areas=[BEAT],
                 now="2026-05-01T09:00:00")
    members = store.read("members", ["member_id", "uprn"]).set_index("member_id")["uprn"]
    considered = set(_recipients(store, s.message_id)["member_id"])
    assert considered and all(members[mid] in uprns for mid in considered)
    with pytest.raises(OutOfScope):
        _message(store, areas=None, setup_id=setup.setup_id, scope_areas=["beat:DM02B01"])


# -- sending -----------------------------------------------------------------------------------

def test_smtp_delivery_one_connection_headers_parts_and_personal_links(store):
    p = _message(store, kind="survey", subject="Your views, please")
    with SmtpSink() as sink:
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                              now=NOW)
        got = sink.received
        sessions = sink.handler.sessions
    assert (report.sent, report.failed, report.uncertain) == (p.recipients, 0, 0)
    assert sessions == 1  # one connection reused for every recipient
    rec = _recipients(store, p.message_id)
    queued = rec[rec["state"] == "sent"]
    by_address = _address_of(store, queued["member_id"].tolist())
    assert sorted(r for m in got for r in m.rcpt_tos) == sorted(by_address)
    secret = link_secret(store)
    for m in got:
        msg = m.message
        member = by_address[m.rcpt_tos[0]]
        assert msg["Subject"] == "Your views, please"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsub = str(msg["List-Unsubscribe"])
        assert unsub.startswith(f"<{URL}/engage/unsubscribe/") and unsub.endswith(">")
        token = unsub[1:-1].rsplit("/", 1)[1]
        assert read_link_token(secret, token, purpose="unsubscribe", now=NOW).member_id == member
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "speeding on Mill Lane" in text and "speeding on Mill Lane" in html
        for purpose in ("reply", "survey"):
            url = next(w for w in text.split() if f"/engage/{purpose}/" in w)
            assert url in html
            link = read_link_token(secret, url.rsplit("/", 1)[1], purpose=purpose, now=NOW)
            assert (link.member_id, link.message_id) == (member, p.message_id)
    assert list_messages(store).set_index("message_id").loc[p.message_id, "status"] == "sent"
    with pytest.raises(InputError, match="already sent"):
        send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL)


def test_temporary_failure_is_retried_with_backoff(store):
    p = _message(store)
    with SmtpSink(fail_once={KNOWN: "451 4.7.1 Greylisted, try again <" + KNOWN + ">"}) as sink:
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                              now=NOW, backoff_s=0.05)
        got = sink.recipients()
    assert (report.sent, report.failed, report.retried) == (p.recipients, 0, 1)
    assert got.count(KNOWN) == 1 and len(got) == len(set(got)) == p.recipients
    row = _recipients(store, p.message_id).set_index("member_id").loc["M-KNOWN"]
    assert (row["state"], row["attempts"]) == ("sent", 2)


def test_permanent_failure_is_recorded_without_the_address_and_marks_it_bad(store):
    p = _message(store)
    with SmtpSink(fail_always={KNOWN: f"550 5.1.1 <{KNOWN}>: Recipient address rejected"}
                  ) as sink:
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                              now=NOW, backoff_s=0.05)
        got = sink.recipients()
    assert (report.sent, report.failed, report.retried) == (p.recipients - 1, 1, 0)
    assert KNOWN not in got
    row = _recipients(store, p.message_id).set_index("member_id").loc["M-KNOWN"]
    assert row["state"] == "failed" and row["attempts"] == 1
    assert row["error"].startswith("550 ") and "Recipient address rejected" in row["error"]
    assert KNOWN not in row["error"] and "<address>" in row["error"]
    status = store.read("member_contacts", where=schema.member_contacts.c.member_id
                        == "M-KNOWN")["email_status"].iloc[0]
    assert status == "bad"
    later = _message(store, now="2026-04-10T09:00:00")
    held = _recipients(store, later.message_id).set_index("member_id")
    assert held.loc["M-KNOWN", "held_reason"] == "no_contact"


def test_a_refused_message_is_not_the_address_fault(store):
    p = _message(store)
    with SmtpSink(fail_data="554 5.6.0 Message refused by content policy") as sink:
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                              now=NOW)
    assert (report.sent, report.failed) == (0, p.recipients)
    flags = store.read("member_contacts", ["email_status"])["email_status"]
    assert flags.eq("ok").all()


def test_an_unreachable_server_stops_the_run_and_loses_nobody(store):
    import socket

    from spatial_core.engagement.messages import DeliveryUnavailable

    p = _message(store)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryUnavailable, match="cannot connect") as err:
        send_message(store, p.message_id, SmtpDelivery(f"smtp://127.0.0.1:{port}"),
                     public_url=URL, now=NOW)
    assert f"{p.recipients} still to send" in str(err.value)
    rec = _recipients(store, p.message_id)
    queued = rec[rec["state"] == "queued"]
    assert len(queued) == p.recipients and queued["attempts"].eq(0).all()
    with SmtpSink() as sink:
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                              now=NOW)
        got = sink.recipients()
    assert report.sent == p.recipients == len(set(got)) == len(got)


_SENDER = """
import sys
from spatial_core import open_store
from spatial_core.engagement.delivery import SmtpDelivery
from spatial_core.engagement.messages import send_message
store = open_store(sys.argv[1])
send_message(store, sys.argv[2], SmtpDelivery(sys.argv[3], timeout=600), public_url=sys.argv[4],
             batch_size=4)
"""


def test_killed_sender_restarted_sends_nobody_twice(store):
    p = _message(store)
    assert p.recipients > 20
    with SmtpSink(stall_after=10) as sink:
        proc = subprocess.Popen([sys.executable, "-c", _SENDER, store.location, p.message_id,
                                 sink.url, URL], cwd=ROOT, start_new_session=True)
        try:
            assert sink.handler.stalled.wait(120), "the sender never reached the stall"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        before_restart = sink.recipients()
        sink.handler.stall_after = None
        sink.release()
        report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL)
        got = sink.recipients()
    assert len(before_restart) == 10
    assert len(got) == len(set(got))  # nobody twice
    rec = _recipients(store, p.message_id)
    uncertain = rec[rec["state"] == "uncertain"]
    assert len(uncertain) == 4 == report.uncertain  # one claimed batch, never resent
    sent = rec[rec["state"] == "sent"]
    assert len(sent) == p.recipients - 4 == report.sent + 8
    addresses = _address_of(store, rec["member_id"].tolist())
    received_members = {addresses[a] for a in got}
    assert set(sent["member_id"]) <= received_members
    # the uncertain batch: two got it before the kill, two did not; none got it twice
    assert len(received_members & set(uncertain["member_id"])) == 2
    assert list_messages(store).set_index("message_id").loc[p.message_id, "status"] == "sent"


def test_unsubscribe_link_opts_out_at_once(store, tmp_path):
    p = _message(store)
    send_message(store, p.message_id, EmlFolderDelivery(tmp_path / "out"), public_url=URL,
                 now=NOW)
    eml = tmp_path / "out" / p.message_id / "M-KNOWN.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["To"] == KNOWN
    token = str(msg["List-Unsubscribe"])[1:-1].rsplit("/", 1)[1]
    nxt = _message(store, now="2026-03-20T09:00:00")  # queued for M-KNOWN before the opt-out
    link = opt_out_by_link(store, token, now="2026-03-21T09:00:00")
    assert (link.member_id, link.message_id) == ("M-KNOWN", p.message_id)
    o = store.read("opt_outs").set_index("member_id").loc["M-KNOWN"]
    assert (o["source"], o["opted_out_at"]) == ("link", "2026-03-21T09:00:00")
    assert store.count("member_contacts", where=schema.member_contacts.c.member_id == "M-KNOWN") \
        == 0
    row = _recipients(store, nxt.message_id).set_index("member_id").loc["M-KNOWN"]
    assert (row["state"], row["held_reason"]) == ("held", "opted_out")
    again = opt_out_by_link(store, token, now="2026-03-22T09:00:00")  # a second click is harmless
    assert again.member_id == "M-KNOWN"
    reply = make_link_token(link_secret(store), p.message_id, "M-KNOWN", "reply",
                            "2030-01-01T00:00:00")
    with pytest.raises(InvalidLink):
        opt_out_by_link(store, reply, now="2026-03-22T09:00:00")


def test_consent_withdrawn_before_sending_holds_the_member(store, tmp_path):
    p = _message(store)
    with store.begin() as conn:  # a newer export without police consent for M-KNOWN
        store.delete_where(conn, "member_consents",
                           schema.member_consents.c.member_id == "M-KNOWN")
    report = send_message(store, p.message_id, EmlFolderDelivery(tmp_path / "out"),
                          public_url=URL, now=NOW)
    assert (report.sent, report.held) == (p.recipients - 1, 1)
    row = _recipients(store, p.message_id).set_index("member_id").loc["M-KNOWN"]
    assert (row["state"], row["held_reason"]) == ("held", "consent")
    assert not (tmp_path / "out" / p.message_id / "M-KNOWN.eml").exists()


def test_platform_file_delivery_hands_over_member_ids_and_the_message(store, tmp_path,
                                                                      monkeypatch):
    p = _message(store)
    monkeypatch.delenv("LPT_CONTACTS_KEY")  # the platform holds the contacts: no key needed
    report = send_message(store, p.message_id, PlatformFileDelivery(tmp_path / "platform"),
                          public_url=URL, now=NOW)
    assert report.sent == p.recipients
    folder = tmp_path / "platform" / p.message_id
    listed = pd.read_csv(folder / "recipients.csv", dtype=str)
    sent = _recipients(store, p.message_id)
    assert sorted(listed["member_id"]) == sorted(sent.loc[sent["state"] == "sent", "member_id"])
    assert listed["reply_link"].str.startswith(f"{URL}/engage/reply/").all()
    assert "Mill Lane" in (folder / "message.txt").read_text()
    assert "{unsubscribe_link}" in (folder / "message.html").read_text()
    files = "".join(f.read_text() for f in folder.iterdir())
    assert "@example.invalid" not in files


def test_create_and_send_on_postgis(postgis_url, tmp_path):
    from spatial_core.demo import build_demo

    store = open_store(postgis_url)
    try:
        build_demo(store, tmp_path / "files", households=1500, months=3)
        p = _message(store, areas=["force:DEMO"])
        assert p.recipients > 50
        with SmtpSink(fail_once={}) as sink:
            report = send_message(store, p.message_id, SmtpDelivery(sink.url), public_url=URL,
                                  now=NOW, batch_size=7)
            got = sink.recipients()
        assert report.sent == p.recipients == len(got) == len(set(got))
        rec = _recipients(store, p.message_id)
        assert rec.loc[rec["state"] == "sent", "attempts"].eq(1).all()
        assert list_messages(store).set_index("message_id").loc[p.message_id, "sent"] == \
            p.recipients
    finally:
        store.close()


def test_email_with_non_ascii_subject_and_text_reads_back():
    from spatial_core.engagement.delivery import Envelope, build_email, html_body, text_body

    links = {"reply": f"{URL}/engage/reply/abc"}
    body = "Café owners on Mill Lane – thank you.\n\nWe’ll be back on Friday."
    env = Envelope("msg-1", "M1", KNOWN, "Résumé – “You said, we did”",
                   text_body(body, links, f"{URL}/engage/unsubscribe/xyz"),
                   html_body(body, links, f"{URL}/engage/unsubscribe/xyz"),
                   f"{URL}/engage/unsubscribe/xyz", links, body)
    raw = build_email(env, "alerts@force.example.invalid").as_bytes()
    assert raw.isascii()  # encoded words and quoted-printable only
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Résumé – “You said, we did”"
    assert "Café owners" in msg.get_body(("plain",)).get_content()
    assert "<p>We’ll be back on Friday.</p>" in msg.get_body(("html",)).get_content()
    assert msg["List-Unsubscribe"] == f"<{URL}/engage/unsubscribe/xyz>"
    assert repr(env) == "Envelope(message_id='msg-1', member_id='M1')"


def test_reimport_updates_clears_or_keeps_contacts_as_documented(store, tmp_path):
    uprn = store.read("members", ["uprn"], where=schema.members.c.member_id == "M-KNOWN"
                      )["uprn"].iloc[0]
    c = schema.member_contacts
    with store.begin() as conn:
        conn.execute(c.update().where(c.c.member_id == "M-KNOWN").values(email_status="bad"))

    def contact():
        got = read_contacts_for_delivery(store, ["M-KNOWN"], contact_cipher())
        return (got["M-KNOWN"].email, got["M-KNOWN"].mobile, got["M-KNOWN"].email_status) \
            if "M-KNOWN" in got else None

    def load(text):
        f = tmp_path / "m.csv"
        f.write_text(text)
        return import_members(store, [f])

    token = store.read("member_contacts", where=c.c.member_id == "M-KNOWN")["email_enc"].iloc[0]
    load(f"member_id,email,phone,uprn\nM-KNOWN,{KNOWN},{KNOWN_MOBILE},{uprn}\n")  # unchanged
    assert store.read("member_contacts", where=c.c.member_id == "M-KNOWN")["email_enc"].iloc[0] \
        == token
    assert contact() == (KNOWN, "07700900777", "bad")
    load(f"member_id,uprn\nM-KNOWN,{uprn}\n")  # no contact columns: kept
    assert contact() == (KNOWN, "07700900777", "bad")
    load(f"member_id,email,uprn\nM-KNOWN,New.Address@EXAMPLE.invalid,{uprn}\n")  # changed
    assert contact() == ("New.Address@example.invalid", "07700900777", "ok")
    load(f"member_id,email,phone,uprn\nM-KNOWN,not an address,,{uprn}\n")  # cleared
    assert contact() is None
    assert store.count("member_contacts", where=c.c.member_id == "M-KNOWN") == 0
