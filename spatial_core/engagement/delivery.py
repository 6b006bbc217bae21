# SPDX-License-Identifier: GPL-3.0-or-later
"""How messages leave: SMTP, a folder of ``.eml`` files (the demo default), or a file for a
messaging platform that sends itself.

A delivery is used as a context manager around one send run (:func:`spatial_core.engagement.
messages.send_message`): SMTP opens one connection on entry and reuses it for every
recipient. :meth:`send` delivers one :class:`Envelope` and raises :class:`TemporaryFailure`
(SMTP 4xx, a dropped connection: try again later) or :class:`PermanentFailure` (SMTP 5xx:
the address is bad). Their text carries the server's reply code and text with any address
in it replaced by ``<address>``, so it can be stored and logged.

Every e-mail has a plain text and an HTML part, per-recipient links and the RFC 8058
one-click unsubscribe headers (``List-Unsubscribe`` with an https link and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``).
"""
from __future__ import annotations

import html
import logging
import os
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email import charset, policy
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from spatial_core.errors import InputError

__all__ = [
    "Envelope",
    "DeliveryFailure",
    "TemporaryFailure",
    "ConnectionFailure",
    "PermanentFailure",
    "build_email",
    "SmtpDelivery",
    "EmlFolderDelivery",
    "PlatformFileDelivery",
    "delivery_from_env",
    "scrub_addresses",
]

log = logging.getLogger(__name__)

SMTP_URL_ENV = "LPT_SMTP_URL"
OUTBOX_ENV = "LPT_OUTBOX_DIR"
MAIL_FROM_ENV = "LPT_MAIL_FROM"
DEFAULT_OUTBOX = "outbox"
# SMTP lines end in CRLF; headers unfolded up to RFC 5322's 998 characters (a folded
# List-Unsubscribe starts with a space some clients keep)
_WIRE = policy.compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.header_encoding = charset.QP
_UTF8_QP.body_encoding = charset.QP
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")


def scrub_addresses(text: str) -> str:
    """``text`` with anything that looks like an e-mail address replaced by ``<address>``.

    >>> scrub_addresses("550 5.1.1 <ann@example.invalid>: Recipient address rejected")
    '550 5.1.1 <address>: Recipient address rejected'
    """
    return _ADDRESS.sub("<address>", text)


class DeliveryFailure(Exception):
    """One recipient could not be sent to. ``code`` is the SMTP reply code (0 when there was
    none) and ``text`` the server's reply, addresses scrubbed."""

    def __init__(self, code: int, text: str) -> None:
        self.code = int(code or 0)
        self.text = scrub_addresses(str(text))[:500]
        super().__init__(f"{self.code} {self.text}".strip())


class TemporaryFailure(DeliveryFailure):
    """Try again later (SMTP 4xx, connection lost)."""


class ConnectionFailure(TemporaryFailure):
    """The server cannot be reached or refuses the session (connection, TLS, login): nothing
    was sent, and no recipient is to blame. A send run stops and can be run again."""


class PermanentFailure(DeliveryFailure):
    """Do not try again (SMTP 5xx). ``address_bad`` when the server refused the recipient
    (5xx to RCPT): only then is the address marked bad; a 5xx to the message itself is not
    the address's fault."""

    def __init__(self, code: int, text: str, *, address_bad: bool = False) -> None:
        super().__init__(code, text)
        self.address_bad = address_bad


@dataclass
class Envelope:
    """One recipient's copy of a message. ``email`` is the only contact and is None for a
    platform delivery (the platform holds the contacts)."""

    message_id: str
    member_id: str
    email: str | None
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    links: dict[str, str] = field(default_factory=dict)
    body: str = ""  # the message as the officer wrote it (for a platform's template)

    def __repr__(self) -> str:  # never show the address
        return f"Envelope(message_id={self.message_id!r}, member_id={self.member_id!r})"


def build_email(env: Envelope, sender: str) -> Message:
    """The MIME message for one envelope: text and HTML alternatives (quoted-printable
    UTF-8), the RFC 8058 unsubscribe headers.

    Built with the ``compat32`` classes: a third of the time of ``EmailMessage``, which
    matters at a force's 60k recipients. Headers are not folded under 998 characters and
    never turned into encoded words, so ``List-Unsubscribe`` stays one readable URL.
    """
    msg = MIMEMultipart("alternative")
    msg["From"] = sender
    msg["To"] = env.email or "undisclosed-recipients:;"
    msg["Subject"] = env.subject if env.subject.isascii() else \
        Header(env.subject, "utf-8").encode()
    msg["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2].strip(">") or "localhost"
    msg["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    msg["List-Unsubscribe"] = f"<{env.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-LPT-Message"] = env.message_id
    msg.attach(MIMEText(env.text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    msg.attach(MIMEText(env.html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return msg


def html_body(text: str, links: dict[str, str], unsubscribe_url: str) -> str:
    """A plain, accessible HTML rendering of a message: paragraphs and its links."""
    paras = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                    for p in re.split(r"\n\s*\n", text.strip()) if p.strip())
    labels = {"reply": "Reply to this message", "survey": "Answer the survey"}
    buttons = "".join(f'<p><a href="{html.escape(url)}">{labels.get(k, k)}</a></p>'
                      for k, url in links.items())
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head>"
            f"<body>{paras}{buttons}<hr><p style=\"font-size:small\">This address is not "
            "monitored for emergencies: in an emergency call 999. "
            f'<a href="{html.escape(unsubscribe_url)}">Unsubscribe</a> from these messages.'
            "</p></body></html>")


def text_body(text: str, links: dict[str, str], unsubscribe_url: str) -> str:
    """The plain text part: the message, its links, the unsubscribe link."""
    labels = {"reply": "Reply to this message", "survey": "Answer the survey"}
    lines = [text.strip(), ""]
    for k, url in links.items():
        lines += [f"{labels.get(k, k)}: {url}"]
    lines += ["", "This address is not monitored for emergencies: in an emergency call 999.",
              f"Unsubscribe: {unsubscribe_url}", ""]
    return "\n".join(lines)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _Delivery:
    channel = ""
    needs_contacts = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def send(self, env: Envelope) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SmtpDelivery(_Delivery):
    """Send through an SMTP server: ``smtp://user:pass@host:port`` (STARTTLS when the server
    offers it; ``?starttls=required`` refuses to go on without) or ``smtps://…`` (TLS from
    the start). One connection is opened per send run and reused for every recipient; a
    dropped connection is reopened once per recipient.

    Parameters
    ----------
    url : str
        The server; user and password are percent-decoded.
    sender : str, optional
        The From address (default ``$LPT_MAIL_FROM``, else ``no-reply@<host>``).
    timeout : float
        Seconds to wait for the server on each command.
    """

    channel = "smtp"

    def __init__(self, url: str, *, sender: str | None = None, timeout: float = 30.0) -> None:
        u = urlsplit(url)
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise InputError("an SMTP URL is smtp://user:pass@host:port or smtps://…",
                             value=_redact(url))
        self.tls = u.scheme == "smtps"
        self.host = u.hostname
        try:
            self.port = u.port or (465 if self.tls else 25)
        except ValueError:
            raise InputError("the SMTP URL has a bad port", value=_redact(url)) from None
        self.user = unquote(u.username) if u.username else None
        self.password = unquote(u.password) if u.password else None
        self.require_starttls = "starttls=required" in (u.query or "")
        self.sender = sender or os.environ.get(MAIL_FROM_ENV) or f"no-reply@{self.host}"
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0

    def __repr__(self) -> str:
        return f"SmtpDelivery({'smtps' if self.tls else 'smtp'}://{self.host}:{self.port})"

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if not self.tls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif not self.tls and self.require_starttls:
                smtp.close()
                raise ConnectionFailure(0, "the server does not offer STARTTLS")
            if self.user:
                smtp.login(self.user, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ConnectionFailure(exc.smtp_code, f"login refused: {_reply(exc.smtp_error)}"
                                    ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailure(getattr(exc, "smtp_code", 0),
                                   f"cannot connect to {self.host}:{self.port}: "
                                   f"{type(exc).__name__}") from None
        self.connections += 1
        return smtp

    def send(self, env: Envelope) -> None:
        if not env.email:
            raise PermanentFailure(0, "no e-mail address")
        data = build_email(env, self.sender).as_bytes(policy=_WIRE)
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                refused = self._smtp.sendmail(self.sender, [env.email], data)
            except smtplib.SMTPServerDisconnected:
                self._smtp = None
                if attempt == 2:
                    raise TemporaryFailure(0, "the server closed the connection") from None
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()), (0, b""))
                raise _failure(code, reply, recipient=True) from None
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise _failure(exc.smtp_code, exc.smtp_error) from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryFailure(0, f"{type(exc).__name__}") from None
            if refused:
                code, reply = next(iter(refused.values()))
                raise _failure(code, reply, recipient=True)
            return

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
        self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self._drop()


def _reply(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _failure(code: int, reply, *, recipient: bool = False) -> DeliveryFailure:
    text = _reply(reply)
    if 500 <= int(code or 0) < 600:
        return PermanentFailure(code, text, address_bad=recipient)
    return TemporaryFailure(code, text)


def _redact(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


class EmlFolderDelivery(_Delivery):
    """Write each e-mail as ``<folder>/<message id>/<member id>.eml`` (the demo default: no
    mail server needed; open the files in a mail client). Files are written whole (a
    temporary file renamed), so a killed run leaves no half message."""

    channel = "eml"

    def __init__(self, folder: str | os.PathLike, *, sender: str | None = None) -> None:
        self.folder = Path(folder)
        self.sender = sender or os.environ.get(MAIL_FROM_ENV) or "no-reply@localhost"

    def __repr__(self) -> str:
        return f"EmlFolderDelivery({str(self.folder)!r})"

    def send(self, env: Envelope) -> None:
        if not env.email:
            raise PermanentFailure(0, "no e-mail address")
        where = self.folder / _safe(env.message_id)
        where.mkdir(parents=True, exist_ok=True)
        _atomic_write(where / f"{_safe(env.member_id)}.eml",
                      build_email(env, self.sender).as_bytes(policy=_WIRE))


class PlatformFileDelivery(_Delivery):
    """Hand the message to a messaging platform that sends itself: in
    ``<folder>/<message id>/``, ``message.txt`` and ``message.html`` (the text with links
    written ``{reply_link}``, ``{survey_link}``, ``{unsubscribe_link}``), ``subject.txt``
    and ``recipients.csv`` (``member_id`` and each recipient's links). No contact is
    needed or written: the platform knows its members."""

    channel = "platform"
    needs_contacts = False

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._fh: TextIO | None = None

    def __repr__(self) -> str:
        return f"PlatformFileDelivery({str(self.folder)!r})"

    def send(self, env: Envelope) -> None:
        where = self.folder / _safe(env.message_id)
        if self._fh is None:
            where.mkdir(parents=True, exist_ok=True)
            links = {k: f"{{{k}_link}}" for k in env.links}
            (where / "subject.txt").write_text(env.subject + "\n", encoding="utf-8")
            (where / "message.txt").write_text(
                text_body(env.body, links, "{unsubscribe_link}"), encoding="utf-8")
            (where / "message.html").write_text(
                html_body(env.body, links, "{unsubscribe_link}"), encoding="utf-8")
            path = where / "recipients.csv"
            new = not path.exists()
            self._fh = open(path, "a", encoding="utf-8", newline="")
            if new:
                self._fh.write("member_id,reply_link,survey_link,unsubscribe_link\n")
        fh = self._fh
        fh.write(f"{env.member_id},{env.links.get('reply', '')},"
                 f"{env.links.get('survey', '')},{env.unsubscribe_url}\n")
        fh.flush()
        os.fsync(fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(name))[:120] or "_"


def delivery_from_env():
    """The configured delivery: SMTP when ``$LPT_SMTP_URL`` is set, else ``.eml`` files in
    ``$LPT_OUTBOX_DIR`` (default ``./outbox``)."""
    url = os.environ.get(SMTP_URL_ENV, "").strip()
    if url:
        return SmtpDelivery(url)
    return EmlFolderDelivery(os.environ.get(OUTBOX_ENV) or DEFAULT_OUTBOX)
