# SPDX-License-Identifier: GPL-3.0-or-later
"""Who is asking, and why: the request context our providers read.

pygeoapi builds a provider for each request and calls ``query``/``get``/``create`` without
the request. The app's ``before_request`` hook authenticates the caller and puts a
:class:`RequestContext` in a :class:`contextvars.ContextVar`; providers call :func:`current`.
A provider called outside a request (OpenAPI generation, a script) sees the anonymous public
caller, so access control fails closed.
"""
from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Principal", "RequestContext", "ANONYMOUS", "current", "activate", "deactivate",
           "request_id"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: subject, role, areas (area ids) and how they signed in."""

    sub: str
    role: str
    areas: tuple[str, ...] = ()
    via: str = "anonymous"  # token | api_key | anonymous
    default_purpose: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.via == "anonymous"


ANONYMOUS = Principal(sub="anonymous", role="public")


@dataclass
class RequestContext:
    """The caller and the request, for access control and the audit log."""

    principal: Principal = ANONYMOUS
    purpose: str | None = None
    request_id: str = ""
    method: str = "GET"
    path: str = ""
    query: str = ""
    remote_addr: str | None = None
    audit: Any = None  # geoservice.audit.AuditLog
    config: Any = None  # geoservice.config.ServiceConfig
    notes: dict = field(default_factory=dict)


_CURRENT: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "lpt_request", default=None)


def current() -> RequestContext:
    """The context of the request being served (an anonymous one outside a request)."""
    ctx = _CURRENT.get()
    return ctx if ctx is not None else RequestContext()


def activate(ctx: RequestContext) -> contextvars.Token:
    return _CURRENT.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _CURRENT.reset(token)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(given: str | None) -> str:
    """The id of a request: the client's ``X-Request-ID`` when it is 1-64 letters, digits or
    ``. _ : -`` (it goes into logs and the audit log), else a new one.

    >>> request_id("abc-123")
    'abc-123'
    >>> len(request_id("x" * 65)), len(request_id("a b")), len(request_id(None))
    (16, 16, 16)
    """
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex[:16]
