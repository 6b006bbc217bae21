# SPDX-License-Identifier: GPL-3.0-or-later
"""Supervisors' progress: every live set-up against its targets, by beat, officer and day,
the beats falling behind, and the headline ("212,824 houses visited, 59,000 registered").

:func:`progress` is what every front calls (``lpt progress``, the ``progress_*`` collections
of the service and the officer page's Progress tab, the plugin's "Set-up progress"
algorithm, the tactical document's section). The rules are
:mod:`spatial_core.targeting.progress`'s: what a visit achieved (registered, joined as a
member in a later import, surveyed at the door, answered online later), the tallies and
the falling-behind rule.

What a scope sees (:class:`spatial_core.api.Scope`):

- police roles: the live set-ups they may see (:func:`spatial_core.api.setups.visible_setups`:
  at least one street in their beats), each with its whole progress against its targets (a
  set-up is one shared operation); the rows per beat, officer and day only for the visits
  and households in their beats; the headline over the visits in their beats (the force
  for an analyst). Officers appear by their id as recorded with the visit;
- partners and the public: the force headline only, over whole calendar months (``since``
  taken back to the first of its month, up to the end of the last complete month), counts
  from 1 to ``k - 1`` withheld; no set-up, beat, officer or day. Consecutive months differ by
  one month's force-wide total, which is itself an aggregate of the whole force.

A set-up's visits are :func:`spatial_core.targeting.setups.setup_visits`' (tagged with it, or
at its walk-list households since it was created); a visit's beat is its address's beat.
Per beat, each target is split in proportion to the beat's households on the walk lists.
A set-up without targets is judged on households visited against the households on its
walk lists (every door in the period).
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spatial_core.api import FORCE, Scope
from spatial_core.errors import InputError, NotFoundError
from spatial_core.frames import json_records
from spatial_core.targeting.progress import (
    COUNT_COLUMNS,
    DEFAULT_BEHIND_BELOW,
    DEFAULT_GRACE_DAYS,
    DEFAULT_PERIOD_DAYS,
    TARGETS,
    check_pace_parameters,
    elapsed_share,
    pace,
    tally,
    visit_outcomes,
)

__all__ = ["ProgressReport", "progress", "BY", "HEADLINE_COLUMNS", "UNKNOWN_SETUP"]

BY = ("officer", "day", "beat")
"""The breakdowns of a report (``lpt progress --by``)."""
HEADLINE_COLUMNS = COUNT_COLUMNS
UNKNOWN_SETUP = ("no live set-up {sid!r} that you may see; expected the id of a live set-up "
                 "with a street in your beats (lpt setup list)")
_STAMP = "%Y-%m-%dT%H:%M:%S"
_NOT_RECORDED = "(not recorded)"


@dataclass(frozen=True)
class ProgressReport:
    """Progress at ``now`` as a scope sees it (:func:`progress`).

    ``headline``: :data:`HEADLINE_COLUMNS` over the visits in the scope since ``since`` (a
    withheld count is None), with ``since`` and ``until``. ``setups``: one row per live
    set-up; ``beats``, ``officers``, ``days``: one row per set-up and beat, officer or day.
    """

    now: str
    since: str | None
    period_days: float
    behind_below: float
    grace_days: float
    role: str
    k: int | None
    headline: dict[str, Any]
    setups: pd.DataFrame
    beats: pd.DataFrame
    officers: pd.DataFrame
    days: pd.DataFrame
    rule: str = field(default="")

    @property
    def behind(self) -> pd.DataFrame:
        """The beats falling behind (rows of :attr:`beats`)."""
        if not len(self.beats):
            return self.beats
        return self.beats[self.beats["behind"].astype(bool)].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now, "since": self.since, "period_days": self.period_days,
                "behind_below": self.behind_below, "grace_days": self.grace_days,
                "rule": self.rule, "role": self.role, "k": self.k,
                "headline": dict(self.headline),
                "setups": json_records(self.setups.drop(columns=["geometry"], errors="ignore")),
                "beats": json_records(self.beats), "officers": json_records(self.officers),
                "days": json_records(self.days)}


def _rule(period_days: float, behind_below: float, grace_days: float) -> str:
    return (f"behind when the share of a target achieved is below {behind_below:.0%} of the "
            f"share of the set-up's {period_days:g}-day period elapsed (after "
            f"{grace_days:g} day(s)); per beat, targets are split by walk-list households")


def _check_since(since) -> str | None:
    if since is None or (isinstance(since, str) and not since.strip()):
        return None
    text = str(since).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise InputError("since must be a date YYYY-MM-DD", value=text)
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        raise InputError("since must be a real date YYYY-MM-DD", value=text) from None
    return text


def progress(store, scope: Scope = FORCE, *, setup_id: str | None = None, now=None,
             since: str | None = None, period_days: float = DEFAULT_PERIOD_DAYS,
             behind_below: float = DEFAULT_BEHIND_BELOW,
             grace_days: float = DEFAULT_GRACE_DAYS) -> ProgressReport:
    """Progress of the live set-ups ``scope`` may see, and the headline (module docstring).

    Parameters
    ----------
    setup_id : str, optional
        One live set-up only (NotFoundError when it is not one the scope may see).
    now : datetime or ISO text, optional
        The report moment (default the clock).
    since : str, optional
        ``YYYY-MM-DD``: the headline and the rows per officer and day count visits from this
        day (default: every visit). Targets are always judged since each set-up's creation.
    period_days, behind_below, grace_days
        The falling-behind rule (:func:`spatial_core.targeting.progress.pace`).
    """
    from spatial_core.targeting.walklists import parse_moment

    check_pace_parameters(float(period_days), float(behind_below), float(grace_days))
    since = _check_since(since)
    stamp = parse_moment(now).strftime(_STAMP)
    rule = _rule(float(period_days), float(behind_below), float(grace_days))
    base = dict(now=stamp, period_days=float(period_days), behind_below=float(behind_below),
                grace_days=float(grace_days), role=scope.role, rule=rule)
    if scope.aggregate:
        head, first, until = _public_headline(store, scope, stamp, since)
        return ProgressReport(since=first, k=scope.k, headline={**head, "since": first,
                                                                "until": until},
                              setups=_empty(_SETUP_COLUMNS), beats=_empty(_BEAT_COLUMNS),
                              officers=_empty(_OFFICER_COLUMNS), days=_empty(_DAY_COLUMNS),
                              **base)
    if not scope.police:
        raise InputError(f"unknown role {scope.role!r}")
    data = _Support.read(store, stamp)
    setups = _live_setups(store, scope, setup_id)
    setups = setups[setups["created_at"].astype(str) <= stamp] if len(setups) else setups
    rows, beats, officers, days = [], [], [], []
    for s in setups.to_dict(orient="records"):
        v = _setup_outcomes(store, s["setup_id"], stamp, data)
        hh = data.walk_households(store, s["setup_id"])
        row, beat_rows = _setup_rows(s, v, hh, stamp, float(period_days), float(behind_below),
                                     float(grace_days))
        rows.append(row)
        beats.append(beat_rows[scope.sees(beat_rows["beat_id"])] if len(beat_rows)
                     else beat_rows)
        mine = v[scope.sees(v["beat_id"])] if len(v) else v
        if since is not None and len(mine):
            mine = mine[mine["day"] >= since]
        officers.append(_officer_rows(s, mine))
        days.append(_day_rows(s, mine))
    table = pd.DataFrame(rows, columns=_SETUP_COLUMNS) if rows else _empty(_SETUP_COLUMNS)
    for t in _TARGET_NAMES:  # whole numbers or None (not floats beside NaN)
        table[f"target_{t}"] = pd.Series([r[f"target_{t}"] for r in rows], dtype=object)
    head = _headline(store, scope, stamp, since, data)
    return ProgressReport(since=since, k=None, headline={**head, "since": since,
                                                         "until": stamp},
                          setups=table, beats=_concat(beats, _BEAT_COLUMNS),
                          officers=_concat(officers, _OFFICER_COLUMNS),
                          days=_concat(days, _DAY_COLUMNS), **base)


_TARGET_NAMES = tuple(TARGETS)
_SETUP_COLUMNS = ["setup_id", "name", "goal", "status", "areas", "beats", "created_at",
                  "days_elapsed", "elapsed", "households", *COUNT_COLUMNS,
                  *[f"target_{t}" for t in _TARGET_NAMES], *[f"share_{t}" for t in _TARGET_NAMES],
                  "share_households", "judged_on", "behind", "behind_on", "beats_behind",
                  "geometry"]
_BEAT_COLUMNS = ["setup_id", "setup_name", "beat_id", "households", *COUNT_COLUMNS,
                 *[f"target_{t}" for t in _TARGET_NAMES],
                 *[f"share_{t}" for t in _TARGET_NAMES], "share_households", "elapsed",
                 "behind", "behind_on"]
_OFFICER_COLUMNS = ["setup_id", "setup_name", "officer", *COUNT_COLUMNS, "days_out",
                    "first_day", "last_day"]
_DAY_COLUMNS = ["setup_id", "setup_name", "day", *COUNT_COLUMNS, "officers"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty(columns)
    return pd.concat(frames, ignore_index=True)[columns]


@dataclass
class _Support:
    """What every set-up's outcomes are judged with, read once."""

    registrations: set
    responses: pd.DataFrame
    members: pd.DataFrame
    online: pd.DataFrame
    points: dict = field(default_factory=dict)
    walk: pd.DataFrame | None = None

    @classmethod
    def read(cls, store, stamp: str) -> _Support:
        from spatial_core.store import schema

        day = stamp[:10]
        with store.connect() as conn:
            has_reg = store.has_table(conn, "door_registrations")
        reg = store.read("door_registrations", ["visit_id"]) if has_reg else \
            pd.DataFrame({"visit_id": []})
        sv = schema.table("surveys")
        responses = store.read("surveys", ["x", "y", "responded"],
                               where=(sv.c.channel == "door_knock") & (sv.c.responded <= day))
        online = store.read("surveys", ["member_id", "responded"],
                            where=(sv.c.channel == "online") & sv.c.member_id.isnot(None)
                            & (sv.c.responded <= day))
        members = store.read("members", ["member_id", "uprn", "joined"])
        return cls(set(reg["visit_id"].astype(str)), responses, members, online)

    def addresses(self, store, uprns) -> pd.DataFrame:
        """``uprn`` -> ``beat_id``, ``x``, ``y`` of the addresses asked for (cached)."""
        from spatial_core.store import schema

        want = sorted({str(u) for u in uprns} - set(self.points))
        a = schema.table("addresses")
        for i in range(0, len(want), 500):
            got = store.read("addresses", ["uprn", "beat_id", "x", "y"],
                             where=a.c.uprn.in_(want[i:i + 500]))
            for r in got.itertuples(index=False):
                self.points[str(r.uprn)] = (r.beat_id, r.x, r.y)
        for u in want:
            self.points.setdefault(u, (None, np.nan, np.nan))
        rows = [(u, *self.points[str(u)]) for u in uprns]
        return pd.DataFrame(rows, columns=["uprn", "beat_id", "x", "y"])

    def walk_households(self, store, setup_id: str) -> pd.DataFrame:
        """The set-up's walk-list households with their address's beat."""
        from spatial_core.store import schema

        t = schema.table("setup_households")
        hh = store.read("setup_households", ["uprn"], where=t.c.setup_id == setup_id)
        beats = self.addresses(store, hh["uprn"].astype(str).tolist())
        return beats[["uprn", "beat_id"]]


def _live_setups(store, scope: Scope, setup_id: str | None) -> pd.DataFrame:
    from spatial_core.api.setups import visible_setups

    with store.connect() as conn:
        if not store.has_table(conn, "setups"):
            f = pd.DataFrame(columns=["setup_id", "status"])
            if setup_id is not None:
                raise NotFoundError(UNKNOWN_SETUP.format(sid=setup_id))
            return f
    f = visible_setups(store, scope)
    f = f[f["status"] == "live"]
    if setup_id is not None:
        f = f[f["setup_id"] == setup_id]
        if not len(f):
            raise NotFoundError(UNKNOWN_SETUP.format(sid=setup_id))
    return f.sort_values(["created_at", "setup_id"]).reset_index(drop=True)


def _outcomes(store, visits: pd.DataFrame, data: _Support) -> pd.DataFrame:
    """:func:`visit_outcomes` of ``visits`` with the address's beat and point."""
    where = data.addresses(store, visits["uprn"].astype(str).tolist())
    v = visits.reset_index(drop=True).drop(columns=["beat_id", "x", "y"], errors="ignore")
    v = pd.concat([v, where[["beat_id", "x", "y"]]], axis=1)
    v["officer"] = v["officer"].where(v["officer"].notna() & (v["officer"].astype(str) != ""),
                                      _NOT_RECORDED) if "officer" in v else _NOT_RECORDED
    return visit_outcomes(v, registrations=sorted(data.registrations),
                          door_responses=data.responses, members=data.members,
                          online=data.online)


def _setup_outcomes(store, setup_id: str, stamp: str, data: _Support) -> pd.DataFrame:
    from spatial_core.targeting.setups import setup_visits

    v = setup_visits(store, setup_id, now=stamp)
    return _outcomes(store, v, data)


def _judge(frame: pd.DataFrame, elapsed, days, behind_below: float, grace_days: float
           ) -> pd.DataFrame:
    """Shares and behind flags of each target column (``target_<name>``) of ``frame``; with
    no target at all, households visited against ``households``."""
    frame = frame.copy()
    any_target = np.zeros(len(frame), dtype=bool)
    flags = []
    for name, counts in TARGETS.items():
        achieved = frame[list(counts)].sum(axis=1).to_numpy("float64")
        share, behind = pace(achieved, frame[f"target_{name}"], elapsed, days,
                             behind_below=behind_below, grace_days=grace_days)
        frame[f"share_{name}"] = share
        any_target |= ~np.isnan(share)
        flags.append((name, behind))
    share, behind = pace(frame["households_visited"].to_numpy("float64"),
                         np.where(any_target, np.nan, frame["households"].astype("float64")),
                         elapsed, days, behind_below=behind_below, grace_days=grace_days)
    frame["share_households"] = share
    flags.append(("households", behind))
    frame["behind_on"] = [[n for n, b in flags if b[i]] for i in range(len(frame))]
    frame["behind"] = [bool(x) for x in frame["behind_on"]]
    frame["elapsed"] = elapsed
    return frame


def _setup_rows(s: dict, v: pd.DataFrame, hh: pd.DataFrame, stamp: str, period_days: float,
                behind_below: float, grace_days: float) -> tuple[dict, pd.DataFrame]:
    elapsed, days = elapsed_share([s["created_at"]], stamp, period_days)
    total = tally(v, []).iloc[0].to_dict()
    targets = {f"target_{t}": _num(s.get(f"target_{t}")) for t in _TARGET_NAMES}
    head = pd.DataFrame([{**total, **targets, "households": len(hh)}])
    head = _judge(head, elapsed, days, behind_below, grace_days).iloc[0].to_dict()
    # Per beat: the walk list's households and the visits, targets split by households.
    per_hh = hh.groupby(hh["beat_id"].fillna("(no beat)")).size().rename("households")
    per_v = tally(v.assign(beat_id=v["beat_id"].fillna("(no beat)")), ["beat_id"]
                  ).set_index("beat_id") if len(v) else pd.DataFrame(columns=COUNT_COLUMNS)
    ids = sorted(set(per_hh.index) | set(per_v.index))
    b = pd.DataFrame({"beat_id": ids})
    b["households"] = b["beat_id"].map(per_hh).fillna(0).astype("int64")
    for c in COUNT_COLUMNS:
        b[c] = b["beat_id"].map(per_v[c]).fillna(0).astype("int64") if len(per_v) else 0
    n = max(len(hh), 1)
    for t in _TARGET_NAMES:
        goal = targets[f"target_{t}"]
        b[f"target_{t}"] = (goal * b["households"] / n) if goal is not None else np.nan
    if len(b):
        b = _judge(b, np.full(len(b), elapsed[0]), np.full(len(b), days[0]), behind_below,
                   grace_days)
        # A beat with no walk-list household has nothing to judge.
        b.loc[b["households"] == 0, "behind"] = False
        b["behind_on"] = [[] if h == 0 else x for h, x in zip(b["households"], b["behind_on"],
                                                            strict=True)]
    b.insert(0, "setup_id", s["setup_id"])
    b.insert(1, "setup_name", s["name"])
    b = b.reindex(columns=_BEAT_COLUMNS)
    row = {"setup_id": s["setup_id"], "name": s["name"], "goal": s["goal"],
           "status": s["status"], "areas": list(s["areas"]), "beats": list(s["beats"]),
           "created_at": s["created_at"], "days_elapsed": float(days[0]),
           "elapsed": float(elapsed[0]), "households": int(len(hh)),
           **{c: int(total[c]) for c in COUNT_COLUMNS}, **targets,
           **{f"share_{t}": _nan_none(head[f"share_{t}"]) for t in _TARGET_NAMES},
           "share_households": _nan_none(head["share_households"]),
           "judged_on": "targets" if any(targets[f"target_{t}"] is not None
                                         for t in _TARGET_NAMES) else "walk lists",
           "behind": bool(head["behind"]), "behind_on": list(head["behind_on"]),
           "beats_behind": int(b["behind"].astype(bool).sum()) if len(b) else 0,
           "geometry": s.get("geometry")}
    return row, b


def _num(v) -> int | None:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        return None
    return int(v)


def _nan_none(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def _officer_rows(s: dict, v: pd.DataFrame) -> pd.DataFrame:
    if not len(v):
        return _empty(_OFFICER_COLUMNS)
    t = tally(v, ["officer"])
    g = v.groupby("officer")["day"]
    t["days_out"] = t["officer"].map(g.nunique()).astype("int64")
    t["first_day"] = t["officer"].map(g.min())
    t["last_day"] = t["officer"].map(g.max())
    t.insert(0, "setup_id", s["setup_id"])
    t.insert(1, "setup_name", s["name"])
    return t.sort_values(["visits", "officer"], ascending=[False, True])[_OFFICER_COLUMNS]


def _day_rows(s: dict, v: pd.DataFrame) -> pd.DataFrame:
    if not len(v):
        return _empty(_DAY_COLUMNS)
    t = tally(v, ["day"])
    t["officers"] = t["day"].map(v.groupby("day")["officer"].nunique()).astype("int64")
    t.insert(0, "setup_id", s["setup_id"])
    t.insert(1, "setup_name", s["name"])
    return t[_DAY_COLUMNS]


def _all_visits(store, first: str | None, until: str) -> pd.DataFrame:
    from spatial_core.store import schema

    tv = schema.table("visits")
    where = tv.c.visited_at <= until
    if first is not None:
        where = where & (tv.c.visited_at >= first)
    return store.read("visits", ["visit_id", "uprn", "visited_at", "outcome", "officer"],
                      where=where)


def _headline(store, scope: Scope, stamp: str, since: str | None, data: _Support
              ) -> dict[str, Any]:
    v = _all_visits(store, since, stamp)
    if not len(v):
        return {c: 0 for c in COUNT_COLUMNS}
    o = _outcomes(store, v, data)
    o = o[scope.sees(o["beat_id"])]
    return {c: int(x) for c, x in tally(o, []).iloc[0].items()}


def _public_headline(store, scope: Scope, stamp: str, since: str | None
                     ) -> tuple[dict[str, Any], str | None, str]:
    """The force headline in whole months, small counts withheld."""
    from spatial_core.analytics.disclosure import suppress_counts

    month_start = stamp[:8] + "01"
    until_day = (_dt.date.fromisoformat(month_start) - _dt.timedelta(days=1)).isoformat()
    first = None if since is None else since[:8] + "01"
    data = _Support.read(store, until_day + "T23:59:59")
    if first is not None and first > until_day:
        counts = {c: 0 for c in COUNT_COLUMNS}
    else:
        v = _all_visits(store, first, until_day + "T23:59:59")
        counts = {c: 0 for c in COUNT_COLUMNS} if not len(v) else {
            c: int(x) for c, x in tally(_outcomes(store, v, data), []).iloc[0].items()}
    frame = pd.DataFrame([{"area_id": "force", "parent_id": None, **counts}])
    shown = suppress_counts(frame, list(COUNT_COLUMNS), k=int(scope.k), level_column=None)
    return ({c: shown[c].iloc[0] for c in COUNT_COLUMNS}, first, until_day)
