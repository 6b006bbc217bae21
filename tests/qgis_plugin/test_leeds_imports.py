# SPDX-License-Identifier: GPL-3.0-or-later
"""The real Leeds data through ``processing.run("lpt:…")`` on GeoPackage and PostGIS,
checked against spatial_core called directly on the same files."""
from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

WARD = 3  # index of "ward" in spatial_core.io.boundaries.LEVELS


def _steps(real):
    """(algorithm, core kind, files, plugin parameters, core options) of the Leeds workflow."""
    leeds = real / "leeds"
    return [
        ("import_boundaries", "boundaries", [leeds / "boundaries/leeds_wards_2017.geojson"],
         {"LEVEL": WARD, "CRS": "EPSG:27700"}, {"level": "ward", "crs": 27700}),
        ("import_classification", "classification",
         [leeds / "geodemographics/leeds_oa_oac2011.geojson"], {"CRS": "EPSG:27700"},
         {"crs": 27700}),
        ("import_postcodes", "postcodes", [leeds / "postcodes/codepoint_open_2014_ls.csv"], {}, {}),
        ("import_streets", "streets", [leeds / "streets/leeds_central_osm_2022.gpkg"], {}, {}),
        ("import_crimes", "crimes", [leeds / "crime/2016-07-west-yorkshire-street.csv"], {}, {}),
    ]


@pytest.fixture(scope="module")
def reference(real, tmp_path_factory):
    """What spatial_core itself gives for the same files: reports and table counts."""
    from spatial_core import open_store
    from spatial_core.io.imports import import_files
    from spatial_core.store.status import store_status

    store = open_store(tmp_path_factory.mktemp("ref") / "ref.gpkg")
    reports = {}
    for alg, kind, files, _, options in _steps(real):
        r = import_files(store, kind, files, **options)
        reports[alg] = (r.read, r.imported, r.skipped)
    status = store_status(store)
    store.close()
    return reports, status


@pytest.mark.postgis
@pytest.mark.parametrize("backend", ["geopackage", "postgis"])
def test_leeds_workflow_through_processing_matches_spatial_core(
        run, real, reference, backend, tmp_path, request):
    location = (str(tmp_path / "leeds.gpkg") if backend == "geopackage"
                else request.getfixturevalue("postgis_url"))
    want_reports, want_status = reference
    for alg, _, files, params, _ in _steps(real):
        out = run(alg, {"STORE": location, "FILES": [str(f) for f in files], **params})
        assert (out["READ"], out["IMPORTED"], out["SKIPPED"]) == want_reports[alg], alg
        assert json.loads(out["REPORT"])["imported"] == out["IMPORTED"]
    assert want_reports["import_boundaries"] == (33, 33, 0)
    assert want_reports["import_classification"] == (2543, 2543, 0)

    status = json.loads(run("store_status", {"STORE": location})["STATUS"])
    assert status["counts"] == want_status["counts"]
    assert status["areas_by_level"] == {"ward": 33, "oa": 2543}
    assert status["backend"] == backend

    again = run("import_crimes", {"STORE": location, "FILES": [str(_steps(real)[-1][2][0])]})
    assert again["IMPORTED"] == 0 and again["SKIPPED"] == want_reports["import_crimes"][1] + \
        want_reports["import_crimes"][2]

    out = run("refresh_index", {"STORE": location})
    assert out["STREETS_UPDATED"] >= 0 and "seconds" in json.loads(out["RESULT"])

    layers = run("load_store_layers", {"STORE": location})["OUTPUT"]
    by_name = {layer.name(): layer for layer in layers}
    assert set(by_name) == {"Areas: oa", "Areas: ward", "Streets", "Postcodes", "Crimes"}
    counts = want_status["counts"]
    assert by_name["Areas: ward"].featureCount() == 33
    assert by_name["Areas: oa"].featureCount() == 2543
    for name, table in (("Streets", "streets"), ("Postcodes", "postcodes"), ("Crimes", "crimes")):
        assert by_name[name].isValid() and by_name[name].featureCount() == counts[table], name
        assert by_name[name].crs().authid() == "EPSG:27700"
    assert by_name["Crimes"].renderer().symbol().color().name() == "#54278f"
