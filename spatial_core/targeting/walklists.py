# SPDX-License-Identifier: GPL-3.0-or-later
"""Household walk lists: the doors of a street in the order an officer walks past them, and
which doors to leave alone for now.

- :func:`order_along_streets` projects each household point onto its street line
  (``shapely.line_locate_point``) and numbers the households by that distance, so the two
  sides of a street interleave as they are met on foot;
- :func:`suppressed_until` says until when each household is held back by its recent visits
  (:class:`SuppressionWindows`): recently visited (any outcome but "declined" and "not in"),
  declined (a longer window) and "not in" (retry later that day, after a few hours);
- :func:`walk_list` is the list of a stored set-up at a moment: its households, minus those
  held back by the visits known at creation or recorded since, in street and walk order.

Walk lists carry addresses (UPRN, postcode, point) and never member names or contacts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.store import schema

__all__ = [
    "SuppressionWindows",
    "VISIT_WINDOW_OUTCOMES",
    "WALK_LIST_COLUMNS",
    "parse_moment",
    "order_along_streets",
    "suppressed_until",
    "walk_list",
]

log = logging.getLogger(__name__)

VISIT_WINDOW_OUTCOMES = ("registered", "surveyed", "spoke", "no_access")
"""Visit outcomes held back by the "recently visited" window (``declined`` and ``not_in``
have their own windows)."""

WALK_LIST_COLUMNS = ("setup_id", "street_rank", "street_id", "street_name", "walk_order", "uprn",
                     "postcode", "group", "is_target", "reason", "suppressed_until", "along_m",
                     "x", "y", "lat", "lng")
"""The columns of :func:`walk_list`, in order."""

_STAMP = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class SuppressionWindows:
    """How long a visit holds a household back.

    Parameters
    ----------
    visited_days : int
        After a visit that reached the door (registered, surveyed, spoke, no access), the
        household is left alone for this many days (default 28).
    declined_days : int
        After the resident declined, for this many days (default 90).
    not_in_hours : float
        After nobody was in, until this many hours later: "try again later that day"
        (default 4).

    Examples
    --------
    >>> SuppressionWindows(visited_days=14).visited_days
    14
    >>> SuppressionWindows(declined_days=-1)
    Traceback (most recent call last):
    ...
    spatial_core.errors.InputError: declined_days must be a number >= 0, got -1
    """

    visited_days: int = 28
    declined_days: int = 90
    not_in_hours: float = 4.0

    def __post_init__(self) -> None:
        for name in ("visited_days", "declined_days", "not_in_hours"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    0 <= float(value) < float("inf")):
                raise InputError(f"{name} must be a number >= 0, got {value!r}")

    def window(self, outcome: str) -> pd.Timedelta:
        """The time a visit with ``outcome`` holds its household back."""
        if outcome == "declined":
            return pd.Timedelta(days=self.declined_days)
        if outcome == "not_in":
            return pd.Timedelta(hours=self.not_in_hours)
        return pd.Timedelta(days=self.visited_days)


def parse_moment(value: str | datetime | None, what: str = "now") -> pd.Timestamp:
    """A naive local timestamp (whole seconds) from ISO text or a datetime; None is the clock.

    Visit times are stored as UK local time without a zone, so a zone-aware value is
    converted to Europe/London and its zone dropped.

    Examples
    --------
    >>> str(parse_moment("2026-03-14 18:30"))
    '2026-03-14 18:30:00'
    >>> str(parse_moment("2026-03-14"))
    '2026-03-14 00:00:00'
    """
    if value is None:
        return pd.Timestamp(datetime.now()).floor("s")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(f"{what} must be an ISO date-time such as 2026-03-14T18:30:00",
                         value=value) from None
    if ts is pd.NaT:
        raise InputError(f"{what} must be an ISO date-time such as 2026-03-14T18:30:00",
                         value=value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Europe/London").tz_localize(None)
    return ts.floor("s")


def order_along_streets(street_of: np.ndarray, x: np.ndarray, y: np.ndarray,
                        street_ids: np.ndarray, street_geoms: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Distance along its street of each household, and its walk order on that street.

    Parameters
    ----------
    street_of : array of str
        The street id of each household.
    x, y : arrays of float
        Household points (EPSG:27700).
    street_ids, street_geoms : arrays
        The streets and their (Multi)LineStrings. Connected parts of a multi-line street are
        merged first, so the distance runs along the whole street.

    Returns
    -------
    along_m : array of float
        Metres from the start of the street to the household's projection on it (NaN when
        the street or point is unknown).
    walk_order : array of int
        1, 2, 3 … within each street by ``along_m`` (ties, and unknown distances last, by
        position).

    Examples
    --------
    An L-shaped street, east 100 m then north 100 m, with doors on both sides:

    >>> street = shapely.linestrings([(0, 0), (100, 0), (100, 100)])
    >>> along, order = order_along_streets(
    ...     np.array(["s"] * 4), np.array([95.0, 20.0, 105.0, 60.0]),
    ...     np.array([60.0, -5.0, 10.0, 5.0]), np.array(["s"]), np.array([street]))
    >>> along.tolist(), order.tolist()
    ([160.0, 20.0, 110.0, 60.0], [4, 1, 3, 2])
    """
    n = len(street_of)
    along = np.full(n, np.nan)
    pos = pd.Series(np.arange(len(street_ids)), index=pd.Index(np.asarray(street_ids, object)))
    pos = pos[~pos.index.duplicated()]
    at = pd.Series(np.asarray(street_of, dtype=object)).map(pos).to_numpy(dtype="float64")
    ok = np.isfinite(at) & np.isfinite(np.asarray(x, "float64")) & np.isfinite(
        np.asarray(y, "float64"))
    if ok.any():
        geoms = np.asarray(street_geoms, dtype=object)
        merged = shapely.line_merge(geoms)
        # line_merge of a single LineString or of an empty geometry gives back an empty
        # collection on some GEOS versions: keep the original then.
        usable = shapely.get_type_id(merged) <= 5
        lines = np.where(usable & ~shapely.is_empty(merged), merged, geoms)
        idx = at[ok].astype("int64")
        pts = shapely.points(np.asarray(x, "float64")[ok], np.asarray(y, "float64")[ok])
        along[ok] = shapely.line_locate_point(lines[idx], pts)
    codes, _ = pd.factorize(pd.Series(np.asarray(street_of, dtype=object)), sort=True)
    key = np.where(np.isfinite(along), along, np.inf)
    order = np.lexsort((np.arange(n), key, codes))
    sc = codes[order]
    first = np.r_[True, sc[1:] != sc[:-1]] if n else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, int)
    walk = np.empty(n, dtype="int64")
    walk[order] = np.arange(n) - start + 1
    return along, walk


def suppressed_until(uprns, visits: pd.DataFrame, now: str | datetime | pd.Timestamp,
                     windows: SuppressionWindows) -> np.ndarray:
    """Until when each household is held back by its visits at ``now`` (None: not held back).

    Parameters
    ----------
    uprns : array of str
        The households.
    visits : DataFrame
        ``uprn``, ``visited_at`` (ISO date-time), ``outcome`` (a visit outcome slug). Visits
        after ``now`` are ignored.
    now : str or datetime
    windows : SuppressionWindows

    Returns
    -------
    numpy.ndarray of object
        Per household, the ISO date-time (``YYYY-MM-DDTHH:MM:SS``) its latest-ending window
        runs to, when that is after ``now``; else None.

    Examples
    --------
    >>> v = pd.DataFrame({"uprn": ["1", "2", "3"], "outcome": ["spoke", "declined", "not_in"],
    ...                   "visited_at": ["2026-03-13T10:00:00", "2025-12-04T10:00:00",
    ...                                  "2026-03-14T08:00:00"]})
    >>> suppressed_until(["1", "2", "3", "4"], v, "2026-03-14T10:00:00",
    ...                  SuppressionWindows()).tolist()
    ['2026-04-10T10:00:00', None, '2026-03-14T12:00:00', None]
    """
    keys = np.asarray(uprns, dtype=object)
    out = np.full(len(keys), None, dtype=object)
    if not len(visits) or not len(keys):
        return out
    moment = parse_moment(now) if not isinstance(now, pd.Timestamp) else now
    when = pd.to_datetime(visits["visited_at"].astype(str), errors="coerce", format="ISO8601")
    outcome = visits["outcome"].astype(str).to_numpy(dtype=object)
    span = np.full(len(visits), pd.Timedelta(days=windows.visited_days).value, dtype="int64")
    span[outcome == "declined"] = pd.Timedelta(days=windows.declined_days).value
    span[outcome == "not_in"] = pd.Timedelta(hours=windows.not_in_hours).value
    ends = when + pd.to_timedelta(span, unit="ns")
    live = (when.notna() & (when <= moment) & (ends > moment)).to_numpy(dtype=bool)
    if not live.any():
        return out
    last = pd.Series(ends[live].to_numpy(), index=visits["uprn"].astype(str).to_numpy()[live])
    last = last.groupby(level=0).max()
    got = pd.Series(keys.astype(str)).map(last)
    has = got.notna().to_numpy()
    out[has] = got[has].dt.strftime(_STAMP).to_numpy(dtype=object)
    return out


def walk_list(store, setup_id: str, *, now: str | datetime | None = None,
              include_suppressed: bool = False) -> pd.DataFrame:
    """The doors to knock for a stored set-up at ``now`` (default the clock), in walking order.

    A household is left off while it is held back: by the visits known when the set-up was
    created (its stored ``suppressed_until``) or by any visit recorded since at its address
    (the set-up's windows applied at ``now``).

    Parameters
    ----------
    include_suppressed : bool
        Keep the held-back households too (``suppressed_until`` says until when).

    Returns
    -------
    pandas.DataFrame
        :data:`WALK_LIST_COLUMNS`, sorted by ``street_rank`` then ``walk_order``. No names,
        no contacts.
    """
    from spatial_core.targeting.setups import get_setup

    setup = get_setup(store, setup_id)
    t = schema.table("setup_households")
    h = store.read("setup_households", ["setup_id", "street_id", "uprn", "postcode", "walk_order",
                                        "along_m", "grp", "is_target", "reason",
                                        "suppressed_until", "x", "y", "lat", "lng"],
                   where=t.c.setup_id == setup_id)
    ts = schema.table("setup_streets")
    st = store.read("setup_streets", ["street_id", "street_rank", "name"],
                    where=ts.c.setup_id == setup_id)
    h = h.merge(st.rename(columns={"name": "street_name"}), on="street_id", how="left")
    h = h.rename(columns={"grp": "group"})
    h["is_target"] = h["is_target"].astype(bool)
    moment = parse_moment(now)
    created = pd.Timestamp(setup.created_at)
    tv = schema.table("visits")
    v = store.read("visits", ["uprn", "visited_at", "outcome"],
                   where=tv.c.visited_at > setup.created_at)
    v = v[v["uprn"].isin(set(h["uprn"]))]
    later = suppressed_until(h["uprn"].to_numpy(dtype=object), v, moment, setup.windows) \
        if moment > created else np.full(len(h), None, dtype=object)
    stored = h["suppressed_until"].to_numpy(dtype=object)
    stored = stored.copy()
    stored[~(pd.notna(stored) & (stored.astype(str) > moment.strftime(_STAMP)))] = None
    both = np.where(pd.isna(stored), later, stored)
    two = pd.notna(stored) & pd.notna(later)
    if two.any():
        both[two] = np.where(later[two].astype(str) > stored[two].astype(str), later[two],
                             stored[two])
    h["suppressed_until"] = both
    if not include_suppressed:
        h = h[pd.isna(h["suppressed_until"])]
    h = h.sort_values(["street_rank", "walk_order"], kind="stable")
    return h[list(WALK_LIST_COLUMNS)].reset_index(drop=True)
