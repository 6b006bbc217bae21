# SPDX-License-Identifier: GPL-3.0-or-later
"""The survey collected without an import: online through a member's link, and at the door.

:data:`SURVEY_FORM` is the form the forces ask (and the service page renders): local
priorities (pick up to three from the project's vocabulary,
:data:`spatial_core.io.surveys.PRIORITIES`), trust and confidence, feeling safe, whether the
police understand and deal with the issues that matter locally (1-5 each, any may be left
unanswered), and free text. :func:`check_answers` is the one place the answers are checked.

Answers go into the same ``surveys`` and ``survey_priorities`` tables as imported responses,
so local priorities, representation and confidence update from them:

- :func:`record_online_survey`: through a survey link (token purpose ``survey``), channel
  ``online``, with the member's demographics as they are at the time of the response and the
  member's point; one response per invitation (answering twice is refused);
- :func:`record_door_survey`: at a recorded visit, channel ``door_knock`` (the channel
  vocabulary of :data:`spatial_core.io.surveys.CHANNELS`), placed at the visited address,
  with the demographics the resident gives, if any; optionally a registration with consent
  for an organisation, kept in ``door_registrations`` (never a name; a contact only where
  messaging is switched on) and counted as registered once a later member import has a member
  at that UPRN (:func:`door_registrations`).

:func:`invite_due` sends the quarterly invitation to the members due (no response and no
invitation in the last ``every_months``), within the frequency cap; ``lpt survey
invite-due`` runs it from cron or a systemd timer.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial_core.engagement.consent import now_text
from spatial_core.engagement.messages import DEFAULT_ORGANISATION
from spatial_core.errors import InputError, NotFoundError
from spatial_core.store import schema
from spatial_core.store.data_version import bump_data_version

__all__ = ["SURVEY_FORM", "MAX_PRIORITIES", "MAX_FREE_TEXT", "SCALE_QUESTIONS",
           "DEFAULT_ORGANISATION", "check_answers", "record_online_survey",
           "record_door_survey", "door_registrations", "members_due", "invite_due",
           "InviteReport", "INVITE_SUBJECT", "INVITE_BODY"]

MAX_PRIORITIES = 3
MAX_FREE_TEXT = 4000

_AGREE = ((5, "Strongly agree"), (4, "Tend to agree"), (3, "Neither agree nor disagree"),
          (2, "Tend to disagree"), (1, "Strongly disagree"))
_SAFE = ((5, "Very safe"), (4, "Fairly safe"), (3, "Neither safe nor unsafe"),
         (2, "Fairly unsafe"), (1, "Very unsafe"))


def _priority_options() -> tuple[tuple[str, str], ...]:
    from spatial_core.io.surveys import PRIORITIES

    return tuple(PRIORITIES.items())


SURVEY_FORM: tuple[dict, ...] = (
    {"name": "priorities", "type": "choose", "max": MAX_PRIORITIES, "required": False,
     "label": "Which issues should the police and partners tackle in your neighbourhood? "
              f"Pick up to {MAX_PRIORITIES}.",
     "options": _priority_options()},
    {"name": "confidence", "type": "scale", "required": False,
     "label": "Taking everything into account, the police in this area are doing a good job.",
     "options": _AGREE},
    {"name": "feel_safe", "type": "scale", "required": False,
     "label": "How safe do you feel walking alone in your area after dark?",
     "options": _SAFE},
    {"name": "understands", "type": "scale", "required": False,
     "label": "The police in this area understand and deal with the issues that matter to "
              "people here.",
     "options": _AGREE},
    {"name": "free_text", "type": "text", "required": False, "max_chars": MAX_FREE_TEXT,
     "label": "Anything else you would like to tell your neighbourhood team? (This form is not "
              "for emergencies: call 999, or 101 for non-emergencies.)"},
)
"""The survey form: each question's ``name`` (the answer's key and the ``surveys`` column),
``type`` (``choose`` up to ``max`` options, ``scale`` 1-5 with labels, or ``text``), the
question ``label`` and its ``options`` as (value, label) pairs."""

SCALE_QUESTIONS = tuple(q["name"] for q in SURVEY_FORM if q["type"] == "scale")
_DEMOGRAPHICS = ("gender", "age_band", "ethnicity")
_FORM_KEYS = {q["name"] for q in SURVEY_FORM}


@dataclass(frozen=True)
class Answers:
    """Checked answers: priority slugs (at most three), scales as int or None, free text."""

    priorities: tuple[str, ...]
    confidence: int | None
    feel_safe: int | None
    understands: int | None
    free_text: str | None


def _scale(name: str, value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError(f"{name}: expected a whole number from 1 to 5", value=value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a whole number from 1 to 5", value=value) from None
    if not number.is_integer() or not 1 <= number <= 5:
        raise InputError(f"{name}: expected a whole number from 1 to 5", value=value)
    return int(number)


def check_answers(answers: Mapping, *, extra: tuple[str, ...] = ()) -> Answers:
    """Check a survey's answers against :data:`SURVEY_FORM`.

    ``answers`` maps question names to answers: ``priorities`` a list of slugs of
    :data:`spatial_core.io.surveys.PRIORITIES` (or their labels), at most three; the scales
    whole numbers 1-5 or None/"" (not answered); ``free_text`` text. Keys named in ``extra``
    are allowed (and ignored here). At least one question must be answered.

    Examples
    --------
    >>> a = check_answers({"priorities": ["asb", "Drugs"], "confidence": "4"})
    >>> a.priorities, a.confidence, a.feel_safe
    (('asb', 'drugs'), 4, None)
    """
    from spatial_core.io.surveys import PRIORITIES, priorities_to_slugs

    if not isinstance(answers, Mapping):
        raise InputError("the answers must be a mapping of question to answer")
    unknown = sorted(set(answers) - _FORM_KEYS - set(extra))
    if unknown:
        raise InputError(f"unknown question(s) {unknown}; the form asks "
                         f"{', '.join(q['name'] for q in SURVEY_FORM)}")
    raw = answers.get("priorities") or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise InputError("priorities: expected a list of priorities", value=raw)
    raw = [str(p).strip() for p in raw if str(p).strip()]
    chosen: list[str] = []
    if raw:
        by_slug = [p if p in PRIORITIES else None for p in raw]
        slugs, known = priorities_to_slugs(raw)
        for given, direct, slug, ok in zip(raw, by_slug, slugs, known, strict=True):
            if direct is None and not ok:
                raise InputError(f"priorities: {given!r} is not one of "
                                 f"{', '.join(PRIORITIES)}", value=given)
            value = direct or str(slug)
            if value not in chosen:
                chosen.append(value)
    if len(chosen) > MAX_PRIORITIES:
        raise InputError(f"priorities: pick at most {MAX_PRIORITIES} (got {len(chosen)})")
    scales = {name: _scale(name, answers.get(name)) for name in SCALE_QUESTIONS}
    text = answers.get("free_text")
    if text is not None and not isinstance(text, str):
        raise InputError("free_text: expected text")
    text = (text or "").strip() or None
    if text is not None and len(text) > MAX_FREE_TEXT:
        raise InputError(f"free_text is too long: {len(text):,} characters, at most "
                         f"{MAX_FREE_TEXT:,}")
    if not chosen and text is None and all(v is None for v in scales.values()):
        raise InputError("the survey is empty: answer at least one question")
    return Answers(tuple(chosen), scales["confidence"], scales["feel_safe"],
                   scales["understands"], text)


def _insert_response(store, conn, row: dict, answers: Answers) -> None:
    row = {**row, "confidence": answers.confidence, "feel_safe": answers.feel_safe,
           "understands": answers.understands, "free_text": answers.free_text}
    frame = pd.DataFrame({k: [v] for k, v in row.items()})
    for col in ("confidence", "feel_safe", "understands"):
        frame[col] = frame[col].astype(object)
    if not store.insert_new(conn, "surveys", frame):
        raise InputError("this survey was already answered: thank you")
    if answers.priorities:
        store.insert_new(conn, "survey_priorities", pd.DataFrame({
            "response_id": row["response_id"], "priority": list(answers.priorities)}))
    bump_data_version(store, conn)  # priorities, confidence and representation change


_POINT = ["postcode", "lat", "lng", "x", "y", "cell", "geom"]


def record_online_survey(store, token: str, answers: Mapping, *, now=None) -> str:
    """Store a member's answers given through a survey link; returns the ``response_id``.

    The response is the member's (``member_id``), dated ``now``, channel ``online``, placed at
    the member's stored point, with the member's gender, age band and ethnicity as they are
    now (kept with the response, so a later change to the member does not rewrite it).
    One response per invitation: the same link answering again is refused (InputError).

    Raises
    ------
    InputError
        An invalid or expired link, or answers that do not fit :data:`SURVEY_FORM`; nothing
        is stored.
    NotFoundError
        The link names a member or message this store does not hold.
    """
    from spatial_core.engagement.tokens import link_secret, read_link_token

    when = now_text(now)
    link = read_link_token(link_secret(store), token, purpose="survey", now=when)
    checked = check_answers(answers)
    key = hashlib.sha256(f"{link.message_id}|{link.member_id}".encode()).hexdigest()[:24]
    response_id = "O" + key
    with store.begin() as conn:
        if not store.count("messages", where=schema.messages.c.message_id == link.message_id,
                           conn=conn):
            raise NotFoundError(f"message {link.message_id} is not stored")
        m = store.read("members", ["member_id", *_DEMOGRAPHICS, *_POINT],
                       where=schema.members.c.member_id == link.member_id, conn=conn)
        if not len(m):
            raise NotFoundError(f"member {link.member_id} is not stored")
        member = m.iloc[0]
        row = {"response_id": response_id, "responded": when[:10], "channel": "online",
               "member_id": link.member_id,
               **{c: _value(member[c]) for c in (*_DEMOGRAPHICS, *_POINT)}}
        row["cell"] = int(row["cell"] or 0)
        _insert_response(store, conn, row, checked)
    return response_id


def _value(v):
    if v is None:
        return None
    try:
        return None if pd.isna(v) else v
    except (TypeError, ValueError):  # geometries
        return v


def _demographics(answers: Mapping) -> dict:
    """The resident's own gender, age band and ethnicity, normalised as the importers do."""
    from spatial_core.io.members import (
        normalise_age_bands,
        normalise_ethnicities,
        normalise_genders,
    )

    out = {}
    for name, norm in (("gender", normalise_genders), ("age_band", normalise_age_bands),
                       ("ethnicity", normalise_ethnicities)):
        raw = answers.get(name)
        if raw is None or not str(raw).strip():
            out[name] = None
            continue
        values, unknown = norm([str(raw)])
        if bool(np.asarray(unknown)[0]):
            raise InputError(f"{name}: {raw!r} is not a recognised answer", value=raw)
        out[name] = _value(values[0]) or None
    return out


def record_door_survey(store, *, visit_id: str, uprn: str, answers: Mapping, officer: str,
                       registration: Mapping | None = None, now=None) -> str:
    """Store a survey answered at the door during a recorded visit; returns the
    ``response_id``.

    Parameters
    ----------
    visit_id, uprn : str
        The visit (already recorded) and its address; they must match.
    answers : mapping
        As :func:`check_answers`, plus the resident's own ``gender``, ``age_band`` and
        ``ethnicity`` if they chose to give them (the response is anonymous: no member id).
    officer : str
        Who took the survey.
    registration : mapping, optional
        The household agreed to register: ``organisation`` (consent given for; default
        :data:`DEFAULT_ORGANISATION`), and optionally ``email`` and ``mobile``, kept
        encrypted only when messaging is switched on (a contacts key is configured) and
        dropped otherwise.
    now : datetime or ISO text, optional

    Raises
    ------
    NotFoundError
        No such visit, or the visit was at another address. Nothing is stored.
    InputError
        Answers that do not fit the form; nothing is stored.
    """
    checked = check_answers(answers, extra=_DEMOGRAPHICS)
    demo = _demographics(answers)
    who = str(officer or "").strip()
    if not who or len(who) > 64:
        raise InputError("the officer is required (at most 64 characters)")
    reg = _check_registration(registration)
    when = now_text(now)
    response_id = "D" + uuid.uuid4().hex[:24]
    v = schema.visits
    with store.begin() as conn:
        visit = store.read("visits", ["visit_id", "uprn", "visited_at"],
                           where=v.c.visit_id == str(visit_id), conn=conn)
        if not len(visit) or str(visit["uprn"].iloc[0]) != str(uprn):
            raise NotFoundError(f"no visit {visit_id} at UPRN {uprn}: record the visit first")
        a = store.read("addresses", _POINT, where=schema.addresses.c.uprn == str(uprn),
                       conn=conn)
        if not len(a):
            raise NotFoundError(f"UPRN {uprn} is not a stored address")
        place = {c: _value(a.iloc[0][c]) for c in _POINT}
        place["cell"] = int(place["cell"] or 0)
        row = {"response_id": response_id, "responded": str(visit["visited_at"].iloc[0])[:10],
               "channel": "door_knock", "member_id": None, **demo, **place}
        _insert_response(store, conn, row, checked)
        if reg is not None:
            _register(store, conn, reg, visit_id=str(visit_id), uprn=str(uprn), officer=who,
                      when=when, response_id=response_id)
    return response_id


def _check_registration(registration: Mapping | None) -> dict | None:
    if registration is None:
        return None
    if not isinstance(registration, Mapping):
        raise InputError("the registration must be a mapping (organisation, email, mobile)")
    unknown = sorted(set(registration) - {"organisation", "email", "mobile"})
    if unknown:
        raise InputError(f"registration: unknown field(s) {unknown}; give organisation, "
                         "email, mobile")
    org = str(registration.get("organisation") or DEFAULT_ORGANISATION).strip().lower()
    if len(org) > 64:
        raise InputError("registration: the organisation name is longer than 64 characters")
    out = {"organisation": org}
    for name in ("email", "mobile"):
        value = registration.get(name)
        out[name] = str(value).strip() if value is not None and str(value).strip() else None
    if out["email"] is not None:
        from spatial_core.store.contacts import normalise_emails

        if normalise_emails([out["email"]])[0] is None:
            raise InputError("registration: the e-mail address is not valid")
    return out


def _register(store, conn, reg: dict, *, visit_id: str, uprn: str, officer: str, when: str,
              response_id: str) -> None:
    from spatial_core.store.contacts import contact_cipher, store_contacts

    registration_id = "G" + uuid.uuid4().hex[:24]
    kept = 0
    if reg["email"] or reg["mobile"]:
        cipher = contact_cipher()
        if cipher is not None:  # messaging switched on; otherwise the contact is dropped
            counts = store_contacts(store, conn, pd.DataFrame({
                "member_id": [registration_id], "email": [reg["email"]],
                "mobile": [reg["mobile"]]}), cipher, now=when)
            kept = int(counts["added"] + counts["changed"] > 0)
    store.insert_new(conn, "door_registrations", pd.DataFrame({
        "registration_id": [registration_id], "visit_id": [visit_id], "uprn": [uprn],
        "registered_at": [when], "officer": [officer], "organisation": [reg["organisation"]],
        "response_id": [response_id], "has_contact": [kept]}))


def door_registrations(store) -> pd.DataFrame:
    """Door registrations and whether each has become a member.

    A registration counts as registered when a member at the same UPRN joined on or after
    the day of the registration (a later member import brings them in).

    Returns
    -------
    pandas.DataFrame
        ``registration_id``, ``visit_id``, ``uprn``, ``registered_at``, ``officer``,
        ``organisation``, ``has_contact``, ``member_id`` (the matching member, or None),
        ``matched`` (bool).
    """
    reg = store.read("door_registrations", ["registration_id", "visit_id", "uprn",
                                            "registered_at", "officer", "organisation",
                                            "has_contact"])
    if not len(reg):
        return reg.assign(member_id=pd.Series(dtype=object), matched=pd.Series(dtype=bool))
    from spatial_core.targeting.progress import match_joined_members

    uprns = reg["uprn"].unique().tolist()
    m = store.read("members", ["member_id", "uprn", "joined"],
                   where=schema.members.c.uprn.in_(uprns) if len(uprns) <= 500 else None)
    reg["member_id"] = match_joined_members(
        reg.assign(day=reg["registered_at"]), m).to_numpy(dtype=object)
    reg["matched"] = reg["member_id"].notna()
    return reg


# -- quarterly invitations -----------------------------------------------------------------

INVITE_SUBJECT = "Your neighbourhood survey: what matters where you live?"
INVITE_BODY = (
    "Every few months we ask residents what the police and partners should tackle where they "
    "live, how safe they feel and how confident they are in us. It takes two minutes, and "
    "what you tell us sets the local priorities your neighbourhood team works on.\n\n"
    "Please answer through the survey link in this message."
)


def _months_before(when: str, months: int) -> str:
    return (pd.Timestamp(when[:10]) - pd.DateOffset(months=int(months))).strftime("%Y-%m-%d")


def members_due(store, *, every_months: int = 3, now=None) -> pd.DataFrame:
    """Current members due a survey invitation: no survey response and no survey invitation
    sent or on its way in the last ``every_months`` months.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``beat_id`` (of their household; None when unknown), ``last_response``,
        ``last_invited`` (ISO text or None).
    """
    from spatial_core.analytics.population import is_current_member
    from spatial_core.engagement.consent import COUNTED_STATES
    from spatial_core.engagement.replies import member_beats

    if int(every_months) < 1:
        raise InputError(f"every_months must be at least 1, got {every_months}")
    when = now_text(now)
    since = _months_before(when, every_months)
    day = when[:10]
    m = store.read("members", ["member_id", "joined", "left_on"])
    m = m[is_current_member(m["joined"], m["left_on"], day)]
    s = store.read("surveys", ["member_id", "responded"],
                   where=schema.surveys.c.member_id.isnot(None))
    last_response = s.groupby("member_id")["responded"].max()
    msg = store.read("messages", ["message_id"], where=schema.messages.c.kind == "survey")
    r = schema.message_recipients
    rec = store.read("message_recipients", ["member_id", "sent_at", "state", "message_id"],
                     where=r.c.message_id.in_(msg["message_id"].tolist())
                     & r.c.state.in_(COUNTED_STATES)) if len(msg) else \
        pd.DataFrame(columns=["member_id", "sent_at", "state", "message_id"])
    created = store.read("messages", ["message_id", "created_at"],
                         where=schema.messages.c.kind == "survey").set_index("message_id")
    rec["at"] = rec["sent_at"].fillna(rec["message_id"].map(created["created_at"]))
    last_invited = rec.groupby("member_id")["at"].max()
    out = pd.DataFrame({"member_id": m["member_id"].to_numpy(dtype=object)})
    out["last_response"] = out["member_id"].map(last_response).astype(object)
    out["last_invited"] = out["member_id"].map(last_invited).astype(object)
    recent = (out["last_response"].fillna("").str.slice(0, 10) >= since) | \
             (out["last_invited"].fillna("").str.slice(0, 10) >= since)
    out = out[~recent.to_numpy(dtype=bool)].reset_index(drop=True)
    out.insert(1, "beat_id", member_beats(store, out["member_id"]))
    for col in ("last_response", "last_invited"):
        out.loc[out[col].isna(), col] = None
    return out


@dataclass(frozen=True)
class InviteReport:
    """What :func:`invite_due` did: members due, the message prepared (None when nobody was
    due), invited (recipients), held back by reason, and the send report's counts."""

    due: int
    message_id: str | None
    invited: int
    held_back: dict
    sent: int
    failed: int

    def as_dict(self) -> dict:
        return {"due": self.due, "message_id": self.message_id, "invited": self.invited,
                "held_back": dict(self.held_back), "sent": self.sent, "failed": self.failed}


def invite_due(store, delivery, *, public_url: str, every_months: int = 3, now=None,
               created_by: str = "survey-schedule", organisation: str = DEFAULT_ORGANISATION,
               cap=None) -> InviteReport:
    """Send the survey invitation to every member due (:func:`members_due`), within the cap.

    One message of kind ``survey`` to the force is prepared through
    :func:`spatial_core.engagement.messages.create_message` (consent, opt-outs, contacts and
    the frequency cap hold members back as for any message); members who are not due are
    taken off its recipient list before anything is sent, then
    :func:`~spatial_core.engagement.messages.send_message` sends it. Run on a schedule
    (``lpt survey invite-due``): a member invited in this run is not due again for
    ``every_months`` months, so running it daily is safe. Without a contacts key (messaging
    switched off) it raises InputError before anything is written.
    """
    from spatial_core.analytics.population import area_table
    from spatial_core.engagement.messages import create_message, send_message
    from spatial_core.store.contacts import MESSAGING_OFF, contact_cipher

    when = now_text(now)
    if contact_cipher() is None:  # nothing could be sent: say how to switch messaging on
        raise InputError(MESSAGING_OFF)
    due = members_due(store, every_months=every_months, now=when)
    if not len(due):
        return InviteReport(0, None, 0, {}, 0, 0)
    areas = area_table(store)
    force = areas.loc[areas["level"] == "force", "area_id"].tolist()
    preview = create_message(store, created_by=created_by, scope_areas=None, kind="survey",
                             subject=INVITE_SUBJECT, body=INVITE_BODY, areas=force[:1],
                             organisation=organisation, cap=cap, now=when)
    r = schema.message_recipients
    with store.begin() as conn:
        rec = store.read("message_recipients", ["member_id", "state", "held_reason"],
                         where=r.c.message_id == preview.message_id, conn=conn)
        not_due = rec.loc[~rec["member_id"].isin(set(due["member_id"])), "member_id"].tolist()
        for start in range(0, len(not_due), 500):
            store.delete_where(conn, "message_recipients",
                               (r.c.message_id == preview.message_id)
                               & r.c.member_id.in_(not_due[start:start + 500]))
        rec = rec[~rec["member_id"].isin(set(not_due))]
    held = rec.loc[rec["state"] == "held", "held_reason"].value_counts().to_dict()
    invited = int((rec["state"] != "held").sum())
    report = send_message(store, preview.message_id, delivery, public_url=public_url, now=when)
    return InviteReport(len(due), preview.message_id, invited,
                        {str(k): int(v) for k, v in held.items()}, int(report.sent),
                        int(report.failed))
