# SPDX-License-Identifier: GPL-3.0-or-later
"""Geoservice connections after a QGIS restart, and OAuth2 (issue 13), in real PyQGIS against
a real ``lpt serve`` (the geoservice tests' fixture).

- An API key connection survives a restart: a second QGIS process on the same profile (the
  authentication database and settings on disk) reads a restricted layer once the plugin has
  loaded, and not without the plugin (what happened before: the header hook was lost).
- An OAuth2 configuration of QGIS's authentication manager (method ``OAuth2``, resource-owner
  password grant against a token endpoint that issues the service's RS256 tokens) reads the
  collections a beat officer may read, and only those.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_CONFTEST = Path(__file__).resolve().parents[1] / "geoservice" / "conftest.py"
_spec = importlib.util.spec_from_file_location("lpt_geoservice_fixtures", _CONFTEST)
_fixtures = sys.modules.get(_spec.name) or importlib.util.module_from_spec(_spec)
if _spec.name not in sys.modules:
    sys.modules[_spec.name] = _fixtures  # dataclasses look their module up there
    _spec.loader.exec_module(_fixtures)  # skips this module when pygeoapi or PyJWT is missing
service = _fixtures.service  # the session fixture, reused as it is
ROOT = Path(__file__).resolve().parents[2]
BEAT = "beat:DM01B01"
MASTER = "lpt-test-master-password"

_QGIS = textwrap.dedent("""
    import sys
    profile, url, key, step, root = sys.argv[1:6]
    sys.path.insert(0, root)
    sys.path.append("/usr/share/qgis/python/plugins")
    from qgis.PyQt.QtCore import QCoreApplication, QSettings
    # settings in the profile, as QGIS desktop keeps them (not in a global file)
    QCoreApplication.setOrganizationName("QGIS")
    QCoreApplication.setApplicationName("QGIS3")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, profile)
    from qgis.core import QgsApplication, QgsVectorLayer
    app = QgsApplication([], False, profile)
    app.initQgis()
    assert QgsApplication.authManager().setMasterPassword(%(master)r, True)
    from processing.core.Processing import Processing
    Processing.initialize()
    if step in ("connect", "plugin"):
        from qgis_plugin.plugin import LocalPriorityTargetingPlugin
        plugin = LocalPriorityTargetingPlugin(None)
        plugin.initProcessing()
        assert plugin.problem is None, plugin.problem
    if step == "connect":
        import processing
        out = processing.run("lpt:connect_geoservice", {
            "URL": url, "AUTH": 1, "SECRET": key, "PURPOSE": "restart test",
            "COLLECTIONS": "streets", "RESTRICT": False})
        print("AUTHCFG", out["AUTHCFG_ID"])
    else:
        from qgis_plugin.geoservice import headers_for, oapif_uri
        layer = QgsVectorLayer(oapif_uri(url, "streets", None, False), "streets", "OAPIF")
        n = sum(1 for _ in layer.getFeatures()) if layer.isValid() else 0
        print("COUNT", n)
        print("HEADERS", ",".join(sorted(headers_for(url))) or "-")
""") % {"master": MASTER}


def _qgis(profile: Path, url: str, key: str, step: str) -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _QGIS, str(profile), url, key, step,
                           str(ROOT)], capture_output=True, text=True, env=env, cwd=profile,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(line.split(" ", 1) for line in proc.stdout.splitlines()
                if line.split(" ", 1)[0] in ("AUTHCFG", "COUNT", "HEADERS"))


@pytest.fixture(scope="module")
def counts(service):
    from spatial_core import open_store

    with open_store(service.store, create=False) as store:
        streets = store.read("streets", ["street_id", "beat_id"])
    return {"streets": len(streets), "beat_streets": int((streets["beat_id"] == BEAT).sum())}


def test_an_api_key_connection_survives_a_restart(qgis_app, service, counts, tmp_path):
    profile = tmp_path / "profile"
    profile.mkdir()
    first = _qgis(profile, service.url, service.api_key, "connect")
    assert first["AUTHCFG"]
    ini = (profile / "QGIS" / "QGIS3.ini").read_text()
    assert first["AUTHCFG"] in ini and service.api_key not in ini  # the id, never the key
    # QGIS started again, the plugin not loaded: the header hook is gone (as before)
    assert _qgis(profile, service.url, "", "control") == {"COUNT": "0", "HEADERS": "-"}
    # the plugin loaded: the saved connection's key comes back from the auth database
    again = _qgis(profile, service.url, "", "plugin")
    assert again == {"COUNT": str(counts["streets"]), "HEADERS": "X-API-Key,X-Purpose"}


class _TokenEndpoint(BaseHTTPRequestHandler):
    """``POST /token`` of an OAuth2 provider (RFC 6749 4.3, resource-owner password grant)
    issuing the service's RS256 access tokens for one demo officer."""

    server: ThreadingHTTPServer

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        form = dict(urllib.parse.parse_qsl(
            self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()))
        self.server.requests.append(form)  # type: ignore[attr-defined]
        ok = (form.get("grant_type") == "password" and form.get("client_id") == "lpt-qgis"
              and (form.get("username"), form.get("password")) == ("pc-oauth", "s3cret"))
        body = (json.dumps({"access_token": self.server.issue(),  # type: ignore[attr-defined]
                            "token_type": "Bearer", "expires_in": 600}) if ok
                else json.dumps({"error": "invalid_grant"})).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def token_endpoint(service):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    srv.requests = []  # type: ignore[attr-defined]
    srv.issue = lambda: service.token("beat_officer", [BEAT], sub="pc-oauth")  # type: ignore
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def auth_db(qgis_app):
    from qgis.core import QgsApplication

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER, True)
    return manager


def test_an_oauth2_configuration_reads_what_its_officer_may(run, service, auth_db, counts,
                                                            token_endpoint):
    from qgis_plugin import geoservice as gs
    from qgis_plugin import settings

    port = token_endpoint.server_address[1]
    cfg = gs.store_oauth2("LPT test IdP", f"http://127.0.0.1:{port}/token", "lpt-qgis",
                          flow="resource_owner", username="pc-oauth", password="s3cret")
    out = run("connect_geoservice", {"URL": service.url, "AUTH": 3, "AUTHCFG": cfg,
                                     "PURPOSE": "oauth test", "RESTRICT": False,
                                     "COLLECTIONS": "streets,areas"})
    layers = {layer.name(): layer for layer in out["OUTPUT"]}
    streets = next(v for k, v in layers.items() if "street" in k.lower())
    assert f"authcfg={cfg}" in streets.source()
    beats = {f["beat_id"] for f in streets.getFeatures()}
    assert beats == {BEAT}
    assert streets.featureCount() in (counts["beat_streets"], -1)
    assert sum(1 for _ in streets.getFeatures()) == counts["beat_streets"]
    assert token_endpoint.requests and token_endpoint.requests[0]["grant_type"] == "password"
    assert "X-API-Key" not in gs.headers_for(service.url)  # the token is QGIS's, not a hook's
    assert gs.headers_for(service.url) == {"X-Purpose": "oauth test"}
    assert settings.saved_connections()[service.url]["kind"] == "authcfg"
    settings.forget_connection(service.url)  # the test profile's settings are not throw-away
    gs.remove_headers(service.url)
    with pytest.raises(ValueError, match="flow must be one of"):
        gs.store_oauth2("x", "http://127.0.0.1/token", "c", flow="client_secret_jwt")
