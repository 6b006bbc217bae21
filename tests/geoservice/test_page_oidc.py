# SPDX-License-Identifier: GPL-3.0-or-later
"""The officer page's production sign-in (authorisation code + PKCE) end to end against a
real certified OpenID Connect provider: panva's ``oidc-provider`` (npm, a devDependency in
``geoservice/package.json``) started by ``e2e/oidc_provider.mjs``, our ``lpt serve`` configured
from the provider's discovery document, and Debian's headless Chromium clicking through the
provider's login and consent pages (``e2e/officer_page_oidc.js``).

Skips outside CI when node, Chromium or ``geoservice/node_modules`` (with ``oidc-provider``) is
missing; fails in CI (``CI=true``) instead.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

jwt = pytest.importorskip("jwt")

ROOT = Path(__file__).resolve().parents[2]
GEOSERVICE = ROOT / "geoservice"
NODE_MODULES = GEOSERVICE / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e"
ARTIFACTS = ROOT / "test-artifacts" / "officer-page-oidc"
AUDIENCE = "lpt-geoservice"
CLIENT_ID = "lpt-officer-page"
BEAT = "beat:DM01B01"
SETUP = "dm01b01-oidc"
OFFICER = "pc-oidc-dm01b01"      # a beat officer of DM01B01 at the provider
ELSEWHERE = "pc-oidc-zz99b99"    # a beat officer of a beat this store does not have
STRANGER = "oidc-chief"          # a role our service does not know
OPAQUE = "pc-oidc-opaque"        # the provider (misconfigured) gives an opaque access token
ACCOUNTS = {
    OFFICER: {"name": "PC Provider (Wexcombe West 1)",
              "access_token_claims": {"lpt_role": "beat_officer", "lpt_areas": ["DM01B01"]}},
    ELSEWHERE: {"name": "PC Provider (elsewhere)",
                "access_token_claims": {"lpt_role": "beat_officer", "lpt_areas": ["ZZ99B99"]}},
    STRANGER: {"name": "Chief Provider",
               "access_token_claims": {"lpt_role": "chief_constable", "lpt_areas": []}},
    OPAQUE: {"name": "PC Opaque", "access_token_format": "opaque",
             "access_token_claims": {"lpt_role": "beat_officer", "lpt_areas": ["DM01B01"]}},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    for pkg in ("playwright-core", "oidc-provider"):
        if not (NODE_MODULES / pkg).is_dir():
            return f"{NODE_MODULES}/{pkg} is missing (bash scripts/setup.sh runs npm ci)"
    if not (GEOSERVICE / "static" / "vendor" / "leaflet" / "leaflet.js").exists():
        return "geoservice/static/vendor/leaflet is missing (npm ci in geoservice/ copies it)"
    return None


def _need_tools() -> None:
    missing = _missing()
    if missing:
        if _in_ci():
            pytest.fail(f"OIDC browser test cannot run in CI: {missing}")
        pytest.skip(missing)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _start_provider(folder: Path, redirect_uri: str) -> tuple[subprocess.Popen, dict, Path]:
    accounts = folder / "accounts.json"
    accounts.write_text(json.dumps(ACCOUNTS), encoding="utf-8")
    log = folder / "oidc-provider.log"
    proc = subprocess.Popen(
        ["node", str(E2E / "oidc_provider.mjs"), "--port", "0", "--redirect-uri", redirect_uri,
         "--client-id", CLIENT_ID, "--audience", AUDIENCE, "--accounts", str(accounts)],
        cwd=ROOT, env=dict(os.environ, LPT_NODE_MODULES=str(NODE_MODULES)),
        stdout=subprocess.PIPE, stderr=open(log, "wb"), start_new_session=True, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("{"):
        _stop(proc)
        raise RuntimeError(f"oidc-provider did not start:\n{log.read_text()}")
    return proc, json.loads(line), log


@dataclass
class OidcService:
    server: object          # conftest.Server (url, store, audit, request helpers)
    config: Path
    discovery: dict
    provider_log: Path


@pytest.fixture(scope="module")
def oidc(service, tmp_path_factory, running_service):
    """The provider, then ``lpt serve`` on a copy of the demo store signing in through it."""
    _need_tools()
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    d = tmp_path_factory.mktemp("page-oidc")
    store = d / "demo.gpkg"
    src, dst = sqlite3.connect(service.store), sqlite3.connect(store)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    s = open_store(store, create=False)
    try:  # a live set-up in the officer's beat, for the walk list
        create_setup(s, "DM01B01 OIDC", areas=[BEAT], setup_id=SETUP, max_streets=5)
    finally:
        s.close()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    provider, ready, provider_log = _start_provider(d, f"{url}/app/")
    try:
        disco = _get_json(ready["issuer"] + "/.well-known/openid-configuration")
        config = d / "service.yml"
        config.write_text(f"""
store: demo.gpkg
server:
  title: Local priority targeting (OIDC test)
auth:
  oidc:
    issuer: {disco["issuer"]}
    audience: {AUDIENCE}
    jwks_url: {disco["jwks_uri"]}
    role_claim: lpt_role
    areas_claim: lpt_areas
  page_client:
    client_id: {CLIENT_ID}
    authorization_endpoint: {disco["authorization_endpoint"]}
    token_endpoint: {disco["token_endpoint"]}
    end_session_endpoint: {disco["end_session_endpoint"]}
    scope: openid profile
audit:
  path: audit.jsonl
""", encoding="utf-8")
        with running_service(config, port=port) as (url, proc, log):
            server = type(service)(url=url, store=store, audit=d / "audit.jsonl", key=None,
                                   kid="", proc=proc, log=log)
            yield OidcService(server=server, config=config, discovery=disco,
                              provider_log=provider_log)
    finally:
        _stop(provider)


SCENARIOS = [
    {"name": "officer", "login": OFFICER, "visit": True, "signout": True, "setup": SETUP},
    {"name": "tampered-state", "login": OFFICER, "tamper": "state", "expect_failure": True},
    {"name": "wrong-verifier", "login": OFFICER, "tamper": "verifier", "expect_failure": True},
    {"name": "other-issuer", "login": OFFICER, "tamper": "iss", "expect_failure": True},
    {"name": "elsewhere", "login": ELSEWHERE},
    {"name": "unknown-role", "login": STRANGER, "expect_failure": True},
    {"name": "opaque-token", "login": OPAQUE, "expect_failure": True},
    {"name": "index-html", "login": OFFICER, "start_path": "/app/index.html?from=bookmark"},
]


@pytest.fixture(scope="module")
def browser(oidc):
    """One Chromium run through every scenario (each in a fresh browser context)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LPT_BASE_URL=oidc.server.url, LPT_ISSUER=oidc.discovery["issuer"],
               LPT_SCENARIOS=json.dumps(SCENARIOS), LPT_SHOTS=str(ARTIFACTS),
               LPT_NODE_MODULES=str(NODE_MODULES), LPT_CHROMIUM=str(CHROMIUM))
    before = _store(oidc.server.store, "visits", ["visit_id"])
    run = subprocess.run(["node", str(E2E / "officer_page_oidc.js")], env=env,
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    (oidc.config.parent / "browser.json").write_text(run.stdout)  # for debugging a failure
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    out["_visits_before"] = set(before["visit_id"])
    return out


def _store(path: Path, table: str, columns: list[str]):
    from spatial_core import open_store

    s = open_store(path, create=False)
    try:
        return s.read(table, columns)
    finally:
        s.close()


def _ok(browser: dict, name: str) -> dict:
    run = browser[name]
    assert run["ok"], run.get("error")
    assert run["page_errors"] == [], run["page_errors"]
    assert run["foreign"] == [], run["foreign"]
    return run


def _authenticate(oidc: OidcService, token: str):
    from geoservice.auth import Authenticator
    from geoservice.config import load_config

    return Authenticator(load_config(oidc.config)).authenticate(
        {"Authorization": f"Bearer {token}"})


# -- configuration ---------------------------------------------------------------------
def test_page_config_and_csp_point_at_the_providers_endpoints(oidc):
    status, headers, _ = oidc.server.get("/app/")
    assert status == 200
    issuer = oidc.discovery["issuer"]
    assert f"connect-src 'self' {issuer};" in headers["Content-Security-Policy"]
    status, cfg = oidc.server.json("/app/config.json")
    assert status == 200 and cfg["auth"]["demo"] is False
    assert cfg["auth"]["oidc"] == {
        "client_id": CLIENT_ID, "scope": "openid profile", "issuer": issuer,
        "authorization_endpoint": oidc.discovery["authorization_endpoint"],
        "token_endpoint": oidc.discovery["token_endpoint"],
        "end_session_endpoint": oidc.discovery["end_session_endpoint"]}
    # The provider is what the test claims: S256 only, and our client is public.
    assert oidc.discovery["code_challenge_methods_supported"] == ["S256"]
    assert "none" in oidc.discovery["token_endpoint_auth_methods_supported"]


# -- the officer signs in at the provider -------------------------------------------------
def test_oidc_sign_in_shows_only_the_officers_beat(oidc, browser):
    run = _ok(browser, "officer")
    issuer = oidc.discovery["issuer"]
    assert run["login_page"].startswith(issuer + "/interaction/")
    # Back on the page with the code and state gone from the address bar and the PKCE
    # verifier forgotten.
    assert run["return_url"].startswith(oidc.server.url + "/app/?code=<code>")
    assert f"iss={urllib.parse.quote(issuer, safe='')}" in run["return_url"]  # RFC 9207
    assert run["url"] == oidc.server.url + "/app/"
    assert run["pkce_left"] is None
    # The page's only call to the provider is the token exchange (the rest are navigations).
    assert run["provider_fetches_at_sign_in"] == [f"POST {oidc.discovery['token_endpoint']}"]
    assert run["main_visible"] and not run["signin_visible"]
    assert run["who"] == "PC Provider (Wexcombe West 1) · beat officer"
    streets = _store(oidc.server.store, "streets", ["street_id", "beat_id"])
    mine = set(streets.loc[streets["beat_id"] == BEAT, "street_id"])
    assert run["beats"] == [BEAT]
    assert len(run["listed"]) == len(mine) and set(run["listed"]) == mine
    assert run["drawn"] == len(mine) and set(run["drawn_ids"]) == mine


def test_the_token_the_page_holds_is_the_providers_and_verifies_with_our_authenticator(
        oidc, browser):
    run = _ok(browser, "officer")
    token = run["token"]
    header = jwt.get_unverified_header(token)
    keys = _get_json(oidc.discovery["jwks_uri"])["keys"]
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt"
    assert header["kid"] in {k["kid"] for k in keys}
    principal = _authenticate(oidc, token)
    assert (principal.sub, principal.role, principal.areas, principal.via) == (
        OFFICER, "beat_officer", (BEAT,), "token")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == oidc.discovery["issuer"] and claims["aud"] == AUDIENCE
    assert claims["client_id"] == CLIENT_ID and claims["exp"] - claims["iat"] == 600
    # The page also kept the ID token (for signing out at the provider): it is for our client.
    id_claims = jwt.decode(run["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == CLIENT_ID and id_claims["sub"] == OFFICER


def test_a_visit_recorded_through_the_page_carries_the_providers_sub(oidc, browser):
    run = _ok(browser, "officer")
    addresses = _store(oidc.server.store, "addresses", ["uprn", "beat_id"])
    walk = _store(oidc.server.store, "setup_households", ["setup_id", "uprn"])
    assert run["walk_count"] == int((walk["setup_id"] == SETUP).sum()) > 0
    assert run["visit_setup"] == SETUP and run["visit_uprn"] == run["walk_uprn"]
    assert run["visit_uprn"] in set(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])
    visits = _store(oidc.server.store, "visits",
                    ["visit_id", "uprn", "outcome", "officer", "notes", "setup_id"])
    new = visits[~visits["visit_id"].isin(browser["_visits_before"])]
    assert list(new["visit_id"]) == [run["visit_id"]]
    row = new.iloc[0]
    assert (row["uprn"], row["outcome"], row["officer"], row["setup_id"], row["notes"]) == (
        run["visit_uprn"], "spoke", OFFICER, SETUP,
        "signed in at the force provider (browser test)")
    audit = [json.loads(line) for line in oidc.server.audit.read_text().splitlines()]
    created = [e for e in audit if e["action"] == "create" and e.get("ids") == [run["visit_id"]]]
    assert len(created) == 1
    assert (created[0]["sub"], created[0]["role"], created[0]["via"], created[0]["purpose"]) == (
        OFFICER, "beat_officer", "token", run["visit_purpose"])
    walk_reads = [e for e in audit if e.get("collection") == "walk_lists"
                  and e["action"] == "read" and e["sub"] == OFFICER]
    assert walk_reads and all(e["purpose"] == "Door-knocking in beat DM01B01"
                              for e in walk_reads)


def test_sign_out_ends_the_session_at_the_provider(oidc, browser):
    run = _ok(browser, "officer")
    assert run["signout_via"] == "provider"
    after = run["after_signout"]
    assert after["token"] is None and after["id_token"] is None
    assert after["url"] == oidc.server.url + "/app/"
    # Signing in again asks for the password again: the provider's session is gone.
    assert run["resignin"] == "provider-login"


def test_sign_in_from_another_address_of_the_page_returns_to_the_registered_uri(oidc, browser):
    run = _ok(browser, "index-html")
    assert run["return_url"].startswith(oidc.server.url + "/app/?code=<code>")
    assert run["main_visible"] and run["beats"] == [BEAT]
    assert _authenticate(oidc, run["token"]).sub == OFFICER


# -- refusals -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "message"), [
    ("tampered-state", "Sign-in failed: sign-in state did not match; try again"),
    ("wrong-verifier", "Sign-in failed: grant request is invalid"),
    ("other-issuer", "Sign-in failed: the sign-in response came from "
                     "https://login.attacker.invalid, not {issuer}"),
])
def test_a_spoiled_authorisation_response_is_refused_and_no_token_is_kept(
        oidc, browser, name, message):
    run = _ok(browser, name)
    assert run["signin_visible"] and not run["main_visible"]
    assert run["signin_message"] == message.format(issuer=oidc.discovery["issuer"])
    assert run["token"] is None and run["id_token"] is None and run["pkce_left"] is None
    assert run["beats"] == [] and run["drawn"] == 0
    if name == "wrong-verifier":  # refused by the provider, for the PKCE check
        assert ("grant.error: invalid_grant: code_verifier does not match code_challenge"
                in oidc.provider_log.read_text())


def test_a_provider_token_for_a_beat_outside_the_store_sees_no_data(oidc, browser):
    run = _ok(browser, "elsewhere")
    principal = _authenticate(oidc, run["token"])
    assert (principal.sub, principal.role, principal.areas) == (
        ELSEWHERE, "beat_officer", ("beat:ZZ99B99",))
    assert run["main_visible"] and run["beats"] == [] and run["listed"] == []
    assert run["walk_message"] == "You have no beat in this service."
    srv, token = oidc.server, run["token"]
    for collection in ("streets", "street_scores", "areas"):
        status, fc = srv.json(f"/collections/{collection}/items?f=json&limit=50"
                              + ("&level=beat" if collection == "areas" else ""), token=token)
        assert status == 200 and fc["numberMatched"] == 0 and fc["features"] == []
    assert srv.get(f"/collections/area_profiles/items/{BEAT}?f=json", token=token)[0] == 404
    addresses = _store(srv.store, "addresses", ["uprn", "beat_id"])
    uprn = sorted(addresses.loc[addresses["beat_id"] == BEAT, "uprn"])[0]
    before = len(_store(srv.store, "visits", ["visit_id"]))
    body = json.dumps({"type": "Feature", "geometry": None,
                       "properties": {"uprn": uprn, "outcome": "spoke",
                                      "visited_at": "2026-10-01T18:05:00"}}).encode()
    status, _, _ = srv.request("POST", "/collections/visits/items", body=body, token=token,
                               headers={"Content-Type": "application/geo+json",
                                        "X-Purpose": "browser test"})
    assert status == 404
    assert len(_store(srv.store, "visits", ["visit_id"])) == before


def test_a_provider_token_with_a_role_we_do_not_know_is_refused(oidc, browser):
    run = _ok(browser, "unknown-role")
    assert run["token"] is None and run["signin_visible"]
    assert "'lpt_role' is 'chief_constable'" in run["signin_message"]


def test_an_opaque_access_token_is_refused_with_a_reason(oidc, browser):
    run = _ok(browser, "opaque-token")
    assert run["token"] is None and run["signin_visible"]
    assert run["signin_message"] == (
        "Sign-in failed: the provider returned an access token that is not a JWT; "
        "this service needs JWT access tokens for its audience")


def test_screenshots_of_the_provider_sign_in_are_saved(browser):
    _ok(browser, "officer")
    for shot in ("officer-01-sign-in", "officer-02-provider-login", "officer-02-provider-consent",
                 "officer-03-back-in-page", "officer-04-visit-recorded",
                 "officer-05-provider-sign-out", "officer-06-signed-out",
                 "tampered-state-03-back-in-page"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 5_000


def test_page_client_without_oidc_verification_is_refused(tmp_path):
    from geoservice.config import ConfigError, load_config
    from geoservice.page import _page_settings

    (tmp_path / "service.yml").write_text("""
store: demo.gpkg
auth:
  page_client:
    client_id: lpt-officer-page
    authorization_endpoint: https://login.force.invalid/auth
    token_endpoint: https://login.force.invalid/token
""")
    with pytest.raises(ConfigError, match=r"auth.page_client needs auth.oidc"):
        _page_settings(load_config(tmp_path / "service.yml"))
