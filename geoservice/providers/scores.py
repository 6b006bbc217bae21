# SPDX-License-Identifier: GPL-3.0-or-later
"""``street_scores``: the newest stored score run, street by street, with components,
reasons and the recommended action (``action``, ``action_label``, ``action_reason``, from
:func:`spatial_core.api.scores.add_actions` with the shipped rules); police roles only, in
their beats.

The collection serves the newest run in ``score_runs`` (:func:`spatial_core.targeting.scoring.
load_scores`). When the store has none, :func:`ensure_score_run` (called once by ``lpt
serve`` before the workers start) scores every street with the shipped ``default`` profile
and saves the run, so every worker serves the same, reproducible run (its profile TOML and
input fingerprint are stored with it). A newer run saved by ``lpt score --save`` or the
``score-area`` process is picked up within ``counts_ttl_s`` seconds.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spatial_core import NotFoundError
from spatial_core.targeting.profiles import COMPONENTS

from ..access import beat_scope, require_police
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["ScoreProvider", "ensure_score_run", "scores_frame"]

log = logging.getLogger(__name__)


def ensure_score_run(store) -> str | None:
    """The newest stored run id; when there is none, score with ``default`` and save it
    (:func:`spatial_core.api.scores.ensure_score_run`)."""
    from spatial_core.api import scores

    run_id = scores.ensure_score_run(store)
    log.info("serving score run %s", run_id)
    return run_id


def scores_frame(store) -> pd.DataFrame:
    """The newest run's scores joined with the streets (name, households, geometry)."""
    from spatial_core.api.scores import add_actions
    from spatial_core.targeting.scoring import load_scores

    try:
        head, s = load_scores(store)
    except NotFoundError:
        return pd.DataFrame(columns=list(ScoreProvider.field_types) + ["geometry"])
    st = store.read("streets", ["street_id", "name", "ward_id", "households", "geom"])
    st = pd.DataFrame({"street_id": st["street_id"].to_numpy(object),
                       "name": st["name"].to_numpy(object),
                       "ward_id": st["ward_id"].to_numpy(object),
                       "households": st["households"].to_numpy(),
                       "geometry": st.geometry.to_numpy(object) if len(st) else []})
    f = s.merge(st, on="street_id", how="left")
    f = add_actions(store, f, head["profile"], as_of=head["as_of"])  # action, label, reason
    f["components"] = [
        {c: {"raw": _num(r[f"{c}_raw"]), "scaled": _num(r[c])} for c in COMPONENTS}
        for r in f[[f"{c}{x}" for c in COMPONENTS for x in ("_raw", "")]].to_dict("records")]
    f["run_id"] = head["run_id"]
    f["as_of"] = head["as_of"]
    f["score"] = f["score"].round(6)
    return f


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), 6)


class ScoreProvider(FrameProvider):
    """Street scores of the newest run (police roles; scoped by ``beat_id``)."""

    collection = "street_scores"
    shared = True  # computed once per data version for every worker
    id_column = "street_id"
    field_types = {
        "street_id": "string", "name": "string", "beat_id": "string", "ward_id": "string",
        "households": "integer", "score": "number", "rank_in_beat": "integer",
        **{c: "number" for c in COMPONENTS}, "voice_n": "integer",
        "components": "object", "reasons": "string", "profile": "string",
        "action": "string", "action_label": "string", "action_reason": "string",
        "run_id": "string", "as_of": "string",
    }

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        return scores_frame(self.store)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        require_police(ctx, self.collection)
        beats = beat_scope(self.data, ctx.principal)
        if beats is None:
            return None
        return frame["beat_id"].isin(beats).to_numpy(dtype=bool)
