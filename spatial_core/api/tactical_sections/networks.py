# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's key individual networks: the area's beats with their key
individuals and advisory group members, the beats without a network list, and the groups
the key individual network under-represents in the area.

Counts of people from 1 to k-1 read ``<k`` (a printed briefing travels, as in the
recommended actions), and a partner or public scope gets
:func:`spatial_core.api.networks.network_gaps`' disclosure-controlled counts. No name.
"""
from __future__ import annotations

import math

from spatial_core.api.tactical import SectionContext, TacticalSection

__all__ = ["section", "MAX_BEATS"]

MAX_BEATS = 28
"""Beats listed at most (a force's: those without a key individual first)."""


def _count(v, k: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "withheld"
    return f"<{k}" if 1 <= int(v) < k else f"{int(v):,}"


def _beats_of(ctx: SectionContext, gaps):
    """The beats of the document's area (a ward's: those holding its households)."""
    if ctx.level == "force":
        return gaps
    if ctx.level == "beat":
        return gaps[gaps["area_id"] == ctx.area_id]
    if ctx.level == "npa":
        return gaps[gaps["npa_id"] == ctx.area_id]
    from spatial_core.analytics.population import households

    h = households(ctx.store)
    beats = set(h.loc[h["ward_id"] == ctx.area_id, "beat_id"].dropna())
    return gaps[gaps["area_id"].isin(beats)]


def section(ctx: SectionContext) -> TacticalSection | None:
    """The area's key individual network gaps, or None when it has no beats."""
    from spatial_core.api.networks import network_gaps, network_groups

    k = ctx.scope.k
    gaps = _beats_of(ctx, network_gaps(ctx.store, ctx.scope))
    if not len(gaps):
        return None
    none = gaps["no_key_individual"] == True  # noqa: E712 - None where withheld
    gaps = gaps.assign(_none=~none).sort_values(["_none", "area_id"], kind="stable")
    rows = tuple((str(r["area_name"]), _count(r["households"], 1), _count(r["members"], k),
                  _count(r["key_individual"], k), _count(r["iag"], k),
                  "no key individual" if r["no_key_individual"] is True else "")
                 for r in gaps.head(MAX_BEATS).to_dict("records"))
    groups = network_groups(ctx.store, ctx.scope, by="class", area_level=ctx.level,
                            scheme=getattr(ctx.profile, "scheme", "oac2011"),
                            level=getattr(ctx.profile, "level", 1), target=ctx.target)
    groups = groups[(groups["area_id"] == ctx.area_id)
                    & (groups["network_member_below"] == True)  # noqa: E712
                    & (groups["population"].fillna(1) != 0)]
    under = ", ".join(f"{r['group_name']} ({r['network_member_ratio']:.2f})"
                      for r in groups.sort_values("network_member_ratio").to_dict("records"))
    more = f" ({len(gaps) - MAX_BEATS} more beats not listed)" if len(gaps) > MAX_BEATS else ""
    return TacticalSection(
        key="networks", title="Key individual networks",
        columns=("Beat", "Households", "Members", "Key individuals", "IAG", "Gap"),
        rows=rows,
        note=(f"{int(none.sum())} of {len(gaps)} beats have no current key individual{more}. "
              f"Key individuals below {ctx.target:.0%} of their share of households, by "
              f"geodemographic class: {under or 'none'}. Counts of people below {k} read "
              f"<{k}. lpt networks; docs/analytics/networks.md."),
        order=45)
