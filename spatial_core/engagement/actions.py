# SPDX-License-Identifier: GPL-3.0-or-later
"""The actions log and "You said, we did".

Officers record what police and partners did about a local priority in an area
(:func:`add_action`): the day, the priority (a slug of
:data:`spatial_core.io.surveys.PRIORITIES`), the area (a beat, ward, neighbourhood policing
area or the force), what was done and the partner who did it, if any.

:func:`you_said_we_did_draft` turns them into the draft of a "You said, we did" message for
an area: what residents said (the area's current local priorities from
:func:`spatial_core.analytics.priorities.local_priorities`, each with its share and n) and,
for each, what was done there or in the areas above it (the beat's npa, the force) in the
period. The officer edits the draft and sends it as a message of kind ``you_said_we_did``
(:func:`spatial_core.engagement.messages.create_message`).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from spatial_core.engagement.consent import now_text
from spatial_core.engagement.replies import in_scope
from spatial_core.errors import InputError, NotFoundError
from spatial_core.store.data_version import bump_data_version

__all__ = ["MAX_WHAT_CHARS", "ACTION_COLUMNS", "Draft", "add_action", "list_actions",
           "area_ancestors", "check_priority", "you_said_we_did_draft", "draft_text"]

MAX_WHAT_CHARS = 2000
ACTION_COLUMNS = ["action_id", "done_on", "priority", "label", "area_id", "area_name", "what",
                  "partner", "recorded_by", "recorded_at"]
_ACTION_LEVELS = ("beat", "ward", "npa", "force")


def check_priority(priority) -> str:
    """A priority slug of :data:`spatial_core.io.surveys.PRIORITIES` from a slug or a label
    (InputError for anything else)."""
    from spatial_core.io.surveys import PRIORITIES, priorities_to_slugs

    text = str(priority or "").strip()
    if text in PRIORITIES:
        return text
    slug, known = priorities_to_slugs([text])
    if not text or not known[0]:
        raise InputError(f"priority {text!r} is not one of {', '.join(PRIORITIES)}",
                         value=text or None)
    return str(slug[0])


def _check_day(value, what: str, today: str) -> str:
    text = str(value or "").strip()[:10]
    try:
        date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} is not an ISO date such as 2026-03-14", value=value) from None
    if text > today:
        raise InputError(f"{what} {text} is in the future: record what was done, not plans")
    return text


def area_ancestors(tree: pd.DataFrame, area_id: str) -> list[str]:
    """``area_id`` and the areas above it (a beat's npa, then the force), nearest first."""
    parent = tree.set_index("area_id")["parent_id"].to_dict()
    out = [area_id]
    while parent.get(out[-1]) and parent[out[-1]] not in out:
        out.append(parent[out[-1]])
    forces = tree.loc[tree["level"] == "force", "area_id"].tolist()
    out += [f for f in forces if f not in out]
    return out


def add_action(store, *, done_on, priority, area_id, what, partner=None, recorded_by,
               scope_areas: Iterable[str] | None = None, now=None) -> str:
    """Record an action about a local priority in an area; returns the ``action_id``.

    Raises
    ------
    InputError
        A date that is not ISO or is in the future, a priority outside the vocabulary, an
        empty or over-long ``what``, no officer; nothing is written.
    NotFoundError
        An area that is not stored, or one outside ``scope_areas`` (the areas the caller may
        act for; None = the whole force).
    """
    from spatial_core.analytics.population import area_table

    stamp = now_text(now)
    day = _check_day(done_on, "done_on", stamp[:10])
    slug = check_priority(priority)
    text = str(what or "").strip()
    if not text:
        raise InputError("what was done is empty: say what police or partners did")
    if len(text) > MAX_WHAT_CHARS:
        raise InputError(f"what was done is too long: {len(text):,} characters, at most "
                         f"{MAX_WHAT_CHARS:,}")
    who = str(recorded_by or "").strip()
    if not who or len(who) > 64:
        raise InputError("recorded_by (the officer) is required, at most 64 characters")
    partner_text = str(partner).strip() if partner is not None else ""
    if len(partner_text) > 200:
        raise InputError("the partner's name is longer than 200 characters")
    area = str(area_id or "").strip()
    tree = area_table(store)
    row = tree[(tree["area_id"] == area) & tree["level"].isin(_ACTION_LEVELS)]
    if not len(row):
        raise NotFoundError(f"no area {area!r}: give a beat:, ward:, npa: or force: id of the "
                            "store")
    if scope_areas is not None and not in_scope([area], scope_areas)[0]:
        raise NotFoundError(f"area {area!r} is outside the areas you may act for")
    action_id = "A" + uuid.uuid4().hex[:24]
    with store.begin() as conn:
        store.insert_new(conn, "actions", pd.DataFrame({
            "action_id": [action_id], "done_on": [day], "priority": [slug], "area_id": [area],
            "what": [text], "partner": [partner_text or None], "recorded_by": [who],
            "recorded_at": [stamp]}))
        bump_data_version(store, conn)
    return action_id


def list_actions(store, *, scope_areas: Iterable[str] | None = None,
                 area_id: str | None = None, period=None) -> pd.DataFrame:
    """The actions log, newest first.

    Parameters
    ----------
    scope_areas : list of str, optional
        The caller's areas (None = the whole force): actions in them, and in the areas above
        them (a beat officer sees what the force did too).
    area_id : str, optional
        Only the actions of this area and of the areas above it.
    period : str, optional
        Only the actions done in the period (``2026Q3``, ``2026-01..2026-06`` …).

    Returns
    -------
    pandas.DataFrame
        ``action_id``, ``done_on``, ``priority``, ``label``, ``area_id``, ``area_name``,
        ``what``, ``partner``, ``recorded_by``, ``recorded_at``.
    """
    from spatial_core.analytics.population import area_table, period_mask
    from spatial_core.io.surveys import PRIORITIES

    a = store.read("actions", ["action_id", "done_on", "priority", "area_id", "what", "partner",
                               "recorded_by", "recorded_at"])
    tree = area_table(store)
    if scope_areas is not None:
        visible = set()
        for area in scope_areas:
            visible.update(area_ancestors(tree, area))
        a = a[in_scope(a["area_id"], visible)]
    if area_id is not None:
        a = a[a["area_id"].isin(area_ancestors(tree, str(area_id)))]
    a = a[period_mask(a["done_on"], period)]
    a = a.assign(label=a["priority"].map(PRIORITIES).fillna(a["priority"]),
                 area_name=a["area_id"].map(tree.set_index("area_id")["name"]).fillna(
                     a["area_id"]))
    a = a.sort_values(["done_on", "recorded_at", "action_id"], ascending=[False, False, True],
                      kind="stable")
    return a[ACTION_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class Draft:
    """A "You said, we did" draft: ``subject`` and ``body`` for the officer to edit, with
    what they were made from (``priorities``: one dict per local priority with ``priority``,
    ``label``, ``votes``, ``n``, ``share`` and ``actions``)."""

    subject: str
    body: str
    area_id: str = ""
    area_name: str = ""
    period: str | None = None
    respondents: int = 0
    priorities: tuple[dict, ...] = field(default_factory=tuple)


def _count(votes: int, k: int) -> str:
    return f"fewer than {k}" if 0 < votes < k else f"{votes:,}"


def draft_text(area_name: str, respondents: int, priorities: pd.DataFrame,
               actions: pd.DataFrame, *, period_label: str | None = None,
               min_n: int = 10, k: int = 5) -> tuple[str, str]:
    """Subject and body of a "You said, we did" message from an area's local priorities
    (rows with ``priority``, ``label``, ``votes``, ``n``, ``share``) and its actions
    (rows with ``priority``, ``done_on``, ``what``, ``partner``, ``area_name``).

    Vote counts below ``k`` are written "fewer than k"; the message goes to residents.
    """
    subject = f"You said, we did: {area_name}"
    when = f" in {period_label}" if period_label else ""
    lines = ["Dear resident,", ""]
    if respondents < min_n or not len(priorities):
        lines += [f"Too few residents of {area_name} answered our survey{when} "
                  f"({respondents}) for us to say what your local priorities are. Please "
                  "tell us what matters where you live: answer the survey or reply to this "
                  "message.", ""]
        return subject, "\n".join(lines)
    lines += [f"YOU SAID: {respondents:,} residents of {area_name} answered our survey{when}. "
              "The issues you most wanted tackled were:", ""]
    for p in priorities.itertuples():
        lines.append(f"- {p.label}: named by {p.share:.0%} ({_count(int(p.votes), k)} of "
                     f"{int(p.n):,})")
    lines += ["", "WE DID:"]
    for p in priorities.itertuples():
        done = actions[actions["priority"] == p.priority]
        lines += ["", f"{p.label}:"]
        if not len(done):
            lines.append("- Nothing recorded yet: we will report back on this.")
            continue
        for d in done.sort_values("done_on").itertuples():
            partner = f" (with {d.partner})" if isinstance(d.partner, str) and d.partner else ""
            day = pd.Timestamp(d.done_on).strftime("%-d %B %Y")
            lines.append(f"- {day}, {d.area_name}: {d.what}{partner}")
    lines += ["", "Tell us what you think: reply through the link in this message. This is "
              "not for emergencies: call 999, or 101 to report a crime.", "",
              f"Your neighbourhood policing team for {area_name}"]
    return subject, "\n".join(lines)


def you_said_we_did_draft(store, area_id: str, *, period=None, min_n: int = 10, top_n: int = 3,
                          k: int = 5) -> Draft:
    """Draft a "You said, we did" message for an area.

    Parameters
    ----------
    area_id : str
        A beat, ward, npa or force id.
    period : str, optional
        The survey responses and actions counted (``2026Q3``, ``2026-04..2026-09`` …; None:
        all of them).
    min_n, top_n : int
        As :func:`spatial_core.analytics.priorities.local_priorities` (rule ``top``).
    k : int
        Vote counts below ``k`` are written "fewer than k".

    Raises
    ------
    NotFoundError
        No such area.
    """
    from spatial_core.analytics.population import area_table, parse_period
    from spatial_core.analytics.priorities import local_priorities

    tree = area_table(store)
    row = tree[tree["area_id"] == str(area_id)]
    if not len(row) or row["level"].iloc[0] not in _ACTION_LEVELS:
        raise NotFoundError(f"no area {area_id!r}: give a beat:, ward:, npa: or force: id of "
                            "the store")
    level = str(row["level"].iloc[0])
    name = str(row["name"].iloc[0])
    p = parse_period(period)
    lp = local_priorities(store, level=level, period=p, top_n=top_n, min_n=min_n)
    mine = lp[lp["area_id"] == str(area_id)]
    respondents = int(mine["n"].iloc[0]) if len(mine) else 0
    chosen = mine[mine["is_priority"]].sort_values(["votes", "priority"],
                                                   ascending=[False, True])
    acts = list_actions(store, area_id=str(area_id), period=p)
    acts = acts[acts["priority"].isin(set(chosen["priority"]))]
    subject, body = draft_text(name, respondents, chosen, acts,
                               period_label=p.label if p else None, min_n=min_n, k=k)
    items = tuple({"priority": r.priority, "label": r.label, "votes": int(r.votes),
                   "n": int(r.n), "share": float(r.share),
                   "actions": int((acts["priority"] == r.priority).sum())}
                  for r in chosen.itertuples())
    return Draft(subject, body, str(area_id), name, p.label if p else None, respondents, items)

