# SPDX-License-Identifier: GPL-3.0-or-later
"""What clients nobody here wrote expect of an OGC API (issue 13): exact conformance, 400 for
an unknown parameter, GeoJSON media type and Link headers, fresh time stamps from the cache,
status info for an asynchronous execute, JSON tile errors, BBOX in CRS84, a complete OpenAPI
document; and the independent ``ogctests`` suite (core and filtering) against the running
service, with auth."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"
PART4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"


@pytest.fixture(scope="module")
def analyst(service):
    return service.token("force_analyst")


def test_conformance_declares_filtering_and_not_part4(service):
    status, body = service.json("/conformance?f=json")
    assert status == 200
    got = set(body["conformsTo"])
    for cls in (f"{F3}/filter", f"{F3}/features-filter",
                "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
                "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
                "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2"):
        assert cls in got
    assert PART4 not in got
    # asking twice does not grow the list (pygeoapi extends module lists per request)
    _, again = service.json("/conformance?f=json")
    assert sorted(again["conformsTo"]) == sorted(body["conformsTo"])
    assert len(again["conformsTo"]) == len(set(again["conformsTo"]))


@pytest.mark.parametrize("path", [
    "/collections/areas/items?ooga=booga",
    "/collections/areas/items?limit=2&ooga=booga",
    "/collections/areas?ooga=booga",
    "/conformance?ooga=booga",
])
def test_unknown_query_parameter_is_400(service, path):
    status, headers, body = service.get(path)
    assert status == 400, body
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    assert answer["code"] == "InvalidParameterValue" and "ooga" in answer["description"]


def test_known_parameters_and_property_filters_still_work(service, analyst):
    status, body = service.json("/collections/areas/items?level=beat&limit=3&f=json")
    assert status == 200 and body["numberReturned"] == 3
    assert {f["properties"]["level"] for f in body["features"]} == {"beat"}
    status, body = service.json(
        "/collections/street_scores/items?beat_id=beat:DM01B01&limit=2&sortby=-score",
        token=analyst)
    assert status == 200 and {f["properties"]["beat_id"] for f in body["features"]} == {
        "beat:DM01B01"}


def test_unknown_parameter_cannot_bypass_the_cache(service):
    """A throwaway parameter is refused, not computed: the same 400 each time."""
    for i in range(3):
        status, headers, _ = service.get(f"/collections/area_profiles/items?cb={i}")
        assert status == 400
        assert headers.get("X-Cache") is None


def test_items_are_geojson_with_link_headers(service):
    status, headers, body = service.get("/collections/areas/items?limit=2&offset=2",
                                        headers={"Accept": "application/geo+json"})
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == "application/geo+json"
    page = json.loads(body)
    link = headers["Link"]
    nxt = next(x for x in page["links"] if x["rel"] == "next")
    prev = next(x for x in page["links"] if x["rel"] == "prev")
    assert f'<{nxt["href"].replace(",", "%2C")}>; rel="next"' in link
    assert f'<{prev["href"].replace(",", "%2C")}>; rel="prev"' in link
    assert '/collections/areas/queryables>; rel="http://www.opengis.net/def/rel/ogc/1.0/' \
        'queryables"' in link
    one = urllib.parse.quote(page["features"][0]["id"], safe="")
    status, headers, _ = service.get(f"/collections/areas/items/{one}?f=json")
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == "application/geo+json"


def test_a_cached_answer_has_its_own_time_stamp(service):
    path = "/collections/areas/items?limit=1&level=npa"
    stamps = []
    for _ in range(2):
        status, headers, body = service.get(path)
        assert status == 200
        stamps.append(json.loads(body)["timeStamp"])
        time.sleep(0.05)
    for _ in range(20):  # two workers, one cache each: ask until a cached answer comes
        status, headers, body = service.get(path, headers={"Accept-Encoding": "gzip"})
        if headers.get("X-Cache") in ("HIT", "WAIT"):
            break
    assert headers.get("X-Cache") in ("HIT", "WAIT")
    assert headers["Content-Encoding"] == "gzip"
    stamps.append(json.loads(gzip.decompress(body))["timeStamp"])
    assert len(set(stamps)) == 3, stamps
    assert stamps == sorted(stamps)


def test_async_execute_answers_201_with_status_info(service, analyst):
    body = json.dumps({"inputs": {"area": "beat:DM01B01"}}).encode()
    status, headers, raw = service.request(
        "POST", "/processes/score-area/execution", body=body, token=analyst,
        headers={"Content-Type": "application/json", "Prefer": "respond-async"})
    assert status == 201, raw
    info = json.loads(raw)
    assert info["status"] == "accepted" and info["processID"] == "score-area"
    assert info["type"] == "process"
    assert headers["Location"].endswith(f"/jobs/{info['jobID']}")
    assert any(x["rel"] == "monitor" and x["href"] == headers["Location"]
               for x in info["links"])
    for _ in range(100):
        got, job = service.json(f"/jobs/{info['jobID']}?f=json", token=analyst)
        if job["status"] in ("successful", "failed"):
            break
        time.sleep(0.2)
    assert got == 200 and job["status"] == "successful"


def test_representation_does_not_advertise_async(service, analyst):
    status, body = service.json("/processes/area-representation?f=json")
    assert status == 200 and body["jobControlOptions"] == ["sync-execute"]
    data = json.dumps({"inputs": {"area": "beat:DM01B01"}}).encode()
    status, headers, raw = service.request(
        "POST", "/processes/area-representation/execution", body=data, token=analyst,
        headers={"Content-Type": "application/json", "Prefer": "respond-async"})
    assert status == 200, raw
    assert headers.get("Preference-Applied") != "respond-async"


def test_tile_errors_are_json(service):
    status, headers, body = service.get(
        "/collections/streets/tiles/WebMercatorQuad/3/0/0?f=mvt")
    assert status >= 400
    assert headers["Content-Type"].split(";")[0] == "application/json"
    assert "description" in json.loads(body)


def test_filter_bbox_in_crs84_is_reprojected(service, analyst, demo):
    """``BBOX(geometry, …)`` in CRS84 keeps the streets meeting that longitude/latitude box
    (before: its numbers were read as British National Grid metres and matched nothing)."""
    import shapely
    from pyproj import Transformer

    lo = (-1.4, 52.5, -1.0, 52.8)
    tr = Transformer.from_crs(27700, 4326, always_xy=True)
    streets = demo["streets"]
    lonlat = shapely.transform(
        streets["geom"].to_numpy(),
        lambda xy: __import__("numpy").column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    expected = set(streets["street_id"][shapely.intersects(lonlat, shapely.box(*lo))])
    assert 0 < len(expected) < len(streets)
    flt = urllib.parse.quote("BBOX(geometry,{},{},{},{})".format(*lo))
    status, by_filter = service.json(f"/collections/streets/items?filter={flt}&limit=10000",
                                     token=analyst)
    assert status == 200, by_filter
    got = {f["id"] for f in by_filter["features"]}
    assert got == expected
    far = urllib.parse.quote("BBOX(geometry,-3,50,-2.9,50.1)")
    _, none = service.json(f"/collections/streets/items?filter={far}", token=analyst)
    assert none["numberMatched"] == 0


def test_openapi_has_security_and_no_moving_references(service):
    status, headers, body = service.get("/openapi?f=json")
    assert status == 200
    oas = json.loads(body)
    schemes = oas["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-API-Key"}
    items = oas["paths"]["/collections/street_scores/items"]["get"]
    assert {"401", "403"} <= set(items["responses"])
    assert "raw.githubusercontent.com" not in body.decode()
    assert any(isinstance(p, dict) and p.get("name") == "sortby" for p in items["parameters"])
    assert oas["security"][0] == {}  # anonymous callers read the public collections


OGCTESTS = r"""
import os, sys, httpx
from ogctests.main import run_ogctests
headers = {"Authorization": "Bearer " + os.environ["OGC_TOKEN"],
           "X-Purpose": "OGC conformance check"}
client = httpx.Client(base_url=os.environ["OGC_URL"], headers=headers, timeout=120)
sys.exit(run_ogctests(sys.argv[1], instance_url=os.environ["OGC_URL"], test_client=client,
                      flags=["-p", "no:cacheprovider", "-q", "--junitxml", sys.argv[2]]))
"""

NEEDS_SCHEMAS_OPENGIS = {"test_apidefinition.py::test_ast6": "schemas.opengis.net"}
"""The core test that resolves the OpenAPI document's references on schemas.opengis.net
(unreachable here: it fails only where that host cannot be reached)."""

NULL_GEOMETRY = "None is not valid under any of the given schemas"
SUITE_DEFECTS = {
    # GeoJSON (RFC 7946 3.2) and OGC API Features allow a feature without geometry
    # ("geometry": null); the suite's geometryGeoJSON schema has no null, so every
    # collection of features without a place (messages, replies, actions) fails these.
    "test_features.py::test_ast22": NULL_GEOMETRY,
    "test_feature.py::test_ast28": NULL_GEOMETRY,
    # filtering: parse_link_header keeps the quotes around rel values (RFC 8288 requires
    # them for a URI relation type such as the queryables one) and stores the target
    # under "iri" but reads "href", so no Link header can pass ct2 ...
    "test_queryables.py::test_ct2": "No link with relation",
    # ... and every later test reads what ct2/ct3 would have stored (KeyError / None);
    # ct7 also sends filter-lang as a Python dict and ct8 indexes a string with ['key'].
    "test_queryables.py::test_ct3": "No queryables_uri",
    "test_queryables_query_parameters.py::test_ct5": "KeyError",
    "test_filter.py::test_ct7": "KeyError",
    "test_filter.py::test_ct8": "KeyError",
    "test_filter.py::test_ct9": "KeyError",
    "test_filter.py::test_ct10": "KeyError",
}
"""Failures of ogctests 0.1.15 caused by the suite's own code, each with the start of the
message it fails with (checked: a failure for any other reason fails this test)."""

MUST_PASS = {
    "features/core": {"test_general.py::test_ast1", "test_landingpage.py::test_ast3",
                      "test_landingpage.py::test_ast4", "test_conformance.py::test_ast7",
                      "test_conformance.py::test_ast8", "test_collections.py::test_ast9",
                      "test_collections.py::test_ast10", "test_collection.py::test_ast11",
                      "test_collection.py::test_ast12", "test_apidefinition.py::test_ast5",
                      "test_crs.py::test_ast2", "test_errorconditions.py::test_ast20",
                      "test_errorconditions.py::test_ast21", "test_feature.py::test_ast27",
                      "test_feature.py::test_ast29",
                      *(f"test_features.py::test_ast{n}" for n in (13, 14, 15, 16, 17, 18, 19,
                                                                   23, 24, 25, 26))},
    "features/filtering": {"test_queryables.py::test_ct1", "test_filter.py::test_ct6",
                           "test_queryables_query_parameters.py::test_ct4"},
}


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["features/core", "features/filtering"])
def test_ogctests_suite_passes(service, scope, tmp_path):
    pytest.importorskip("ogctests")
    report = ARTIFACTS / f"ogctests-{scope.replace('/', '-')}.xml"
    report.unlink(missing_ok=True)
    analyst = service.token("force_analyst")
    status, _, raw = service.request(  # every collection has a feature to test (set-ups too)
        "POST", "/processes/create-setup/execution", token=analyst,
        body=json.dumps({"inputs": {"name": f"ogctests {scope}", "area": "beat:DM01B01"}}
                        ).encode(),
        headers={"Content-Type": "application/json", "X-Purpose": "OGC conformance check"})
    assert status in (200, 201), raw
    env = {"OGC_URL": service.url, "OGC_TOKEN": service.token("force_analyst"),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", OGCTESTS, scope, str(report)],
                          capture_output=True, text=True, timeout=1800, env=env,
                          cwd=tmp_path)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    failed, passed = {}, []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}.py::{case.get('name')}"
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            failed[name] = (bad.get("message") or "")[:300]
        elif case.find("skipped") is None:
            passed.append(name)
    allowed = {**SUITE_DEFECTS, **NEEDS_SCHEMAS_OPENGIS}
    unexpected = {name: why for name, why in failed.items()
                  if name not in allowed or allowed[name] not in why}
    assert not unexpected, unexpected
    assert MUST_PASS[scope] <= set(passed), (sorted(passed), failed)
