# SPDX-License-Identifier: GPL-3.0-or-later
"""``key_contacts``: current members of the key individual network and the independent
advisory group (personal data).

Police roles in their beats only (the beat holding the member's location); every read and
refusal is audited and needs an ``X-Purpose``. Names are given to force analysts and
supervisors only: a beat officer sees the contact's id, groups, postcode and location (to
plan where to go), and asks their supervisor for names. Partners and the public: 403/401.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatial_core.store.index import assign_points_to_areas

from ..access import beat_scope, require_police
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["KeyContactProvider", "KEY_GROUPS", "NAME_ROLES"]

KEY_GROUPS = ("key_individual", "iag")
NAME_ROLES = ("force_analyst", "supervisor")


class KeyContactProvider(FrameProvider):
    """Key contacts (members in :data:`KEY_GROUPS`, current today)."""

    collection = "key_contacts"
    id_column = "member_id"
    personal = True
    field_types = {"member_id": "string", "name": "string", "groups": "array",
                   "postcode": "string", "beat_id": "string", "joined": "string"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        from datetime import date

        from spatial_core.store import schema

        g = self.store.read("member_groups", ["member_id", "grp"],
                            where=schema.table("member_groups").c.grp.in_(KEY_GROUPS))
        groups = g.groupby("member_id")["grp"].agg(lambda s: sorted(set(s)))
        t = schema.table("members")
        m = self.store.read("members", ["member_id", "name", "postcode", "x", "y", "joined",
                                        "left_on", "geom"],
                            where=t.c.member_id.in_(groups.index.tolist()))
        today = date.today().isoformat()
        left = m["left_on"].fillna("").astype(str).str.slice(0, 10)
        joined = m["joined"].fillna("").astype(str).str.slice(0, 10)
        current = ((left == "") | (left > today)) & (joined <= today)
        m = m[current.to_numpy(dtype=bool)]
        f = pd.DataFrame({c: m[c].to_numpy(object) for c in
                          ("member_id", "name", "postcode", "joined")})
        f["groups"] = [groups.get(i, []) for i in f["member_id"]]
        f["beat_id"] = assign_points_to_areas(self.store, m["x"].to_numpy(float),
                                              m["y"].to_numpy(float), "beat")
        f["geometry"] = m.geometry.to_numpy(object) if len(m) else []
        return f

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        require_police(ctx, self.collection)
        beats = beat_scope(self.data, ctx.principal)
        ctx.notes["scope"] = "all" if beats is None else beats
        if beats is None:
            return None
        return frame["beat_id"].isin(beats).to_numpy(dtype=bool)

    def _withheld(self, ctx: RequestContext) -> set[str]:
        return set() if ctx.principal.role in NAME_ROLES else {"name"}
