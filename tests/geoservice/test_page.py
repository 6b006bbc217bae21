# SPDX-License-Identifier: GPL-3.0-or-later
"""The officer map page: served assets (nothing from a CDN), the demo sign-in, and a real
browser run (Debian's headless Chromium driven by playwright-core) against a real server.

The browser test skips outside CI when node, Chromium or ``geoservice/node_modules`` is
missing, and fails in CI (``CI=true``) instead: CI's set-up installs all three.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

jwt = pytest.importorskip("jwt")

ROOT = Path(__file__).resolve().parents[2]
GEOSERVICE = ROOT / "geoservice"
NODE_MODULES = GEOSERVICE / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e" / "officer_page.js"
ARTIFACTS = ROOT / "test-artifacts" / "officer-page"
OFFICER = "pc-dm01b01"
BEAT = "beat:DM01B01"
SETUP = "dm01b01-recruitment"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def page_server(service, tmp_path_factory, running_service):
    """``lpt serve`` on a copy of the demo store with the demo identity provider."""
    from geoservice.demo_idp import write_demo_service

    d = tmp_path_factory.mktemp("page")
    store = d / "demo.gpkg"
    src = sqlite3.connect(service.store)
    dst = sqlite3.connect(store)
    try:
        src.backup(dst)  # a consistent copy while the other server is running
    finally:
        dst.close()
        src.close()
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    s = open_store(store, create=False)
    try:  # a live set-up in the officer's beat, for the walk list
        create_setup(s, "DM01B01 recruitment", areas=[BEAT], setup_id=SETUP, max_streets=5)
    finally:
        s.close()
    config = write_demo_service(d, store)
    with running_service(config) as (url, proc, log):
        yield type(service)(url=url, store=store, audit=d / "audit.jsonl", key=None,
                            kid="demo-1", proc=proc, log=log)


def _store_frame(path: Path, table: str, columns: list[str]):
    from spatial_core import open_store

    s = open_store(path, create=False)
    try:
        return s.read(table, columns)
    finally:
        s.close()


def _login(server, sub: str) -> tuple[int, dict]:
    status, _, body = server.request("POST", "/auth/demo-login",
                                     body=json.dumps({"sub": sub}).encode(),
                                     headers={"Content-Type": "application/json"})
    return status, json.loads(body)


# -- served page ------------------------------------------------------------------------
def test_page_html_references_only_our_own_assets(page_server):
    status, headers, body = page_server.get("/app/")
    assert status == 200
    html = body.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(not r.startswith(("http:", "https:", "//")) for r in refs), refs
    assert "vendor/leaflet/leaflet.js" in refs
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp


@pytest.mark.parametrize("asset", ["app.js", "app.css", "vendor/leaflet/leaflet.js",
                                   "vendor/leaflet/leaflet.css"])
def test_page_assets_are_served(page_server, asset, browser_missing):
    if asset.startswith("vendor/") and browser_missing and not _in_ci():
        pytest.skip(browser_missing)
    status, _, body = page_server.get(f"/app/{asset}")
    assert status == 200 and len(body) > 500
    assert b"unpkg.com" not in body and b"cdn." not in body


def test_page_config_lists_demo_sign_in_outcomes_and_attribution(page_server):
    status, cfg = page_server.json("/app/config.json")
    assert status == 200
    assert cfg["auth"]["demo"] is True and cfg["auth"]["oidc"] is None
    assert set(cfg["outcomes"]) == {"registered", "surveyed", "spoke", "not_in", "declined",
                                    "no_access"}
    assert cfg["attributions"] == ["Synthetic demo data: no real people, places or crimes"]


def test_page_missing_asset_is_404_and_no_path_escape(page_server):
    assert page_server.get("/app/nothing.js")[0] == 404
    assert page_server.get("/app/../page.py")[0] == 404


# -- demo identity provider -------------------------------------------------------------
def test_demo_login_issues_a_token_the_service_accepts(page_server):
    status, users = page_server.json("/auth/demo/users")
    assert status == 200
    subs = {u["sub"]: u for u in users["users"]}
    assert subs[OFFICER] == {"sub": OFFICER, "name": "PC Demo (Wexcombe West 1)",
                             "role": "beat_officer", "areas": ["DM01B01"]}
    status, body = _login(page_server, OFFICER)
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == OFFICER and claims["lpt_role"] == "beat_officer"
    assert claims["lpt_areas"] == ["DM01B01"] and claims["exp"] - claims["iat"] == 900
    status, fc = page_server.json("/collections/streets/items?f=json&limit=1000",
                                  token=body["access_token"])
    assert status == 200
    assert {f["properties"]["beat_id"] for f in fc["features"]} == {BEAT}


def test_demo_login_refuses_an_unknown_user(page_server):
    status, body = _login(page_server, "pc-nobody")
    assert status == 400 and "pc-nobody" in body["description"]


def test_demo_login_absent_without_demo_idp(service):
    """The shared test service has no ``auth.demo_idp``: no demo sign-in there."""
    assert service.request("POST", "/auth/demo-login", body=b'{"sub": "x"}',
                           headers={"Content-Type": "application/json"})[0] == 404
    assert service.get("/auth/demo/users")[0] == 404
    status, cfg = service.json("/app/config.json")
    assert status == 200 and cfg["auth"]["demo"] is False


def test_demo_idp_refuses_a_key_missing_from_the_key_set(tmp_path, service):
    from geoservice.config import ConfigError, load_config
    from geoservice.demo_idp import load_demo_idp, write_demo_service

    config = write_demo_service(tmp_path, service.store)
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": []}))
    with pytest.raises(ConfigError, match="no key 'demo-1' matching the demo private key"):
        load_demo_idp(load_config(config))


# -- the browser ------------------------------------------------------------------------
def test_officer_page_in_chromium_signs_in_sees_only_their_beat_and_records_a_visit(
        page_server, need_browser):
    addresses = _store_frame(page_server.store, "addresses", ["uprn", "beat_id"])
    streets = _store_frame(page_server.store, "streets", ["street_id", "beat_id"])
    inside = sorted(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])[0]
    outside = sorted(addresses.loc[addresses["beat_id"].notna()
                                   & (addresses["beat_id"] != BEAT), "uprn"])[0]
    before = _store_frame(page_server.store, "visits", ["visit_id"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LPT_BASE_URL=page_server.url, LPT_OFFICER=OFFICER,
               LPT_UPRN=inside, LPT_UPRN_OUTSIDE=outside, LPT_SETUP=SETUP, LPT_SHOTS=str(ARTIFACTS),
               LPT_NODE_MODULES=str(NODE_MODULES), LPT_CHROMIUM=str(CHROMIUM))
    run = subprocess.run(["node", str(E2E)], env=env, capture_output=True, text=True,
                         timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("error")

    # Everything came from our server; the page raised no script errors.
    assert out["foreign"] == []
    assert out["page_errors"] == []
    assert any(u.endswith("/app/vendor/leaflet/leaflet.js") for u in out["requests"])

    # Only the officer's beat: its streets, all of them, listed and drawn.
    mine = set(streets.loc[streets["beat_id"] == BEAT, "street_id"])
    assert out["beats"] == [BEAT]
    assert len(out["listed"]) == len(mine) and set(out["listed"]) == mine
    assert out["drawn"] == len(mine) and set(out["drawn_ids"]) == mine
    assert "beat officer" in out["who"]
    assert "Synthetic demo data" in out["attribution"]
    # Street scores with reasons once the collection exists; priorities and who we are not
    # hearing from area_profiles.
    assert out["score_source"] == "Street scores"
    assert "survey respondents in the beat" in out["beat_text"]
    assert "fair share" in out["beat_text"] or "No group is under-represented" in out["beat_text"]

    # A visit outside the beat is refused; one inside is recorded and is in the store.
    assert "not in your beats" in out["outside_message"]
    walk = _store_frame(page_server.store, "setup_households", ["setup_id", "uprn"])
    assert SETUP in out["setups"]
    assert out["walk_count"] == int((walk["setup_id"] == SETUP).sum()) > 0
    assert out["visit_setup"] == SETUP and out["visit_uprn"] == out["walk_uprn"]
    assert out["visit_uprn"] in set(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])
    visits = _store_frame(page_server.store, "visits", ["visit_id", "uprn", "outcome", "officer",
                                                        "notes", "visited_at", "setup_id"])
    new = visits[~visits["visit_id"].isin(before["visit_id"])]
    assert len(new) == 1
    row = new.iloc[0]
    assert row["visit_id"] == out["visit_id"]
    assert (row["uprn"], row["outcome"], row["officer"], row["setup_id"]) == (
        out["visit_uprn"], "spoke", OFFICER, SETUP)
    assert row["notes"] == "talked about parking (browser test)"
    assert row["visited_at"].startswith(out["visited_at"][:16])
    audit = [json.loads(line) for line in page_server.audit.read_text().splitlines()]
    created = [e for e in audit if e["action"] == "create" and e.get("ids") == [out["visit_id"]]]
    assert len(created) == 1
    assert created[0]["sub"] == OFFICER and created[0]["purpose"] == "Door-knocking in beat DM01B01"
    walk_reads = [e for e in audit if e.get("collection") == "walk_lists" and e["action"] == "read"]
    assert walk_reads and all(e["sub"] == OFFICER and e["purpose"] for e in walk_reads)
    for shot in ("01-sign-in", "02-streets", "03-beat", "04-walk-list", "05-visit-recorded"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 5_000


# -- configuration: production sign-in client and attributions ---------------------------
_PROD = """
store: demo.gpkg
auth:
  oidc:
    issuer: https://login.force.invalid/realms/police
    audience: lpt-geoservice
    jwks_url: https://login.force.invalid/realms/police/certs
  page_client:
    client_id: lpt-officer-page
    authorization_endpoint: https://login.force.invalid/realms/police/auth
    token_endpoint: https://login.force.invalid/realms/police/token
server:
  page:
    attributions: ["Contains force gazetteer data"]
"""


def test_page_settings_read_the_pkce_client_and_configured_attributions(tmp_path):
    from geoservice.config import load_config
    from geoservice.page import _page_settings

    (tmp_path / "service.yml").write_text(_PROD)
    lines, client = _page_settings(load_config(tmp_path / "service.yml"))
    assert lines == ["Contains force gazetteer data"]
    assert client == {"authorization_endpoint": "https://login.force.invalid/realms/police/auth",
                      "token_endpoint": "https://login.force.invalid/realms/police/token",
                      "client_id": "lpt-officer-page", "scope": "openid",
                      "end_session_endpoint": None}


def test_page_settings_refuse_a_pkce_client_without_token_endpoint(tmp_path):
    from geoservice.config import ConfigError, load_config
    from geoservice.page import _page_settings

    (tmp_path / "service.yml").write_text(
        _PROD.replace("    token_endpoint: https://login.force.invalid/realms/police/token\n", ""))
    with pytest.raises(ConfigError, match=r"auth.page_client: \['token_endpoint'\] required"):
        _page_settings(load_config(tmp_path / "service.yml"))


class _StubStore:
    def __init__(self, areas: list[str], kinds: list[str]) -> None:
        self.areas, self.kinds = areas, kinds

    def read(self, table, columns, where=None):
        import pandas as pd

        if table == "areas":
            return pd.DataFrame({"area_id": [a for a in self.areas if a == "force:DEMO"]})
        return pd.DataFrame({"kind": self.kinds})


@pytest.mark.parametrize(("kinds", "expected"), [
    (["crimes"], ["ogl"]),
    (["crimes", "streets"], ["ogl", "osm"]),
    (["postcodes", "boundaries"], ["ogl", "os", "royal_mail", "ons"]),
    (["addresses"], []),
])
def test_attributions_follow_the_kinds_imported(kinds, expected):
    from geoservice.page import ATTRIBUTION_LINES, attributions

    got = attributions(_StubStore(["force:WYP"], kinds))
    assert got == [ATTRIBUTION_LINES[k] for k in expected]


def test_attributions_of_the_demo_force_say_synthetic_only():
    from geoservice.page import attributions

    got = attributions(_StubStore(["force:DEMO"], ["streets", "crimes"]))
    assert got == ["Synthetic demo data: no real people, places or crimes"]
