# SPDX-License-Identifier: GPL-3.0-or-later
"""The main job: what a force asks of a freshly loaded store, in one call.

It answers the questions of the product's one-line description — which streets to visit and
why, what residents say their local priorities are, and whom the force is not hearing — by
calling the analytics modules in turn, storing the street-score run so that every
recommendation can be reproduced, and returning plain data for a front to print or serve.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from spatial_core.io.imports import Progress

__all__ = ["MainJobResult", "run_main_job"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MainJobResult:
    """What :func:`run_main_job` found."""

    run_id: str
    profile: str
    as_of: str
    streets_scored: int
    top_streets: pd.DataFrame
    priority_sentences: list[str]
    underrepresented: pd.DataFrame
    low_coverage_beats: int = 0
    notes: list[str] = field(default_factory=list)


def run_main_job(store, *, profile: str | None = None, scheme: str = "oac2011", level: int = 1,
                 target: float = 0.7, top: int = 3, progress: Progress | None = None,
                 prepare=None) -> MainJobResult:
    """Score every street (stored as a run), local priorities per beat, representation.

    Parameters
    ----------
    profile : str, optional
        A targeting profile file or shipped name (default ``default``).
    scheme, level : the geodemographic groups compared for representation.
    target : float
        Each group should reach this share of its proportionate share (default 0.7).
    top : int
        Streets per beat in ``top_streets``.
    prepare : callable, optional
        How the scoring inputs are prepared (:func:`spatial_core.api.scores.
        score_streets_for`); default: the whole store at once.
    """
    from spatial_core.analytics.priorities import priority_summary
    from spatial_core.analytics.representation import coverage, representation
    from spatial_core.api import FORCE
    from spatial_core.api.scores import score_streets_for
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import save_scores

    def tell(fraction: float, message: str) -> None:
        if progress:
            progress(fraction, message)

    prof = load_profile(profile)
    tell(0.0, "preparing street scores")
    run = score_streets_for(store, FORCE, prof, prepare=prepare)
    tell(0.5, "scoring streets")
    run_id = save_scores(store, run)
    scores = run.scores
    top_streets = scores[scores["rank_in_beat"] <= top].sort_values(["beat_id", "rank_in_beat"])
    tell(0.6, "local priorities")
    summary = priority_summary(store, level="beat")
    tell(0.75, "representation")
    rep = representation(store, scheme=scheme, level=level, area_level="force", target=target)
    under = rep[rep["member_below"].fillna(False).astype(bool)].sort_values("member_ratio")
    cov = coverage(store, area_level="beat")
    low = int(cov["low_coverage"].fillna(False).astype(bool).sum()) if "low_coverage" in cov else 0
    tell(1.0, "done")
    return MainJobResult(run_id=run_id, profile=prof.name, as_of=str(run.as_of),
                         streets_scored=len(scores), top_streets=top_streets,
                         priority_sentences=summary["sentence"].head(5).tolist(),
                         underrepresented=under, low_coverage_beats=low)
