# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:connect_geoservice against a real ``lpt serve`` (the geoservice tests' own fixture:
the demo force, gunicorn on a free port, real RS256 tokens and API keys): OAPIF layers with
an API key or a bearer token stored in the QGIS authentication database."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_CONFTEST = Path(__file__).resolve().parents[1] / "geoservice" / "conftest.py"
_spec = importlib.util.spec_from_file_location("lpt_geoservice_fixtures", _CONFTEST)
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures  # dataclasses look their module up there
_spec.loader.exec_module(_fixtures)  # skips this module when pygeoapi or PyJWT is missing
service = _fixtures.service  # the session fixture, reused as it is
BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def auth_db(qgis_app):
    """A master password for the throw-away profile's authentication database."""
    from qgis.core import QgsApplication

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("lpt-test-master-password", True)
    return manager


@pytest.fixture(scope="module")
def counts(service):
    from spatial_core import open_store

    with open_store(service.store, create=False) as store:
        streets = store.read("streets", ["street_id", "beat_id"])
        areas = store.read("areas", ["area_id", "level"])
    return {"streets": len(streets), "beat_streets": int((streets["beat_id"] == BEAT).sum()),
            "areas": len(areas)}


def _connect(run, service, **params):
    out = run("connect_geoservice", {"URL": service.url + "/", "RESTRICT": False, **params})
    return {layer.name(): layer for layer in out["OUTPUT"]}, out


def test_oapif_uri_carries_the_collection_and_authcfg(qgis_app):
    from qgis_plugin.geoservice import base_url, oapif_uri

    uri = oapif_uri("https://lpt.example/api/", "streets", "abc1234")
    assert "url='https://lpt.example/api'" in uri and "typename='streets'" in uri
    assert "authcfg=abc1234" in uri and "restrictToRequestBBOX='1'" in uri
    assert "authcfg" not in oapif_uri("https://lpt.example", "areas", restrict_to_view=False)
    with pytest.raises(ValueError, match="http"):
        base_url("lpt.example")


def test_api_key_stored_in_auth_db_gives_every_street(run, service, auth_db, counts):
    from qgis_plugin.geoservice import headers_for, load_secret, remove_headers

    try:
        layers, out = _connect(run, service, AUTH=1, SECRET=service.api_key,
                               COLLECTIONS="streets,areas")
        assert set(layers) >= {"streets", "areas"} or len(layers) == 2
        streets = next(v for k, v in layers.items() if "street" in k.lower())
        assert streets.providerType() == "OAPIF" and streets.isValid()
        assert streets.featureCount() == counts["streets"]
        assert len(list(streets.getFeatures())) == counts["streets"]
        cfg = out["AUTHCFG_ID"]
        assert cfg and load_secret(cfg) == (service.url, "api_key", service.api_key)
        assert service.api_key not in streets.source()  # the secret never sits in the URI
        assert headers_for(service.url) == {"X-API-Key": service.api_key}

        # Next time the stored configuration is enough.
        remove_headers()
        layers, _ = _connect(run, service, AUTH=1, AUTHCFG=cfg, COLLECTIONS="streets")
        assert next(iter(layers.values())).featureCount() == counts["streets"]
    finally:
        remove_headers()


def test_bearer_token_of_a_beat_officer_sees_only_the_beat(run, service, auth_db, counts):
    from qgis_plugin.geoservice import remove_headers

    token = service.token("beat_officer", areas=[BEAT])
    try:
        layers, _ = _connect(run, service, AUTH=2, SECRET=token, PURPOSE="tactical briefing",
                             COLLECTIONS="streets")
        streets = next(iter(layers.values()))
        assert 0 < counts["beat_streets"] < counts["streets"]
        assert streets.featureCount() == counts["beat_streets"]
        assert {f["beat_id"] for f in streets.getFeatures()} == {BEAT}
    finally:
        remove_headers()


def test_public_caller_gets_areas_and_bad_key_is_refused(run, service, auth_db, counts):
    from qgis.core import QgsProcessingException

    from qgis_plugin.geoservice import remove_headers

    try:
        layers, _ = _connect(run, service, AUTH=0, COLLECTIONS="areas")
        areas = next(iter(layers.values()))
        status, hits = service.json("/collections/areas/items?resulttype=hits&f=json")
        assert status == 200 and areas.featureCount() == hits["numberMatched"] == 17
        with pytest.raises(QgsProcessingException, match="401"):
            _connect(run, service, AUTH=1, SECRET="not-a-key")
        with pytest.raises(QgsProcessingException, match="no collection nonsense"):
            _connect(run, service, AUTH=0, COLLECTIONS="nonsense")
    finally:
        remove_headers()
