# SPDX-License-Identifier: GPL-3.0-or-later
"""``visits``: door-knock visits (personal data), read and recorded by police roles.

Scoped by the beat of the visited address; every read, write and refusal is audited, with the
purpose the caller gave (``X-Purpose``). ``POST /collections/visits/items`` (OGC API Features
Part 4) records a visit through :func:`spatial_core.io.visits.record_visit`.

The service assigns every visit id: a posted ``visit_id`` is a 400 (a client-chosen id would
be checked against the whole store, so its answer would tell whether that id exists in
another beat). A posted ``setup_id`` must name a set-up the caller may see (the ``setups``
rule: one of its streets in the caller's beats); one that does not exist and one outside the
caller's beats get the same 400. Visits are an append-only record: there is no update or
delete (``geoservice.app`` answers PUT/PATCH/DELETE with 405); a correction is a new visit.
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

from spatial_core import InputError, NotFoundError, ReadOnlyError
from spatial_core.api.setups import UNKNOWN_SETUP, SetupNotVisible, record_visit_in_scope
from spatial_core.io.visits import VISIT_OUTCOMES
from spatial_core.store import schema

from ..access import beat_scope, require_police, require_purpose, scope_of
from ..context import RequestContext, current
from ..errors import core_errors
from ._store import StoreProvider

__all__ = ["VisitProvider"]

_ACCEPTED = ("uprn", "outcome", "visited_at", "setup_id", "notes")

ASSIGNED_ID = ("visit_id is assigned by the service; leave it out (the new visit's id is in "
               "the Location header of the 201 answer)")
"""The 400 for a posted ``visit_id``."""

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


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

    @core_errors
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
        if not _blank(props.get("visit_id")):  # null or "": no id (a client sending all fields)
            self._audit(ctx, "create", outcome="rejected: visit_id given by the client")
            raise ProviderInvalidQueryError(user_msg=f"invalid visit: {ASSIGNED_ID}")
        unknown = sorted(set(props) - set(_ACCEPTED) - {"officer", "visit_id"})
        if unknown:
            self._audit(ctx, "create", outcome=f"rejected: unknown properties {unknown}")
            raise ProviderInvalidQueryError(
                user_msg=f"unknown properties {unknown}; a visit has {list(_ACCEPTED)} "
                         "(visit_id and officer are set by the service)")
        setup_id = props.get("setup_id")
        setup_id = None if _blank(setup_id) else str(setup_id).strip()
        try:
            # The core checks the set-up is visible (the ``setups`` rule) and records a
            # set-up's visit through its set-up rule (an archived set-up is read-only).
            visit_id = record_visit_in_scope(
                self.store, scope_of(self.data, ctx.principal), uprn=props.get("uprn"),
                outcome=props.get("outcome"), visited_at=props.get("visited_at"),
                officer=ctx.principal.sub[:64], notes=props.get("notes"), setup_id=setup_id)
        except SetupNotVisible:
            self._audit(ctx, "create", outcome="rejected: set-up not found in scope",
                        ids=[setup_id[:64]])
            raise ProviderInvalidQueryError(user_msg=f"invalid visit: {UNKNOWN_SETUP}") from None
        except ReadOnlyError:
            # The set-up is visible to the caller, so saying it is archived leaks nothing.
            self._audit(ctx, "create", outcome="rejected: set-up archived", ids=[setup_id])
            raise ProviderInvalidQueryError(user_msg=(
                f"invalid visit: set-up {setup_id!r} is archived (read-only: its final "
                "report is kept as it was); name a live set-up or leave setup_id out")) from None
        except InputError as exc:
            self._audit(ctx, "create", outcome=f"rejected: {exc}")
            msg = str(exc)
            if exc.column == "visit_id":  # the id derived from the visit's own content
                msg = ("this visit is already recorded (the same uprn, visited_at, officer "
                       "and outcome); a correction is a new visit")
            elif "outcome" in msg:
                msg += f" ({', '.join(f'{k}: {v}' for k, v in VISIT_OUTCOMES.items())})"
            raise ProviderInvalidQueryError(user_msg=f"invalid visit: {msg}") from None
        except NotFoundError as exc:
            self._audit(ctx, "create", outcome="rejected: address not found in scope",
                        ids=[str(props.get("uprn"))])
            raise ProviderItemNotFoundError(user_msg=str(exc)) from None
        # No data-version bump: nothing the response caches hold is computed from visits
        # (visits themselves are personal and never cached), so a door-knock recorded every
        # few seconds across the force does not empty every worker's cache.
        self._audit(ctx, "create", ids=[visit_id])
        return visit_id
