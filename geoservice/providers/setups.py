# SPDX-License-Identifier: GPL-3.0-or-later
"""``setups`` and ``walk_lists``: targeting set-ups (:mod:`spatial_core.targeting.setups`) and their
household walk lists; police roles only, in their beats.

Which set-ups and walk-list rows a caller sees is the core's rule
(:mod:`spatial_core.api.setups`): a set-up is visible when at least one of its recommended
streets is in the caller's beats, and shows its whole summary; a walk-list row (an address
to knock: UPRN, postcode, walk order, class group, target flag, reason, suppressed-until)
is visible only when its street is in the caller's beats. Walk lists are address-level
targeting data: every read is audited and needs an ``X-Purpose``, as for visits.
Stored walk lists never hold names or contacts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spatial_core.api.setups import setups_table, visible_setups_mask, walk_lists_table

from ..access import require_police, scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["SetupProvider", "WalkListProvider"]


class SetupProvider(FrameProvider):
    """Targeting set-ups with their area outline and street beats."""

    collection = "setups"
    id_column = "setup_id"
    ttl = 2.0  # progress follows recorded visits (which keep the data version)
    field_types = {"setup_id": "string", "name": "string", "status": "string",
                   "goal": "string", "areas": "array", "beats": "array",
                   "target_groups": "array", "profile_name": "string", "as_of": "string",
                   "created_at": "string", "archived_at": "string", "max_streets": "integer",
                   "streets": "integer", "households_to_knock": "integer",
                   "target_visits": "integer", "target_registrations": "integer",
                   "target_surveys": "integer"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        return setups_table(self.store)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        require_police(ctx, self.collection)
        scope = scope_of(self.data, ctx.principal)
        if scope.areas is None:
            return None
        return visible_setups_mask(frame["beats"], scope)


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
        return walk_lists_table(self.store)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        return self._police_beats(frame, ctx)
