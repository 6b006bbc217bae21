# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's set-up progress: the live set-ups with a street in the area, each
against its targets (:func:`spatial_core.api.progress.progress`), and the area's headline.

Police scopes only (set-ups are operational; partners and the public get no section, as in
the service). Aggregates only: no officer, address or person; each set-up shows its whole
progress, as on the officer page.
"""
from __future__ import annotations

from spatial_core.api import Scope
from spatial_core.api.tactical import SectionContext, TacticalSection

__all__ = ["section", "MAX_SETUPS"]

MAX_SETUPS = 20
"""Set-ups listed at most (the newest)."""


def _beats_of(ctx: SectionContext) -> frozenset[str] | None:
    """The beats of the document's area (None: the force; a ward's: those holding its
    households)."""
    from spatial_core.analytics.population import area_table, households

    if ctx.level == "force":
        return None
    if ctx.level == "beat":
        return frozenset({ctx.area_id})
    if ctx.level == "npa":
        a = area_table(ctx.store)
        return frozenset(a.loc[(a["level"] == "beat") & (a["parent_id"] == ctx.area_id),
                               "area_id"])
    h = households(ctx.store)
    return frozenset(h.loc[h["ward_id"] == ctx.area_id, "beat_id"].dropna())


def _of(done, target) -> str:
    if target is None or target != target:
        return f"{int(done):,}"
    return f"{int(done):,} of {int(target):,} ({done / target:.0%})" if target else \
        f"{int(done):,}"


def section(ctx: SectionContext) -> TacticalSection | None:
    """The area's live set-ups against their targets, or None when it has none (or the
    scope is a partner's or the public's)."""
    from spatial_core.api.progress import progress

    if not ctx.scope.police:
        return None
    beats = _beats_of(ctx)
    if ctx.scope.areas is not None:
        beats = (frozenset(ctx.scope.areas) if beats is None
                 else beats & frozenset(ctx.scope.areas))
    report = progress(ctx.store, Scope(role=ctx.scope.role, areas=beats, k=ctx.scope.k),
                      now=ctx.scope.as_of)
    if not len(report.setups):
        return None
    rows = []
    for s in report.setups.tail(MAX_SETUPS).to_dict(orient="records"):
        behind = ", ".join(s["behind_on"]) if s["behind"] else "on pace"
        rows.append((f"{s['name']} ({s['setup_id']})", f"{s['days_elapsed']:.0f}",
                     f"{s['households_visited']:,} of {s['households']:,}",
                     _of(s["visits"], s["target_visits"]),
                     _of(s["registered"], s["target_registrations"]),
                     _of(s["surveyed"] + s["surveyed_online"], s["target_surveys"]),
                     f"{s['beats_behind']}", behind))
    h = report.headline
    note = (f"In the area: {h['households_visited']:,} houses visited ({h['visits']:,} "
            f"visits), {h['registered']:,} registered ({h['joined']:,} now members), "
            f"{h['surveyed']:,} surveyed at the door and {h['surveyed_online']:,} online "
            f"later. Behind: {report.rule}.")
    return TacticalSection(
        key="progress", title="Targeting set-ups: progress against targets",
        columns=("Set-up", "Day", "Households visited", "Visits", "Registered", "Surveyed",
                 "Beats behind", "Pace"),
        rows=tuple(rows), note=note, order=60)
