# SPDX-License-Identifier: GPL-3.0-or-later
"""Signed, expiring per-recipient links: reply, answer a survey or unsubscribe without login.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is
``<purpose letter>|<message id>|<member id>|<expiry, Unix seconds>``; the signature is the
HMAC-SHA256 of the payload under the store's link secret (:func:`link_secret`), compared in
constant time. A token names a message and a member (pseudonymous ids, never a name or
contact); it cannot be forged or altered without the secret, and it stops working at its
expiry (90 days by default). Changing the secret (``LPT_LINK_KEY``) invalidates every link
already sent.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from spatial_core.errors import InputError
from spatial_core.store import schema

__all__ = [
    "PURPOSES",
    "LINK_KEY_ENV",
    "DEFAULT_LINK_DAYS",
    "LinkToken",
    "InvalidLink",
    "ExpiredLink",
    "link_secret",
    "link_expiry",
    "make_link_token",
    "read_link_token",
]

PURPOSES = ("reply", "survey", "unsubscribe")
LINK_KEY_ENV = "LPT_LINK_KEY"
DEFAULT_LINK_DAYS = 90
_META_KEY = "link_secret"
_LETTER = {"reply": "r", "survey": "s", "unsubscribe": "u"}
_PURPOSE = {v: k for k, v in _LETTER.items()}
_MAX_TOKEN = 400


class InvalidLink(InputError):
    """A link token that is malformed, altered, signed with another secret or for another
    purpose."""


class ExpiredLink(InputError):
    """A genuine link token past its expiry."""


@dataclass(frozen=True)
class LinkToken:
    """What a valid token says: which message, which member, what for, valid until when
    (ISO UTC, seconds)."""

    message_id: str
    member_id: str
    purpose: str
    expires_at: str


def link_secret(store) -> bytes:
    """The secret that signs links: ``$LPT_LINK_KEY`` (at least 16 characters) when set,
    else a random 32-byte secret made once and kept in ``lpt_meta`` (``link_secret``).

    Every process serving or sending for one store must see the same secret: set
    ``LPT_LINK_KEY`` everywhere, or set it nowhere.
    """
    env = os.environ.get(LINK_KEY_ENV)
    if env:
        if len(env) < 16:
            raise InputError(f"{LINK_KEY_ENV} is too short: use at least 16 random characters")
        return env.encode("utf-8")
    stored = store.get_meta(_META_KEY)
    if stored:
        return bytes.fromhex(stored)
    fresh = secrets.token_hex(32)
    try:
        with store.begin() as conn:
            conn.execute(schema.meta.insert().values(key=_META_KEY, value=fresh))
    except IntegrityError:  # another process made it first: use theirs
        pass
    return bytes.fromhex(store.get_meta(_META_KEY) or fresh)


def link_expiry(now: datetime | None = None, days: int = DEFAULT_LINK_DAYS) -> datetime:
    """When a link made at ``now`` (default the clock) expires."""
    return _utc(now or datetime.now(UTC)) + timedelta(days=days)


def _utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise InputError("expected an ISO date-time such as 2026-03-14T18:30:00",
                             value=moment) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"lpt-link-v1|" + payload, hashlib.sha256).digest()


def make_link_token(secret: bytes, message_id: str, member_id: str, purpose: str,
                    expires_at: datetime | str) -> str:
    """A signed token for one recipient of one message.

    Examples
    --------
    >>> t = make_link_token(b"k" * 32, "msg-1", "M7", "reply", "2030-01-01T00:00:00")
    >>> read_link_token(b"k" * 32, t, now="2029-12-31T23:59:59").member_id
    'M7'
    """
    if purpose not in _LETTER:
        raise InputError(f"link purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    for name, value in (("message id", message_id), ("member id", member_id)):
        if not value or "|" in str(value):
            raise InputError(f"a link needs a {name} without '|'", value=value)
    exp = int(_utc(expires_at).timestamp())
    payload = f"{_LETTER[purpose]}|{message_id}|{member_id}|{exp}".encode()
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def read_link_token(secret: bytes, token: str, *, purpose: str | None = None,
                    now: datetime | str | None = None) -> LinkToken:
    """Check a token and say what it is for.

    Raises
    ------
    InvalidLink
        Malformed, altered, signed with another secret, or not for ``purpose``.
    ExpiredLink
        Genuine but past its expiry (checked after the signature, so an altered expiry is
        invalid, not expired).
    """
    bad = InvalidLink("this link is not valid: it may have been cut short or changed; use the "
                      "link exactly as it came in the message")
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise bad
    body, sig = token.split(".")
    try:
        payload, given = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        raise bad from None
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise bad
    try:
        letter, message_id, member_id, exp = payload.decode("utf-8").split("|")
        expires = datetime.fromtimestamp(int(exp), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise bad from None
    if letter not in _PURPOSE:
        raise bad
    kind = _PURPOSE[letter]
    if purpose is not None and kind != purpose:
        raise InvalidLink(f"this link is for {kind}, not {purpose}")
    if _utc(now or datetime.now(UTC)) > expires:
        raise ExpiredLink("this link has expired; reply to a newer message or contact your "
                          "neighbourhood team")
    return LinkToken(message_id, member_id, kind,
                     expires.replace(tzinfo=None).isoformat(timespec="seconds"))
