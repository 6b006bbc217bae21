# SPDX-License-Identifier: GPL-3.0-or-later
"""The engagement collections: ``messages``, ``replies``, ``actions`` and ``engagement``.

Each is one call to the core with the caller's scope (the area ids their role allows,
:func:`geoservice.access.area_scope`; None for a force analyst), the frame it returns turned
into features; no engagement rule is written here:

- ``messages`` (:func:`spatial_core.engagement.messages.list_messages`): police roles, the
  messages for their areas, with reach and delivery counts; never a contact;
- ``replies`` (:func:`spatial_core.engagement.replies.list_replies`): personal data, police
  roles in the sending officer's areas (a supervisor: their npas and the beats under them);
  urgent replies first (the core's order); every read and refusal audited, with a purpose;
- ``actions`` (:func:`spatial_core.engagement.actions.list_actions`): police roles, their
  areas;
- ``engagement`` (:func:`spatial_core.engagement.tracking.engagement`): aggregates per area
  with the area's outline; police roles see their areas' exact counts, partners and the
  public every area with counts below the disclosure threshold ``k`` withheld (by the core).

The frames are computed per request (``ttl = 0``): a reply is visible the moment it is
stored. Concurrent identical requests still share one computation (the key holds the scope).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spatial_core.frames import plain_columns

from .. import stores
from ..access import AGGREGATE_ROLES, area_scope, require_police
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["MessageProvider", "ReplyProvider", "ActionProvider", "EngagementProvider"]


class _EngagementFrame(FrameProvider):
    """A collection computed by one core function for the caller's scope."""

    ttl = 0.0
    police_only = True

    def _areas(self, ctx: RequestContext) -> list[str] | None:
        if self.police_only:
            require_police(ctx, self.collection)
        areas = area_scope(self.data, ctx.principal)
        ctx.notes["scope"] = "all" if areas is None else areas
        return areas

    def _cache_key(self, ctx: RequestContext) -> tuple:
        p = ctx.principal
        return (type(self).__name__, self.data, p.role, tuple(sorted(p.areas)))

    def _entry(self, ctx: RequestContext) -> tuple[pd.DataFrame, dict]:
        try:
            self._areas(ctx)  # refuse before anything is computed
        except Exception as exc:
            self._audit(ctx, "denied", outcome=getattr(exc, "message", str(exc)))
            raise
        return super()._entry(ctx)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        self._areas(ctx)
        return None  # the core returned only rows in the scope

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        return plain_columns(self._rows(self.store, self._areas(ctx), ctx), self.field_types)

    def _rows(self, store, areas: list[str] | None, ctx: RequestContext) -> pd.DataFrame:
        raise NotImplementedError


class MessageProvider(_EngagementFrame):
    """Messages for the caller's areas (no contact is in the core's frame)."""

    collection = "messages"
    id_column = "message_id"
    field_types = {"message_id": "string", "kind": "string", "subject": "string",
                   "area_id": "string", "audience": "string", "organisation": "string",
                   "created_by": "string", "created_at": "string", "status": "string",
                   "sent_at": "string", "channel": "string", "recipients": "integer",
                   "sent": "integer", "failed": "integer", "uncertain": "integer",
                   "held": "integer"}

    def _rows(self, store, areas, ctx):
        from spatial_core.engagement.messages import list_messages

        return list_messages(store, scope_areas=areas)


class ReplyProvider(_EngagementFrame):
    """Replies to messages of the caller's areas, urgent first (personal data, audited)."""

    collection = "replies"
    id_column = "reply_id"
    personal = True
    field_types = {"reply_id": "string", "message_id": "string", "received_at": "string",
                   "text": "string", "urgent": "boolean", "urgent_words": "string",
                   "area_id": "string", "answer": "string", "answered_by": "string",
                   "answered_at": "string", "subject": "string", "kind": "string",
                   "created_by": "string"}

    def _rows(self, store, areas, ctx):
        from spatial_core.engagement.replies import list_replies

        return list_replies(store, scope_areas=areas)  # no member id is published

    def query(self, *args: Any, sortby: list | None = None, **kwargs: Any) -> dict:
        # No sortby: the core's order (urgent first, newest first) is the collection's.
        return super().query(*args, sortby=sortby, **kwargs)


class ActionProvider(_EngagementFrame):
    """The actions log for the caller's areas."""

    collection = "actions"
    id_column = "action_id"
    field_types = {"action_id": "string", "done_on": "string", "priority": "string",
                   "label": "string", "area_id": "string", "area_name": "string",
                   "what": "string", "partner": "string",
                   "recorded_by": "string", "recorded_at": "string"}

    def _rows(self, store, areas, ctx):
        from spatial_core.engagement.actions import list_actions

        return list_actions(store, scope_areas=areas)


ENGAGEMENT_FIELDS = {
    "area_id": "string", "area_name": "string", "level": "string", "recipients": "integer",
    "held": "integer", "sent": "integer", "delivered": "integer", "bounced": "integer",
    "replied": "integer", "unsubscribed": "integer", "surveys": "integer",
    "delivered_rate": "number", "reply_rate": "number", "unsubscribe_rate": "number",
    "survey_rate": "number",
}
"""The core's figures per area (:func:`spatial_core.engagement.tracking.engagement`); a
withheld count is null. ``level`` is the areas' level, and as a query parameter
(``?level=npa``) it picks them (beat by default)."""


class EngagementProvider(_EngagementFrame):
    """Engagement per area at a level (``?level=beat`` by default; npa, ward, force), with
    the area outline. Partners and the public see every area, small counts withheld."""

    collection = "engagement"
    id_column = "area_id"
    police_only = False
    field_types = ENGAGEMENT_FIELDS

    def _areas(self, ctx: RequestContext) -> list[str] | None:
        if ctx.principal.role in AGGREGATE_ROLES:
            ctx.notes["scope"] = "all"
            return None
        return super()._areas(ctx)

    def _cache_key(self, ctx: RequestContext) -> tuple:
        return (*super()._cache_key(ctx), self._level(ctx))

    @staticmethod
    def _level(ctx: RequestContext) -> str:
        from urllib.parse import parse_qs

        got = parse_qs(ctx.query or "").get("level", ["beat"])[0]
        return got

    def query(self, *args: Any, properties: list | None = None, **kwargs: Any) -> dict:
        # ``level`` picks the frame (it is not a filter on it).
        properties = [(n, v) for n, v in properties or [] if n != "level"]
        return super().query(*args, properties=properties, **kwargs)

    def _rows(self, store, areas, ctx):
        from spatial_core.engagement.tracking import engagement

        aggregate = ctx.principal.role in AGGREGATE_ROLES  # exact counts for police roles
        k = int(self.options.get("k", 5)) if aggregate else None
        return engagement(store, by="area", level=self._level(ctx), k=k, scope_areas=areas)

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        from spatial_core import InputError

        try:
            f = self._rows(self.store, self._areas(ctx), ctx)
        except InputError as exc:
            from pygeoapi.provider.base import ProviderInvalidQueryError

            raise ProviderInvalidQueryError(user_msg=str(exc)) from None
        out = plain_columns(f, self.field_types)
        out["level"] = self._level(ctx)
        out["geometry"] = self._outlines(out["area_id"].tolist())
        return out

    def _outlines(self, area_ids: list[str]) -> list[Any]:
        from spatial_core.api.export import area_geometries

        shapes = stores.cached(
            ("engagement_outlines", self.data), 300,
            lambda: area_geometries(self.store, stores.area_tree(self.data)["area_id"]))
        return [shapes.get(i) for i in area_ids]
