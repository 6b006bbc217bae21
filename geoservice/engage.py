# SPDX-License-Identifier: GPL-3.0-or-later
"""The residents' pages: reply, survey and unsubscribe through the link in a message, with
no login; and the service's engagement settings (delivery, public URL, limits).

Routes added to the service's Flask app by :func:`register`:

- ``GET /engage/reply/<token>`` — a form to reply in one's own words (with the reminder
  that the page is not for emergencies); ``POST`` stores the reply
  (:func:`spatial_core.engagement.replies.record_reply`);
- ``GET /engage/survey/<token>`` — the survey (:data:`spatial_core.engagement.surveys.
  SURVEY_FORM`); ``POST`` stores the answers (``record_online_survey``, channel online);
- ``GET /engage/unsubscribe/<token>`` — a confirm button; ``POST`` with the body
  ``List-Unsubscribe=One-Click`` (RFC 8058, what a mail client sends) opts the member out
  at once (:func:`spatial_core.engagement.consent.opt_out_by_link`);
- ``GET /engage/config.json`` — what the officer page needs (message kinds, the survey
  questions, the reply length, the vocabularies of the optional gender, age band and
  ethnicity a resident may give at the door); nothing personal.

The token is the only credential: a tampered one is a 400 page, an expired one 410, and
nothing is stored. Every page is served with ``Content-Security-Policy: default-src 'self'``
and no inline script (``static/engage.css``, ``static/engage.js``), ``Cache-Control:
no-store`` and ``Referrer-Policy: no-referrer`` (the link is a credential). POSTs are limited
in size (:data:`BODY_LIMIT`, 413) and rate, per client address and per token (429, counted
across the service's workers in a small SQLite file in the runtime folder). Each reply or
survey received, and each refused post, is audited without the token. No page shows a
contact or any member's detail: the service never holds a decrypted contact.

These pages only parse the form, call one core function and turn its answer or error into
HTML: every engagement rule (token checks, length, urgent words, opt-out) is the core's.
"""
from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

__all__ = ["register", "EngageSettings", "engage_settings", "delivery_for", "public_url_for",
           "loggable_path", "BODY_LIMIT", "CSP", "RateLimiter"]

log = logging.getLogger(__name__)

BODY_LIMIT = 64 * 1024
"""Largest POST body accepted (413 above it). A reply is at most 4,000 characters
(``MAX_REPLY_CHARS``); form-encoded, a character outside ASCII takes up to 12 bytes
(``%F0%9F%98%80``), so 4,000 characters of any script fit in 48 KiB plus the survey fields."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")

EMERGENCY = ("This page is not for emergencies. If someone is in danger or a crime is "
             "happening now, call 999. For non-emergencies call 101.")

_TOKEN_PATH = re.compile(r"^(/engage/(?:reply|survey|unsubscribe))/[^/]+/?$")


def loggable_path(path: str) -> str:
    """A request path as logs write it: a link token replaced by ``…`` (a token is a
    credential: whoever reads it could reply or unsubscribe as the resident).

    >>> loggable_path("/engage/reply/abc.def")
    '/engage/reply/…'
    >>> loggable_path("/collections/visits/items")
    '/collections/visits/items'
    """
    m = _TOKEN_PATH.match(path)
    return f"{m.group(1)}/…" if m else path


# -- settings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class EngageSettings:
    """The service YAML's ``engagement`` section (environment variables as fallbacks)."""

    public_url: str | None = None
    smtp_url: str | None = None
    outbox_dir: str | None = None
    channel: str | None = None  # smtp | eml | platform; None: smtp when smtp_url, else eml
    posts_per_minute_ip: int = 30
    posts_per_minute_token: int = 10


_SETTINGS: dict[str, EngageSettings] = {}
_SETTINGS_KEYS = {"public_url", "smtp_url", "outbox_dir", "channel", "posts_per_minute_ip",
                  "posts_per_minute_token"}


def engage_settings(cfg: Any) -> EngageSettings:
    """The engagement settings of a :class:`~geoservice.config.ServiceConfig`.

    ``engagement.public_url`` (else ``$LPT_PUBLIC_URL``, else ``server.url``): the base of the
    links in messages; ``engagement.smtp_url`` (else ``$LPT_SMTP_URL``): the mail server;
    ``engagement.outbox_dir`` (else ``$LPT_OUTBOX_DIR``, else ``outbox/`` beside the audit
    log): where ``.eml`` files (or the platform's files) go when there is no SMTP server.
    """
    from .config import ConfigError
    from .page import _raw_yaml

    key = str(getattr(cfg, "source", None) or id(cfg))
    got = _SETTINGS.get(key)
    if got is not None:
        return got
    section = (_raw_yaml(cfg).get("engagement") or {}) if getattr(cfg, "source", None) else {}
    if not isinstance(section, dict):
        raise ConfigError("engagement: expected a mapping")
    unknown = sorted(set(section) - _SETTINGS_KEYS)
    if unknown:
        raise ConfigError(f"engagement: unknown key(s) {unknown}; keys are "
                          f"{sorted(_SETTINGS_KEYS)}")
    channel = section.get("channel")
    if channel not in (None, "smtp", "eml", "platform"):
        raise ConfigError(f"engagement.channel: {channel!r}; expected smtp, eml or platform")
    limits = {}
    for name in ("posts_per_minute_ip", "posts_per_minute_token"):
        value = section.get(name, getattr(EngageSettings, name))
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"engagement.{name}: a whole number >= 1 (got {value!r})")
        limits[name] = value
    outbox = section.get("outbox_dir") or os.environ.get("LPT_OUTBOX_DIR")
    if outbox and not os.path.isabs(outbox) and getattr(cfg, "source", None):
        outbox = str(Path(cfg.source).parent / outbox)
    if not outbox:
        outbox = str(Path(cfg.audit_path).resolve().parent / "outbox")
    public = (section.get("public_url") or os.environ.get("LPT_PUBLIC_URL") or cfg.url or None)
    got = EngageSettings(
        public_url=str(public).rstrip("/") if public else None,
        smtp_url=section.get("smtp_url") or os.environ.get("LPT_SMTP_URL") or None,
        outbox_dir=outbox, channel=channel, **limits)
    _SETTINGS[key] = got
    return got


def delivery_for(settings: EngageSettings):
    """The core's delivery for the settings: SMTP when a server is named (or the channel says
    so), the messaging platform's file hand-over for ``channel: platform``, else ``.eml``
    files in the outbox folder (the demo: no mail server needed)."""
    from spatial_core.engagement import delivery

    channel = settings.channel or ("smtp" if settings.smtp_url else "eml")
    if channel == "smtp":
        if not settings.smtp_url:
            from spatial_core import InputError

            raise InputError("engagement.channel is smtp but no SMTP server is configured: "
                             "set engagement.smtp_url or LPT_SMTP_URL "
                             "(smtp://user:pass@host:port)")
        return delivery.SmtpDelivery(settings.smtp_url)
    if channel == "platform":
        return delivery.PlatformFileDelivery(settings.outbox_dir)
    return delivery.EmlFolderDelivery(settings.outbox_dir)


def public_url_for(settings: EngageSettings, host_url: str | None = None) -> str:
    """The base URL of the links in messages (the request's own address when none is set)."""
    return (settings.public_url or (host_url or "").rstrip("/"))


# -- rate limits -----------------------------------------------------------------------------
class RateLimiter:
    """At most ``limit`` events per key in any 60 seconds, counted in a SQLite file shared by
    the service's workers (each process opens its own connection after the fork). Keys are
    hashed before they are written: no address or token is stored."""

    WINDOW_S = 60.0

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        pid = getattr(self._local, "pid", None)
        if conn is None or pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, ts REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS ix_hits_key ON hits (key, ts)")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def hit(self, limits: dict[str, int], now: float | None = None) -> str | None:
        """Count one event under every key of ``limits`` (key -> limit) and return the first
        key over its limit (None: allowed). A refused event is counted too."""
        now = time.time() if now is None else now
        keys = {hashlib.sha256(k.encode()).hexdigest()[:32]: (k, n) for k, n in limits.items()}
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM hits WHERE ts < ?", (now - self.WINDOW_S,))
            over = None
            for hashed, (k, n) in keys.items():
                seen = conn.execute("SELECT COUNT(*) FROM hits WHERE key = ? AND ts >= ?",
                                    (hashed, now - self.WINDOW_S)).fetchone()[0]
                if seen >= n and over is None:
                    over = k
                conn.execute("INSERT INTO hits (key, ts) VALUES (?, ?)", (hashed, now))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return over


# -- pages -----------------------------------------------------------------------------------
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
        f"<title>{_e(title)}</title>\n<link rel=\"icon\" href=\"data:,\">\n"
        "<link rel=\"stylesheet\" href=\"/app/engage.css\">\n"
        "<script src=\"/app/engage.js\" defer></script>\n</head>\n<body>\n"
        f"<header class=\"bar\"><h1>{_e(title)}</h1></header>\n<main>\n{body}\n</main>\n"
        "</body>\n</html>\n")


def _emergency() -> str:
    return f"<p class=\"emergency\" role=\"note\"><strong>{_e(EMERGENCY)}</strong></p>"


def _form_token_action(kind: str, token: str) -> str:
    return f"/engage/{kind}/{_e(token)}"


def _reply_page(token: str, *, text: str = "", error: str | None = None,
                max_chars: int = 4000) -> str:
    err = (f"<p class=\"message error\" role=\"alert\" id=\"form-error\">{_e(error)}</p>"
           if error else "")
    return _document("Reply to your local policing team", f"""
{_emergency()}
<p>Write to your local policing team in your own words. An officer for your area reads it.
Please do not include other people's personal details.</p>
{err}
<form method="post" action="{_form_token_action('reply', token)}" id="reply-form"
      accept-charset="utf-8">
  <label for="reply-text">Your reply</label>
  <textarea id="reply-text" name="text" rows="8" maxlength="{max_chars}" required
            data-max="{max_chars}">{_e(text)}</textarea>
  <p class="hint"><span id="reply-count">0</span> of {max_chars} characters</p>
  <button type="submit" class="primary wide">Send reply</button>
</form>""")


CHOICE_TYPES = ("choose",)
"""Question types answered by ticking up to ``max`` options (the core's ``SURVEY_FORM``)."""
SCALE_TYPES = ("scale",)
"""Question types answered by one of their options (1-5)."""


def _options(q: dict) -> list[tuple[str, str]]:
    return [(str(o[0]), str(o[1])) if isinstance(o, (list, tuple)) else (str(o), str(o))
            for o in q.get("options") or ()]


def _survey_field(q: dict, values: dict[str, list[str]]) -> str:
    """One question of ``SURVEY_FORM`` as HTML: ticks (``choose``, up to ``max``), one of
    the options (``scale``) or free text."""
    qid = str(q["name"])
    label = _e(q.get("label") or qid)
    kind = str(q.get("type") or "text")
    required = " required" if q.get("required") else ""
    chosen = values.get(qid, [])
    if kind in CHOICE_TYPES or kind in SCALE_TYPES:
        many = kind in CHOICE_TYPES
        boxes = []
        for i, (value, text) in enumerate(_options(q)):
            oid = f"{qid}-{i}"
            checked = " checked" if value in chosen else ""
            kind_attr = "checkbox" if many else "radio"
            boxes.append(f"<label for=\"{_e(oid)}\"><input type=\"{kind_attr}\" "
                         f"id=\"{_e(oid)}\" name=\"{_e(qid)}\" value=\"{_e(value)}\""
                         f"{checked}{'' if many else required}> {_e(text)}</label>")
        limit = f" data-max=\"{_e(q['max'])}\"" if many and q.get("max") else ""
        css = "choices" if many else "scale"
        return (f"<fieldset class=\"{css}\"{limit} id=\"q-{_e(qid)}\"><legend>{label}</legend>"
                + "".join(boxes) + "</fieldset>")
    value = chosen[0] if chosen else ""
    maxlength = q.get("max_chars") or 4000
    return (f"<label for=\"{_e(qid)}\">{label}</label><textarea id=\"{_e(qid)}\" "
            f"name=\"{_e(qid)}\" rows=\"4\" maxlength=\"{_e(maxlength)}\"{required}>"
            f"{_e(value)}</textarea>")


def survey_questions(form: Any) -> list[dict]:
    """The questions of the core's ``SURVEY_FORM`` as JSON-ready dicts (options as lists)."""
    return [{k: ([list(o) if isinstance(o, (list, tuple)) else o for o in v]
                 if k == "options" else v) for k, v in q.items()} for q in form]


def _survey_page(token: str, form: Any, *, values: dict | None = None,
                 error: str | None = None) -> str:
    err = (f"<p class=\"message error\" role=\"alert\" id=\"form-error\">{_e(error)}</p>"
           if error else "")
    fields = "\n".join(_survey_field(q, values or {}) for q in survey_questions(form))
    return _document("Your local policing survey", f"""
{_emergency()}
<p>A few questions about policing where you live. Your answers help your local team decide
what to work on; they are reported only as totals for an area.</p>
{err}
<form method="post" action="{_form_token_action('survey', token)}" id="survey-form"
      accept-charset="utf-8">
{fields}
  <button type="submit" class="primary wide">Send answers</button>
</form>""")


def _unsubscribe_page(token: str) -> str:
    return _document("Stop messages from your local policing team", f"""
<p>Press the button to stop all messages from your local policing team. Your contact details
are deleted at once.</p>
<form method="post" action="{_form_token_action('unsubscribe', token)}" id="unsubscribe-form">
  <input type="hidden" name="List-Unsubscribe" value="One-Click">
  <button type="submit" class="primary wide">Stop messages</button>
</form>""")


def _done_page(title: str, text: str, *, emergency: bool = False) -> str:
    return _document(title, (_emergency() if emergency else "")
                     + f"<p class=\"message ok\" role=\"status\" id=\"done\">{_e(text)}</p>")


def _error_page(title: str, text: str) -> str:
    return _document(title, f"<p class=\"message error\" role=\"alert\" id=\"link-error\">"
                            f"{_e(text)}</p>" + _emergency())


LINK_INVALID = ("This link is not valid. It may have been copied incompletely: open it "
                "again from the message you received. Nothing was saved.")
LINK_EXPIRED = ("This link has expired. Links in our messages work for a limited time; "
                "reply to a newer message from your local policing team. Nothing was saved.")


def _survey_answers(form: Any, values: dict[str, list[str]]) -> dict[str, Any]:
    """The posted survey fields as the core's answers: a list for a ``choose`` question, the
    text of the option or answer otherwise; unanswered questions left out. The core checks
    them (``check_answers``)."""
    out: dict[str, Any] = {}
    for q in form:
        qid = str(q["name"])
        got = [v for v in values.get(qid, []) if v.strip()]
        if not got:
            continue
        out[qid] = got if q.get("type") in CHOICE_TYPES else got[0]
    return out


def register(app: Any, cfg: Any, audit: Any) -> None:
    """Add the residents' pages and ``/engage/config.json`` to ``app`` (see the module
    docstring). ``audit`` is the service's :class:`~geoservice.audit.AuditLog`."""
    from flask import g, jsonify, request

    from spatial_core import InputError, NotFoundError

    from . import stores

    settings = engage_settings(cfg)
    runtime = os.environ.get("PYGEOAPI_CONFIG")
    folder = Path(runtime).parent if runtime else Path(cfg.audit_path).resolve().parent
    limiter = RateLimiter(folder / "engage-rate.sqlite")

    def respond(body: str, status: int = 200, headers: dict | None = None):
        resp = app.response_class(body, status=status, mimetype="text/html")
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Robots-Tag"] = "noindex, nofollow"
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    def store():
        return stores.store(cfg.store)

    def secret() -> bytes:
        from spatial_core.engagement.tokens import link_secret

        return stores.cached(("engage_link_secret", cfg.store), 300, lambda: link_secret(store()))

    def link_error(exc: Exception):
        """The page for a core refusal of the link (400 invalid, 410 expired)."""
        from spatial_core.engagement.tokens import ExpiredLink, InvalidLink

        if isinstance(exc, ExpiredLink):
            return respond(_error_page("Link expired", LINK_EXPIRED), 410)
        if isinstance(exc, (InvalidLink, NotFoundError)):
            return respond(_error_page("Link not valid", LINK_INVALID), 400)
        return None

    def check_link(token: str, purpose: str):
        from spatial_core.engagement.tokens import read_link_token

        try:
            read_link_token(secret(), token, purpose=purpose)
        except (InputError, NotFoundError) as exc:
            return link_error(exc) or respond(_error_page("Link not valid", LINK_INVALID), 400)
        return None

    def record(action: str, collection: str, outcome: str, ids: list[str] | None = None):
        audit.append(request_id=getattr(g, "lpt_request_id", None), sub="resident-link",
                     role="public", via="link", action=action, collection=collection,
                     query=loggable_path(request.path), ids=ids, purpose="resident's own post",
                     remote_addr=request.remote_addr, outcome=outcome)

    def guarded_body(token: str, collection: str):
        """The POST body as form fields, or the refusal page (429 rate, 413 size)."""
        over = limiter.hit({f"ip:{request.remote_addr}": settings.posts_per_minute_ip,
                            f"token:{token}": settings.posts_per_minute_token})
        if over is not None:
            record("denied", collection, "refused (429): too many posts")
            return None, respond(_error_page(
                "Too many attempts", "Too many attempts from here in the last minute. Please "
                "wait a minute and try again. Nothing was saved."), 429, {"Retry-After": "60"})
        # A declared length over the limit is refused unread; otherwise the cached body (the
        # service may have read it already, with its own larger bound) is measured.
        length = request.content_length
        if length is not None and length > BODY_LIMIT:
            raw, size = b"", length
        else:
            raw = request.get_data(cache=True)
            size = len(raw)
        if size > BODY_LIMIT:
            record("denied", collection, f"refused (413): body of {size} bytes")
            return None, respond(_error_page(
                "Too long", f"What you sent is too long (more than {BODY_LIMIT // 1024} KiB). "
                "Please shorten it. Nothing was saved."), 413)
        try:
            text = raw.decode("utf-8")
            return parse_qs(text, keep_blank_values=True, max_num_fields=200,
                            errors="strict"), None
        except (UnicodeDecodeError, ValueError):
            record("denied", collection, "refused (400): body not a UTF-8 form")
            return None, respond(_error_page(
                "Not understood", "What you sent could not be read. Nothing was saved."), 400)

    def refused(exc: Exception, collection: str, form_again):
        """The answer to a post the core refused, audited: the link's error page (400/410)
        for a bad link, else the form again with the core's message (400)."""
        page = link_error(exc)
        if page is not None:
            record("denied", collection, f"refused ({page.status_code}): {type(exc).__name__}")
            return page
        record("denied", collection, f"refused (400): {exc}")
        return respond(form_again(str(exc)), 400)

    # -- reply ----------------------------------------------------------------------------
    def reply(token: str):
        from spatial_core.engagement.replies import MAX_REPLY_CHARS, record_reply

        if request.method == "GET":
            return check_link(token, "reply") or respond(
                _reply_page(token, max_chars=MAX_REPLY_CHARS))
        fields, refusal = guarded_body(token, "replies")
        if refusal is not None:
            return refusal
        text = (fields.get("text") or [""])[0]
        try:
            got = record_reply(store(), token, text)
        except (InputError, NotFoundError) as exc:
            return refused(exc, "replies", lambda error: _reply_page(
                token, text=text, error=error, max_chars=MAX_REPLY_CHARS))
        record("create", "replies", "ok" + (" (urgent)" if got.urgent else ""),
               ids=[got.reply_id])
        return respond(_done_page(
            "Thank you", "Thank you: your reply has been sent to your local policing team.",
            emergency=bool(got.urgent)))

    # -- survey ---------------------------------------------------------------------------
    def survey(token: str):
        from spatial_core.engagement.surveys import SURVEY_FORM, record_online_survey

        if request.method == "GET":
            return check_link(token, "survey") or respond(_survey_page(token, SURVEY_FORM))
        fields, refusal = guarded_body(token, "surveys")
        if refusal is not None:
            return refusal
        answers = _survey_answers(SURVEY_FORM, fields)
        try:
            survey_id = record_online_survey(store(), token, answers)
        except (InputError, NotFoundError) as exc:
            return refused(exc, "surveys", lambda error: _survey_page(
                token, SURVEY_FORM, values=fields, error=error))
        record("create", "surveys", "ok (online)", ids=[str(survey_id)])
        return respond(_done_page("Thank you", "Thank you: your answers have been recorded."))

    # -- unsubscribe ----------------------------------------------------------------------
    def unsubscribe(token: str):
        from spatial_core.engagement.consent import opt_out_by_link

        if request.method == "GET":
            return check_link(token, "unsubscribe") or respond(_unsubscribe_page(token))
        fields, refusal = guarded_body(token, "opt_outs")
        if refusal is not None:
            return refusal
        if fields.get("List-Unsubscribe") != ["One-Click"]:
            record("denied", "opt_outs", "refused (400): not a one-click unsubscribe body")
            return respond(_error_page(
                "Not understood", "Expected the body List-Unsubscribe=One-Click (RFC 8058). "
                "Nothing was changed."), 400)
        try:
            opt_out_by_link(store(), token)
        except (InputError, NotFoundError) as exc:
            page = link_error(exc) or respond(_error_page("Link not valid", LINK_INVALID), 400)
            record("denied", "opt_outs", f"refused ({page.status_code}): {type(exc).__name__}")
            return page
        record("create", "opt_outs", "ok (link)")
        return respond(_done_page(
            "Messages stopped", "You will get no more messages from your local policing team, "
            "and your contact details have been deleted."))

    def page_config():
        from spatial_core.engagement.messages import KINDS
        from spatial_core.engagement.replies import MAX_REPLY_CHARS
        from spatial_core.engagement.surveys import SURVEY_FORM
        from spatial_core.io.members import AGE_BANDS, ETHNICITIES, GENDERS

        resp = jsonify({"kinds": list(KINDS), "max_reply_chars": MAX_REPLY_CHARS,
                        "survey": survey_questions(SURVEY_FORM), "emergency": EMERGENCY,
                        # what a resident at the door may say about themselves (optional)
                        "demographics": {"gender": list(GENDERS), "age_band": list(AGE_BANDS),
                                         "ethnicity": list(ETHNICITIES)}})
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    def guarded(view):
        """A failure is a 500 page, logged without the token (Flask's own handler would log
        the path, token included)."""
        def run(token: str):
            try:
                return view(token)
            except Exception:  # noqa: BLE001 - any failure: logged here, a plain page out
                log.exception("engage page failed", extra={"fields": {
                    "path": loggable_path(request.path), "method": request.method}})
                return respond(_error_page(
                    "Something went wrong", "Something went wrong on our side and nothing "
                    "was saved. Please try again later."), 500)

        run.__name__ = view.__name__
        return run

    both = ["GET", "POST"]
    app.add_url_rule("/engage/reply/<token>", "lpt_engage_reply", guarded(reply),
                     methods=both)
    app.add_url_rule("/engage/survey/<token>", "lpt_engage_survey", guarded(survey),
                     methods=both)
    app.add_url_rule("/engage/unsubscribe/<token>", "lpt_engage_unsubscribe",
                     guarded(unsubscribe), methods=both)
    app.add_url_rule("/engage/config.json", "lpt_engage_config", page_config, methods=["GET"])
