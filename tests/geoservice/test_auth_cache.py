# SPDX-License-Identifier: GPL-3.0-or-later
"""A verified token's principal is reused (issue 13: every request is authenticated twice,
by the response cache and by the app) only while the token is valid, for at most
``TOKEN_CACHE_S``, and never after the key set changed; failures are never remembered."""
from __future__ import annotations

import json
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from geoservice import auth
from geoservice.auth import Authenticator, AuthError
from geoservice.config import OidcConfig, ServiceConfig


def _jwks(path, key, kid: str) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}))


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = tmp_path / "jwks.json"
    _jwks(jwks, key, "k1")
    cfg = ServiceConfig(store="x.gpkg", oidc=OidcConfig(
        issuer="https://idp.test.invalid", audience="lpt", jwks_file=str(jwks),
        role_claim="lpt_role", areas_claim="lpt_areas"))
    calls = []
    verify = Authenticator._verify

    def counting(self, token):
        calls.append(token)
        return verify(self, token)

    monkeypatch.setattr(Authenticator, "_verify", counting)

    def token(lifetime: int = 600, k=key, kid: str = "k1", **claims) -> str:
        now = int(time.time())
        body = {"iss": "https://idp.test.invalid", "aud": "lpt", "sub": "pc1", "iat": now,
                "exp": now + lifetime, "lpt_role": "beat_officer", "lpt_areas": ["DM01B01"],
                **claims}
        return jwt.encode(body, k, algorithm="RS256", headers={"kid": kid})

    return Authenticator(cfg), token, calls, jwks, key


def _bearer(t: str) -> dict:
    return {"Authorization": f"Bearer {t}"}


def test_a_valid_token_is_verified_once(setup):
    a, token, calls, _, _ = setup
    t = token()
    first = a.authenticate(_bearer(t))
    assert a.authenticate(_bearer(t)) == first and first.areas == ("beat:DM01B01",)
    assert calls == [t]
    other = token(sub="pc2")
    assert a.authenticate(_bearer(other)).sub == "pc2" and calls == [t, other]


def test_a_remembered_token_is_checked_again_after_the_bound_or_its_expiry(setup, monkeypatch):
    a, token, calls, _, _ = setup
    t, short = token(), token(lifetime=2)
    a.authenticate(_bearer(t))
    a.authenticate(_bearer(short))
    now = time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now + auth.TOKEN_CACHE_S + 1)
    a.authenticate(_bearer(t))
    assert calls == [t, short, t]
    monkeypatch.setattr(auth.time, "time", lambda: now + 3)  # past its exp: checked again
    a.authenticate(_bearer(short))  # (PyJWT still accepts it within its 30 s leeway)
    assert calls == [t, short, t, short]


def test_a_new_key_set_forgets_every_token(setup):
    a, token, calls, jwks, _ = setup
    t = token()
    a.authenticate(_bearer(t))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _jwks(jwks, other, "k2")  # the old key is withdrawn
    st = os.stat(jwks)
    os.utime(jwks, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(AuthError):
        a.authenticate(_bearer(t))


def test_failures_are_never_remembered(setup):
    a, token, calls, _, _ = setup
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = token(k=stranger)
    for _ in range(2):
        with pytest.raises(AuthError):
            a.authenticate(_bearer(bad))
    assert calls == [bad, bad]
