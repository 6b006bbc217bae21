# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's confidence section: the area's confidence in the police and
feeling safe (mean, 95% interval, n), whether it is an outlier against crime, the change
since the quarter before and the panel of people who answered in both quarters.

Aggregates only, from :mod:`spatial_core.api.confidence` with the document's scope (small
counts withheld there for partner and public scopes).
"""
from __future__ import annotations

import math

from spatial_core.api.confidence import area_change, area_confidence
from spatial_core.api.tactical import SectionContext, TacticalSection
from spatial_core.errors import InputError

__all__ = ["section"]

WITHHELD = "withheld"


def _num(v, spec: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(float(v), spec)


def _interval(low, high) -> str:
    if _num(low) == "-" or _num(high) == "-":
        return "-"
    return f"{_num(low)} to {_num(high)}"


def _n(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return WITHHELD
    return str(int(v))


def section(ctx: SectionContext) -> TacticalSection | None:
    """The confidence section of ``ctx.area_id`` (None: no survey answer there at all)."""
    conf = area_confidence(ctx.store, ctx.scope, level=ctx.level, period=ctx.period,
                           min_n=ctx.min_n)
    mine = conf[conf["area_id"] == ctx.area_id]
    if not len(mine) or (mine["feel_safe_n"].iloc[0] == 0
                         and mine["confidence_n"].iloc[0] == 0):
        return None  # no survey answer here: nothing to show
    c = mine.iloc[0]
    rows = [("Confidence in the police (1-5)", _num(c["confidence"]),
             _interval(c["confidence_ci_low"], c["confidence_ci_high"]),
             _n(c["confidence_n"])),
            ("Feeling safe (1-5)", _num(c["feel_safe"]),
             _interval(c["feel_safe_ci_low"], c["feel_safe_ci_high"]), _n(c["feel_safe_n"]))]
    for label, g in (("Feeling safe against crime", "safe"),
                     ("Confidence against feeling safe", "confidence")):
        flag = c[f"{g}_outlier"]
        z = c[f"{g}_z"]
        rows.append((label, flag if flag else ("withheld" if flag is None else "as expected"),
                     "" if _num(z) == "-" else f"z {_num(z, '+.1f')}", ""))
    try:
        change = area_change(ctx.store, ctx.scope, level=ctx.level)
    except InputError:  # nothing dated to make quarters of
        change = conf.iloc[0:0]
    here = change[change["area_id"] == ctx.area_id]
    note = (f"Means of the survey answers ({ctx.period or 'every period'}); an outlier is "
            f"|z| > 2 from the line across the {ctx.level}s with at least {ctx.min_n} "
            "answers. Changes: 95% intervals; the panel is the members who answered in both "
            "quarters.")
    if len(here):
        h = here.iloc[0]
        if h["quarter_from"]:
            since = f"since {h['quarter_from']} ({h['quarter_to']})"
            for label, m in (("Confidence", "confidence"), ("Feeling safe", "feel_safe")):
                rows.append((f"{label}: change {since}", _num(h[f"{m}_change"], "+.2f"),
                             _interval(h[f"{m}_change_ci_low"], h[f"{m}_change_ci_high"]),
                             _n(h[f"{m}_n"])))
            rows.append((f"Crimes: change {since}", _num(h["crimes_change"], "+.0f"),
                         _interval(h["crimes_change_ci_low"], h["crimes_change_ci_high"]),
                         _n(h["crimes"])))
        if h["panel_first"]:
            for label, m in (("Confidence", "confidence"), ("Feeling safe", "feel_safe")):
                rows.append((f"{label}: same people {h['panel_first']} to "
                             f"{h['panel_second']}", _num(h[f"panel_{m}_change"], "+.2f"),
                             _interval(h[f"panel_{m}_ci_low"], h[f"panel_{m}_ci_high"]),
                             _n(h[f"panel_{m}_n"])))
    if str(c.get("disclosure", "")).startswith("k="):
        note += f" Counts below {ctx.scope.k} and what they would give away are withheld."
    return TacticalSection(key="confidence", title="Confidence and feeling safe",
                           columns=("measure", "value", "95% interval", "n"),
                           rows=tuple(tuple(str(x) for x in r) for r in rows), note=note,
                           order=30)
