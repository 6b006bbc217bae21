# SPDX-License-Identifier: GPL-3.0-or-later
"""Who may be messaged: consent, opt-outs, contacts and the frequency cap.

A member considered for a message is a **recipient** only when all of these hold, checked
in this order; the first that fails is the reason they are held back (the preview counts
each reason):

1. ``opted_out``: they have not opted out (from the export, a link in any message, or an
   officer recording it: :func:`opt_out`). Opting out takes effect at once everywhere;
2. ``consent``: they consent to hear from the message's organisation (``member_consents``,
   as imported from the platform; nobody is registered automatically);
3. ``no_contact``: a usable e-mail address is stored (messaging switched on, an address in
   the export, not marked bad by a permanent delivery failure);
4. ``cap``: the frequency cap (:class:`FrequencyCap`) leaves room: by default at most one
   message in 7 days and four in 28. Every message counts, survey invitations included,
   whether sent or still queued, so two messages prepared the same day cannot both pass.

Only members current on the day (joined, not left) are considered at all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from spatial_core.engagement.tokens import LinkToken, link_secret, read_link_token
from spatial_core.errors import InputError, NotFoundError
from spatial_core.store import schema
from spatial_core.store.contacts import contact_flags, record_opt_outs
from spatial_core.store.data_version import bump_data_version

__all__ = [
    "HELD_REASONS",
    "COUNTED_STATES",
    "FrequencyCap",
    "opt_out",
    "opt_out_by_link",
    "held_reasons",
    "now_text",
]

HELD_REASONS = ("opted_out", "consent", "no_contact", "cap")
"""Why a member is held back, in order of precedence."""

COUNTED_STATES = ("queued", "claimed", "retry", "sent", "uncertain")
"""Recipient states that count towards the cap (a message sent, or on its way)."""

CAP_WEEK_ENV = "LPT_CAP_PER_WEEK"
CAP_28_ENV = "LPT_CAP_PER_28_DAYS"


def now_text(now: datetime | str | None = None) -> str:
    """``now`` (default the clock) as ISO UTC text to the second, naive (``2026-03-14T18:30:00``),
    the form every engagement time is stored in."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(now, str):
        try:
            now = datetime.fromisoformat(now.strip())
        except ValueError:
            raise InputError("now must be an ISO date-time such as 2026-03-14T18:30:00",
                             value=now) from None
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now.isoformat(timespec="seconds")


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``per_week`` messages to a member in any 7 days and ``per_28_days`` in 28.

    ``FrequencyCap.from_env()`` reads ``LPT_CAP_PER_WEEK`` and ``LPT_CAP_PER_28_DAYS``
    (defaults 1 and 4). A force that wants no cap sets them high; 0 blocks every message.
    """

    per_week: int = 1
    per_28_days: int = 4

    def __post_init__(self) -> None:
        for name in ("per_week", "per_28_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise InputError(f"frequency cap {name} must be a whole number >= 0", value=v)

    @classmethod
    def from_env(cls) -> FrequencyCap:
        def read(name: str, default: int) -> int:
            text = os.environ.get(name, "").strip()
            if not text:
                return default
            try:
                return int(text)
            except ValueError:
                raise InputError(f"{name} must be a whole number", value=text) from None
        return cls(read(CAP_WEEK_ENV, cls.per_week), read(CAP_28_ENV, cls.per_28_days))

    def recent_counts(self, store, now: str, conn: Connection | None = None) -> pd.DataFrame:
        """Messages per member in the 7 and 28 days up to ``now``: ``member_id``, ``week``,
        ``days28``. A recipient's time is when it was sent, else when its message was made."""
        r, m = schema.message_recipients, schema.messages
        at = func.coalesce(r.c.sent_at, m.c.created_at)
        t = datetime.fromisoformat(now)
        lo28 = (t - timedelta(days=28)).isoformat(timespec="seconds")
        lo7 = (t - timedelta(days=7)).isoformat(timespec="seconds")
        stmt = (select(r.c.member_id,
                       func.sum(case((at > lo7, 1), else_=0)).label("week"),
                       func.count().label("days28"))
                .select_from(r.join(m, r.c.message_id == m.c.message_id))
                .where(and_(r.c.state.in_(COUNTED_STATES), at > lo28, at <= now))
                .group_by(r.c.member_id))
        if conn is None:
            with store.engine.connect() as c:
                rows = c.execute(stmt).all()
        else:
            rows = conn.execute(stmt).all()
        return pd.DataFrame(rows, columns=["member_id", "week", "days28"])

    def over(self, store, member_ids, now: str, conn: Connection | None = None) -> np.ndarray:
        """True for the members one more message would put over the cap."""
        counts = self.recent_counts(store, now, conn).set_index("member_id")
        ids = pd.Index(np.asarray(member_ids, dtype=object))
        week = counts["week"].astype("int64").reindex(ids, fill_value=0).to_numpy("int64")
        d28 = counts["days28"].astype("int64").reindex(ids, fill_value=0).to_numpy("int64")
        return (week >= self.per_week) | (d28 >= self.per_28_days)


def held_reasons(store, member_ids, *, organisation: str, cap: FrequencyCap, now: str,
                 conn: Connection | None = None) -> np.ndarray:
    """Why each member would be held back from a message of ``organisation`` at ``now``:
    one of :data:`HELD_REASONS`, or None for a recipient (see the module docstring)."""
    ids = np.asarray(member_ids, dtype=object)
    out = np.full(len(ids), None, dtype=object)
    if not len(ids):
        return out
    opted = set(store.read("opt_outs", ["member_id"], conn=conn)["member_id"])
    c = schema.member_consents
    consenting = set(store.read("member_consents", ["member_id"],
                                where=c.c.organisation == organisation, conn=conn)["member_id"])
    flags = contact_flags(store, conn=conn)
    reachable = set(flags.loc[flags["has_email"] & (flags["email_status"] == "ok"), "member_id"])
    s = pd.Series(ids)
    over = cap.over(store, ids, now, conn)
    reason = np.select(
        [s.isin(opted).to_numpy(), ~s.isin(consenting).to_numpy(),
         ~s.isin(reachable).to_numpy(), over],
        list(HELD_REASONS), default="")
    out[reason != ""] = reason[reason != ""]
    return out


def opt_out(store, member_id: str, *, source: str, recorded_by: str | None = None,
            now: datetime | str | None = None) -> bool:
    """Record that a member wants no more messages; it takes effect at once.

    The contact is erased, pending deliveries of every message are held (``opted_out``),
    and the member is held back from every later message. ``source`` is ``export``,
    ``link`` or ``officer`` (an officer's opt-out needs ``recorded_by``). Returns True when
    newly recorded, False when the member had already opted out.

    Raises
    ------
    NotFoundError
        No such member.
    InputError
        A bad source, or an officer's opt-out without the officer.
    """
    member_id = str(member_id or "").strip()
    if not member_id:
        raise InputError("an opt-out needs a member id")
    if source == "officer" and not (recorded_by or "").strip():
        raise InputError("an officer's opt-out needs the officer (--by)")
    stamp = now_text(now)
    with store.begin() as conn:
        m = schema.members
        if not store.count("members", where=m.c.member_id == member_id, conn=conn):
            raise NotFoundError(f"no member {member_id!r} in the store")
        added = record_opt_outs(store, conn, [member_id], source=source,
                                recorded_by=(recorded_by or "").strip() or None, at=stamp)
        bump_data_version(store, conn)
    return bool(added)


def opt_out_by_link(store, token: str, *, now: datetime | str | None = None) -> LinkToken:
    """Opt out the member of an unsubscribe link (RFC 8058 one-click or the page); returns
    what the link said. A link already used works again (nothing changes the second time).

    Raises
    ------
    InvalidLink, ExpiredLink
        From :func:`~spatial_core.engagement.tokens.read_link_token`.
    """
    link = read_link_token(link_secret(store), token, purpose="unsubscribe",
                           now=now_text(now) if now is not None else None)
    try:
        opt_out(store, link.member_id, source="link", now=now)
    except NotFoundError:  # a member since deleted: nothing to opt out, nothing to say
        pass
    return link
