# SPDX-License-Identifier: GPL-3.0-or-later
"""``streets``: street units with their households, for police roles, in their beats."""
from __future__ import annotations

from sqlalchemy import false

from ..access import beat_scope, require_police
from ..context import RequestContext
from ._store import StoreProvider

__all__ = ["StreetProvider"]


class StreetProvider(StoreProvider):
    """Street units (``spatial_core`` table ``streets``), scoped by ``beat_id``."""

    table = "streets"
    id_column = "street_id"
    columns = ("street_id", "name", "beat_id", "ward_id", "highway", "length_m", "households")

    def _scope(self, ctx: RequestContext):
        require_police(ctx, "streets")
        beats = beat_scope(self.data, ctx.principal)
        if beats is None:
            return None
        return self.t.c.beat_id.in_(beats) if beats else false()
