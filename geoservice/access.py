# SPDX-License-Identifier: GPL-3.0-or-later
"""Authorisation by role and area, applied by every provider at the query level.

Roles (see ``docs/geoservice.md``):

- ``force_analyst``: every collection, every area;
- ``supervisor``: police collections in their neighbourhood policing areas (npa ids) and the
  beats under them;
- ``beat_officer``: police collections in their beats;
- ``partner`` and ``public``: aggregates only (the ``areas`` collection, small counts withheld).

The role x area rule itself is the core's (:func:`spatial_core.api.scope_beats`,
:class:`spatial_core.api.Scope`); this module applies it to the caller. A provider asks
:func:`beat_scope` for the beats the caller may see and adds them to its SQL
``WHERE``, so lists, single items, bbox and property queries and ``numberMatched`` all count
only what the caller may see; an item outside the scope is "not found" (404), exactly like an
item that does not exist. A collection the role may not use at all is 401 for the anonymous
caller (sign in) and 403 for a signed-in one.
"""
from __future__ import annotations

from http import HTTPStatus

from pygeoapi.provider.base import ProviderGenericError

from spatial_core.api import (
    AGGREGATE_ROLES,
    DEFAULT_K,
    POLICE_ROLES,
    Scope,
    scope_areas,
    scope_beats,
)

from . import stores
from .context import Principal, RequestContext

__all__ = ["POLICE_ROLES", "AGGREGATE_ROLES", "Unauthorised", "Forbidden", "PurposeRequired",
           "require_police", "require_purpose", "beat_scope", "area_scope", "scope_of"]


class Unauthorised(ProviderGenericError):
    """Sign in first (no credentials were given)."""

    ogc_exception_code = "Unauthorized"
    http_status_code = HTTPStatus.UNAUTHORIZED
    default_msg = "sign in to use this collection"


class Forbidden(ProviderGenericError):
    """The caller's role may not use this collection."""

    ogc_exception_code = "Forbidden"
    http_status_code = HTTPStatus.FORBIDDEN
    default_msg = "your role may not use this collection"


class PurposeRequired(ProviderGenericError):
    """Personal data is read or written only with a stated purpose."""

    ogc_exception_code = "MissingParameterValue"
    http_status_code = HTTPStatus.BAD_REQUEST
    default_msg = ("personal data: say why in the X-Purpose header "
                   "(e.g. 'X-Purpose: planning beat DM01B01 patrols')")


def require_police(ctx: RequestContext, collection: str) -> None:
    """401/403 unless the caller has a police role."""
    p = ctx.principal
    if p.role in POLICE_ROLES:
        return
    if p.is_anonymous:
        raise Unauthorised(user_msg=f"sign in to use collection {collection!r}")
    raise Forbidden(user_msg=f"role {p.role!r} may not use collection {collection!r} "
                             "(partners and the public see the 'areas' aggregates)")


MAX_PURPOSE = 200
"""Longest purpose accepted (characters)."""


def require_purpose(ctx: RequestContext) -> str:
    """The stated purpose of a personal-data request: 400 when it is required and missing,
    longer than :data:`MAX_PURPOSE` or holds control characters, or, where ``audit.purposes``
    lists the purposes, when it is not one of them (free text only where
    ``audit.free_text_purpose`` allows it). An API key's configured purpose is trusted."""
    given = (ctx.purpose or "").strip()
    purpose = given or (ctx.principal.default_purpose or "").strip()
    cfg = ctx.config
    required = cfg.require_purpose if cfg is not None else True
    if not purpose:
        if required:
            raise PurposeRequired()
        return purpose
    if not given:  # the API key's own purpose, from the configuration
        return purpose
    if len(given) > MAX_PURPOSE or any(ord(c) < 32 or ord(c) == 127 for c in given):
        raise PurposeRequired(user_msg=f"X-Purpose must be one line of at most {MAX_PURPOSE} "
                                       "characters")
    allowed = tuple(getattr(cfg, "purposes", ()) or ())
    if allowed and not getattr(cfg, "free_text_purpose", True):
        match = {a.casefold(): a for a in allowed}.get(given.casefold())
        if match is None:
            raise PurposeRequired(user_msg=f"X-Purpose must be one of {list(allowed)}")
        return match
    return given


def beat_scope(location: str, principal: Principal) -> list[str] | None:
    """The beat ids the caller may see (None = every beat; [] = none):
    :func:`spatial_core.api.scope_beats` over the store's area tree."""
    return scope_beats(stores.area_tree(location), principal.role, principal.areas)


def area_scope(location: str, principal: Principal) -> list[str] | None:
    """The area ids (beats, and a supervisor's npas) whose rows the caller may see."""
    return scope_areas(stores.area_tree(location), principal.role, principal.areas)


def scope_of(location: str, principal: Principal, k: int = DEFAULT_K) -> Scope:
    """The core's :class:`spatial_core.api.Scope` of the caller (what use-cases take)."""
    return Scope.for_caller(stores.area_tree(location), principal.role, principal.areas, k=k)
