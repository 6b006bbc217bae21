# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's representation by census group: how the area's members compare
with its residents by ethnicity, main language and religion, where a census base is stored.

For each of those groupings with a base (``lpt import census``), the groups below target come
first (lowest ratio first), then the largest groups, :data:`PER_GROUPING` rows each: the
group's share of residents, of members, the ratio with its 95% interval, and "below" where
the ratio is under the document's target (judged where at least ``min_n`` members are
expected). The rows are :func:`spatial_core.api.groups.area_representation`'s, so a partner
or public scope gets them disclosure-controlled; member counts are not printed.
"""
from __future__ import annotations

import math

from spatial_core.api.tactical import SectionContext, TacticalSection

__all__ = ["section", "GROUPINGS", "PER_GROUPING"]

GROUPINGS = {"ethnicity": "Ethnicity", "language": "Main language", "religion": "Religion"}
"""The census groupings shown, in order, with their headings."""

PER_GROUPING = 8
"""Rows at most per grouping (a half page holds about 30)."""


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.0f}%"


def _ratio(r: dict) -> str:
    v, lo, hi = r["member_ratio"], r["member_ci_low"], r["member_ci_high"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.2f} ({lo:.2f}-{hi:.2f})"


def section(ctx: SectionContext) -> TacticalSection | None:
    """The area's representation by census group, or None when no census base is stored."""
    from spatial_core.analytics.representation import CENSUS_BASE
    from spatial_core.api.groups import area_representation
    from spatial_core.io.census import census_counts

    rows: list[tuple[str, ...]] = []
    shown = []
    for by, heading in GROUPINGS.items():
        if not len(census_counts(ctx.store, CENSUS_BASE[by][0])):
            continue
        groups = area_representation(ctx.store, ctx.area_id, ctx.scope, by=by,
                                     scheme=getattr(ctx.profile, "scheme", "oac2011"),
                                     level=getattr(ctx.profile, "level", 1),
                                     target=ctx.target, period=ctx.period)["groups"]
        groups = groups[groups["population"].fillna(1) != 0]
        if not len(groups):
            continue
        shown.append(heading.lower())
        below = groups["member_below"] == True  # noqa: E712 - None where withheld
        first = groups[below].sort_values("member_ratio", kind="stable")
        rest = groups[~below].sort_values("population_share", ascending=False, kind="stable")
        for r in list(first.to_dict("records")) + list(rest.to_dict("records")):
            if len(rows) - sum(1 for x in rows if x[0] != heading) >= PER_GROUPING:
                break
            name = str(r["group_name"]).rsplit(": ", 1)[-1]
            rows.append((heading, name, _pct(r["population_share"]), _pct(r["member_share"]),
                         _ratio(r), "below" if r["member_below"] is True else ""))
    if not rows:
        return None
    return TacticalSection(
        key="representation_groups", title="Representation by census group",
        columns=("Grouping", "Group", "Residents", "Members", "Ratio (95% CI)", "Target"),
        rows=tuple(rows),
        note=(f"Members' self-declared {', '.join(shown)} against the Census 2021 residents "
              f"of the area (each output area shared between areas by its households). "
              f"'below': under {ctx.target:.0%} of the group's proportionate share; groups "
              f"below target first, then the largest. docs/analytics/representation.md."),
        order=40)
