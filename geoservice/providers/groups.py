# SPDX-License-Identifier: GPL-3.0-or-later
"""The key individual network collections: ``network_gaps`` and ``network_groups``.

Each is one call to the core with the caller's :class:`spatial_core.api.Scope`, the frame it
returns turned into features; no rule is written here:

- ``network_gaps`` (:func:`spatial_core.api.networks.network_gaps`): per beat, with its
  outline, households, members and current members of the key individual network and the
  advisory group, and the beats with none (or fewer than ``?min_members=``). Police roles
  their beats, exact; partners and the public every beat, disclosure-controlled;
- ``network_groups`` (:func:`spatial_core.api.networks.network_groups`): each network's
  membership against the population per area and group; ``?by=`` (class, ethnicity,
  language …) and ``?area_level=`` (force by default) pick the table, as ``level`` does for
  ``engagement``; an item's id names its table
  (``key_individual.ethnicity.beat.beat:DM01B01.white``).

Aggregates only: no name, contact or point is in either frame.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
from pygeoapi.provider.base import ProviderInvalidQueryError

from spatial_core.frames import plain_columns

from .. import stores
from ..access import scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["NetworkGapProvider", "NetworkGroupProvider"]


class _ScopedFrame(FrameProvider):
    """A collection the core computes for the caller's scope (one frame per scope and
    query parameters that pick the table)."""

    picks: dict[str, str] = {}
    """Query parameters that pick the frame (not filters on it): name -> default."""

    def _caller(self, ctx: RequestContext):
        return scope_of(self.data, ctx.principal, int(self.options.get("k", 5)))

    _from_id: dict[str, str] | None = None

    def _picked(self, ctx: RequestContext) -> dict[str, str]:
        if self._from_id is not None:
            return self._from_id
        got = parse_qs(ctx.query or "")
        return {k: got.get(k, [d])[0] for k, d in self.picks.items()}

    def _picks_of(self, identifier: str) -> dict[str, str] | None:
        """The table an item id names (None: the default or the query's)."""
        return None

    def get(self, identifier: str, **kwargs: Any) -> dict:
        # An item of a table other than the default is named by its id (an item URL takes
        # no query parameters); pygeoapi builds a provider per request.
        self._from_id = self._picks_of(str(identifier))
        try:
            return super().get(identifier, **kwargs)
        finally:
            self._from_id = None

    def _cache_key(self, ctx: RequestContext) -> tuple:
        s = self._caller(ctx)
        return (self.collection, self.data, s.role, s.disclosure_k,
                None if s.areas is None else tuple(sorted(s.areas)),
                tuple(sorted(self._picked(ctx).items())))

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        return None  # the core returned only the rows of the caller's scope

    def query(self, *args: Any, properties: list | None = None, **kwargs: Any) -> dict:
        properties = [(n, v) for n, v in properties or [] if n not in self.picks]
        return super().query(*args, properties=properties, **kwargs)

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        from spatial_core import InputError

        try:
            f = self._rows(ctx, **self._picked(ctx))
        except InputError as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from None
        out = plain_columns(f, self.field_types)
        for k, v in self._picked(ctx).items():
            out[k] = v
        out["geometry"] = self._outlines(f["area_id"].tolist())
        return out

    def _rows(self, ctx: RequestContext, **picked: str) -> pd.DataFrame:
        raise NotImplementedError

    def _outlines(self, area_ids: list[str]) -> list[Any]:
        from spatial_core.api.export import area_geometries

        shapes = stores.cached(
            ("group_outlines", self.data), 300,
            lambda: area_geometries(self.store, stores.area_tree(self.data)["area_id"]))
        return [shapes.get(i) for i in area_ids]


def _whole(value: str, name: str) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ProviderInvalidQueryError(user_msg=f"{name} must be a whole number of at least "
                                                 f"1, got {value!r}")
    return int(text)


class NetworkGapProvider(_ScopedFrame):
    """Beats with their key individual network and advisory group counts (aggregates)."""

    collection = "network_gaps"
    id_column = "area_id"
    shared = True  # the default table, computed once per data version for every worker
    picks = {"min_members": "1"}
    field_types = {
        "area_id": "string", "area_name": "string", "npa_id": "string",
        "households": "integer", "members": "integer", "key_individual": "integer",
        "iag": "integer", "key_individual_per_1000": "number", "iag_per_1000": "number",
        "no_key_individual": "boolean", "no_iag": "boolean", "below_min": "boolean",
        "min_members": "string", "note": "string", "disclosure": "string"}

    def _rows(self, ctx, min_members):
        from spatial_core.api.networks import network_gaps

        return network_gaps(self.store, self._caller(ctx),
                            min_members=_whole(min_members, "min_members"))


class NetworkGroupProvider(_ScopedFrame):
    """Each network's membership against the population per area and group (aggregates)."""

    collection = "network_groups"
    id_column = "row_id"
    shared = True  # the default table, computed once per data version for every worker
    picks = {"by": "class", "area_level": "force"}
    field_types = {
        "row_id": "string", "network": "string", "area_id": "string", "area_name": "string",
        "group": "string", "group_name": "string", "population": "number",
        "population_share": "number", "network_members": "integer",
        "network_member_share": "number", "network_member_ratio": "number",
        "network_member_ci_low": "number", "network_member_ci_high": "number",
        "network_member_below": "boolean", "network_member_clearly_below": "boolean",
        "network_member_n": "integer", "members": "integer", "member_share": "number",
        "member_ratio": "number", "member_ci_low": "number", "member_ci_high": "number",
        "member_below": "boolean", "by": "string", "area_level": "string", "note": "string",
        "disclosure": "string"}

    def _rows(self, ctx, by, area_level):
        from spatial_core.analytics.networks import NETWORKS
        from spatial_core.api.networks import network_groups

        f = pd.concat([network_groups(self.store, self._caller(ctx), network=net, by=by,
                                      area_level=area_level) for net in NETWORKS],
                      ignore_index=True)
        f["row_id"] = (f["network"] + f".{by}.{area_level}." + f["area_id"] + "."
                       + f["group"].astype(str))
        return f

    def _picks_of(self, identifier: str) -> dict[str, str] | None:
        parts = identifier.split(".")
        if len(parts) != 5:
            return None
        return {"by": parts[1], "area_level": parts[2]}
