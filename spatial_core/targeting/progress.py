# SPDX-License-Identifier: GPL-3.0-or-later
"""Progress rules: what a door-knock visit achieved, tallies, and when work is falling behind.

These functions take frames and return frames (no store): the use case
:func:`spatial_core.api.progress.progress` reads the store and calls them.

What a visit achieved (:func:`visit_outcomes`):

- **registered**: its outcome is ``registered``, or a registration with consent was taken at
  it (``door_registrations``); each visit once;
- **joined**: a registered visit matched to the member who later appears in a member import:
  a member at the same UPRN who joined on or after the day of the visit
  (:func:`match_joined_members`, the rule door registrations use too);
- **surveyed**: its outcome is ``surveyed``, or a door survey response (channel
  ``door_knock``) was recorded at its address point on its day; a response credits one visit
  (visits with the outcome ``surveyed`` first), so flats sharing a point are not counted twice;
- **surveyed_online**: a member living at the visited household answered the survey online
  on or after the day of the first counted visit there (credited to that visit, once per
  household).

Falling behind (:func:`pace`): the share of a target achieved against the share of the
set-up's period elapsed. With ``elapsed`` = (now - created) / period (0 to 1), a target is
*behind* when ``achieved / target < behind_below x elapsed``, once at least ``grace_days``
have passed. :data:`DEFAULT_PERIOD_DAYS` and :data:`DEFAULT_BEHIND_BELOW` are the defaults;
every front can change both.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spatial_core.errors import InputError

__all__ = ["COUNT_COLUMNS", "DEFAULT_PERIOD_DAYS", "DEFAULT_BEHIND_BELOW", "DEFAULT_GRACE_DAYS",
           "TARGETS", "match_joined_members", "visit_outcomes", "tally", "elapsed_share",
           "pace", "check_pace_parameters"]

COUNT_COLUMNS = ("visits", "households_visited", "registered", "joined", "surveyed",
                 "surveyed_online")
"""What progress counts, per set-up, beat, officer and day, and in the headline."""

TARGETS = {"visits": ("visits",), "registrations": ("registered",),
           "surveys": ("surveyed", "surveyed_online")}
"""A set-up's target (``target_<name>``) and the counts that achieve it."""

DEFAULT_PERIOD_DAYS = 28
"""A set-up's period when none is given: four weeks from its creation."""
DEFAULT_BEHIND_BELOW = 0.8
"""Behind when less than this share of the pace (target x share of the period elapsed)."""
DEFAULT_GRACE_DAYS = 1.0
"""Nothing is judged before this many days of the period have passed."""


def check_pace_parameters(period_days: float, behind_below: float, grace_days: float) -> None:
    """InputError naming the parameter unless ``period_days`` > 0, 0 < ``behind_below`` <= 1
    and ``grace_days`` >= 0."""
    if not np.isfinite(period_days) or period_days <= 0:
        raise InputError(f"period_days must be a number of days above 0, got {period_days!r}")
    if not np.isfinite(behind_below) or not 0 < behind_below <= 1:
        raise InputError("behind_below must be a share above 0 and at most 1 (0.8: behind "
                         f"below 80% of the pace), got {behind_below!r}")
    if not np.isfinite(grace_days) or grace_days < 0:
        raise InputError(f"grace_days must be 0 or more, got {grace_days!r}")


def match_joined_members(events: pd.DataFrame, members: pd.DataFrame) -> pd.Series:
    """The member each event (a registration at the door) became: the first member, by
    joining date then id, at the event's UPRN who joined on or after the event's day.

    Parameters
    ----------
    events : pandas.DataFrame
        ``uprn`` and ``day`` (ISO text; only the first ten characters are used).
    members : pandas.DataFrame
        ``member_id``, ``uprn``, ``joined`` (ISO date text or None).

    Returns
    -------
    pandas.Series
        ``member_id`` or None, aligned with ``events``' index.

    Examples
    --------
    >>> ev = pd.DataFrame({"uprn": ["1", "1", "2"], "day": ["2026-05-01", "2026-06-02",
    ...                                                     "2026-05-01"]})
    >>> m = pd.DataFrame({"member_id": ["A", "B", "C"], "uprn": ["1", "1", "2"],
    ...                   "joined": ["2026-05-03", "2026-04-30", "2026-04-01"]})
    >>> match_joined_members(ev, m).tolist()
    ['A', None, None]
    """
    out = pd.Series([None] * len(events), index=events.index, dtype=object)
    if not len(events) or not len(members):
        return out
    ev = pd.DataFrame({"_i": np.arange(len(events)),
                       "uprn": events["uprn"].astype(str).to_numpy(),
                       "day": events["day"].astype(str).str.slice(0, 10).to_numpy()})
    m = pd.DataFrame({"member_id": members["member_id"].to_numpy(dtype=object),
                      "uprn": members["uprn"].astype(object).to_numpy(),
                      "joined": members["joined"].fillna("").astype(str).str.slice(0, 10)
                      .to_numpy()})
    m = m[m["uprn"].notna()].assign(uprn=lambda f: f["uprn"].astype(str))
    j = ev.merge(m, on="uprn", how="inner")
    j = j[(j["joined"] != "") & (j["joined"] >= j["day"])]
    first = j.sort_values(["_i", "joined", "member_id"]).drop_duplicates("_i")
    values = out.to_numpy(dtype=object)
    values[first["_i"].to_numpy()] = first["member_id"].to_numpy(dtype=object)
    return pd.Series(values, index=events.index, dtype=object)


def visit_outcomes(visits: pd.DataFrame, *, registrations: Sequence[str] = (),
                   door_responses: pd.DataFrame | None = None,
                   members: pd.DataFrame | None = None,
                   online: pd.DataFrame | None = None) -> pd.DataFrame:
    """What each visit achieved (the module docstring's rules).

    Parameters
    ----------
    visits : pandas.DataFrame
        ``visit_id``, ``uprn``, ``visited_at``, ``outcome``, and ``x``, ``y`` (the address
        point; needed only to match door responses); other columns are kept.
    registrations : sequence of str
        Visit ids at which a registration was taken (``door_registrations.visit_id``).
    door_responses : pandas.DataFrame, optional
        Door survey responses: ``x``, ``y``, ``responded`` (day).
    members : pandas.DataFrame, optional
        ``member_id``, ``uprn``, ``joined``.
    online : pandas.DataFrame, optional
        Online survey responses: ``member_id``, ``responded`` (day), up to the report moment.

    Returns
    -------
    pandas.DataFrame
        ``visits`` with ``day`` and the boolean columns ``registered``, ``joined``,
        ``surveyed``, ``surveyed_online`` and ``member_id`` (of ``joined``, else None).

    Examples
    --------
    >>> v = pd.DataFrame({"visit_id": ["a", "b", "c"], "uprn": ["1", "2", "2"],
    ...                   "visited_at": ["2026-05-01T10:00:00", "2026-05-01T11:00:00",
    ...                                  "2026-05-02T11:00:00"],
    ...                   "outcome": ["registered", "spoke", "surveyed"],
    ...                   "x": [0.0, 5.0, 5.0], "y": [0.0, 0.0, 0.0]})
    >>> r = pd.DataFrame({"x": [5.0], "y": [0.0], "responded": ["2026-05-01"]})
    >>> m = pd.DataFrame({"member_id": ["M"], "uprn": ["1"], "joined": ["2026-05-04"]})
    >>> o = visit_outcomes(v, registrations=["b"], door_responses=r, members=m)
    >>> o[["registered", "joined", "surveyed"]].values.tolist()
    [[True, True, False], [True, False, True], [False, False, True]]
    """
    v = visits.copy().reset_index(drop=True)
    v["uprn"] = v["uprn"].astype(str)
    v["day"] = v["visited_at"].astype(str).str.slice(0, 10)
    outcome = v["outcome"].astype(str)
    v["registered"] = ((outcome == "registered")
                       | v["visit_id"].astype(str).isin(set(map(str, registrations)))
                       ).to_numpy(dtype=bool)
    matched = match_joined_members(v.loc[v["registered"], ["uprn", "day"]],
                                   members if members is not None else
                                   pd.DataFrame(columns=["member_id", "uprn", "joined"]))
    v["member_id"] = pd.Series([None] * len(v), dtype=object)
    v.loc[matched.index, "member_id"] = matched.to_numpy(dtype=object)
    v["joined"] = v["member_id"].notna().to_numpy(dtype=bool)
    v["surveyed"] = _surveyed(v, outcome == "surveyed", door_responses)
    v["surveyed_online"] = _online_later(v, members, online)
    return v


def _surveyed(v: pd.DataFrame, by_outcome: pd.Series, responses: pd.DataFrame | None
              ) -> np.ndarray:
    """Visits surveyed: by outcome, or credited one response each at their point and day."""
    done = by_outcome.to_numpy(dtype=bool).copy()
    if responses is None or not len(responses) or not len(v) or "x" not in v.columns:
        return done
    key = _point_day(v["x"], v["y"], v["day"])
    n = _point_day(responses["x"], responses["y"],
                   responses["responded"].astype(str).str.slice(0, 10)).value_counts()
    order = pd.DataFrame({"key": key, "first": ~done, "at": v["visited_at"].astype(str)}
                         ).sort_values(["key", "first", "at"], kind="stable")
    rank = order.groupby("key").cumcount()
    credit = rank < order["key"].map(n).fillna(0).astype("int64")
    done[order.index[credit.to_numpy(dtype=bool)]] = True
    return done


def _point_day(x, y, day) -> pd.Series:
    xs = np.round(pd.to_numeric(pd.Series(x), errors="coerce").to_numpy("float64"), 2)
    ys = np.round(pd.to_numeric(pd.Series(y), errors="coerce").to_numpy("float64"), 2)
    return pd.Series([f"{a}|{b}|{d}" for a, b, d in zip(xs, ys, pd.Series(day).astype(str),
                                                       strict=True)])


def _online_later(v: pd.DataFrame, members: pd.DataFrame | None,
                  online: pd.DataFrame | None) -> np.ndarray:
    """The first counted visit at each household whose member answered online on or after
    that visit's day."""
    out = np.zeros(len(v), dtype=bool)
    if members is None or online is None or not len(online) or not len(v):
        return out
    first = v.sort_values(["visited_at", "visit_id"]).drop_duplicates("uprn")
    at = members[["member_id", "uprn"]].dropna().astype(str).merge(
        online[["member_id", "responded"]].assign(
            responded=lambda f: f["responded"].astype(str).str.slice(0, 10)), on="member_id")
    j = first[["uprn", "day"]].reset_index().merge(at, on="uprn")
    hit = j.loc[j["responded"] >= j["day"], "index"].unique()
    out[hit] = True
    return out


def tally(outcomes: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The counts of :data:`COUNT_COLUMNS` per group of ``keys`` (no keys: one row).

    ``outcomes`` is :func:`visit_outcomes`' frame. ``households_visited`` counts distinct
    UPRNs within the group.

    >>> o = pd.DataFrame({"officer": ["a", "a", "b"], "uprn": ["1", "1", "2"],
    ...                   "registered": [True, False, False], "joined": [True, False, False],
    ...                   "surveyed": [False, True, False],
    ...                   "surveyed_online": [False, False, True]})
    >>> tally(o, ["officer"]).to_dict(orient="records")[0]
    {'officer': 'a', 'visits': 2, 'households_visited': 1, 'registered': 1, 'joined': 1, \
'surveyed': 1, 'surveyed_online': 0}
    """
    keys = list(keys)
    flags = ["registered", "joined", "surveyed", "surveyed_online"]
    if not keys:
        row = {"visits": len(outcomes), "households_visited": int(outcomes["uprn"].nunique())}
        row.update({f: int(outcomes[f].sum()) if len(outcomes) else 0 for f in flags})
        return pd.DataFrame([row], columns=list(COUNT_COLUMNS))
    if not len(outcomes):
        return pd.DataFrame(columns=[*keys, *COUNT_COLUMNS])
    g = outcomes.groupby(keys, dropna=False, sort=True)
    out = g.size().rename("visits").to_frame()
    out["households_visited"] = g["uprn"].nunique()
    for f in flags:
        out[f] = g[f].sum()
    return out.astype("int64").reset_index()


def elapsed_share(created_at, now: str, period_days: float) -> tuple[np.ndarray, np.ndarray]:
    """The share (0 to 1) of each period elapsed at ``now``, and the days elapsed.

    >>> s, d = elapsed_share(["2026-05-01T00:00:00"], "2026-05-08T00:00:00", 28)
    >>> float(s[0]), float(d[0])
    (0.25, 7.0)
    """
    start = pd.to_datetime(pd.Series(created_at, dtype=object).astype(str))
    days = ((pd.Timestamp(now) - start).dt.total_seconds() / 86400.0).to_numpy("float64")
    days = np.maximum(days, 0.0)
    return np.clip(days / float(period_days), 0.0, 1.0), days


def pace(achieved, target, elapsed, days, *, behind_below: float = DEFAULT_BEHIND_BELOW,
         grace_days: float = DEFAULT_GRACE_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """The share of each target achieved, and whether it is behind (module docstring).

    A missing or zero target gives a share of NaN and is never behind.

    >>> share, behind = pace([5, 2, 9, 0], [10, 10, 10, None], [0.5, 0.5, 1.0, 1.0],
    ...                      [14, 14, 28, 28])
    >>> share.tolist()[:3], behind.tolist()
    ([0.5, 0.2, 0.9], [False, True, False, False])
    """
    a = np.asarray(achieved, dtype="float64")
    t = pd.to_numeric(pd.Series(np.asarray(target, dtype=object)), errors="coerce"
                      ).to_numpy("float64")
    e = np.asarray(elapsed, dtype="float64")
    d = np.asarray(days, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(t > 0, a / t, np.nan)
    behind = (t > 0) & (d >= grace_days) & (share < behind_below * e)
    return share, np.asarray(behind, dtype=bool)
