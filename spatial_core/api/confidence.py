# SPDX-License-Identifier: GPL-3.0-or-later
"""Confidence, feeling safe and their change over time, per area, for a caller's scope.

Two use cases over the analytics (which they call, never rewrite):

- :func:`area_confidence`: per beat, npa, ward and force, the mean confidence and feeling
  safe with n and 95% intervals, crime and harm rates, and the outlier flags of
  :func:`spatial_core.analytics.confidence.area_confidence` (each level fitted on its own
  areas, exactly as ``lpt confidence --level LEVEL`` prints it), with the area polygon;
- :func:`area_change`: per area, the newest quarter of
  :func:`spatial_core.analytics.change.quarterly_snapshots`, the change since the quarter
  before (:func:`~spatial_core.analytics.change.quarter_changes`), the linear trend over the
  quarters (:func:`~spatial_core.analytics.change.quarter_trends`), the panel of people who
  answered in both quarters (:func:`~spatial_core.analytics.change.paired_change`: n and the
  mean change with its interval, never a person) and the quarterly series, with the polygon.

Who sees what is the :class:`~spatial_core.api.Scope`'s, as for area profiles: police roles
their own areas (:func:`spatial_core.api.areas.visible_rows`), exact; partners and the public
every area with the disclosure rule applied here, once, for every front:

- every count (respondents with an answer, households, crimes, members, the panel's n) goes
  through :func:`spatial_core.analytics.disclosure.suppress_counts` over the area tree (all
  four levels in one table, so that a level cannot be differenced against another), with
  the beat/npa x ward overlaps of the same points (respondents, households, crimes; members
  and the panel per quarter too);
- a value computed from a withheld count is withheld with it: a mean and its interval with
  its n; a rate with its count; the feeling-safe gap with its n or its crime count, the
  confidence gap with either n; a change with the count of either quarter; a trend with any
  quarter's; the panel's change with the panel's n.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from spatial_core.analytics.population import AREA_LEVELS
from spatial_core.api import FORCE, Scope
from spatial_core.api.areas import visible_rows
from spatial_core.errors import InputError

__all__ = ["area_confidence", "area_confidence_table", "area_change", "area_change_table",
           "CHANGE_MEASURES", "TREND_MEASURES", "LEVELS"]

LEVELS = AREA_LEVELS
"""Every level is computed together (disclosure runs over the whole tree)."""

CHANGE_MEASURES = {"confidence": "confidence_mean", "feel_safe": "feel_safe_mean",
                   "members_per_100": "members_per_100", "crimes": "crimes",
                   "responses": "responses"}
"""Published name -> measure of :func:`spatial_core.analytics.change.quarter_changes`."""

TREND_MEASURES = ("confidence", "feel_safe", "crimes")
"""Measures whose linear trend over the quarters is published."""

_MEAN_COLS = ("confidence", "feel_safe")


def _levels(level: str | None) -> tuple[str, ...]:
    if level is None:
        return LEVELS
    if level not in LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    return (level,)


def _scoped(frame: pd.DataFrame, scope: Scope, level: str | None) -> pd.DataFrame:
    mask = visible_rows(frame, scope)
    keep = np.ones(len(frame), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if level is not None:
        keep &= (frame["level"] == _levels(level)[0]).to_numpy(dtype=bool)
    return frame[keep].reset_index(drop=True)


def _with_areas(store, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames of each level stacked, with ``level``, ``parent_id`` and the polygon."""
    from spatial_core.analytics.population import area_table
    from spatial_core.api.export import area_geometries

    out = pd.concat(frames, ignore_index=True)
    tree = area_table(store).set_index("area_id")
    out.insert(2, "parent_id", out["area_id"].map(tree["parent_id"]).astype(object))
    shapes = area_geometries(store, out["area_id"].tolist())
    out["geometry"] = [shapes.get(i) for i in out["area_id"]]
    return out


# -- disclosure -----------------------------------------------------------------------------
def _tree(store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """area_id, level, parent_id as the disclosure rule sees the tree (orphan wards and npas
    under the one force, as :func:`~spatial_core.analytics.disclosure.counts_and_overlaps`
    puts them), and the households' beat/npa x ward overlaps (addresses carry their beat and
    ward)."""
    from spatial_core.analytics.population import area_table

    a = area_table(store)[["area_id", "level", "parent_id"]].copy()
    forces = a.loc[a["level"] == "force", "area_id"].tolist()
    orphan = a["level"].isin(["ward", "npa"]) & ~a["parent_id"].isin(a["area_id"])
    a.loc[orphan, "parent_id"] = forces[0] if len(forces) == 1 else None
    h = store.read("addresses", ["beat_id", "ward_id"])
    npa = a[a["level"] == "beat"].set_index("area_id")["parent_id"]
    homes = pd.DataFrame({"beat_id": h["beat_id"].astype(object),
                          "npa_id": h["beat_id"].map(npa).astype(object),
                          "ward_id": h["ward_id"].astype(object)})
    return a, _pairs(homes, "households")


def _placed(store, x, y, tree: pd.DataFrame) -> pd.DataFrame:
    """beat_id, npa_id, ward_id of points (EPSG:27700)."""
    from spatial_core.store.index import assign_points_to_areas

    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    beat = assign_points_to_areas(store, x, y, "beat") if len(x) else np.array([], object)
    ward = assign_points_to_areas(store, x, y, "ward") if len(x) else np.array([], object)
    npa = tree[tree["level"] == "beat"].set_index("area_id")["parent_id"]
    beat_s = pd.Series(beat, dtype=object)
    return pd.DataFrame({"beat_id": beat_s, "npa_id": beat_s.map(npa).astype(object),
                         "ward_id": pd.Series(ward, dtype=object)})


def _pairs(placed: pd.DataFrame, name: str) -> pd.DataFrame:
    from spatial_core.analytics.disclosure import pair_counts

    return pair_counts(placed["beat_id"], placed["npa_id"], placed["ward_id"]).rename(
        name).reset_index()


def _suppress(frame: pd.DataFrame, columns: list[str], tree: pd.DataFrame,
              overlaps: list[pd.DataFrame], k: int) -> pd.DataFrame:
    """``frame``'s count ``columns`` through :func:`suppress_counts` over ``tree`` (areas the
    tree lacks are roots), each with its overlaps; object columns of ints and None."""
    from spatial_core.analytics.disclosure import suppress_counts

    f = frame[["area_id", *columns]].copy()
    t = tree.set_index("area_id")
    f["level"] = f["area_id"].map(t["level"]).fillna("other")
    f["parent_id"] = f["area_id"].map(t["parent_id"]).astype(object)
    for c in columns:
        f[c] = pd.to_numeric(f[c], errors="coerce").fillna(0).astype("int64")
    pairs = None
    for o in overlaps:
        pairs = o if pairs is None else pairs.merge(o, on=["area_a", "area_b"], how="outer")
    if pairs is not None:
        pairs = pairs.fillna(0)
    return suppress_counts(f, columns, k=k, overlaps=pairs)


def _withhold(out: pd.DataFrame, hidden: np.ndarray, columns) -> None:
    for c in columns:
        if c in out.columns:
            values = out[c].astype(object).to_numpy(copy=True)
            values[hidden] = None
            out[c] = values


# -- confidence ----------------------------------------------------------------------------
def area_confidence_table(store, *, k: int | None = None, period: str | None = None,
                          crime_period: str | None = None, rate: str = "crime",
                          min_n: int = 10, z_flag: float = 2.0,
                          levels: tuple[str, ...] = LEVELS) -> pd.DataFrame:
    """Every area of every level: :func:`spatial_core.analytics.confidence.area_confidence`
    per level (its columns; fitted per level), ``level``, ``parent_id``, ``disclosure`` and
    ``geometry``; ``k`` given: disclosure-controlled (module docstring; every level is
    then computed, whatever ``levels`` says). The fits are in ``attrs["fits"]`` per level."""
    from spatial_core.analytics.confidence import area_confidence as per_level
    from spatial_core.analytics.population import parse_period, respondents_frame

    p = parse_period(period)
    r = respondents_frame(store, period=p)
    frames, fits, months = [], {}, None
    for lv in (LEVELS if k is not None else levels):
        t = per_level(store, level=lv, period=p, crime_period=crime_period, rate=rate,
                      min_n=min_n, z_flag=z_flag, respondents=r)
        fits[lv] = t.attrs.get("fits")
        months = t.attrs.get("months")
        frames.append(t.assign(level=lv)[["area_id", "level", *t.columns[1:]]])
    out = _with_areas(store, frames)
    if k is None:
        out["disclosure"] = "exact"
    else:
        out = _disclose_confidence(store, out, r, crime_period if crime_period is not None
                                   else period, k)
    out.attrs["fits"] = fits
    out.attrs["months"] = months
    return out


def _crime_points(store, crime_period) -> pd.DataFrame:
    """x, y of the crimes :func:`~spatial_core.analytics.confidence.area_confidence` counts
    (located, not flagged, in the period)."""
    from spatial_core.analytics.population import parse_period

    c = store.read("crimes", ["month", "x", "y", "is_outlier"])
    c = c[(c["is_outlier"].fillna(0) == 0) & c["x"].notna()]
    cp = parse_period(crime_period)
    if cp is not None:
        c = c[(c["month"] >= cp.start[:7]) & (c["month"] <= cp.end[:7])]
    return c


def _disclose_confidence(store, out: pd.DataFrame, r: pd.DataFrame, crime_period,
                         k: int) -> pd.DataFrame:
    tree, homes = _tree(store)
    c = _crime_points(store, crime_period)
    crimes = _pairs(_placed(store, c["x"], c["y"], tree), "crimes")
    answers = [_pairs(r[r[m].notna()], f"{m}_n") for m in _MEAN_COLS]
    safe = _suppress(out, ["confidence_n", "feel_safe_n", "households", "crimes"], tree,
                     [homes, crimes, *answers], k)
    out = out.copy()
    for c_ in ("confidence_n", "feel_safe_n", "households", "crimes"):
        out[c_] = safe[c_].to_numpy(object)
    no = {c_: pd.isna(out[c_]).to_numpy(dtype=bool) for c_ in
          ("confidence_n", "feel_safe_n", "households", "crimes")}
    for m in _MEAN_COLS:
        _withhold(out, no[f"{m}_n"], [m, f"{m}_ci_low", f"{m}_ci_high"])
    _withhold(out, no["crimes"] | no["households"], ["crime_rate", "harm", "harm_rate"])
    _withhold(out, no["crimes"], ["crimes"])
    safe_gap = ["safe_gap", "safe_gap_se", "safe_z", "safe_outlier"]
    _withhold(out, no["feel_safe_n"] | no["crimes"] | no["households"], safe_gap)
    _withhold(out, no["feel_safe_n"] | no["confidence_n"],
              ["confidence_gap", "confidence_gap_se", "confidence_z", "confidence_outlier"])
    out["disclosure"] = f"k={k}"
    return out


def area_confidence(store, scope: Scope = FORCE, *, level: str | None = None,
                    period: str | None = None, crime_period: str | None = None,
                    rate: str = "crime", min_n: int = 10, z_flag: float = 2.0) -> pd.DataFrame:
    """Confidence, feeling safe, crime and the outliers per area as ``scope`` may see them:
    police roles their own areas, exact; partners and the public every area, disclosure-
    controlled at ``scope.k``. ``level`` (beat, npa, ward, force) keeps one level (None:
    all). Columns: those of
    :func:`spatial_core.analytics.confidence.area_confidence` and ``level``, ``parent_id``,
    ``disclosure``, ``geometry`` (EPSG:27700).

    Examples
    --------
    >>> from spatial_core.api import Scope
    >>> area_confidence(None, Scope(), level="street")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    spatial_core.errors.InputError: level 'street' is not one of beat, ward, npa, force
    """
    _levels(level)
    frame = area_confidence_table(store, k=scope.disclosure_k, period=period,
                                  crime_period=crime_period, rate=rate, min_n=min_n,
                                  z_flag=z_flag, levels=_levels(level))
    out = _scoped(frame, scope, level)
    out.attrs.update(frame.attrs)
    return out


# -- change ---------------------------------------------------------------------------------
def area_change_table(store, *, k: int | None = None, quarters=None,
                      paired: tuple[str, str] | None = None,
                      levels: tuple[str, ...] = LEVELS) -> pd.DataFrame:
    """Every area of every level: the newest quarter, the change since the quarter before,
    trends, the panel and the quarterly ``series``; ``k`` given: disclosure-controlled
    (module docstring). ``paired``: the panel's two periods (default the last two
    quarters; ``levels``: as for :func:`area_confidence_table`)."""
    from spatial_core.analytics.change import (
        paired_change,
        quarter_changes,
        quarter_trends,
        snapshots_by_level,
    )
    from spatial_core.analytics.population import area_table, respondents_frame

    stored = set(area_table(store)["level"])  # a store may have no wards (or no npas)
    wanted = LEVELS if k is not None else levels
    levels = tuple(lv for lv in wanted if lv in stored)
    if not levels:
        raise InputError(f"no {' or '.join(wanted)} is stored (levels stored: "
                         f"{', '.join(sorted(stored))}): import boundaries first")
    snaps = snapshots_by_level(store, levels, quarters=quarters, representation=False)
    qs = snaps[levels[0]].quarters
    if paired is None and len(qs) >= 2:
        paired = (qs[-2], qs[-1])
    r = respondents_frame(store) if paired is not None else None
    tree = _tree(store) if k is not None else None
    overlaps = _quarter_overlaps(store, qs, tree) if tree is not None else None
    if tree is not None and k is not None:  # every level in one table: none differenced alone
        every = _disclose_snapshots(pd.concat([snaps[lv].areas for lv in levels],
                                              ignore_index=True), tree, overlaps, k)
        snaps = {lv: type(sn)(sn.level, sn.quarters,
                              every[every["area_id"].isin(set(sn.areas["area_id"]))]
                              .reset_index(drop=True), sn.priorities.iloc[0:0], None)
                 for lv, sn in snaps.items()}
    frames = []
    for lv in levels:
        snap = snaps[lv]
        pair = (paired_change(store, paired[0], paired[1], level=lv, respondents=r)
                if paired is not None else None)
        frames.append(_change_rows(lv, snap, quarter_changes(snap) if len(qs) > 1 else None,
                                   quarter_trends(snap), pair, tree is not None))
    out = _with_areas(store, frames)
    out["panel_first"] = paired[0] if paired is not None else None
    out["panel_second"] = paired[1] if paired is not None else None
    if tree is None or k is None:
        out["disclosure"] = "exact"
    else:
        out = _disclose_panel(store, out, r, paired, tree, k)
        out["disclosure"] = f"k={k}"
    for c in ("responses", "confidence_n", "feel_safe_n", "crimes"):
        out[c] = pd.Series([None if v is None or (isinstance(v, float) and math.isnan(v))
                            else int(v) for v in out[c].astype(object)], index=out.index,
                           dtype=object)
    out.attrs["quarters"] = list(qs)
    return out


def _quarter_overlaps(store, quarters, tree) -> dict[str, list[pd.DataFrame]]:
    """Per quarter, the beat/npa x ward overlaps of the snapshot's counts: households,
    crimes of the quarter, members on its last day, responses and answers."""
    from spatial_core.analytics.change import quarter_end
    from spatial_core.analytics.population import is_current_member, respondents_frame

    tree_f, homes = tree
    crimes = store.read("crimes", ["month", "x", "y", "is_outlier"])
    crimes = crimes[(crimes["is_outlier"].fillna(0) == 0) & crimes["x"].notna()]
    crimes = crimes.reset_index(drop=True)
    crime_at = _placed(store, crimes["x"], crimes["y"], tree_f)
    members = store.read("members", ["x", "y", "joined", "left_on"])
    members = members[members["x"].notna()].reset_index(drop=True)
    member_at = _placed(store, members["x"], members["y"], tree_f)
    out = {}
    for q in quarters:
        r = respondents_frame(store, period=q)
        months = [f"{q[:4]}-{m:02d}" for m in range(3 * int(q[5]) - 2, 3 * int(q[5]) + 1)]
        in_q = crimes["month"].isin(months).to_numpy(dtype=bool)
        current = np.asarray(is_current_member(members["joined"], members["left_on"],
                                               quarter_end(q)), dtype=bool)
        out[q] = [homes, _pairs(crime_at[in_q], "crimes"), _pairs(member_at[current], "members"),
                  _pairs(r, "responses"),
                  *[_pairs(r[r[m].notna()], f"{m}_n") for m in _MEAN_COLS]]
    return out


_SNAPSHOT_COUNTS = ["responses", "confidence_n", "feel_safe_n", "households", "members",
                    "crimes"]
_FLOW_COUNTS = ("responses", "confidence_n", "feel_safe_n", "crimes")
"""Counts of a quarter that add up to all-time totals (households and members are stocks)."""


def _disclose_snapshots(a: pd.DataFrame, tree, overlaps, k: int) -> pd.DataFrame:
    """Each quarter's counts of every area suppressed with their overlaps; means, rates and
    the values of withheld counts set to NaN, so that the changes and trends computed from
    them are NaN too."""
    out = []
    for q, part in a.groupby("quarter", sort=False):
        part = part.copy()
        safe = _suppress(part, _SNAPSHOT_COUNTS, tree[0], overlaps[q], k)
        for c in _SNAPSHOT_COUNTS:
            hidden = pd.isna(safe[c]).to_numpy(dtype=bool)
            part[c] = part[c].astype("float64").where(~hidden, np.nan)
        for m in _MEAN_COLS:
            hide = part[f"{m}_n"].isna().to_numpy(dtype=bool)
            part.loc[hide, [f"{m}_mean", f"{m}_sd"]] = np.nan
        hide = (part["members"].isna() | part["households"].isna()).to_numpy(dtype=bool)
        part.loc[hide, "members_per_100"] = np.nan
        out.append(part)
    a = pd.concat(out).sort_values(["area_id", "quarter"]).reset_index(drop=True)
    # Flows add up over the quarters to totals published elsewhere (area_confidence counts
    # every answer and crime): one withheld quarter beside published ones could be worked
    # out from the total, so an area with any withheld quarter of a flow has them all
    # withheld.
    for c in _FLOW_COUNTS:
        gappy = a[c].isna().groupby(a["area_id"]).transform("any").to_numpy(dtype=bool)
        a.loc[gappy, c] = np.nan
    for m in _MEAN_COLS:
        a.loc[a[f"{m}_n"].isna().to_numpy(dtype=bool), [f"{m}_mean", f"{m}_sd"]] = np.nan
    a.loc[a["crimes"].isna().to_numpy(dtype=bool), "harm"] = np.nan
    return a


def _plain(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _change_rows(level: str, snap, changes: pd.DataFrame | None, trends: pd.DataFrame,
                 pair: pd.DataFrame | None, complete: bool) -> pd.DataFrame:
    a = snap.areas
    qs = snap.quarters
    last = a[a["quarter"] == qs[-1]].set_index("area_id")
    ids = sorted(set(a["area_id"]))
    out = pd.DataFrame({"area_id": ids, "level": level})
    out["area_name"] = out["area_id"].map(a.drop_duplicates("area_id").set_index("area_id")[
        "area_name"])
    out["quarter_from"] = qs[-2] if len(qs) > 1 else None
    out["quarter_to"] = qs[-1]
    out["quarters"] = len(qs)
    for name, col in (("responses", "responses"), ("confidence_n", "confidence_n"),
                      ("confidence", "confidence_mean"), ("feel_safe_n", "feel_safe_n"),
                      ("feel_safe", "feel_safe_mean"), ("members_per_100", "members_per_100"),
                      ("crimes", "crimes")):
        out[name] = out["area_id"].map(last[col])
    for name, measure in CHANGE_MEASURES.items():
        for suffix, col in (("change", "change"), ("change_ci_low", "ci_low"),
                            ("change_ci_high", "ci_high")):
            if changes is None or not len(changes):
                out[f"{name}_{suffix}"] = np.nan
                continue
            c = changes[(changes["measure"] == measure)
                        & (changes["quarter_to"] == qs[-1])].set_index("area_id")
            out[f"{name}_{suffix}"] = out["area_id"].map(c[col]).astype("float64")
    for name in TREND_MEASURES:
        t = trends[trends["measure"] == CHANGE_MEASURES[name]].set_index("area_id")
        for suffix, col in (("trend", "slope"), ("trend_ci_low", "ci_low"),
                            ("trend_ci_high", "ci_high")):
            out[f"{name}_{suffix}"] = out["area_id"].map(t[col]).astype("float64")
        if complete:  # disclosed: a gap in the series would let the trend be solved for it
            n = out["area_id"].map(t["quarters"]).fillna(0).to_numpy()
            for suffix in ("trend", "trend_ci_low", "trend_ci_high"):
                out.loc[n < len(qs), f"{name}_{suffix}"] = np.nan
    for m in _MEAN_COLS:
        p = (pair[(pair["measure"] == m) & (pair["area_id"] != "all")].set_index("area_id")
             if pair is not None else None)
        for suffix, col in (("n", "n"), ("change", "mean_change"), ("ci_low", "ci_low"),
                            ("ci_high", "ci_high")):
            out[f"panel_{m}_{suffix}"] = (out["area_id"].map(p[col]) if p is not None
                                          else np.nan)
        out[f"panel_{m}_n"] = out[f"panel_{m}_n"].fillna(0).astype("int64")
    series = a.assign(**{"confidence": a["confidence_mean"], "feel_safe": a["feel_safe_mean"]})
    keep = ["quarter", "responses", "confidence", "feel_safe", "members_per_100", "crimes"]
    by_area = {i: [{k_: (int(v) if k_ in ("responses", "crimes") and v is not None else v)
                    for k_, v in ((k_, _plain(v)) for k_, v in row.items())}
                   for row in g[keep].to_dict("records")] for i, g in series.groupby("area_id")}
    out["series"] = [by_area.get(i, []) for i in out["area_id"]]
    return out


def _disclose_panel(store, out: pd.DataFrame, r: pd.DataFrame | None, paired, tree,
                    k: int) -> pd.DataFrame:
    """The panel's n per area suppressed over the tree with the overlaps of the panel's
    people (placed as :func:`~spatial_core.analytics.change.paired_change` places them: the
    area of their latest answer in the second period); the change withheld with it."""
    from spatial_core.analytics.population import period_mask

    tree_f, _ = tree
    out = out.copy()
    for m in _MEAN_COLS:
        overlaps = []
        if r is not None and paired is not None:
            rr = r[r["member_id"].notna() & r[m].notna()]
            in_a = rr[period_mask(rr["responded"], paired[0])]
            in_b = rr[period_mask(rr["responded"], paired[1])].sort_values("responded")
            people = in_b[in_b["member_id"].isin(set(in_a["member_id"]))]
            people = people.groupby("member_id")[["beat_id", "npa_id", "ward_id"]].last()
            overlaps.append(_pairs(people, f"panel_{m}_n"))
        safe = _suppress(out, [f"panel_{m}_n"], tree_f, overlaps, k)
        out[f"panel_{m}_n"] = safe[f"panel_{m}_n"].to_numpy(object)
        hidden = pd.isna(out[f"panel_{m}_n"]).to_numpy(dtype=bool)
        _withhold(out, hidden, [f"panel_{m}_change", f"panel_{m}_ci_low",
                                f"panel_{m}_ci_high"])
    return out


def area_change(store, scope: Scope = FORCE, *, level: str | None = None, quarters=None,
                paired: tuple[str, str] | None = None) -> pd.DataFrame:
    """Change over time per area as ``scope`` may see it (police roles: their areas, exact;
    partners and the public: every area, disclosure-controlled at ``scope.k``); ``level``
    keeps one level. One row per area: ``quarter_from``, ``quarter_to``, the newest
    quarter's ``responses``, ``confidence_n``, ``confidence``, ``feel_safe_n``,
    ``feel_safe``, ``members_per_100``, ``crimes``; ``<measure>_change`` with
    ``_change_ci_low`` / ``_change_ci_high`` for the measures of :data:`CHANGE_MEASURES`;
    ``<measure>_trend`` (per quarter) with its interval for :data:`TREND_MEASURES`;
    ``panel_first``, ``panel_second`` and per measure ``panel_<m>_n``,
    ``panel_<m>_change``, ``panel_<m>_ci_low``, ``panel_<m>_ci_high``; ``series`` (a list
    of per-quarter values); ``level``, ``parent_id``, ``disclosure``, ``geometry``."""
    _levels(level)
    frame = area_change_table(store, k=scope.disclosure_k, quarters=quarters, paired=paired,
                              levels=_levels(level))
    out = _scoped(frame, scope, level)
    out.attrs.update(frame.attrs)
    return out
