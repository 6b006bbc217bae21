# SPDX-License-Identifier: GPL-3.0-or-later
"""Messages to residents: compose for an audience, preview the reach, send through an outbox.

:func:`create_message` stores a message for an audience (areas the caller may act for, the
households of a targeting set-up, a group of members, or an area narrowed to a set-up or a
group) and one ``message_recipients`` row per member considered: ``queued``, or ``held``
with the first reason that holds them back (:mod:`spatial_core.engagement.consent`). What
it returns is the preview: recipients, and how many are held back and why.

:func:`send_message` is an outbox. It works in batches: a batch of queued rows is
**claimed** (state ``claimed``, committed) before anything is sent, then each recipient is
sent to and the batch's results are committed. A send run that is killed leaves its claimed
rows behind; the next run marks them ``uncertain`` and never sends them again. Delivery is
therefore **at most once**: nobody gets a message twice, and after a crash up to one batch
of recipients may not have got it (their rows say so). Temporary failures (SMTP 4xx, a lost
connection) are retried with exponential backoff up to ``max_attempts``; permanent ones (5xx)
are recorded (``error``: the reply code and server text, never the address) and, when the
server refused the recipient, the address is marked bad. Only one send run per message
should run at a time.

Every preparation and send is audited: the ``messages`` row (who, which audience, when,
which channel) and a log line on the ``spatial_core.audit`` logger, with ids and counts,
never a contact.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from spatial_core.engagement.consent import (
    HELD_REASONS,
    FrequencyCap,
    held_reasons,
    now_text,
)
from spatial_core.engagement.delivery import (
    ConnectionFailure,
    DeliveryFailure,
    Envelope,
    PermanentFailure,
    html_body,
    text_body,
)
from spatial_core.engagement.tokens import (
    DEFAULT_LINK_DAYS,
    link_secret,
    make_link_token,
)
from spatial_core.errors import InputError, NotFoundError, SpatialCoreError
from spatial_core.store import schema
from spatial_core.store.contacts import (
    MESSAGING_OFF,
    contact_cipher,
    mark_email_bad,
    read_contacts_for_delivery,
)
from spatial_core.store.data_version import bump_data_version

__all__ = [
    "KINDS",
    "DEFAULT_ORGANISATION",
    "MAX_BODY_CHARS",
    "MessagePreview",
    "SendReport",
    "OutOfScope",
    "DeliveryUnavailable",
    "create_message",
    "send_message",
    "list_messages",
    "get_message",
    "audience_members",
]

log = logging.getLogger(__name__)
audit = logging.getLogger("spatial_core.audit")

KINDS = ("update", "you_said_we_did", "survey", "appeal")
"""Kinds of message: an update, "You said, we did" feedback, a survey invitation, an appeal
for information."""

DEFAULT_ORGANISATION = "police"
MAX_BODY_CHARS = 20_000
MAX_SUBJECT_CHARS = 200
_SUBJECTS = {"update": "An update from your neighbourhood policing team",
             "you_said_we_did": "You said, we did",
             "survey": "Tell us what matters where you live",
             "appeal": "Can you help? An appeal from your neighbourhood policing team"}
_LEVELS = ("beat", "ward", "npa", "force")
_PENDING = ("queued", "retry")


class DeliveryUnavailable(SpatialCoreError):
    """The delivery channel cannot be used (the mail server is down, refuses the login …).
    The recipients not reached are queued again: run the send again later."""


class OutOfScope(InputError):
    """An area (or set-up) outside the areas the caller may act for."""


@dataclass(frozen=True)
class MessagePreview:
    """A prepared message and its reach: ``recipients`` (queued) and ``held_back`` by reason
    (``opted_out``, ``consent``, ``no_contact``, ``cap``)."""

    message_id: str
    recipients: int
    held_back: dict[str, int]
    area_id: str | None = None
    kind: str = ""

    @property
    def considered(self) -> int:
        return self.recipients + sum(self.held_back.values())

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "recipients": self.recipients,
                "held_back": dict(self.held_back)}


@dataclass
class SendReport:
    """What one send run did: ``sent`` and ``failed`` (permanently) in this run; ``held``
    (their consent or contact went since the message was prepared; an opt-out holds them at
    once); ``retried`` (recipients with a temporary failure that were tried again);
    ``uncertain`` (recipients of a killed run, never resent: the message's total); and
    ``pending`` (still to send: a later run sends them)."""

    message_id: str
    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    held: int = 0
    pending: int = 0
    status: str = ""
    errors: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(text: Any, what: str, limit: int) -> str:
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        raise InputError(f"the {what} is empty")
    if len(value) > limit:
        raise InputError(f"the {what} is {len(value)} characters long; at most {limit}")
    if "\x00" in value:
        raise InputError(f"the {what} holds a NUL character")
    return value


def _area_tree(store) -> pd.DataFrame:
    from spatial_core.analytics.population import area_table

    return area_table(store)


def _resolve_areas(store, areas: Sequence[str] | str | None, tree: pd.DataFrame
                   ) -> tuple[list[str], dict[str, str]]:
    """Area ids checked against the store, streets as ``street:<id>``; returns them and
    each street's beat."""
    if areas is None:
        return [], {}
    items = [areas] if isinstance(areas, str) else list(areas)
    out: list[str] = []
    street_beat: dict[str, str] = {}
    known = set(tree["area_id"])
    for item in items:
        area = str(item).strip()
        if not area:
            raise InputError("an area id is empty")
        level, sep, code = area.partition(":")
        if area in known:
            pass
        elif sep and level.lower() in _LEVELS and f"{level.lower()}:{code}" in known:
            area = f"{level.lower()}:{code}"
        else:
            sid = code if sep and level.lower() == "street" else area
            s = schema.streets
            row = store.read("streets", ["street_id", "beat_id"], where=s.c.street_id == sid)
            if not len(row):
                lvl = level.lower() if sep and level.lower() in _LEVELS else "beat"
                same = tree.loc[tree["level"] == lvl, "area_id"].head(5).tolist()
                raise NotFoundError(f"no area {area!r} in the store: expected beat:…, ward:…, "
                                    "npa:…, force:… or a street id"
                                    + (f" (for example: {', '.join(same)})" if same else ""))
            area = f"street:{sid}"
            street_beat[area] = row["beat_id"].iloc[0]
        if area not in out:
            out.append(area)
    return out, street_beat


def _check_scope(area_ids: Sequence[str], scope_areas: Sequence[str] | None,
                 tree: pd.DataFrame, street_beat: dict[str, str]) -> None:
    """An :class:`OutOfScope` error for the first area outside ``scope_areas`` (None: the
    whole force). An area is inside when it is in scope, or it is a beat of an npa in scope,
    or a street of such a beat."""
    if scope_areas is None:
        return
    scope = set(scope_areas)
    parent = tree.set_index("area_id")["parent_id"].to_dict()
    for area in area_ids:
        beat = street_beat.get(area, area)
        if area in scope or beat in scope or parent.get(beat) in scope:
            continue
        raise OutOfScope(f"area {area!r} is outside the areas you may act for")


def _group_filter(store, group: str, members: pd.DataFrame) -> np.ndarray:
    """Members of ``group``: a member group (``key_individual``, ``iag``,
    ``neighbourhood_watch`` …), a geodemographic class ``<scheme>:<code>`` (e.g.
    ``oac2011:4``) or a self-declared ethnic group ``ethnicity:<slug>`` (a broad group such as
    ``asian`` takes in its detailed ones)."""
    from spatial_core.io.members import ETHNICITIES

    kind, sep, value = group.partition(":")
    if sep and kind == "ethnicity":
        m = schema.members
        eth = store.read("members", ["member_id", "ethnicity"],
                         where=m.c.member_id.in_(list(members["member_id"])))
        broad = eth["ethnicity"].map(ETHNICITIES)
        yes = set(eth.loc[(eth["ethnicity"] == value) | (broad == value), "member_id"])
        if not yes and value not in ETHNICITIES:
            raise NotFoundError(f"no ethnic group {value!r}; groups: "
                                + ", ".join(sorted(set(ETHNICITIES.values()))))
        return members["member_id"].isin(yes).to_numpy()
    if sep:
        return (members["group"].astype(str) == value).to_numpy()
    g = schema.member_groups
    rows = store.read("member_groups", ["member_id"], where=g.c.grp == group)
    if not len(rows):
        known = sorted(set(store.read("member_groups", ["grp"])["grp"]))
        raise NotFoundError(f"no member group {group!r}; groups: "
                            + (", ".join(known) if known else "none stored"))
    return members["member_id"].isin(set(rows["member_id"])).to_numpy()


def _class_level(store, scheme: str, code: str) -> int:
    c = schema.class_codes
    rows = store.read("class_codes", ["level"], where=(c.c.scheme == scheme) & (c.c.code == code))
    if not len(rows):
        raise NotFoundError(f"no class {code!r} in scheme {scheme!r}")
    return int(rows["level"].iloc[0])


def audience_members(store, *, areas: Sequence[str] = (), setup_id: str | None = None,
                     group: str | None = None, day: str | None = None,
                     street_beat: dict[str, str] | None = None) -> pd.DataFrame:
    """The current members of an audience: in any of ``areas`` (resolved ids), and at a
    household of ``setup_id``, and in ``group`` (each when given). Returns ``member_id`` and
    ``area_id`` (the member's beat)."""
    from spatial_core.analytics.population import members_frame

    scheme, level = "oac2011", 1
    if group and ":" in group and not group.startswith("ethnicity:"):
        scheme, code = group.split(":", 1)
        level = _class_level(store, scheme, code)
    m = members_frame(store, scheme=scheme, level=level, as_of=day)
    keep = np.ones(len(m), dtype=bool)
    if areas:
        inside = np.zeros(len(m), dtype=bool)
        streets = [a.partition(":")[2] for a in areas if a.startswith("street:")]
        if streets:
            a = schema.addresses
            at = store.read("addresses", ["uprn"], where=a.c.street_id.in_(streets))
            inside |= m["uprn"].isin(set(at["uprn"])).to_numpy()
        for area in areas:
            lvl = area.partition(":")[0]
            if lvl == "force":
                inside[:] = True
            elif lvl in _LEVELS:
                inside |= (m[f"{lvl}_id"] == area).to_numpy(dtype=bool)
        keep &= inside
    if setup_id is not None:
        h = schema.setup_households
        uprns = store.read("setup_households", ["uprn"], where=h.c.setup_id == setup_id)
        keep &= m["uprn"].isin(set(uprns["uprn"])).to_numpy()
    if group:
        keep &= _group_filter(store, group, m)
    out = m.loc[keep, ["member_id", "beat_id"]].rename(columns={"beat_id": "area_id"})
    return out.sort_values("member_id").reset_index(drop=True)


def create_message(store, *, created_by: str, scope_areas: Sequence[str] | None, kind: str,
                   subject: str | None, body: str, areas: Sequence[str] | str | None = None,
                   setup_id: str | None = None, group: str | None = None,
                   organisation: str = DEFAULT_ORGANISATION, cap: FrequencyCap | None = None,
                   now: datetime | str | None = None) -> MessagePreview:
    """Prepare a message and state its reach; nothing is sent.

    Parameters
    ----------
    created_by : str
        The officer composing it (audited).
    scope_areas : list of str or None
        The area ids the caller may act for (beats, npas …; None = the whole force). An
        area, or the set-up's areas, outside them is an :class:`OutOfScope` error.
    kind : str
        One of :data:`KINDS`; a ``survey`` message carries a survey link.
    subject : str or None
        None gives the kind's usual subject.
    body : str
        The text (plain; the HTML part is made from it). At most :data:`MAX_BODY_CHARS`.
    areas, setup_id, group
        The audience (at least one): members in any of the areas (``beat:…``, ``ward:…``,
        ``npa:…``, ``force:…``, a street id), at the set-up's households, in the group
        (see :func:`audience_members`); together they narrow each other.
    organisation : str
        The organisation members must consent to hear from (default ``police``).
    cap : FrequencyCap, optional
        Default :meth:`FrequencyCap.from_env`.
    now : datetime or ISO text, optional
        The moment of preparation (default the clock): consent, membership and the cap are
        judged then.

    Returns
    -------
    MessagePreview

    Raises
    ------
    InputError, NotFoundError
        An unknown kind, area, set-up or group, an empty or over-long text, no audience;
        nothing is written.
    """
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    body = _clean(body, "message text", MAX_BODY_CHARS)
    subject = _clean(subject if subject is not None and str(subject).strip() else _SUBJECTS[kind],
                     "subject", MAX_SUBJECT_CHARS).replace("\n", " ")
    created_by = _clean(created_by, "sender (who composes the message: --by OFFICER)", 64)
    organisation = _clean(organisation, "organisation", 64).lower()
    cap = cap or FrequencyCap.from_env()
    stamp = now_text(now)
    group = (group or "").strip() or None
    setup_id = (str(setup_id).strip() or None) if setup_id is not None else None
    if areas is None and setup_id is None and group is None:
        raise InputError("a message needs an audience: an area, a set-up or a group")
    tree = _area_tree(store)
    area_ids, street_beat = _resolve_areas(store, areas, tree)
    if areas is not None and not area_ids:
        raise InputError("a message needs at least one area")
    if setup_id is not None:
        from spatial_core.targeting.setups import get_setup

        setup = get_setup(store, setup_id)
        if not area_ids:
            _check_scope(setup.areas, scope_areas, tree, {})
    _check_scope(area_ids, scope_areas, tree, street_beat)
    if not area_ids and setup_id is None and scope_areas is not None:
        raise OutOfScope("a message to a group across the whole force needs a force-wide role; "
                         "give an area you may act for")
    members = audience_members(store, areas=area_ids, setup_id=setup_id, group=group,
                               day=stamp[:10], street_beat=street_beat)
    reasons = held_reasons(store, members["member_id"].to_numpy(dtype=object),
                           organisation=organisation, cap=cap, now=stamp)
    message_id = f"msg-{stamp[:10].replace('-', '')}-{uuid.uuid4().hex[:10]}"
    area_id: str | None
    if area_ids:  # a street speaks for its beat (reporting and scope work by area)
        area_id = street_beat.get(area_ids[0]) or area_ids[0]
    elif setup_id is not None:
        area_id = setup.areas[0] if setup.areas else None
    else:
        area_id = tree.loc[tree["level"] == "force", "area_id"].iloc[0]
    audience = {k: v for k, v in (("areas", area_ids), ("setup", setup_id), ("group", group))
                if v}
    held = np.asarray([r is not None for r in reasons], dtype=bool)
    rec = pd.DataFrame({
        "message_id": message_id,
        "member_id": members["member_id"].to_numpy(dtype=object),
        "state": np.where(held, "held", "queued"),
        "held_reason": reasons,
        "attempts": 0,
        "area_id": members["area_id"].to_numpy(dtype=object),
    })
    with store.begin() as conn:
        store.insert_new(conn, "messages", pd.DataFrame([{
            "message_id": message_id, "kind": kind, "subject": subject, "body": body,
            "audience": json.dumps(audience), "area_id": area_id, "organisation": organisation,
            "created_by": created_by, "created_at": stamp, "status": "draft"}]))
        store.insert_new(conn, "message_recipients", rec)
        bump_data_version(store, conn)
    counts = pd.Series(reasons[held]).value_counts() if held.any() else pd.Series(dtype=int)
    preview = MessagePreview(message_id, int((~held).sum()),
                             {r: int(counts.get(r, 0)) for r in ("cap", "consent", "opted_out",
                                                                 "no_contact")},
                             area_id, kind)
    audit.info("message %s prepared by %s (%s) for %s: %d recipients, held back %s",
               message_id, created_by, kind, json.dumps(audience), preview.recipients,
               json.dumps(preview.held_back))
    return preview


def get_message(store, message_id: str) -> dict[str, Any]:
    """The stored message (no recipients); :class:`NotFoundError` when there is none."""
    m = schema.messages
    rows = store.read("messages", [c for c in m.c.keys() if c != "fid"],
                      where=m.c.message_id == str(message_id))
    if not len(rows):
        raise NotFoundError(f"no message {message_id!r} (lpt message list shows them)")
    row = rows.iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}


def _links(secret: bytes, public_url: str, message: dict[str, Any], member_id: str,
           expires: datetime) -> tuple[dict[str, str], str]:
    mid = message["message_id"]
    links = {"reply": f"{public_url}/engage/reply/"
                      f"{make_link_token(secret, mid, member_id, 'reply', expires)}"}
    if message["kind"] == "survey":
        links["survey"] = (f"{public_url}/engage/survey/"
                           f"{make_link_token(secret, mid, member_id, 'survey', expires)}")
    unsub = (f"{public_url}/engage/unsubscribe/"
             f"{make_link_token(secret, mid, member_id, 'unsubscribe', expires)}")
    return links, unsub


def _check_public_url(public_url: str) -> str:
    url = (public_url or "").strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise InputError("the public URL for links must be http(s)://host[/path] (set "
                         "LPT_PUBLIC_URL)", value=public_url)
    return url


def _clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def send_message(store, message_id: str, delivery, *, public_url: str,
                 now: datetime | str | None = None, batch_size: int = 50,
                 max_attempts: int = 4, backoff_s: float = 10.0,
                 link_days: int = DEFAULT_LINK_DAYS) -> SendReport:
    """Send a prepared message to its queued recipients through ``delivery``.

    Parameters
    ----------
    delivery : SmtpDelivery, EmlFolderDelivery or PlatformFileDelivery
        From :mod:`spatial_core.engagement.delivery` (``delivery_from_env()``).
    public_url : str
        The geoservice's public base URL; links are ``{public_url}/engage/reply/{token}`` …
    now : datetime or ISO text, optional
        Stamps ``sent_at`` and dates the links (default the clock).
    batch_size : int
        Recipients claimed at a time: at most this many are ``uncertain`` after a kill.
    max_attempts, backoff_s : int, float
        A temporary failure is retried after ``backoff_s``, then twice as long … up to
        ``max_attempts`` tries in all; then it counts as failed.

    Returns
    -------
    SendReport

    Raises
    ------
    NotFoundError
        No such message.
    InputError
        The message was already sent; messaging is off (no contacts key) for a delivery
        that needs contacts; a bad public URL. Nothing is changed.
    """
    msg = get_message(store, message_id)
    if msg["status"] == "sent":
        raise InputError(f"message {message_id!r} was already sent ({msg['sent_at']}); "
                         "compose a new one to send again")
    public_url = _check_public_url(public_url)
    if batch_size < 1 or max_attempts < 1 or backoff_s < 0:
        raise InputError("batch_size and max_attempts must be at least 1, backoff_s >= 0")
    cipher = contact_cipher()
    if getattr(delivery, "needs_contacts", True) and cipher is None:
        raise InputError(MESSAGING_OFF)
    secret = link_secret(store)
    stamp = now_text(now)
    expires = datetime.fromisoformat(stamp) + timedelta(days=link_days)
    r = schema.message_recipients
    mine = r.c.message_id == msg["message_id"]
    report = SendReport(msg["message_id"])
    with store.begin() as conn:
        conn.execute(r.update().where(mine & (r.c.state == "claimed")).values(
            state="uncertain", error="claimed by a send run that stopped before recording "
                                     "the result: not resent (at most once)"))
        m = schema.messages
        conn.execute(m.update().where(m.c.message_id == msg["message_id"]).values(
            status="sending", channel=getattr(delivery, "channel", None)))
    retried: set[str] = set()
    stopped: DeliveryUnavailable | None = None
    with delivery:
        while stopped is None:
            clock = _clock().isoformat(timespec="seconds")
            with store.begin() as conn:
                due = (r.c.state == "queued") | ((r.c.state == "retry")
                                                 & (r.c.next_attempt <= clock))
                batch = pd.DataFrame(conn.execute(
                    select(r.c.fid, r.c.member_id, r.c.attempts).where(mine & due)
                    .order_by(r.c.fid).limit(batch_size)).all(),
                    columns=["fid", "member_id", "attempts"])
                # contacts first: a key that cannot decrypt them stops the run before the
                # batch is claimed (claimed rows are never sent again)
                contacts = read_contacts_for_delivery(
                    store, batch["member_id"].astype(str).tolist(), cipher, conn=conn
                ) if len(batch) and getattr(delivery, "needs_contacts", True) else {}
                mc = schema.member_consents
                consenting = set(store.read(
                    "member_consents", ["member_id"], conn=conn,
                    where=mc.c.member_id.in_(batch["member_id"].astype(str).tolist())
                    & (mc.c.organisation == msg["organisation"]))["member_id"])
                if len(batch):
                    conn.execute(r.update().where(r.c.fid.in_(batch["fid"].tolist())).values(
                        state="claimed", attempts=r.c.attempts + 1, next_attempt=None))
            if not len(batch):
                waiting = store.scalar(select(func.min(r.c.next_attempt)).where(
                    mine & (r.c.state == "retry")))
                if waiting is None:
                    break
                delay = (datetime.fromisoformat(waiting) - _clock()).total_seconds()
                time.sleep(min(max(delay, 0.0), 3600.0) + 0.01)
                continue
            try:
                _send_batch(store, msg, delivery, batch, contacts, consenting, secret,
                            public_url, expires, stamp, max_attempts, backoff_s, report, retried)
            except DeliveryUnavailable as exc:
                stopped = exc
    report.retried = len(retried)
    with store.begin() as conn:
        states = dict(conn.execute(select(r.c.state, func.count()).where(mine)
                                   .group_by(r.c.state)).all())
        report.uncertain = int(states.get("uncertain", 0))
        report.pending = int(sum(states.get(s, 0) for s in ("queued", "retry", "claimed")))
        report.status = "sent" if not report.pending else "sending"
        m = schema.messages
        conn.execute(m.update().where(m.c.message_id == msg["message_id"]).values(
            status=report.status, sent_at=stamp if report.status == "sent" else None))
        bump_data_version(store, conn)
    audit.info("message %s sent through %s (prepared by %s for %s): %d sent, %d failed, "
               "%d retried, %d uncertain, %d pending", msg["message_id"],
               getattr(delivery, "channel", "?"), msg["created_by"], msg["audience"],
               report.sent, report.failed, report.retried, report.uncertain, report.pending)
    if stopped is not None:
        raise DeliveryUnavailable(f"{stopped} ({report.sent} sent in this run; "
                                  f"{report.pending} still to send: nothing is lost, run the "
                                  "send again)")
    return report


def _send_batch(store, msg, delivery, batch: pd.DataFrame, contacts: dict, consenting: set,
                secret: bytes,
                public_url: str, expires: datetime, stamp: str, max_attempts: int,
                backoff_s: float, report: SendReport, retried: set[str]) -> None:
    """Send one claimed batch and record each result (one transaction at the end)."""
    needs = getattr(delivery, "needs_contacts", True)
    updates: list[dict[str, Any]] = []
    bad: list[str] = []
    rows = list(batch.itertuples(index=False))
    stopped: ConnectionFailure | None = None
    for i, row in enumerate(rows):
        member_id = str(row.member_id)
        contact = contacts.get(member_id)
        usable = contact is not None and contact.email is not None \
            and contact.email_status == "ok"
        email = contact.email if contact is not None else None
        # consent withdrawn (a newer export) or contact gone since the message was prepared
        held = "consent" if member_id not in consenting else \
            "no_contact" if needs and not usable else None
        if held:
            updates.append({"fid": int(row.fid), "attempts": int(row.attempts) + 1,
                            "state": "held", "held_reason": held,
                            "error": None, "sent_at": None, "next_attempt": None})
            report.held += 1
            continue
        links, unsub = _links(secret, public_url, msg, member_id, expires)
        env = Envelope(msg["message_id"], member_id, email, msg["subject"],
                       text_body(msg["body"], links, unsub), html_body(msg["body"], links, unsub),
                       unsub, links, msg["body"])
        try:
            delivery.send(env)
        except ConnectionFailure as exc:
            # nothing reached the server: this row and the rest of the batch go back
            for rest in rows[i:]:
                updates.append({"fid": int(rest.fid),
                                "state": "retry" if int(rest.attempts) else "queued",
                                "held_reason": None, "error": str(exc), "sent_at": None,
                                "next_attempt": _clock().isoformat(timespec="seconds")
                                if int(rest.attempts) else None, "attempts": int(rest.attempts)})
            stopped = exc
            break
        except PermanentFailure as exc:
            updates.append({"fid": int(row.fid), "attempts": int(row.attempts) + 1,
                            "state": "failed", "held_reason": None,
                            "error": str(exc), "sent_at": None, "next_attempt": None})
            if exc.address_bad:
                bad.append(member_id)
            report.failed += 1
            report.errors[str(exc.code)] = report.errors.get(str(exc.code), 0) + 1
        except DeliveryFailure as exc:
            attempts = int(row.attempts) + 1
            report.errors[str(exc.code)] = report.errors.get(str(exc.code), 0) + 1
            if attempts >= max_attempts:
                updates.append({"fid": int(row.fid), "attempts": attempts, "state": "failed",
                                "held_reason": None, "error": f"{exc} (after {attempts} attempts)",
                                "sent_at": None, "next_attempt": None})
                report.failed += 1
            else:
                retried.add(member_id)
                wait = backoff_s * 2 ** (attempts - 1)
                nxt = (_clock() + timedelta(seconds=wait)).isoformat(timespec="microseconds")
                updates.append({"fid": int(row.fid), "attempts": attempts, "state": "retry",
                                "held_reason": None, "error": str(exc), "sent_at": None,
                                "next_attempt": nxt})
        else:
            updates.append({"fid": int(row.fid), "attempts": int(row.attempts) + 1,
                            "state": "sent", "held_reason": None,
                            "error": None, "sent_at": stamp, "next_attempt": None})
            report.sent += 1
    with store.begin() as conn:
        store.update_by_key(conn, "message_recipients", "fid", pd.DataFrame(updates))
        if bad:
            mark_email_bad(store, conn, bad)
    if bad:
        log.info("message %s: %d address(es) refused permanently and marked bad",
                 msg["message_id"], len(bad))
    if stopped is not None:
        raise DeliveryUnavailable(str(stopped))


def list_messages(store, *, scope_areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Stored messages, newest first, with their counts; never contacts or members.

    Columns: ``message_id``, ``kind``, ``subject``, ``area_id``, ``audience`` (JSON),
    ``organisation``, ``created_by``, ``created_at``, ``status``, ``sent_at``, ``channel``,
    and per state ``recipients`` (queued or beyond), ``sent``, ``failed``, ``uncertain``,
    ``held``. ``scope_areas`` keeps the messages of those areas (and of the beats of npas
    in it).
    """
    m = store.read("messages", ["message_id", "kind", "subject", "area_id", "audience",
                                "organisation", "created_by", "created_at", "status", "sent_at",
                                "channel"])
    if scope_areas is not None and len(m):
        tree = _area_tree(store)
        parent = tree.set_index("area_id")["parent_id"]
        scope = set(scope_areas)
        keep = m["area_id"].isin(scope) | m["area_id"].map(parent).isin(scope)
        m = m[keep.to_numpy(dtype=bool)]
    r = schema.message_recipients
    with store.engine.connect() as conn:
        counts = pd.DataFrame(conn.execute(
            select(r.c.message_id, r.c.state, func.count()).group_by(r.c.message_id, r.c.state)
        ).all(), columns=["message_id", "state", "n"])
    table = counts.pivot_table(index="message_id", columns="state", values="n", aggfunc="sum",
                               fill_value=0) if len(counts) else pd.DataFrame()
    for s in ("queued", "claimed", "retry", "sent", "failed", "uncertain", "held"):
        vals = table[s] if s in table.columns else pd.Series(dtype="int64")
        m[s] = m["message_id"].map(vals).fillna(0).astype("int64").to_numpy()
    m["recipients"] = m[["queued", "claimed", "retry", "sent", "failed", "uncertain"]].sum(axis=1)
    m = m.drop(columns=["queued", "claimed", "retry"])
    return m.sort_values(["created_at", "message_id"], ascending=False).reset_index(drop=True)


__all__ += ["HELD_REASONS"]
