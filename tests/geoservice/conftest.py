# SPDX-License-Identifier: GPL-3.0-or-later
"""A real geoservice for the tests: the demo force in a GeoPackage, a real RSA signing key
with its JWKS file, real tokens, and ``lpt serve`` (gunicorn) on a free port."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

jwt = pytest.importorskip("jwt")
pytest.importorskip("pygeoapi")
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://login.test.invalid/realms/demo"
AUDIENCE = "lpt-geoservice"
API_KEY = "test-system-key-0123456789"
PARTNER_KEY = "test-partner-key-0123456789"
K = 40  # large enough that the small demo has counts to withhold


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    store: Path
    audit: Path
    key: object
    kid: str
    proc: subprocess.Popen
    log: Path
    api_key: str = API_KEY
    partner_key: str = PARTNER_KEY
    k: int = K
    tokens: dict = field(default_factory=dict)

    def token(self, role: str, areas=(), sub: str | None = None, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub or f"{role}-1", "iat": now,
                "exp": now + 600, "lpt_role": role, "lpt_areas": list(areas), **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})

    def get(self, path: str, token: str | None = None, headers: dict | None = None,
            api_key: str | None = None):
        return self.request("GET", path, token=token, headers=headers, api_key=api_key)

    def request(self, method: str, path: str, body: bytes | None = None,
                token: str | None = None, headers: dict | None = None,
                api_key: str | None = None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if api_key:
            h["X-API-Key"] = api_key
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, path: str, **kw):
        status, headers, body = self.get(path, **kw)
        return status, (json.loads(body) if body else None)


def _jwks(public_key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


@pytest.fixture(scope="session")
def service(tmp_path_factory, demo_builds, running_service) -> Server:
    from geoservice.auth import hash_api_key

    d = tmp_path_factory.mktemp("geoservice")
    store_path = demo_builds.copy(d, households=3_000, months=3)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "test-key-1"
    (d / "jwks.json").write_text(json.dumps(_jwks(key.public_key(), kid)))
    config = f"""
store: demo.gpkg
auth:
  oidc:
    issuer: {ISSUER}
    audience: {AUDIENCE}
    jwks_file: jwks.json
    role_claim: lpt_role
    areas_claim: lpt_areas
  api_keys:
    - name: gis-sync
      sha256: ${{LPT_TEST_KEY_SHA}}
      role: force_analyst
      purpose: nightly GIS sync
    - name: council
      sha256: {hash_api_key(PARTNER_KEY)}
      role: partner
disclosure:
  k: {K}
audit:
  path: audit.jsonl
"""
    (d / "service.yml").write_text(config)
    env = dict(os.environ, LPT_TEST_KEY_SHA=hash_api_key(API_KEY))
    with running_service(d / "service.yml", env=env, workers=2) as (url, proc, log):
        yield Server(url=url, store=store_path, audit=d / "audit.jsonl", key=key, kid=kid,
                     proc=proc, log=log)


@pytest.fixture(scope="session")
def demo(service):
    """Facts about the demo store the tests compare the service with."""
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        streets = s.read("streets", ["street_id", "beat_id", "geom"])
        beats = s.read("areas", ["area_id", "geom"], where=None)
        addresses = s.read("addresses", ["uprn", "beat_id"])
        visits = s.read("visits", ["visit_id", "uprn"])
        areas = s.read("areas", ["area_id", "level", "parent_id"])
    finally:
        s.close()
    visits = visits.merge(addresses, on="uprn", how="left")
    return {"streets": streets, "addresses": addresses, "visits": visits, "areas": areas,
            "geoms": beats}


@pytest.fixture(scope="module")
def callers(service):
    """Credentials per role (keyword arguments for Server.get): a force analyst, the
    supervisor of npa DM01, the beat officer of DM01B01, a partner (token and API key) and
    the public (none). Module-scoped: tokens live ten minutes."""
    return {
        "force_analyst": {"token": service.token("force_analyst")},
        "supervisor": {"token": service.token("supervisor", ["DM01"])},
        "beat_officer": {"token": service.token("beat_officer", ["beat:DM01B01"])},
        "partner": {"token": service.token("partner")},
        "partner_key": {"api_key": service.partner_key},
        "public": {},
    }


@pytest.fixture(scope="session")
def tiles_over():
    """``tiles_over(bounds_bng, z)``: the z/y/x of every WebMercatorQuad tile meeting a
    British National Grid box."""
    import math

    from pyproj import Transformer

    to_lnglat = Transformer.from_crs(27700, 4326, always_xy=True)

    def cover(bounds_bng, z: int) -> list[tuple[int, int, int]]:
        lng, lat = to_lnglat.transform([bounds_bng[0], bounds_bng[2]],
                                       [bounds_bng[1], bounds_bng[3]])
        n = 1 << z

        def xy(lo, la):
            return (int((lo + 180) / 360 * n),
                    int((1 - math.asinh(math.tan(math.radians(la))) / math.pi) / 2 * n))

        x0, y0 = xy(lng[0], lat[1])
        x1, y1 = xy(lng[1], lat[0])
        return [(z, y, x) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]

    return cover


CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
NODE_MODULES = ROOT / "geoservice" / "node_modules"


@pytest.fixture(scope="session")
def browser_missing() -> str | None:
    """Why the headless-browser tests cannot run here (None: they can): node, Debian's
    Chromium, playwright-core and the vendored Leaflet are needed."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if not (NODE_MODULES / "playwright-core").is_dir():
        return f"{NODE_MODULES}/playwright-core is missing (bash scripts/setup.sh runs npm ci)"
    if not (ROOT / "geoservice" / "static" / "vendor" / "leaflet" / "leaflet.js").exists():
        return "geoservice/static/vendor/leaflet is missing (npm ci in geoservice/ copies it)"
    return None


@pytest.fixture
def need_browser(browser_missing) -> None:
    """A browser test: fails in CI, and is skipped elsewhere, when the browser is missing."""
    if browser_missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser test cannot run in CI: {browser_missing}")
        pytest.skip(browser_missing)
