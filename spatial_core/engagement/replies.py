# SPDX-License-Identifier: GPL-3.0-or-later
"""Replies without login: a recipient answers a message in their own words through its link.

A reply arrives with the per-recipient link token of its message (purpose ``reply``,
:mod:`spatial_core.engagement.tokens`), so it is tied to a message and a member without any
login, and nothing is stored unless the token is genuine and unexpired. The same link may
reply more than once (each reply is kept); limiting how often is the service's job.

A reply whose text contains an urgent or safeguarding word (:data:`URGENT_WORDS`: threats,
weapons, self-harm, "help" …, matched as whole words whatever their case) is flagged
``urgent`` and listed first for the supervisors of the member's beat. The reply page says it
is not for emergencies; the flag is a second net, not a triage.

A reply's ``area_id`` is the member's beat (when the message was prepared, else their
household's beat), which decides who may read and answer it. Replies never carry a contact.
"""
from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spatial_core.engagement.consent import now_text
from spatial_core.errors import InputError, NotFoundError
from spatial_core.store import schema

__all__ = ["MAX_REPLY_CHARS", "MAX_ANSWER_CHARS", "URGENT_WORDS", "URGENT_WORDS_ENV", "Reply",
           "urgent_words", "find_urgent_words", "record_reply", "answer_reply", "list_replies",
           "in_scope", "member_beats"]

MAX_REPLY_CHARS = 4000
"""The longest reply kept (characters, after trimming spaces)."""
MAX_ANSWER_CHARS = 4000
"""The longest answer an officer may write to a reply."""

URGENT_WORDS: tuple[str, ...] = (
    "help", "urgent", "emergency", "danger", "scared", "afraid", "threat", "threats",
    "threatened", "threatening", "weapon", "weapons", "knife", "knives", "gun", "guns",
    "stabbed", "stab", "attack", "attacked", "assaulted", "abuse", "abused", "abusing",
    "violent", "kill", "suicide", "suicidal", "self-harm", "self harm", "harm myself",
    "hurt myself", "end my life", "grooming", "groomed", "exploited", "missing", "unsafe",
)
"""Urgent and safeguarding words and phrases flagged in a reply (whole words, any case).
A force replaces the list with ``$LPT_URGENT_WORDS`` (comma-separated)."""
URGENT_WORDS_ENV = "LPT_URGENT_WORDS"


@dataclass(frozen=True)
class Reply:
    """A stored reply: its id, the message it answers and whether it was flagged urgent."""

    reply_id: str
    message_id: str
    urgent: bool


def urgent_words(words: Iterable[str] | None = None) -> tuple[str, ...]:
    """The configured list: ``words`` when given, else ``$LPT_URGENT_WORDS``, else
    :data:`URGENT_WORDS`; lower-cased, blanks dropped."""
    if words is None:
        env = os.environ.get(URGENT_WORDS_ENV, "").strip()
        words = env.split(",") if env else URGENT_WORDS
    out = tuple(dict.fromkeys(w.strip().lower() for w in words if w and w.strip()))
    if not out:
        raise InputError("the urgent word list is empty: give at least one word")
    return out


@functools.lru_cache(maxsize=16)
def _pattern(words: tuple[str, ...]) -> re.Pattern:
    # whole words: not inside another word ("helpful" is not "help"); a phrase's spaces or
    # hyphens match any run of spaces or hyphens ("self harm", "self-harm").
    parts = [r"[\s\-]+".join(re.escape(p) for p in re.split(r"[\s\-]+", w))
             for w in sorted(words, key=len, reverse=True)]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def find_urgent_words(text: str, words: Iterable[str] | None = None) -> list[str]:
    """The urgent words of ``text``, in the list's spelling, each once.

    Examples
    --------
    >>> find_urgent_words("Please HELP, a man with a knife", ["help", "knife", "gun"])
    ['help', 'knife']
    >>> find_urgent_words("Very helpful, thank you", ["help"])
    []
    >>> find_urgent_words("thoughts of self harm", ["self-harm"])
    ['self-harm']
    """
    listed = urgent_words(words)
    norm = {re.sub(r"[\s\-]+", " ", w): w for w in listed}
    found = []
    for m in _pattern(listed).finditer(text or ""):
        key = norm.get(re.sub(r"[\s\-]+", " ", m.group(0).lower()))
        if key is not None and key not in found:
            found.append(key)
    return found


def _check_text(text, what: str, limit: int) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text")
    text = text.strip()
    if not text:
        raise InputError(f"{what} is empty: write something")
    if len(text) > limit:
        raise InputError(f"{what} is too long: {len(text):,} characters, at most {limit:,}")
    return text


def member_beats(store, member_ids, conn=None) -> np.ndarray:
    """The beat of each member's household (None where the member or address is unknown)."""
    ids = list(dict.fromkeys(str(m) for m in member_ids))
    few = len(ids) <= 500  # else read whole tables: an IN list has a size limit
    m = store.read("members", ["member_id", "uprn"], conn=conn,
                   where=schema.members.c.member_id.in_(ids) if few else None)
    uprns = m["uprn"].dropna().unique().tolist()
    a = store.read("addresses", ["uprn", "beat_id"], conn=conn,
                   where=schema.addresses.c.uprn.in_(uprns) if few else None)
    beat = m.drop_duplicates("member_id").set_index("member_id")["uprn"].map(
        a.drop_duplicates("uprn").set_index("uprn")["beat_id"])
    out = pd.Series(np.asarray(member_ids, dtype=object)).astype(str).map(beat)
    return out.where(out.notna(), None).to_numpy(dtype=object)


def _reply_area(store, conn, message_id: str, member_id: str) -> str | None:
    r = schema.message_recipients
    got = store.read("message_recipients", ["area_id"], conn=conn,
                     where=(r.c.message_id == message_id) & (r.c.member_id == member_id))
    if len(got) and got["area_id"].iloc[0]:
        return str(got["area_id"].iloc[0])
    beat = member_beats(store, [member_id], conn=conn)[0]
    return None if beat is None else str(beat)


def record_reply(store, token: str, text: str, *, now=None,
                 words: Iterable[str] | None = None) -> Reply:
    """Store a recipient's reply to a message.

    Parameters
    ----------
    store : Store
    token : str
        The reply link's token; checked (signature, expiry, purpose ``reply``) before
        anything else.
    text : str
        The reply in the resident's words: 1 to :data:`MAX_REPLY_CHARS` characters once
        trimmed.
    now : datetime or ISO text, optional
        The time of the reply (default the clock); also the time the token is checked at.
    words : list of str, optional
        The urgent words (default :func:`urgent_words`).

    Returns
    -------
    Reply

    Raises
    ------
    InputError
        An invalid or expired link (:class:`~spatial_core.engagement.tokens.InvalidLink`,
        :class:`~spatial_core.engagement.tokens.ExpiredLink`), an empty or oversized text;
        nothing is stored.
    NotFoundError
        The link names a message that is not stored (it was made for another store).
    """
    from spatial_core.engagement.tokens import link_secret, read_link_token

    when = now_text(now)
    link = read_link_token(link_secret(store), token, purpose="reply", now=when)
    body = _check_text(text, "the reply", MAX_REPLY_CHARS)
    flagged = find_urgent_words(body, words)
    m = schema.messages
    reply_id = "Y" + uuid.uuid4().hex[:24]
    with store.begin() as conn:
        if not store.count("messages", where=m.c.message_id == link.message_id, conn=conn):
            raise NotFoundError(f"message {link.message_id} is not stored")
        area = _reply_area(store, conn, link.message_id, link.member_id)
        store.insert_new(conn, "replies", pd.DataFrame({
            "reply_id": [reply_id], "message_id": [link.message_id],
            "member_id": [link.member_id], "received_at": [when], "text": [body],
            "urgent": [int(bool(flagged))], "urgent_words": [",".join(flagged) or None],
            "area_id": [area]}))
    return Reply(reply_id, link.message_id, bool(flagged))


def in_scope(area_ids, scope_areas: Iterable[str] | None) -> np.ndarray:
    """Which of ``area_ids`` a caller whose scope is ``scope_areas`` (the area ids they may
    act for, beats included: :func:`spatial_core.api.scope_areas`; None = the whole force)
    may see."""
    ids = pd.Series(np.asarray(area_ids, dtype=object))
    if scope_areas is None:
        return np.ones(len(ids), dtype=bool)
    return ids.isin(set(scope_areas)).to_numpy(dtype=bool)


def answer_reply(store, reply_id: str, answer: str, *, by: str,
                 scope_areas: Iterable[str] | None, now=None) -> None:
    """An officer's answer to a reply, kept with it (a later answer replaces the earlier).

    Raises
    ------
    NotFoundError
        No such reply, or one outside the caller's areas (the same error, so a caller
        cannot learn which replies exist elsewhere).
    InputError
        An empty or oversized answer, or no officer named.
    """
    body = _check_text(answer, "the answer", MAX_ANSWER_CHARS)
    officer = _check_text(by, "the officer", 64)
    when = now_text(now)
    r = schema.replies
    with store.begin() as conn:
        got = store.read("replies", ["reply_id", "area_id"], where=r.c.reply_id == str(reply_id),
                         conn=conn)
        if not len(got) or not in_scope(got["area_id"], scope_areas)[0]:
            raise NotFoundError(f"no reply {reply_id} in your areas")
        store.update_by_key(conn, "replies", "reply_id", pd.DataFrame({
            "reply_id": [str(reply_id)], "answer": [body], "answered_by": [officer],
            "answered_at": [when]}))


REPLY_COLUMNS = ["reply_id", "message_id", "member_id", "received_at", "area_id", "urgent",
                 "urgent_words", "text", "answer", "answered_by", "answered_at", "subject",
                 "kind", "created_by"]


def list_replies(store, *, scope_areas: Iterable[str] | None = None,
                 message_id: str | None = None) -> pd.DataFrame:
    """The replies a caller may read, urgent first, then newest first.

    Returns
    -------
    pandas.DataFrame
        ``reply_id``, ``message_id``, ``member_id`` (pseudonymous), ``received_at``,
        ``area_id`` (the member's beat), ``urgent`` (bool), ``urgent_words``, ``text``,
        ``answer``, ``answered_by``, ``answered_at``, and the message's ``subject``,
        ``kind``, ``created_by``. Never a name or contact.

    Raises
    ------
    NotFoundError
        ``message_id`` names no stored message.
    """
    r = schema.replies
    where = None
    if message_id is not None:
        if not store.count("messages", where=schema.messages.c.message_id == str(message_id)):
            raise NotFoundError(f"no message {message_id!r} (lpt message list shows them)")
        where = r.c.message_id == str(message_id)
    rep = store.read("replies", ["reply_id", "message_id", "member_id", "received_at",
                                 "area_id", "urgent", "urgent_words", "text", "answer",
                                 "answered_by", "answered_at"], where=where)
    rep = rep[in_scope(rep["area_id"], scope_areas)]
    msg = store.read("messages", ["message_id", "subject", "kind", "created_by"],
                     where=schema.messages.c.message_id.in_(rep["message_id"].unique().tolist())
                     ) if len(rep) else pd.DataFrame(columns=["message_id", "subject", "kind",
                                                              "created_by"])
    out = rep.merge(msg, on="message_id", how="left")
    out["urgent"] = out["urgent"].fillna(0).astype(int).astype(bool)
    out = out.sort_values(["urgent", "received_at", "reply_id"], ascending=[False, False, True],
                          kind="stable")
    return out[REPLY_COLUMNS].reset_index(drop=True)
