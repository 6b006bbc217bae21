# SPDX-License-Identifier: GPL-3.0-or-later
"""``visits``: door-knock visits (personal data), read and recorded by police roles.

Scoped by the beat of the visited address; every read, write and refusal is audited, with the
purpose the caller gave (``X-Purpose``). ``POST /collections/visits/items`` (OGC API Features
Part 4) records a visit through :func:`spatial_core.visits.record_visit`.
"""
from __future__ import annotations

import json
from typing import Any

from pygeoapi.provider.base import (
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from sqlalchemy import false, select

from spatial_core import InputError, NotFoundError, schema
from spatial_core.data_version import bump_data_version
from spatial_core.visits import VISIT_OUTCOMES, record_visit

from ..access import beat_scope, require_police, require_purpose
from ..context import RequestContext, current
from ._store import StoreProvider

__all__ = ["VisitProvider"]

_ACCEPTED = ("uprn", "outcome", "visited_at", "setup_id", "notes", "visit_id")


class VisitProvider(StoreProvider):
    """Visits (``spatial_core`` table ``visits``), scoped by the address's ``beat_id``."""

    table = "visits"
    id_column = "visit_id"
    columns = ("visit_id", "uprn", "visited_at", "officer", "outcome", "setup_id", "notes")
    point_xy = True

    def _scope(self, ctx: RequestContext):
        try:
            require_police(ctx, "visits")
            ctx.notes["purpose"] = require_purpose(ctx)
        except ProviderGenericError as exc:
            self._audit(ctx, "denied", outcome=exc.message)
            raise
        beats = beat_scope(self.data, ctx.principal)
        ctx.notes["scope"] = "all" if beats is None else beats
        if beats is None:
            return None
        if not beats:
            return false()
        a = schema.table("addresses")
        return self.t.c.uprn.in_(select(a.c.uprn).where(a.c.beat_id.in_(beats)))

    def _audit(self, ctx: RequestContext, action: str, **entry: Any) -> None:
        if ctx.audit is None:
            return
        p = ctx.principal
        query = ctx.path + (f"?{ctx.query}" if ctx.query else "")
        ctx.audit.append(request_id=ctx.request_id, sub=p.sub, role=p.role, via=p.via,
                         action=action, collection="visits", query=query,
                         scope=ctx.notes.get("scope"),
                         purpose=ctx.notes.get("purpose") or ctx.purpose,
                         remote_addr=ctx.remote_addr,
                         **{"outcome": "ok", **entry})

    def create(self, item: Any) -> str:
        ctx = current()
        self._scope(ctx)  # role and purpose, audited when refused
        try:
            feature = json.loads(item) if isinstance(item, (bytes, str)) else item
        except ValueError as exc:
            self._audit(ctx, "create", outcome=f"rejected: not JSON ({exc})")
            raise ProviderInvalidQueryError(user_msg=f"the body is not JSON: {exc}") from None
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            self._audit(ctx, "create", outcome="rejected: not a GeoJSON Feature")
            raise ProviderInvalidQueryError(
                user_msg="expected a GeoJSON Feature with properties uprn, outcome, "
                         "visited_at (and optionally setup_id, notes)")
        unknown = sorted(set(props) - set(_ACCEPTED) - {"officer"})
        if unknown:
            self._audit(ctx, "create", outcome=f"rejected: unknown properties {unknown}")
            raise ProviderInvalidQueryError(
                user_msg=f"unknown properties {unknown}; a visit has {list(_ACCEPTED)}")
        beats = beat_scope(self.data, ctx.principal)
        try:
            visit_id = record_visit(
                self.store, uprn=props.get("uprn"), outcome=props.get("outcome"),
                visited_at=props.get("visited_at"), officer=ctx.principal.sub[:64],
                setup_id=props.get("setup_id"), notes=props.get("notes"),
                visit_id=props.get("visit_id"), beats=beats)
        except InputError as exc:
            self._audit(ctx, "create", outcome=f"rejected: {exc}")
            msg = str(exc)
            if "outcome" in msg:
                msg += f" ({', '.join(f'{k}: {v}' for k, v in VISIT_OUTCOMES.items())})"
            raise ProviderInvalidQueryError(user_msg=f"invalid visit: {msg}") from None
        except NotFoundError as exc:
            self._audit(ctx, "create", outcome="rejected: address not found in scope",
                        ids=[str(props.get("uprn"))])
            raise ProviderItemNotFoundError(user_msg=str(exc)) from None
        bump_data_version(self.store)  # response caches of every worker drop old results
        self._audit(ctx, "create", ids=[visit_id])
        return visit_id
