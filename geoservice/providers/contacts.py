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

from spatial_core.api import NAME_ROLES
from spatial_core.api.contacts import KEY_GROUPS, key_contacts_table, withheld_fields

from ..access import scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["KeyContactProvider", "KEY_GROUPS", "NAME_ROLES"]


class KeyContactProvider(FrameProvider):
    """Key contacts (:func:`spatial_core.api.contacts.key_contacts_table`, current today)."""

    collection = "key_contacts"
    id_column = "member_id"
    personal = True
    field_types = {"member_id": "string", "name": "string", "groups": "array",
                   "postcode": "string", "beat_id": "string", "joined": "string"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        return key_contacts_table(self.store)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        return self._police_beats(frame, ctx)

    def _withheld(self, ctx: RequestContext) -> set[str]:
        return withheld_fields(scope_of(self.data, ctx.principal))
