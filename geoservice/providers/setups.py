# SPDX-License-Identifier: GPL-3.0-or-later
"""``setups`` and ``walk_lists``: targeting set-ups (:mod:`spatial_core.targeting.setups`) and their
household walk lists; police roles only, in their beats.

A set-up is visible to a caller when at least one of its recommended streets is in the
caller's beats. Decision: a set-up is one shared operation, so a visible set-up shows its
whole summary (name, goal, areas and beats, outline, streets and households to knock in all
its beats): an officer on a two-beat operation knows whom they share it with. That summary is
operational, not personal; what is personal, the addresses to knock, is cut to the caller's
beats. A walk-list row (an address to knock: UPRN, postcode, walk order, class
group, target flag, reason, suppressed-until) is visible only when its street is in the
caller's beats. Walk lists are address-level targeting data: every read is audited and
needs an ``X-Purpose``, as for visits. Stored walk lists never hold names or contacts.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..access import beat_scope, require_police
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["SetupProvider", "WalkListProvider"]


def _geoms(frame) -> np.ndarray:
    return frame.geometry.to_numpy(object) if len(frame) else np.array([], dtype=object)


def _json_list(text) -> list:
    try:
        v = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return v if isinstance(v, list) else []


class SetupProvider(FrameProvider):
    """Targeting set-ups with their area outline and street beats."""

    collection = "setups"
    id_column = "setup_id"
    ttl = 2.0  # a set-up made by the create-setup process shows at once
    field_types = {"setup_id": "string", "name": "string", "status": "string",
                   "goal": "string", "areas": "array", "beats": "array",
                   "target_groups": "array", "profile_name": "string", "as_of": "string",
                   "created_at": "string", "archived_at": "string", "max_streets": "integer",
                   "streets": "integer", "households_to_knock": "integer",
                   "target_visits": "integer", "target_registrations": "integer",
                   "target_surveys": "integer"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        s = self.store.read("setups", [
            "setup_id", "name", "status", "goal", "areas", "target_groups", "profile_name",
            "as_of", "created_at", "archived_at", "max_streets", "target_visits",
            "target_registrations", "target_surveys", "geom"])
        st = self.store.read("setup_streets", ["setup_id", "beat_id", "to_knock"])
        f = pd.DataFrame({c: s[c].to_numpy(object) for c in s.columns if c != "geom"})
        f["geometry"] = _geoms(s)
        f["areas"] = [_json_list(v) for v in f["areas"]]
        f["target_groups"] = [_json_list(v) for v in f["target_groups"]]
        beats = st.dropna(subset=["beat_id"]).groupby("setup_id")["beat_id"].agg(
            lambda b: sorted(set(b)))
        f["beats"] = [beats.get(i, []) for i in f["setup_id"]]
        f["streets"] = f["setup_id"].map(st.groupby("setup_id").size()).fillna(0).astype(int)
        f["households_to_knock"] = f["setup_id"].map(
            st.groupby("setup_id")["to_knock"].sum()).fillna(0).astype(int)
        return f

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        require_police(ctx, self.collection)
        beats = beat_scope(self.data, ctx.principal)
        if beats is None:
            return None
        mine = set(beats)
        return np.array([bool(mine.intersection(b)) for b in frame["beats"]], dtype=bool)


class WalkListProvider(FrameProvider):
    """Walk-list addresses of every set-up (personal: audited, purpose required)."""

    collection = "walk_lists"
    id_column = "walk_id"
    ttl = 2.0
    personal = True
    field_types = {"walk_id": "string", "setup_id": "string", "street_id": "string",
                   "street_name": "string", "beat_id": "string", "street_rank": "integer",
                   "walk_order": "integer", "uprn": "string", "postcode": "string",
                   "grp": "string", "is_target": "boolean", "reason": "string",
                   "suppressed_until": "string"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        h = self.store.read("setup_households", [
            "setup_id", "street_id", "uprn", "postcode", "walk_order", "grp", "is_target",
            "reason", "suppressed_until", "geom"])
        st = self.store.read("setup_streets", ["setup_id", "street_id", "name", "beat_id",
                                               "street_rank"])
        f = pd.DataFrame({c: h[c].to_numpy(object) for c in h.columns if c != "geom"})
        f["geometry"] = _geoms(h)
        st = pd.DataFrame({c: st[c].to_numpy(object) for c in st.columns})
        f = f.merge(st.rename(columns={"name": "street_name"}), on=["setup_id", "street_id"],
                    how="left")
        f["walk_id"] = f["setup_id"].astype(str) + "/" + f["uprn"].astype(str)
        f["is_target"] = f["is_target"].astype(bool)
        return f.sort_values(["setup_id", "street_rank", "walk_order"]).reset_index(drop=True)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        require_police(ctx, self.collection)
        beats = beat_scope(self.data, ctx.principal)
        ctx.notes["scope"] = "all" if beats is None else beats
        if beats is None:
            return None
        return frame["beat_id"].isin(beats).to_numpy(dtype=bool)
