# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting set-ups through ``processing.run("lpt:setup_…")`` on the demo force: create,
report, export the walk list, archive; each compared with spatial_core on a copy of the
same store."""
from __future__ import annotations

import json
import shutil

import pytest

NOW = "2026-10-01T09:00:00"
BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, demo_builds):
    return demo_builds.copy(tmp_path_factory.mktemp("demo-setups"), households=5_000)


@pytest.fixture
def stores(demo_file, tmp_path):
    """Two copies of the demo: one for the plugin, one for spatial_core."""
    a, b = tmp_path / "plugin.gpkg", tmp_path / "core.gpkg"
    shutil.copy(demo_file, a)
    shutil.copy(demo_file, b)
    return str(a), str(b)


def _features(layer):
    names = layer.fields().names()
    return [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]


def test_setup_create_report_export_archive_equal_spatial_core(run, stores, tmp_path):
    import pyogrio
    from qgis.core import QgsProcessingException

    from spatial_core import open_store
    from spatial_core.targeting.setups import archive_setup, create_setup, setup_report
    from spatial_core.targeting.walklists import walk_list

    plugin, core = stores
    out = run("setup_create", {
        "STORE": plugin, "NAME": "Wexcombe recruitment", "AREAS": BEAT, "GOAL": 0,
        "MAX_STREETS": 5, "TARGET_VISITS": 40, "NOW": NOW,
        "STREETS": "TEMPORARY_OUTPUT", "WALK_LIST": "TEMPORARY_OUTPUT"})
    with open_store(core) as store:
        want = create_setup(store, "Wexcombe recruitment", areas=[BEAT], goal="recruit",
                            max_streets=5, targets={"visits": 40}, now=NOW)
        want_walk = walk_list(store, want.setup_id, now=NOW)
        want_report = setup_report(store, want.setup_id, now=NOW)
    assert out["SETUP_ID"] == want.setup_id == "wexcombe-recruitment"
    got = json.loads(out["SETUP"])
    assert got["target_groups"] == list(want.target_groups)
    assert got["profile_toml"] == want.profile_toml
    streets = _features(out["STREETS"])
    assert 0 < len(streets) <= 5
    from spatial_core.targeting.setups import stored_recommendation

    with open_store(core) as store:
        want_streets, _ = stored_recommendation(store, want.setup_id)
    assert [s["street_id"] for s in sorted(streets, key=lambda s: s["street_rank"])] == \
        want_streets["street_id"].tolist()
    assert [s["score"] for s in sorted(streets, key=lambda s: s["street_rank"])] == \
        pytest.approx(want_streets["score"].tolist())
    doors = _features(out["WALK_LIST"])
    assert [d["uprn"] for d in doors] == want_walk["uprn"].tolist()
    assert out["WALK_LIST"].geometryType() == 0 and out["STREETS"].geometryType() == 1

    rep = run("setup_report", {"STORE": plugin, "SETUP_ID": want.setup_id, "NOW": NOW,
                               "OUTPUT": "TEMPORARY_OUTPUT"})
    report = json.loads(rep["REPORT"])
    assert report["totals"] == json.loads(json.dumps(dict(want_report.totals), default=str))
    assert rep["TO_KNOCK"] == want_report.totals["to_knock"] == len(want_walk)
    assert [t["measure"] for t in report["targets"]] == want_report.targets["measure"].tolist()
    assert rep["OUTPUT"].featureCount() == len(want_report.streets)

    path = tmp_path / "walk.geojson"
    exp = run("export_walk_list", {"STORE": plugin, "SETUP_ID": want.setup_id, "NOW": NOW,
                                   "OUTPUT": str(path)})
    assert exp["ROWS"] == len(want_walk) and exp["OUTPUT"] == str(path)
    info = pyogrio.read_info(path)
    assert info["features"] == len(want_walk)
    assert not {"name", "email", "telephone"} & set(info["fields"])

    arc = run("setup_archive", {"STORE": plugin, "SETUP_ID": want.setup_id,
                                "NOW": "2026-10-15T17:00:00"})
    with open_store(core) as store:
        archived = archive_setup(store, want.setup_id, now="2026-10-15T17:00:00")
    assert arc["STATUS"] == archived.status == "archived"
    assert json.loads(arc["SETUP"])["archived_at"] == archived.archived_at
    with pytest.raises(QgsProcessingException, match="archived"):
        run("setup_archive", {"STORE": plugin, "SETUP_ID": want.setup_id})


def test_setup_create_with_a_drawn_polygon_in_wgs84(run, stores):
    from qgis.core import QgsProcessingException

    from spatial_core import open_store
    from spatial_core.geo.crs import bng_to_lnglat

    plugin, _ = stores
    with open_store(plugin) as store:
        beat = store.read("areas", ["area_id", "geom"])
    poly = beat.loc[beat["area_id"] == BEAT].geometry.iloc[0].envelope
    xs, ys = poly.exterior.xy
    lng, lat = bng_to_lnglat(list(xs), list(ys))
    wkt = "POLYGON((" + ",".join(f"{a} {b}" for a, b in zip(lng, lat, strict=True)) + "))"
    out = run("setup_create", {"STORE": plugin, "NAME": "Drawn", "POLYGON":
                               f"CRS=EPSG:4326;{wkt}", "NOW": NOW,
                               "STREETS": "TEMPORARY_OUTPUT", "WALK_LIST": "TEMPORARY_OUTPUT"})
    setup = json.loads(out["SETUP"])
    assert setup["polygon_wkt"].startswith("POLYGON") and out["STREETS"].featureCount() > 0
    with pytest.raises(QgsProcessingException, match="name"):
        run("setup_create", {"STORE": plugin, "NAME": " ", "AREAS": BEAT,
                             "STREETS": "TEMPORARY_OUTPUT", "WALK_LIST": "TEMPORARY_OUTPUT"})
