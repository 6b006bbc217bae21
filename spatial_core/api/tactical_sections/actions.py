# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's recommended actions: each recommended street with what to do there
and why (:func:`spatial_core.api.scores.add_actions`, the shipped rules).

The streets are the document's recommended streets (score above 0, best first, the first
:data:`TOP`); counts of people in the reasons below the scope's ``k`` read ``<k``, as in
exports, because a printed briefing travels. Police scopes only: street scores are police data.
"""
from __future__ import annotations

from spatial_core.api.tactical import SectionContext, TacticalSection

__all__ = ["section", "TOP"]

TOP = 10
"""The recommended streets listed (the document's default ``top``)."""


def section(ctx: SectionContext) -> TacticalSection | None:
    """The recommended streets of ``ctx.area_id`` with their action and its reason."""
    from spatial_core.api.scores import add_actions, score_streets_for

    if not ctx.scope.police:
        return None
    run = score_streets_for(ctx.store, ctx.scope, ctx.profile, area=ctx.area_id)  # type: ignore[arg-type]
    s = run.scores
    top = s[s["score"] > 0].sort_values(["score", "street_id"], ascending=[False, True],
                                        kind="stable").head(TOP)
    if not len(top):
        return None
    top = add_actions(ctx.store, top.reset_index(drop=True), run.profile, as_of=run.as_of,
                      k=ctx.scope.k)
    rows = tuple(
        (str(i), str(r["name"] or r["street_id"]), f"{r['score']:.2f}", str(r["action_label"]),
         str(r["action_reason"]))
        for i, r in enumerate(top.to_dict("records"), start=1))
    return TacticalSection(
        key="actions", title="Recommended actions",
        columns=("Rank", "Street", "Score", "Action", "Why"), rows=rows,
        note=(f"The first rule that fits each street (spatial_core/data/recommended_actions.toml"
              f"; docs/analytics/recommended-actions.md), as of {run.as_of}, profile "
              f"{run.profile.name}. Counts of people below {ctx.scope.k} read <{ctx.scope.k}."),
        order=20)
