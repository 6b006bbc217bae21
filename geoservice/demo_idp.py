# SPDX-License-Identifier: GPL-3.0-or-later
"""A demo identity provider: short-lived tokens for configured demo officers.

For demonstrations and tests only. When the service YAML has an ``auth.demo_idp`` section,
``POST /auth/demo-login`` issues a JWT for one of the listed demo users, signed with the demo
private key, with the configured issuer, audience, role and areas claims, so the service
verifies it exactly like a token from the force's OpenID Connect provider (the public key
must be in ``auth.oidc``'s key set; this is checked at start).

```yaml
auth:
  oidc: {issuer: https://demo.invalid/idp, audience: lpt-geoservice, jwks_file: jwks.json,
         role_claim: lpt_role, areas_claim: lpt_areas}
  demo_idp:
    private_key_file: demo-idp.pem      # RSA private key (PEM); its public key is in jwks.json
    kid: demo-1
    ttl_s: 900                          # token lifetime (at most one hour)
    users:
      - {sub: pc-dm01b01, name: "PC Demo (Wexcombe West 1)", role: beat_officer, areas: [DM01B01]}
```

:func:`write_demo_service` writes such a configuration for a store: a fresh key, its JWKS, one
beat officer per beat, a supervisor per neighbourhood policing area and a force analyst.
A production deployment has no ``demo_idp`` section: officers sign in with the force's
provider (see ``docs/officer-page.md``).
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import ROLES, ConfigError, ServiceConfig, raw_config

__all__ = ["DemoUser", "DemoIdp", "load_demo_idp", "write_demo_service"]

log = logging.getLogger(__name__)

MAX_TTL_S = 3600


@dataclass(frozen=True)
class DemoUser:
    """A demo officer the demo identity provider can sign in."""

    sub: str
    name: str
    role: str
    areas: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"sub": self.sub, "name": self.name, "role": self.role, "areas": list(self.areas)}


def _nest(claims: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted claim path (``realm_access.roles``) in ``claims``."""
    parts = path.split(".")
    for p in parts[:-1]:
        claims = claims.setdefault(p, {})
    claims[parts[-1]] = value


class DemoIdp:
    """Issues tokens for the configured demo users (see the module docstring)."""

    def __init__(self, cfg: ServiceConfig, private_key: Any, kid: str, ttl_s: int,
                 users: tuple[DemoUser, ...]) -> None:
        if cfg.oidc is None:
            raise ConfigError("auth.demo_idp needs auth.oidc (issuer, audience and the key set "
                              "holding the demo public key)")
        self.oidc = cfg.oidc
        self.key = private_key
        self.kid = kid
        self.ttl_s = ttl_s
        self.users = {u.sub: u for u in users}

    def issue(self, sub: str) -> dict[str, Any]:
        """An OAuth-style token response for demo user ``sub`` (KeyError if unknown)."""
        user = self.users[sub]
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.oidc.issuer, "aud": self.oidc.audience,
                                  "sub": user.sub, "name": user.name, "iat": now,
                                  "exp": now + self.ttl_s, "demo": True}
        role = [user.role] if "." in self.oidc.role_claim else user.role
        _nest(claims, self.oidc.role_claim, role)
        _nest(claims, self.oidc.areas_claim, list(user.areas))
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_s,
                "user": user.public()}


def _raw_section(cfg: ServiceConfig) -> dict[str, Any] | None:
    """``auth.demo_idp`` of the service YAML (:func:`geoservice.config.raw_config`)."""
    return (raw_config(cfg).get("auth") or {}).get("demo_idp") or None


def load_demo_idp(cfg: ServiceConfig) -> DemoIdp | None:
    """The demo identity provider of ``cfg`` (None when its YAML has no ``auth.demo_idp``)."""
    section = _raw_section(cfg)
    if not section:
        return None
    where = "auth.demo_idp"
    key_file = section.get("private_key_file")
    if not key_file:
        raise ConfigError(f"{where}.private_key_file: give the PEM file of the demo signing key")
    key_path = Path(key_file)
    if not key_path.is_absolute() and cfg.source:
        key_path = Path(cfg.source).parent / key_path
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"{where}.private_key_file: {key_path} does not exist") from None
    except ValueError as exc:
        raise ConfigError(f"{where}.private_key_file: {key_path} is not a PEM private key "
                          f"({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{where}.private_key_file: expected an RSA key")
    kid = str(section.get("kid") or "demo-1")
    ttl = int(section.get("ttl_s", 900))
    if not 60 <= ttl <= MAX_TTL_S:
        raise ConfigError(f"{where}.ttl_s: {ttl} is outside 60 .. {MAX_TTL_S} seconds")
    users = []
    for i, u in enumerate(section.get("users") or []):
        if u.get("role") not in ROLES:
            raise ConfigError(f"{where}.users[{i}].role: {u.get('role')!r} is not one of "
                              f"{list(ROLES)}")
        if not u.get("sub"):
            raise ConfigError(f"{where}.users[{i}].sub is required")
        users.append(DemoUser(sub=str(u["sub"]), name=str(u.get("name") or u["sub"]),
                              role=u["role"], areas=tuple(str(a) for a in u.get("areas") or ())))
    if not users:
        raise ConfigError(f"{where}.users: list at least one demo user")
    idp = DemoIdp(cfg, key, kid, ttl, tuple(users))
    _check_public_key(cfg, key, kid)
    log.warning("demo identity provider enabled: anyone reaching /auth/demo-login can sign in "
                "as a demo user; never configure auth.demo_idp in production",
                extra={"fields": {"users": len(users)}})
    return idp


def _check_public_key(cfg: ServiceConfig, key: rsa.RSAPrivateKey, kid: str) -> None:
    assert cfg.oidc is not None
    if not cfg.oidc.jwks_file:
        return  # a JWKS URL cannot be checked at start
    try:
        keys = json.loads(Path(cfg.oidc.jwks_file).read_text(encoding="utf-8"))["keys"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"auth.oidc.jwks_file: cannot read {cfg.oidc.jwks_file}: {exc}") from None
    want = key.public_key().public_numbers()
    for k in keys:
        if k.get("kid") == kid and k.get("kty") == "RSA":
            got = jwt.algorithms.RSAAlgorithm.from_jwk(k).public_numbers()
            if got == want:
                return
    raise ConfigError(f"auth.demo_idp: the key set {cfg.oidc.jwks_file} has no key {kid!r} "
                      "matching the demo private key; demo tokens would be refused")


def write_demo_service(folder: str | os.PathLike, store: str | os.PathLike, *,
                       issuer: str = "https://demo-idp.invalid/lpt",
                       audience: str = "lpt-geoservice", ttl_s: int = 900) -> Path:
    """Write ``service.yml``, ``demo-idp.pem`` and ``jwks.json`` for serving a demo store.

    The demo users are one beat officer per beat, one supervisor per neighbourhood policing
    area and one force analyst. Returns the path of ``service.yml``.
    """
    from spatial_core import open_store
    from spatial_core.store.boundary_sets import newest_per_area

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    s = open_store(store, create=False)
    try:
        areas = s.read("areas", ["area_id", "level", "code", "name", "boundary_set",
                                 "valid_from"])
    finally:
        s.close()
    areas = newest_per_area(areas[areas["level"].isin(["npa", "beat"])])
    areas = areas.sort_values(["level", "area_id"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    key_path = out / "demo-idp.pem"
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    kid = "demo-1"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    (out / "jwks.json").write_text(json.dumps({"keys": [jwk]}, indent=1), encoding="utf-8")
    users: list[dict[str, Any]] = []
    for r in areas[areas["level"] == "beat"].itertuples():
        users.append({"sub": f"pc-{r.code.lower()}", "name": f"PC Demo ({r.name or r.code})",
                      "role": "beat_officer", "areas": [r.code]})
    for r in areas[areas["level"] == "npa"].itertuples():
        users.append({"sub": f"ps-{r.code.lower()}", "name": f"Sgt Demo ({r.name or r.code})",
                      "role": "supervisor", "areas": [r.code]})
    users.append({"sub": "analyst-demo", "name": "Analyst Demo", "role": "force_analyst",
                  "areas": []})
    config = {
        "store": str(Path(store).resolve()),
        "server": {"title": "Local priority targeting (demo)"},
        "auth": {
            "oidc": {"issuer": issuer, "audience": audience, "jwks_file": "jwks.json",
                     "role_claim": "lpt_role", "areas_claim": "lpt_areas"},
            "demo_idp": {"private_key_file": "demo-idp.pem", "kid": kid, "ttl_s": ttl_s,
                         "users": users},
        },
        "audit": {"path": "audit.jsonl"},
    }
    path = out / "service.yml"
    path.write_text("# Demo service: the demo identity provider signs anyone in. Never in "
                    "production.\n" + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
