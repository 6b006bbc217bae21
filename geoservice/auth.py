# SPDX-License-Identifier: GPL-3.0-or-later
"""Authentication: OpenID Connect bearer tokens and API keys.

A bearer token is a JWT signed by the configured issuer: its signature is checked against
the issuer's key set (a JWKS file, re-read when it changes, or a JWKS URL, cached), and its
``iss``, ``aud``, ``exp`` and ``sub`` are required. The role and areas come from configurable
claims (a dotted path such as ``realm_access.roles`` reaches into nested claims). An API key
(header ``X-API-Key``) is compared by its SHA-256 with the configured digests. No credentials
at all is the anonymous public caller; wrong credentials are an error (401), never public.

A verified token's principal is remembered (in this process, by the token itself) until the
token expires and at most :data:`TOKEN_CACHE_S` seconds, and forgotten when the key set file
changes: the response cache and the app both authenticate every request, and an RS256
signature check costs ~0.2 ms each time. A token that fails is checked again every time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jwt

from .config import ROLES, ServiceConfig
from .context import ANONYMOUS, Principal

__all__ = ["AuthError", "Authenticator", "hash_api_key", "normalise_areas", "FailureLimiter",
           "TOKEN_CACHE_S"]

TOKEN_CACHE_S = 60.0
"""Longest time a verified token's principal is reused without checking its signature."""
_TOKEN_CACHE_SIZE = 4096

log = logging.getLogger(__name__)


class AuthError(Exception):
    """The credentials are present but not valid (HTTP 401)."""

    status = 401


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest configured for an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_AREA_LEVEL = {"supervisor": "npa", "beat_officer": "beat"}


def normalise_areas(role: str, areas: Any) -> tuple[str, ...]:
    """Area ids of a role: a supervisor's bare ``DM01`` becomes ``npa:DM01``, an officer's
    ``DM01B01`` ``beat:DM01B01``; other roles' areas are kept as given."""
    if areas is None:
        return ()
    if isinstance(areas, str):
        areas = [a for a in areas.replace(",", " ").split() if a]
    level = _AREA_LEVEL.get(role)
    out = []
    for a in areas:
        a = str(a).strip()
        if level and ":" not in a:
            a = f"{level}:{a}"
        out.append(a)
    return tuple(out)


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class Authenticator:
    """Turns request headers into a :class:`Principal` (or raises :class:`AuthError`)."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.oidc = cfg.oidc
        self._lock = threading.Lock()
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_mtime: float | None = None
        self._client = (jwt.PyJWKClient(self.oidc.jwks_url, cache_keys=True, lifespan=300)
                        if self.oidc and self.oidc.jwks_url else None)
        self._verified: OrderedDict[str, tuple[float, Any, Principal]] = OrderedDict()

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        auth = headers.get("Authorization") or ""
        key = headers.get("X-API-Key")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("Authorization must be 'Bearer <token>'")
            return self._from_token(token.strip())
        if key:
            return self._from_key(key)
        return ANONYMOUS

    def _from_key(self, key: str) -> Principal:
        digest = hash_api_key(key)
        for k in self.cfg.api_keys:
            if hmac.compare_digest(digest, k.sha256):
                return Principal(sub=f"apikey:{k.name}", role=k.role,
                                 areas=normalise_areas(k.role, k.areas), via="api_key",
                                 default_purpose=k.purpose)
        raise AuthError("unknown API key")

    def _key_set(self) -> jwt.PyJWKSet:
        assert self.oidc is not None and self.oidc.jwks_file
        path = self.oidc.jwks_file
        mtime = os.stat(path).st_mtime
        with self._lock:
            if self._jwks is None or mtime != self._jwks_mtime:
                with open(path, encoding="utf-8") as fh:
                    self._jwks = jwt.PyJWKSet.from_dict(json.load(fh))
                self._jwks_mtime = mtime
            return self._jwks

    def _signing_key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        keys = self._key_set()
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None:
            if len(keys.keys) != 1:
                raise AuthError("token has no 'kid' and the key set has several keys")
            return keys.keys[0].key
        try:
            return keys[kid].key
        except KeyError:
            raise AuthError(f"token signed with unknown key id {kid!r}") from None

    def _keys_mark(self) -> Any:
        """What changes when the key set file changes (None for a JWKS URL: its keys are
        cached by the client for five minutes anyway)."""
        if self.oidc is None or not self.oidc.jwks_file:
            return None
        try:
            return os.stat(self.oidc.jwks_file).st_mtime_ns
        except OSError:
            return "missing"

    def _from_token(self, token: str) -> Principal:
        if self.oidc is None:
            raise AuthError("bearer tokens are not accepted: no identity provider configured")
        now = time.time()
        mark = self._keys_mark()
        with self._lock:
            hit = self._verified.get(token)
            if hit is not None and now < hit[0] and hit[1] == mark:
                self._verified.move_to_end(token)
                return hit[2]
        principal, expires = self._verify(token)
        with self._lock:
            self._verified[token] = (min(expires, now + TOKEN_CACHE_S), mark, principal)
            while len(self._verified) > _TOKEN_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal of a token whose signature and claims are valid, and until when it
        is (its ``exp``)."""
        assert self.oidc is not None
        o = self.oidc
        try:
            key = self._signing_key(token)
            claims = jwt.decode(token, key, algorithms=list(o.algorithms), audience=o.audience,
                                issuer=o.issuer, leeway=o.leeway_s,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except AuthError:
            raise
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > o.max_token_lifetime_s:
            raise AuthError(f"token lifetime {lifetime} s is longer than the "
                            f"{o.max_token_lifetime_s} s accepted")
        role = _claim(claims, o.role_claim)
        if isinstance(role, (list, tuple)):
            known = [r for r in role if r in ROLES]
            if len(known) != 1:
                raise AuthError(f"token claim {o.role_claim!r} must hold exactly one of "
                                f"{list(ROLES)}; it holds {role}")
            role = known[0]
        if role not in ROLES:
            raise AuthError(f"token claim {o.role_claim!r} is {role!r}; expected one of "
                            f"{list(ROLES)}")
        areas = normalise_areas(role, _claim(claims, o.areas_claim))
        return (Principal(sub=str(claims["sub"]), role=role, areas=areas, via="token"),
                float(claims["exp"]))


class FailureLimiter:
    """Failed authentications per client address in a sliding minute (this process).

    After ``limit`` failures in ``window_s`` seconds an address is refused (429) for any
    request carrying credentials until its oldest failure leaves the window; requests
    without credentials (the public) are never refused. Each gunicorn worker counts its
    own, so a deployment of ``w`` workers allows at most ``w * limit`` guesses a minute.

    >>> lim = FailureLimiter(limit=2, window_s=60)
    >>> lim.retry_after("a", now=0.0) is None
    True
    >>> lim.failed("a", now=1.0); lim.failed("a", now=2.0)
    >>> lim.retry_after("a", now=3.0), lim.retry_after("b", now=3.0)
    (58, None)
    >>> lim.retry_after("a", now=61.5) is None
    True
    """

    def __init__(self, limit: int = 20, window_s: float = 60.0, max_addresses: int = 10_000):
        self.limit, self.window_s, self.max_addresses = int(limit), float(window_s), max_addresses
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _recent(self, addr: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(addr, ()) if now - t < self.window_s]
        if times:
            self._failures[addr] = times
        else:
            self._failures.pop(addr, None)
        return times

    def failed(self, addr: str | None, now: float | None = None) -> None:
        """Count one failed authentication from ``addr``."""
        import time

        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= self.max_addresses and addr not in self._failures:
                for a in list(self._failures):
                    self._recent(a, now)
            self._failures.setdefault(addr or "?", []).append(now)

    def retry_after(self, addr: str | None, now: float | None = None) -> int | None:
        """Seconds until ``addr`` may try again (None: it may now)."""
        import math
        import time

        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(addr or "?", now)
            if len(times) < self.limit:
                return None
            return max(1, math.ceil(self.window_s - (now - times[-self.limit])))
