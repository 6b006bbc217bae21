# SPDX-License-Identifier: GPL-3.0-or-later
"""Street scores for a profile: the one place a front turns (scope, profile, area, day)
into a :class:`~spatial_core.targeting.scoring.ScoreRun`.

:func:`~spatial_core.targeting.scoring.prepare_inputs` does the spatial work at the
profile's scheme, class level and distances, :func:`~spatial_core.targeting.scoring.
run_scores` weights it; every front (``lpt score``, the service's ``score-area`` process and
``street_scores`` collection, the plugin's Score streets algorithm and tactical document)
calls :func:`score_streets_for` instead of spelling the pair out.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spatial_core.api import FORCE, Scope
from spatial_core.errors import NotFoundError
from spatial_core.targeting.profiles import Profile, load_profile

__all__ = ["score_streets_for", "ensure_score_run"]


def score_streets_for(store, scope: Scope = FORCE, profile: Profile | str | Path | None = None,
                      *, area: str | None = None, as_of: str | None = None,
                      progress: Callable[[float, str], None] | None = None):
    """Score the streets of ``area`` (every street when None) with ``profile`` as on
    ``as_of`` (default ``scope.as_of``, else the end of the newest crime month).

    Parameters
    ----------
    scope : Scope
        The caller. With a limited scope (``scope.areas`` not None) ``area`` must be one of
        its areas: any other id is "not found", exactly like an id that does not exist.
    profile : Profile, str or Path, optional
        A profile, a shipped profile name or a TOML file (default ``default``).

    Returns
    -------
    spatial_core.targeting.scoring.ScoreRun
        Not stored; :func:`spatial_core.targeting.scoring.save_scores` stores it.
    """
    from spatial_core.targeting.scoring import prepare_inputs, run_scores

    if scope.areas is not None and (area is None or area not in scope.areas):
        raise NotFoundError(f"no area {area!r} here" if area is not None else
                            "name an area of yours to score (the whole force is not in "
                            "your areas)")
    p = profile if isinstance(profile, Profile) else load_profile(profile)
    as_of = as_of if as_of is not None else scope.as_of
    inputs = prepare_inputs(store, area=area, as_of=as_of, scheme=p.scheme, level=p.level,
                            crime_distance_m=p.crime_distance_m,
                            voice_radius_m=p.voice_radius_m, progress=progress)
    return run_scores(inputs, p)


def ensure_score_run(store) -> str | None:
    """The newest stored score run's id; when there is none, score every street with the
    shipped ``default`` profile and store the run (None when the store has no streets)."""
    from spatial_core.targeting.scoring import load_scores, save_scores

    try:
        head, _ = load_scores(store)
        return str(head["run_id"])
    except NotFoundError:
        pass
    if not len(store.read("streets", ["street_id"])):
        return None
    return save_scores(store, score_streets_for(store, FORCE, "default"))
