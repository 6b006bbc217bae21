# SPDX-License-Identifier: GPL-3.0-or-later
"""The engagement front of the service against real components: an SMTP server (aiosmtpd) on
127.0.0.1 keeping every e-mail it receives, and ``lpt serve`` on a copy of the demo force with
member contacts stored (encrypted with a test key), the demo sign-in, and its ``engagement``
section pointing at that SMTP server.

- the residents' pages: a reply, a survey and an unsubscribe through the links in a real
  e-mail; a tampered link (400), an expired one (410), an oversized body (413) and too many
  posts (429) store nothing;
- the officers' collections and processes: compose (the preview against the store), send
  (the e-mails at the SMTP server), replies (scope, purpose, urgent first, audited), answer,
  actions, "You said, we did" draft, door survey with a registration, engagement figures;
- the officer page in headless Chromium end to end (``e2e/engage_page.js``): compose and
  send to my beat, the e-mail arrives, its reply link is opened and answered, the officer
  sees the reply; a door survey with a registration;
- the reply page under 32 concurrent clients (bounded in count; figures printed, not
  asserted).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

OFFICER = "pc-dm01b01"
BEAT = "beat:DM01B01"
OTHER_OFFICER = "pc-dm01b02"
OTHER_BEAT = "beat:DM01B02"
SUPERVISOR = "ps-dm01"

LINK = re.compile(r"https?://[^\s<>\"]+/engage/(reply|survey|unsubscribe)/([A-Za-z0-9_\-]+\."
                  r"[A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler keeping every message delivered to it (thread-safe)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.rcpt: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)
            self.rcpt.append(list(envelope.rcpt_tos))
        return "250 OK"

    def snapshot(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float = 60) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.snapshot()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.snapshot()


def text_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def links_of(msg: email.message.EmailMessage) -> dict[str, str]:
    """purpose -> token of the links in a message's plain text part."""
    return {kind: token for kind, token in LINK.findall(text_of(msg))}


@dataclass
class EngageServer:
    url: str
    store: Path
    audit: Path
    folder: Path
    mailbox: Mailbox
    smtp_port: int
    proc: object
    log: Path
    tokens: dict = field(default_factory=dict)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, token: str | None = None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def login(self, sub: str) -> str:
        if sub not in self.tokens:
            status, _, body = self.request("POST", "/auth/demo-login",
                                           body=json.dumps({"sub": sub}).encode(),
                                           headers={"Content-Type": "application/json"})
            assert status == 200, body
            self.tokens[sub] = json.loads(body)["access_token"]
        return self.tokens[sub]

    def execute(self, process: str, inputs: dict, sub: str, purpose: str | None = None):
        headers = {"Content-Type": "application/json"}
        if purpose:
            headers["X-Purpose"] = purpose
        status, _, raw = self.request("POST", f"/processes/{process}/execution",
                                      body=json.dumps({"inputs": inputs}).encode(),
                                      headers=headers, token=self.login(sub))
        return status, (json.loads(raw) if raw else None)

    def items(self, collection: str, sub: str, purpose: str | None = None, query: str = ""):
        headers = {"Accept": "application/geo+json"}
        if purpose:
            headers["X-Purpose"] = purpose
        status, _, raw = self.request(
            "GET", f"/collections/{collection}/items?f=json&limit=1000{query}",
            headers=headers, token=self.login(sub))
        return status, (json.loads(raw) if raw else None)

    def rows(self, table: str, columns: list[str]):
        from spatial_core import open_store

        s = open_store(self.store, create=False)
        try:
            return s.read(table, columns)
        finally:
            s.close()


def store_demo_contacts(store_path: Path, members_csv: Path, key: str) -> int:
    """Keep (encrypted) the e-mail addresses of the demo's member export, as the member
    import does when messaging is switched on; returns how many were stored."""
    import pandas as pd

    from spatial_core import open_store
    from spatial_core.store.contacts import contact_cipher, store_contacts

    frame = pd.read_csv(members_csv, dtype=str, keep_default_na=False)
    s = open_store(store_path, create=False)
    try:
        with s.begin() as conn:
            counts = store_contacts(s, conn, frame[["member_id", "email"]],
                                    contact_cipher(key))
    finally:
        s.close()
    return int(counts["added"])


def start_engage_server(tmp: Path, demo_builds, running_service, *, workers: int = 2,
                        extra: dict | None = None):
    """A context manager yielding an :class:`EngageServer` (see the module docstring)."""
    import contextlib

    from aiosmtpd.controller import Controller
    from cryptography.fernet import Fernet

    from geoservice.demo_idp import write_demo_service

    @contextlib.contextmanager
    def run():
        store = demo_builds.copy(tmp, households=3_000, months=3)
        key = Fernet.generate_key().decode()
        stored = store_demo_contacts(store, tmp / "files" / "members.csv", key)
        assert stored > 100
        mailbox = Mailbox()
        smtp_port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            config = write_demo_service(tmp / "service", store)
            port = free_port()
            raw = yaml.safe_load(config.read_text())
            raw["engagement"] = {"smtp_url": f"smtp://127.0.0.1:{smtp_port}",
                                 "public_url": f"http://127.0.0.1:{port}",
                                 **(extra or {})}
            config.write_text(yaml.safe_dump(raw, sort_keys=False))
            import os

            env = dict(os.environ, LPT_CONTACTS_KEY=key, LPT_MAIL_FROM="team@police.invalid")
            env.pop("LPT_SMTP_URL", None)
            env.pop("LPT_PUBLIC_URL", None)
            with running_service(config, env=env, workers=workers, port=port) as (url, proc,
                                                                                   log):
                yield EngageServer(url=url, store=store, audit=tmp / "service" / "audit.jsonl",
                                   folder=tmp, mailbox=mailbox, smtp_port=smtp_port, proc=proc,
                                   log=log)
        finally:
            controller.stop()

    return run()


# -- fixtures --------------------------------------------------------------------------------
pytest.importorskip("aiosmtpd")
pytest.importorskip("pygeoapi")

ROOT = Path(__file__).resolve().parents[2]
GEOSERVICE = ROOT / "geoservice"
NODE_MODULES = GEOSERVICE / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e" / "engage_page.js"
ARTIFACTS = ROOT / "test-artifacts" / "engage-page"
PURPOSE = "Reading replies for beat DM01B02 (test)"


@pytest.fixture(scope="module")
def engaged(tmp_path_factory, demo_builds, running_service):
    """The engagement service, and one message of kind ``update`` composed by the officer of
    beat DM01B02 and sent to their beat (its e-mails are at the SMTP server)."""
    # The per-address limit is raised: every test posts from 127.0.0.1 (the limiter itself
    # is tested below; the per-link limit is tested through the service).
    with start_engage_server(tmp_path_factory.mktemp("engage"), demo_builds, running_service,
                             extra={"posts_per_minute_ip": 1000}) as server:
        status, preview = server.execute("compose-message", {
            "kind": "update", "subject": "Speed checks on the high street",
            "text": "We ran speed checks this week after you told us about speeding.",
            "area": OTHER_BEAT}, OTHER_OFFICER)
        assert status == 200, preview
        status, report = server.execute("send-message", {"message_id": preview["message_id"]},
                                        OTHER_OFFICER)
        assert status == 200, report
        server.preview, server.report = preview, report
        server.emails = server.mailbox.wait_for(report["sent"])
        yield server


def _tokens(server, purpose: str = "reply") -> list[str]:
    return [links_of(m)[purpose] for m in server.emails if purpose in links_of(m)]


def _post_form(server, path: str, fields: dict | bytes, headers: dict | None = None):
    from urllib.parse import urlencode

    body = fields if isinstance(fields, bytes) else urlencode(fields, doseq=True).encode()
    return server.request("POST", path, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


def _count(server, table: str) -> int:
    key = {"replies": "reply_id", "surveys": "response_id", "opt_outs": "member_id"}[table]
    return len(server.rows(table, [key]))


# -- configuration and the rate limiter (no server) -------------------------------------------
def test_engagement_section_is_checked(tmp_path):
    from geoservice.config import ConfigError, load_config
    from geoservice.engage import _SETTINGS, engage_settings

    path = tmp_path / "service.yml"
    path.write_text("store: x.gpkg\nengagement:\n  smtp_url: smtp://mail.invalid:2525\n"
                    "  public_url: https://engage.force.invalid/\n  posts_per_minute_ip: 50\n")
    got = engage_settings(load_config(path))
    assert (got.smtp_url, got.public_url, got.posts_per_minute_ip, got.posts_per_minute_token) \
        == ("smtp://mail.invalid:2525", "https://engage.force.invalid", 50, 10)
    assert got.outbox_dir == str(tmp_path / "outbox")
    _SETTINGS.clear()
    path.write_text("store: x.gpkg\nengagement:\n  smtp: smtp://mail.invalid\n")
    with pytest.raises(ConfigError, match=r"engagement: unknown key\(s\) \['smtp'\]"):
        engage_settings(load_config(path))
    _SETTINGS.clear()
    path.write_text("store: x.gpkg\nengagement:\n  posts_per_minute_token: 0\n")
    with pytest.raises(ConfigError, match="posts_per_minute_token: a whole number >= 1"):
        engage_settings(load_config(path))
    _SETTINGS.clear()


def test_delivery_follows_the_settings(tmp_path):
    from geoservice.engage import EngageSettings, delivery_for
    from spatial_core.engagement.delivery import (
        EmlFolderDelivery,
        PlatformFileDelivery,
        SmtpDelivery,
    )

    assert isinstance(delivery_for(EngageSettings(smtp_url="smtp://127.0.0.1:2525",
                                                  outbox_dir=str(tmp_path))), SmtpDelivery)
    assert isinstance(delivery_for(EngageSettings(outbox_dir=str(tmp_path))), EmlFolderDelivery)
    assert isinstance(delivery_for(EngageSettings(channel="platform",
                                                  outbox_dir=str(tmp_path))),
                      PlatformFileDelivery)


def test_rate_limiter_is_shared_by_workers(tmp_path):
    """Two limiters on one file (two workers): the fourth event in a minute is refused,
    whichever worker sees it; a minute later it is allowed again. Keys are stored hashed."""
    from geoservice.engage import RateLimiter

    a, b = RateLimiter(tmp_path / "rate.sqlite"), RateLimiter(tmp_path / "rate.sqlite")
    t = 1_000_000.0
    got = [w.hit({"ip:203.0.113.9": 3}, now=t + i) for i, w in enumerate([a, b, a, b])]
    assert got == [None, None, None, "ip:203.0.113.9"]
    assert b.hit({"ip:198.51.100.1": 3}, now=t + 5) is None  # another address
    assert a.hit({"ip:203.0.113.9": 3}, now=t + 65) is None  # the first hits have aged out
    raw = (tmp_path / "rate.sqlite").read_bytes()
    assert b"203.0.113.9" not in raw


# -- composing and sending -------------------------------------------------------------------
def test_compose_preview_is_the_store_and_send_reaches_the_smtp_server(engaged):
    p, r = engaged.preview, engaged.report
    rec = engaged.rows("message_recipients", ["message_id", "member_id", "state",
                                              "held_reason"])
    rec = rec[rec["message_id"] == p["message_id"]]
    held = rec[rec["state"] == "held"]["held_reason"].value_counts().to_dict()
    assert p["recipients"] > 0 and p["recipients"] == int((rec["state"] != "held").sum())
    assert {k: v for k, v in p["held_back"].items() if v} == held
    assert r["sent"] == p["recipients"] and r["failed"] == 0
    assert len(engaged.emails) == r["sent"]
    for msg in engaged.emails:
        assert msg["Subject"] == "Speed checks on the high street"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"<{engaged.url}/engage/unsubscribe/" in msg["List-Unsubscribe"]
        links = links_of(msg)
        assert set(links) == {"reply", "unsubscribe"}
    # one e-mail per recipient, each to one address
    assert all(len(r) == 1 for r in engaged.mailbox.rcpt)
    assert len({r[0] for r in engaged.mailbox.rcpt}) == len(engaged.emails)
    audit = [json.loads(x) for x in engaged.audit.read_text().splitlines()]
    sent = [e for e in audit if e["action"] == "send" and e.get("ids") == [p["message_id"]]]
    assert len(sent) == 1 and sent[0]["sub"] == OTHER_OFFICER
    assert f"sent {r['sent']}" in sent[0]["outcome"]


def test_sending_twice_is_refused_and_sends_nothing(engaged):
    before = len(engaged.mailbox.snapshot())
    status, body = engaged.execute("send-message",
                                   {"message_id": engaged.preview["message_id"]}, OTHER_OFFICER)
    assert status == 400 and "already sent" in body["description"]
    assert len(engaged.mailbox.snapshot()) == before


def test_compose_refusals_store_nothing(engaged):
    before = len(engaged.rows("messages", ["message_id"]))
    status, body = engaged.execute("compose-message", {
        "kind": "update", "subject": "x", "text": "hello", "area": OTHER_BEAT}, OFFICER)
    assert status == 404 and "no area 'beat:DM01B02' here" in body["description"]
    status, body = engaged.execute("compose-message", {
        "kind": "update", "subject": "x", "text": "   ", "area": BEAT}, OFFICER)
    assert status == 400 and "the message text is empty" in body["description"]
    status, body = engaged.execute("compose-message", {
        "kind": "gossip", "subject": "x", "text": "hi", "area": BEAT}, OFFICER)
    assert status == 400 and "'kind'" in body["description"] and "'gossip'" in body["description"]
    status, body = engaged.execute("compose-message", {
        "kind": "update", "subject": "x", "text": "hi", "area": "beat:NOPE"}, OFFICER)
    assert status == 404
    assert len(engaged.rows("messages", ["message_id"])) == before


def test_messages_collection_is_scoped_and_holds_no_contact(engaged):
    mid = engaged.preview["message_id"]
    status, fc = engaged.items("messages", OTHER_OFFICER)
    assert status == 200
    mine = {f["id"]: f["properties"] for f in fc["features"]}
    assert mine[mid]["recipients"] == engaged.preview["recipients"]
    assert mine[mid]["sent"] == engaged.report["sent"] and mine[mid]["status"] == "sent"
    assert "@" not in json.dumps(fc)
    status, fc = engaged.items("messages", OFFICER)
    assert status == 200 and mid not in {f["id"] for f in fc["features"]}
    status, _, _ = engaged.request("GET", f"/collections/messages/items/{mid}?f=json",
                                   token=engaged.login(OFFICER))
    assert status == 404
    status, fc = engaged.items("messages", SUPERVISOR)
    assert status == 200 and mid in {f["id"] for f in fc["features"]}
    assert engaged.request("GET", "/collections/messages/items?f=json")[0] == 401


# -- the residents' pages -----------------------------------------------------------------------
def test_reply_page_is_self_contained_and_says_not_for_emergencies(engaged):
    token = _tokens(engaged)[0]
    status, headers, body = engaged.request("GET", f"/engage/reply/{token}")
    html = body.decode()
    assert status == 200
    assert "not for emergencies" in html and "999" in html and "101" in html
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in html and "style=" not in html  # no inline script or style
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["data:,", "/app/engage.css",
                                                            "/app/engage.js"]
    assert "@" not in html
    assert 'name="viewport"' in html
    for asset in ("/app/engage.css", "/app/engage.js"):
        assert engaged.request("GET", asset)[0] == 200


def test_a_reply_is_stored_audited_and_the_token_is_never_logged(engaged):
    token = _tokens(engaged)[1]
    before = _count(engaged, "replies")
    status, _, body = _post_form(engaged, f"/engage/reply/{token}",
                                 {"text": "Thank you, the speeding has calmed down."})
    assert status == 200 and "your reply has been sent" in body.decode()
    rep = engaged.rows("replies", ["reply_id", "message_id", "text", "urgent", "area_id"])
    assert len(rep) == before + 1
    new = rep[rep["text"] == "Thank you, the speeding has calmed down."].iloc[0]
    assert new["message_id"] == engaged.preview["message_id"] and not new["urgent"]
    assert new["area_id"] == OTHER_BEAT
    audit = engaged.audit.read_text()
    entry = [json.loads(x) for x in audit.splitlines() if new["reply_id"] in x]
    assert len(entry) == 1 and entry[0]["action"] == "create" and entry[0]["via"] == "link"
    assert entry[0]["query"] == "/engage/reply/…"
    assert token not in audit and token not in engaged.log.read_text()


def test_an_urgent_reply_comes_first_for_the_supervisor(engaged):
    token = _tokens(engaged)[2]
    status, _, body = _post_form(engaged, f"/engage/reply/{token}",
                                 {"text": "Please help, my neighbour threatened me with a knife"})
    assert status == 200 and "not for emergencies" in body.decode()
    status, fc = engaged.items("replies", SUPERVISOR, purpose=PURPOSE)
    assert status == 200
    first = fc["features"][0]["properties"]
    assert first["urgent"] is True and first["text"].startswith("Please help")
    assert set(first["urgent_words"].split(",")) == {"help", "threatened", "knife"}
    flags = [f["properties"]["urgent"] for f in fc["features"]]
    assert flags == sorted(flags, reverse=True)


def test_replies_need_a_purpose_are_scoped_and_every_read_is_audited(engaged):
    status, body = engaged.items("replies", OTHER_OFFICER)
    assert status == 400 and "X-Purpose" in body["description"]
    status, fc = engaged.items("replies", OTHER_OFFICER, purpose=PURPOSE)
    assert status == 200 and fc["numberMatched"] >= 1
    assert all(f["properties"]["area_id"] == OTHER_BEAT for f in fc["features"])
    assert "member_id" not in fc["features"][0]["properties"]
    status, fc = engaged.items("replies", OFFICER, purpose="test")
    assert status == 200 and fc["numberMatched"] == 0
    status, _, _ = engaged.request("GET", "/collections/replies/items?f=json",
                                   headers={"X-API-Key": "none"})
    assert status == 401
    audit = [json.loads(x) for x in engaged.audit.read_text().splitlines()]
    reads = [e for e in audit if e.get("collection") == "replies" and e["action"] == "read"]
    assert {e["sub"] for e in reads} >= {OTHER_OFFICER, SUPERVISOR, OFFICER}
    assert any(e["action"] == "denied" and e.get("collection") == "replies" for e in audit)


def test_tampered_and_expired_links_store_nothing(engaged):
    from datetime import UTC, datetime, timedelta

    from spatial_core import open_store
    from spatial_core.engagement.tokens import link_secret, make_link_token, read_link_token

    good = _tokens(engaged)[3]
    body, sig = good.split(".")
    tampered = f"{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    s = open_store(engaged.store, create=False)
    try:
        secret = link_secret(s)
        link = read_link_token(secret, good)
        expired = make_link_token(secret, link.message_id, link.member_id, "reply",
                                  datetime.now(UTC) - timedelta(days=1))
        as_survey = make_link_token(secret, link.message_id, link.member_id, "survey",
                                    datetime.now(UTC) + timedelta(days=1))
    finally:
        s.close()
    before = _count(engaged, "replies")
    for token, status_wanted, words in ((tampered, 400, "not valid"),
                                        ("not-a-token", 400, "not valid"),
                                        (expired, 410, "expired"),
                                        (as_survey, 400, "not valid")):
        status, _, page = engaged.request("GET", f"/engage/reply/{token}")
        assert status == status_wanted and words in page.decode()
        status, _, page = _post_form(engaged, f"/engage/reply/{token}", {"text": "hello"})
        assert status == status_wanted and "Nothing was saved" in page.decode()
    assert _count(engaged, "replies") == before


def test_an_oversized_body_is_413_and_stores_nothing(engaged):
    from geoservice.engage import BODY_LIMIT

    token = _tokens(engaged)[4]
    before = _count(engaged, "replies")
    status, _, page = _post_form(engaged, f"/engage/reply/{token}",
                                 {"text": "x" * (BODY_LIMIT + 10)})
    assert status == 413 and "too long" in page.decode()
    # Within the body limit but over the core's 4,000 characters: the form comes back with
    # the core's message and the text kept.
    status, _, page = _post_form(engaged, f"/engage/reply/{token}", {"text": "y" * 4001})
    assert status == 400 and "at most 4,000" in page.decode() and "y" * 4001 in page.decode()
    assert _count(engaged, "replies") == before


def test_too_many_posts_with_one_link_are_429_and_store_nothing(engaged):
    token = _tokens(engaged)[5]
    before = _count(engaged, "replies")
    answers = [_post_form(engaged, f"/engage/reply/{token}", {"text": ""})[0]
               for _ in range(10)]
    assert answers == [400] * 10  # empty replies: refused by the core, counted by the limit
    status, headers, page = _post_form(engaged, f"/engage/reply/{token}", {"text": "hello"})
    assert status == 429 and headers["Retry-After"] == "60"
    assert "Too many attempts" in page.decode()
    assert _count(engaged, "replies") == before


def test_unsubscribe_one_click_opts_out_and_erases_the_contact(engaged):
    from spatial_core.engagement.tokens import read_link_token  # noqa: F401 - the link's member

    msg = engaged.emails[6]
    token = links_of(msg)["unsubscribe"]
    status, _, page = engaged.request("GET", f"/engage/unsubscribe/{token}")
    assert status == 200 and "Stop messages" in page.decode()
    before = engaged.rows("opt_outs", ["member_id", "source"])
    status, _, page = _post_form(engaged, f"/engage/unsubscribe/{token}", {"List-Unsubscribe":
                                                                          "yes"})
    assert status == 400
    assert len(engaged.rows("opt_outs", ["member_id"])) == len(before)
    status, _, page = _post_form(engaged, f"/engage/unsubscribe/{token}",
                                 b"List-Unsubscribe=One-Click")
    assert status == 200 and "no more messages" in page.decode()
    after = engaged.rows("opt_outs", ["member_id", "source"])
    new = after[~after["member_id"].isin(before["member_id"])]
    assert len(new) == 1 and new["source"].iloc[0] == "link"
    contacts = engaged.rows("member_contacts", ["member_id"])
    assert new["member_id"].iloc[0] not in set(contacts["member_id"])
    # one-click again: nothing changes, still 200 (RFC 8058 clients may retry)
    assert _post_form(engaged, f"/engage/unsubscribe/{token}",
                      b"List-Unsubscribe=One-Click")[0] == 200
    assert len(engaged.rows("opt_outs", ["member_id"])) == len(after)


# -- officers: answers, actions, draft, door survey, engagement ------------------------------
def test_an_officer_answers_a_reply_in_scope_only(engaged):
    token = _tokens(engaged)[7]
    assert _post_form(engaged, f"/engage/reply/{token}", {"text": "Is the bus stop safe?"})[0] \
        == 200
    status, fc = engaged.items("replies", OTHER_OFFICER, purpose=PURPOSE)
    reply_id = next(f["id"] for f in fc["features"]
                    if f["properties"]["text"] == "Is the bus stop safe?")
    status, body = engaged.execute("answer-reply", {"reply_id": reply_id, "answer": "Noted."},
                                   OFFICER)
    assert status == 404, body
    status, body = engaged.execute("answer-reply", {"reply_id": reply_id, "answer": " "},
                                   OTHER_OFFICER)
    assert status == 400 and "the answer is empty" in body["description"]
    status, body = engaged.execute("answer-reply", {"reply_id": reply_id,
                                                    "answer": "Thank you, noted."},
                                   OTHER_OFFICER)
    assert status == 200 and body["answered"] is True
    rep = engaged.rows("replies", ["reply_id", "answer", "answered_by"])
    row = rep[rep["reply_id"] == reply_id].iloc[0]
    assert (row["answer"], row["answered_by"]) == ("Thank you, noted.", OTHER_OFFICER)


def test_actions_are_recorded_listed_and_feed_the_draft(engaged):
    status, body = engaged.execute("record-action", {
        "done_on": "2026-01-10", "priority": "road_safety", "area": OTHER_BEAT,
        "what": "Speed checks on the high street: 14 drivers stopped",
        "partner": "Wexcombe council"}, OTHER_OFFICER)
    assert status == 200, body
    action_id = body["action_id"]
    status, body = engaged.execute("record-action", {
        "done_on": "2026-01-10", "priority": "not-a-priority", "area": OTHER_BEAT,
        "what": "x"}, OTHER_OFFICER)
    assert status == 400 and "is not one of" in body["description"]
    status, body = engaged.execute("record-action", {
        "done_on": "2026-01-10", "priority": "road_safety", "area": OTHER_BEAT, "what": "x"},
        OFFICER)
    assert status == 404
    status, fc = engaged.items("actions", OTHER_OFFICER)
    assert status == 200
    got = {f["id"]: f["properties"] for f in fc["features"]}
    assert got[action_id]["what"].startswith("Speed checks") and \
        got[action_id]["partner"] == "Wexcombe council"
    status, fc = engaged.items("actions", OFFICER)
    assert action_id not in {f["id"] for f in fc["features"]}
    status, draft = engaged.execute("you-said-we-did-draft", {"area": OTHER_BEAT},
                                    OTHER_OFFICER)
    assert status == 200 and draft["subject"] and "14 drivers stopped" in draft["text"]


def test_a_door_survey_with_a_registration_is_part_of_a_visit(engaged):
    addresses = engaged.rows("addresses", ["uprn", "beat_id"])
    uprn = sorted(addresses.loc[addresses["beat_id"] == OTHER_BEAT, "uprn"])[0]
    outside = sorted(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])[0]
    status, headers, raw = engaged.request(
        "POST", "/collections/visits/items", token=engaged.login(OTHER_OFFICER),
        body=json.dumps({"type": "Feature", "geometry": None, "properties": {
            "uprn": uprn, "outcome": "surveyed", "visited_at": "2026-01-12T10:00:00"}}).encode(),
        headers={"Content-Type": "application/geo+json", "X-Purpose": "door-knocking test"})
    assert status == 201, raw
    visit_id = headers["Location"].rstrip("/").split("/")[-1]
    answers = {"priorities": ["road_safety", "asb"], "confidence": 4, "feel_safe": 3,
               "understands": 4, "free_text": "More patrols at night"}
    inputs = {"visit_id": visit_id, "uprn": uprn, "answers": answers,
              "registration": {"organisation": "police",
                               "email": "new.resident@example.invalid"}}
    status, body = engaged.execute("door-survey", inputs, OTHER_OFFICER)
    assert status == 400 and "X-Purpose" in body["description"]
    status, body = engaged.execute("door-survey", {**inputs, "uprn": outside}, OTHER_OFFICER,
                                   purpose="door-knocking test")
    assert status == 404
    status, body = engaged.execute("door-survey", {**inputs, "answers": {"confidence": 9}},
                                   OTHER_OFFICER, purpose="door-knocking test")
    assert status == 400 and "confidence" in body["description"]
    before = len(engaged.rows("surveys", ["response_id"]))
    status, body = engaged.execute("door-survey", inputs, OTHER_OFFICER,
                                   purpose="door-knocking test")
    assert status == 200 and body["registered"] is True
    surveys = engaged.rows("surveys", ["response_id", "channel", "confidence", "understands"])
    assert len(surveys) == before + 1
    row = surveys[surveys["response_id"] == body["response_id"]].iloc[0]
    assert (row["channel"], row["confidence"], row["understands"]) == ("door_knock", 4, 4)
    reg = engaged.rows("door_registrations", ["visit_id", "uprn", "organisation",
                                              "has_contact"])
    assert reg[reg["visit_id"] == visit_id][["uprn", "organisation", "has_contact"]] \
        .values.tolist() == [[uprn, "police", 1]]
    audit = engaged.audit.read_text()
    assert "new.resident@example.invalid" not in audit
    assert "new.resident@example.invalid" not in engaged.log.read_text()


def test_survey_link_answers_go_into_the_surveys_table(engaged):
    status, preview = engaged.execute("compose-message", {
        "kind": "survey", "subject": "What matters where you live?",
        "text": "Please answer our two-minute survey.", "area": "beat:DM01B03"},
        "analyst-demo")
    assert status == 200 and preview["recipients"] > 0, preview
    before_mail = len(engaged.mailbox.snapshot())
    status, report = engaged.execute("send-message", {"message_id": preview["message_id"]},
                                     "analyst-demo")
    assert status == 200 and report["sent"] == preview["recipients"]
    mails = engaged.mailbox.wait_for(before_mail + report["sent"])[before_mail:]
    token = links_of(mails[0])["survey"]
    status, _, page = engaged.request("GET", f"/engage/survey/{token}")
    html = page.decode()
    assert status == 200 and "not for emergencies" in html
    assert 'type="checkbox" id="priorities-0" name="priorities"' in html
    assert html.count('name="confidence"') == 5
    before = _count(engaged, "surveys")
    fields = {"priorities": ["road_safety", "drugs"], "confidence": "2", "feel_safe": "4",
              "understands": "3", "free_text": "Thanks for asking"}
    status, _, page = _post_form(engaged, f"/engage/survey/{token}", fields)
    assert status == 200 and "answers have been recorded" in page.decode()
    s = engaged.rows("surveys", ["response_id", "channel", "confidence", "feel_safe",
                                 "understands", "member_id"])
    assert len(s) == before + 1
    new = s[s["channel"] == "online"].iloc[-1]
    assert (new["confidence"], new["feel_safe"], new["understands"]) == (2, 4, 3)
    pri = engaged.rows("survey_priorities", ["response_id", "priority"])
    assert sorted(pri.loc[pri["response_id"] == new["response_id"], "priority"]) == \
        ["drugs", "road_safety"]
    status, _, page = _post_form(engaged, f"/engage/survey/{token}", fields)
    assert status == 400 and "already answered" in page.decode()
    status, _, page = _post_form(engaged, f"/engage/survey/{links_of(mails[1])['survey']}",
                                 {"confidence": "7"})
    assert status == 400 and "from 1 to 5" in page.decode()
    assert _count(engaged, "surveys") == before + 1


def test_cap_holds_back_a_second_message_to_the_same_beat(engaged):
    status, preview = engaged.execute("compose-message", {
        "kind": "appeal", "subject": "Witnesses wanted", "text": "Did you see anything?",
        "area": OTHER_BEAT}, OTHER_OFFICER)
    assert status == 200
    assert preview["recipients"] == 0
    assert preview["held_back"]["cap"] == engaged.preview["recipients"] - 1  # one opted out


def test_engagement_figures_police_exact_partners_disclosure_controlled(engaged):
    from spatial_core import open_store
    from spatial_core.engagement.tracking import engagement

    token = _tokens(engaged)[-1]
    status, _, page = _post_form(engaged, f"/engage/reply/{token}", {"text": "Counted"})
    assert status == 200, page.decode()[-600:]
    s = open_store(engaged.store, create=False)
    try:
        exact = engagement(s, level="beat", k=None).set_index("area_id")
        withheld = engagement(s, level="beat", k=5).set_index("area_id")
    finally:
        s.close()
    status, fc = engaged.items("engagement", OTHER_OFFICER)
    assert status == 200
    rows = {f["id"]: f["properties"] for f in fc["features"]}
    assert set(rows) == {OTHER_BEAT}
    mine = rows[OTHER_BEAT]
    assert mine["sent"] == int(exact.loc[OTHER_BEAT, "sent"]) >= engaged.report["sent"]
    assert mine["replied"] == int(exact.loc[OTHER_BEAT, "replied"]) >= 1
    assert fc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    status, fc = engaged.items("engagement", SUPERVISOR)
    assert status == 200 and OTHER_BEAT in {f["id"] for f in fc["features"]}
    status, _, raw = engaged.request("GET", "/collections/engagement/items?f=json&limit=1000")
    assert status == 200
    public = {f["id"]: f["properties"] for f in json.loads(raw)["features"]}
    assert set(public) == set(withheld.index)
    for area, row in public.items():
        for c in ("sent", "replied", "unsubscribed"):
            want = withheld.loc[area, c]
            assert row[c] == (None if want is None or want != want else int(want)), (area, c)
            assert row[c] is None or row[c] == 0 or row[c] >= 5
    assert public[OTHER_BEAT]["replied"] is None  # a handful of replies: withheld
    status, _, raw = engaged.request("GET", "/collections/engagement/items?f=json&level=npa")
    assert status == 200, raw
    npas = json.loads(raw)["features"]
    assert npas and {f["properties"]["level"] for f in npas} == {"npa"}
    assert {f["id"] for f in npas} <= set(engaged.rows("areas", ["area_id"])["area_id"])
    assert engaged.request("GET", "/collections/engagement/items?f=json&level=street")[0] == 400


def test_the_audit_log_is_intact(engaged):
    from geoservice.audit import verify

    n, problem = verify(engaged.audit)
    assert problem is None and n > 10


# -- the officer page and the reply page in Chromium, end to end -----------------------------
def _browser(server, phase: str, **extra) -> dict:
    env = dict(os.environ, LPT_BASE_URL=server.url, LPT_OFFICER=OFFICER, LPT_PHASE=phase,
               LPT_SHOTS=str(ARTIFACTS), LPT_NODE_MODULES=str(NODE_MODULES),
               LPT_CHROMIUM=str(CHROMIUM), **extra)
    run = subprocess.run(["node", str(E2E)], env=env, capture_output=True, text=True,
                         timeout=400, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("error")
    assert out["foreign"] == [] and out["page_errors"] == []
    assert out["console_errors"] == [], out["console_errors"]
    return out


def test_engagement_loop_in_chromium_compose_send_email_reply_officer_sees_it(engaged,
                                                                               need_browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = len(engaged.mailbox.snapshot())

    # 1. The officer records an action, drafts "You said, we did" from it, previews, sends.
    out = _browser(engaged, "send")
    assert "14 drivers stopped" in out["action_listed"]
    from spatial_core import open_store
    from spatial_core.engagement.actions import you_said_we_did_draft

    s = open_store(engaged.store, create=False)
    try:
        draft = you_said_we_did_draft(s, BEAT)
    finally:
        s.close()
    assert (out["subject"], out["text"]) == (draft.subject, draft.body) and draft.body
    rec = engaged.rows("message_recipients", ["message_id", "state", "held_reason"])
    rec = rec[rec["message_id"] == out["message_id"]]
    assert out["recipients"] == int((rec["state"] != "held").sum()) > 0
    assert out["reach"].startswith(f"Reaches {out['recipients']} member")
    held = rec.loc[rec["state"] == "held", "held_reason"].value_counts().to_dict()
    assert {k: int(t.split(" ")[0]) for k, t in out["held"]} == held
    assert out["sent"] == out["recipients"]
    msg = engaged.rows("messages", ["message_id", "kind", "area_id", "created_by", "status"])
    row = msg[msg["message_id"] == out["message_id"]].iloc[0]
    assert (row["kind"], row["area_id"], row["created_by"], row["status"]) == (
        "you_said_we_did", BEAT, OFFICER, "sent")

    # 2. The e-mails arrive at the SMTP server, one per recipient.
    mails = engaged.mailbox.wait_for(before + out["sent"])[before:]
    assert len(mails) == out["sent"]
    assert all(m["Subject"] == out["subject"] for m in mails)
    assert draft.body.strip()[:60] in text_of(mails[0])
    reply_url = f"{engaged.url}/engage/reply/{links_of(mails[0])['reply']}"

    # 3. The resident replies through the link; the officer sees the reply and answers it;
    #    then a door survey with a registration.
    addresses = engaged.rows("addresses", ["uprn", "beat_id"])
    uprn = sorted(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])[1]
    text = "Thank you for the speed checks, Mill Lane is calmer now (browser test)"
    surveys_before = engaged.rows("surveys", ["response_id"])
    out = _browser(engaged, "reply", LPT_REPLY_URL=reply_url, LPT_REPLY_TEXT=text,
                   LPT_UPRN=uprn)
    assert out["reply_page_status"] == 200
    assert "not for emergencies" in out["reply_page_text"] and "@" not in out["reply_page_text"]
    assert out["reply_page_width"] <= 390  # no sideways scrolling on a phone
    assert out["counter"] == str(len(text))
    assert "your reply has been sent" in out["reply_done"]
    stored = engaged.rows("replies", ["reply_id", "message_id", "text", "area_id", "answer",
                                      "answered_by"])
    stored = stored[stored["text"] == text]
    assert len(stored) == 1 and stored["area_id"].iloc[0] == BEAT
    assert stored["message_id"].iloc[0] == row["message_id"]
    shown = [r for r in out["replies"] if r["text"] == text]
    assert [r["id"] for r in shown] == stored["reply_id"].tolist()
    flags = [r["urgent"] for r in out["replies"]]
    assert flags == sorted(flags, reverse=True)  # urgent first
    assert out["answer_shown"].endswith("we will be back on Mill Lane next week.")
    assert stored["answer"].iloc[0] == "Thank you: we will be back on Mill Lane next week."
    assert stored["answered_by"].iloc[0] == OFFICER
    assert out["consent_required"] is True
    assert "Door survey recorded with the registration" in out["visit_message"]
    surveys = engaged.rows("surveys", ["response_id", "channel", "confidence", "feel_safe",
                                       "age_band", "gender"])
    new = surveys[~surveys["response_id"].isin(surveys_before["response_id"])]
    assert new[["response_id", "channel", "confidence", "feel_safe", "age_band"]].values \
        .tolist() == [[out["response_id"], "door_knock", 4, 3, "35-44"]]
    assert new["gender"].isna().all()  # not given
    pri = engaged.rows("survey_priorities", ["response_id", "priority"])
    assert sorted(pri.loc[pri["response_id"] == out["response_id"], "priority"]) == \
        ["asb", "road_safety"]
    reg = engaged.rows("door_registrations", ["visit_id", "uprn", "has_contact"])
    assert reg[reg["visit_id"] == out["visit_id"]][["uprn", "has_contact"]].values.tolist() \
        == [[uprn, 1]]
    for shot in ("01-draft", "02-preview", "03-sent", "04-reply-form", "05-reply-sent",
                 "06-replies", "07-door-survey"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 5_000


# -- the reply page under 32 concurrent clients ----------------------------------------------
CLIENTS = 32
GETS_PER_CLIENT = 5


def test_reply_page_under_32_clients(engaged):
    """32 clients at once, each opening the reply page of a link five times and replying
    once: every answer is 200 and every reply is stored once. Bounded in count (192
    requests, each with a 60 s time-out); the timings are written to
    ``test-artifacts/engage-load.json`` for docs/benchmarks.md, not asserted."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = _tokens(engaged)[8:]
    assert tokens, (engaged.report, len(engaged.emails))
    before = _count(engaged, "replies")
    barrier = threading.Barrier(CLIENTS)

    def client(i: int) -> list[tuple[str, int, float]]:
        token = tokens[i % len(tokens)]
        barrier.wait(timeout=60)
        out = []
        for _ in range(GETS_PER_CLIENT):
            t = time.perf_counter()
            status = engaged.request("GET", f"/engage/reply/{token}")[0]
            out.append(("GET", status, time.perf_counter() - t))
        t = time.perf_counter()
        status = _post_form(engaged, f"/engage/reply/{token}",
                            {"text": f"Load test reply {i}"})[0]
        out.append(("POST", status, time.perf_counter() - t))
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for f in [pool.submit(client, i) for i in range(CLIENTS)]
                   for r in f.result(timeout=600)]
    wall = time.perf_counter() - started
    assert len(results) == CLIENTS * (GETS_PER_CLIENT + 1)
    assert {status for _, status, _ in results} == {200}
    rep = engaged.rows("replies", ["text"])
    assert len(rep) == before + CLIENTS
    assert sorted(rep.loc[rep["text"].str.startswith("Load test reply "), "text"]) == \
        sorted(f"Load test reply {i}" for i in range(CLIENTS))

    def figures(kind: str) -> dict:
        ms = sorted(1000 * d for k, _, d in results if k == kind)
        return {"n": len(ms), "p50_ms": round(ms[len(ms) // 2], 1),
                "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1)}

    report = {"clients": CLIENTS, "requests": len(results), "wall_s": round(wall, 2),
              "requests_per_s": round(len(results) / wall, 1), "get": figures("GET"),
              "post": figures("POST"), "workers": 2, "cores": os.cpu_count()}
    ARTIFACTS.parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / "engage-load.json").write_text(json.dumps(report, indent=1))
    print("reply page under 32 clients:", json.dumps(report))
