# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's "Did it work?": the set-ups of the area with their difference in
differences (:func:`spatial_core.api.evaluation.evaluate_setup`).

The newest :data:`MAX_SETUPS` set-ups the scope may see with a recommended street in the area,
one row per set-up and outcome: targeted before -> after, comparison before -> after, the
difference in differences with its 95% interval and a short verdict. Aggregates only; a
group's survey figures with fewer than ``k`` answers read ``<k`` (a printed briefing
travels). Police scopes only: set-ups are police data. A set-up that cannot be evaluated yet
(it started after the newest crime month) gets one row saying why.
"""
from __future__ import annotations

import math

from spatial_core.api.tactical import SectionContext, TacticalSection

__all__ = ["section", "MAX_SETUPS", "SHORT"]

MAX_SETUPS = 3
"""Set-ups shown (the newest first)."""

SHORT = {"better": "better", "worse": "worse", "no_clear_difference": "no clear difference",
         "too_little_data": "too little data"}
"""The verdict column's words per status."""


def _f(v: float) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:,.1f}"


def _pair(before: float, after: float, n_before: int, n_after: int, k: int,
          survey: bool) -> str:
    if survey and min(n_before, n_after) < k:
        return f"<{k} answers"
    return f"{_f(before)} -> {_f(after)}"


def section(ctx: SectionContext) -> TacticalSection | None:
    """The set-ups of ``ctx.area_id`` with their before/after lines."""
    from spatial_core.api.evaluation import evaluate_setup, setups_in_area
    from spatial_core.errors import InputError

    if not ctx.scope.police:
        return None
    found = setups_in_area(ctx.store, ctx.area_id, ctx.scope).head(MAX_SETUPS)
    if not len(found):
        return None
    k = ctx.scope.k
    rows: list[tuple[str, ...]] = []
    for sid, name in zip(found["setup_id"], found["name"], strict=True):
        label = f"{name} ({sid})"
        try:
            e = evaluate_setup(ctx.store, sid, ctx.scope)
        except InputError as exc:
            rows.append((label, "-", "-", "-", "-", "-", f"not yet: {exc}"))
            continue
        w = e.effect.windows
        labels = [label, f"  {len(w.before)} months before, {len(w.after)} after"]
        for i, r in enumerate(e.outcomes.itertuples()):
            survey = r.outcome in ("confidence", "feel_safe")
            rows.append((
                labels[i] if i < len(labels) else "", r.label,
                _pair(r.targeted_before, r.targeted_after, r.n_targeted_before,
                      r.n_targeted_after, k, survey),
                _pair(r.comparison_before, r.comparison_after, r.n_comparison_before,
                      r.n_comparison_after, k, survey),
                _f(r.did), f"{_f(r.ci_low)} to {_f(r.ci_high)}", SHORT[r.status]))
    return TacticalSection(
        key="setup_effect", title="Did it work? Set-ups against comparable streets",
        columns=("Set-up", "Outcome", "Targeted", "Comparison", "Difference",
                 "95% interval", "Verdict"),
        rows=tuple(rows),
        note=("Before -> after in the set-up's streets and in matched streets not targeted "
              "(same neighbourhood policing area, over 100 m away); difference in differences "
              "with a 95% interval from resampling streets. Crime and harm per 1,000 "
              "households a month, confidence and feeling safe in % answering 4-5, members per "
              "100 households. An observational comparison, not proof of an effect "
              "(docs/analytics/setup-evaluation.md; lpt evaluate setup ID)."),
        order=70)
