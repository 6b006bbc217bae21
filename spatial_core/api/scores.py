# SPDX-License-Identifier: GPL-3.0-or-later
"""Street scores for a profile: the one place a front turns (scope, profile, area, day)
into a :class:`~spatial_core.targeting.scoring.ScoreRun`.

:func:`~spatial_core.targeting.scoring.prepare_inputs` does the spatial work at the
profile's scheme, class level and distances, :func:`~spatial_core.targeting.scoring.
run_scores` weights it; every front (``lpt score``, the service's ``score-area`` process and
``street_scores`` collection, the plugin's Score streets algorithm and tactical document)
calls :func:`score_streets_for` instead of spelling the pair out.

Recommended actions (:mod:`spatial_core.targeting.recommend`) are added to a run's scores by
:func:`add_actions`, the one place that gathers their context from the store (members per
street, the beats' local priorities and key contacts, when their crime happens) and calls
:func:`~spatial_core.targeting.recommend.recommend_actions`: ``score_streets_for(...,
actions=...)`` for computed scores, and :func:`add_actions` on stored ones.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.api import FORCE, Scope
from spatial_core.errors import NotFoundError
from spatial_core.targeting.profiles import Profile, load_profile
from spatial_core.targeting.recommend import ActionContext, ActionRules, load_action_rules

__all__ = ["score_streets_for", "ensure_score_run", "action_rules", "action_context",
           "add_actions", "VOICE_DAYS", "CRIME_DAYS"]

Actions = ActionRules | str | Path | bool | None

VOICE_DAYS = 730
"""The days of survey responses before ``as_of`` that give a beat's local priorities for
the recommended actions (the voice component's default look-back)."""
CRIME_DAYS = 365
"""The days of crime before ``as_of`` whose timing the actions describe."""


def score_streets_for(store, scope: Scope = FORCE, profile: Profile | str | Path | None = None,
                      *, area: str | None = None, as_of: str | None = None,
                      actions: Actions = False,
                      progress: Callable[[float, str], None] | None = None,
                      prepare: Callable[..., object] | None = None):
    """Score the streets of ``area`` (every street when None) with ``profile`` as on
    ``as_of`` (default ``scope.as_of``, else the end of the newest crime month).

    Parameters
    ----------
    scope : Scope
        The caller. With a limited scope (``scope.areas`` not None) ``area`` must be one of
        its areas: any other id is "not found", exactly like an id that does not exist.
    profile : Profile, str or Path, optional
        A profile, a shipped profile name or a TOML file (default ``default``).
    actions : ActionRules, str, Path or bool, optional
        Add the recommended action of every street (:func:`add_actions`): True for the
        shipped rules, a rules file or :class:`ActionRules`. Default: no actions.
    prepare : callable, optional
        Prepares the inputs, with the arguments of
        :func:`spatial_core.targeting.scoring.prepare_inputs` (the default): a national run
        passes one that prepares a large force in parts on Dask and merges them
        (:func:`spatial_core.national.run.parts_preparer`), which gives the same inputs.

    Returns
    -------
    spatial_core.targeting.scoring.ScoreRun
        Not stored; :func:`spatial_core.targeting.scoring.save_scores` stores it (the
        action columns are not stored: they are derived again when scores are read).
    """
    from spatial_core.targeting.scoring import prepare_inputs, run_scores

    if scope.areas is not None and (area is None or area not in scope.areas):
        raise NotFoundError(f"no area {area!r} here" if area is not None else
                            "name an area of yours to score (the whole force is not in "
                            "your areas)")
    p = profile if isinstance(profile, Profile) else load_profile(profile)
    as_of = as_of if as_of is not None else scope.as_of
    inputs = (prepare or prepare_inputs)(store, area=area, as_of=as_of, scheme=p.scheme,
                                         level=p.level, crime_distance_m=p.crime_distance_m,
                                         voice_radius_m=p.voice_radius_m, progress=progress)
    run = run_scores(inputs, p)
    if actions is False or actions is None:
        return run
    return dataclasses.replace(run, scores=add_actions(store, run.scores, p, actions,
                                                       as_of=run.as_of))


def action_rules(actions: Actions = None) -> ActionRules:
    """The rules ``actions`` names: :class:`ActionRules` as given, a TOML file, or the
    shipped rules (None or True)."""
    if isinstance(actions, ActionRules):
        return actions
    if actions is None or actions is True:
        return load_action_rules()
    if actions is False:
        raise ValueError("actions=False asks for no actions")
    return load_action_rules(actions)


def _days_back(day: date, days: int) -> str:
    return (day - timedelta(days=days)).isoformat()


def action_context(store, scores: pd.DataFrame, rules: ActionRules, *,
                   as_of: str | None = None) -> ActionContext:
    """What ``rules`` need beyond the scores, read from the store as on ``as_of`` (default
    today): households and households with a current member per street; the beats' local
    priorities (the responses of the :data:`VOICE_DAYS` before); current key individuals
    and IAG members per beat (counts only); when each beat's crime of the
    :data:`CRIME_DAYS` before happens (:func:`~spatial_core.targeting.recommend.
    crime_timing`)."""
    from spatial_core.analytics.population import is_current_member

    needs = rules.needs
    day = date.fromisoformat(str(as_of)[:10]) if as_of else date.today()
    out: dict = {}
    if "households" in needs:
        sids = set(scores["street_id"].dropna())
        addr = store.read("addresses", ["uprn", "street_id"])
        addr = addr[addr["street_id"].isin(sids)]
        m = store.read("members", ["uprn", "joined", "left_on"])
        m = m[m["uprn"].notna() & is_current_member(m["joined"], m["left_on"],
                                                   day.isoformat())]
        member_hh = addr["uprn"].isin(set(m["uprn"]))
        out["households"] = addr.groupby("street_id").size()
        out["members"] = member_hh.groupby(addr["street_id"]).sum()
    if "priorities" in needs:
        from spatial_core.analytics.population import Period
        from spatial_core.analytics.priorities import local_priorities

        period = Period(_days_back(day, VOICE_DAYS), day.isoformat(),
                        f"the {VOICE_DAYS} days to {day.isoformat()}")
        pri = local_priorities(store, level="beat", period=period)
        pri = pri[pri["is_priority"]].rename(columns={"area_id": "beat_id"})
        out["priorities"] = pri[["beat_id", "priority", "label", "share", "n"]]
    if "key_contacts" in needs:
        from spatial_core.api.contacts import key_contacts_table

        kc = key_contacts_table(store, day.isoformat())
        out["key_contacts"] = kc.groupby("beat_id").size()
    if "crime_times" in needs:
        from spatial_core.store import schema
        from spatial_core.store.index import assign_points_to_areas
        from spatial_core.targeting.recommend import crime_timing

        t = schema.table("crimes")
        first = _days_back(day, CRIME_DAYS)[:7]
        cr = store.read("crimes", ["month", "occurred_at", "category", "x", "y"],
                        where=(t.c.month > first) & (t.c.month <= day.isoformat()[:7])
                        & t.c.x.isnot(None) & (t.c.is_outlier == 0))
        beats = assign_points_to_areas(store, cr["x"].to_numpy(float), cr["y"].to_numpy(float),
                                       "beat")
        out["crime_times"] = crime_timing(beats, cr["month"], cr["occurred_at"],
                                          cr["category"])
    return ActionContext(**out)


def add_actions(store, scores: pd.DataFrame, profile: Profile, actions: Actions = None, *,
                as_of: str | None = None, k: int | None = None) -> pd.DataFrame:
    """``scores`` (computed or stored) with ``action``, ``action_label`` and
    ``action_reason`` added: :func:`~spatial_core.targeting.recommend.recommend_actions`
    with ``profile``'s weights and :func:`action_context` as on ``as_of`` (the run's day).
    ``k``: counts of people 1 .. k-1 in the reasons read ``<k`` (None: exact)."""
    from spatial_core.targeting.recommend import ACTION_COLUMNS, recommend_actions

    rules = action_rules(actions)
    ctx = action_context(store, scores, rules, as_of=as_of) if len(scores) else None
    rec = recommend_actions(scores, rules, profile.weights, ctx, k=k)
    out = scores.drop(columns=[c for c in ACTION_COLUMNS if c in scores])
    for c in ACTION_COLUMNS:
        out[c] = rec[c].to_numpy(dtype=object) if len(rec) else np.array([], dtype=object)
    return out


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
