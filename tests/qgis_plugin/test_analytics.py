# SPDX-License-Identifier: GPL-3.0-or-later
"""The analytics algorithms through ``processing.run("lpt:…")`` on the demo force and on real
Leeds data, each result checked against spatial_core called directly on the same store."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    """The demo force (about 5,000 households) in a GeoPackage store."""
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo"), households=5_000))


@pytest.fixture(scope="module")
def leeds(real, tmp_path_factory):
    """Leeds: the 2017 wards imported as beats, central OSM streets, two months of crime."""
    from spatial_core import open_store
    from spatial_core.io.imports import import_files

    location = str(tmp_path_factory.mktemp("leeds") / "leeds.gpkg")
    store = open_store(location)
    d = real / "leeds"
    import_files(store, "boundaries", [d / "boundaries/leeds_wards_2017.geojson"], level="beat",
                 crs=27700)
    import_files(store, "streets", [d / "streets/leeds_central_osm_2022.gpkg"])
    import_files(store, "crimes", [d / "crime/2016-07-west-yorkshire-street.csv",
                                   d / "crime/2017-07-west-yorkshire-street.csv"])
    store.close()
    return location


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    rows = [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def _core_scores(location, profile, **kw):
    from spatial_core import open_store
    from spatial_core.targeting.scoring import prepare_inputs, run_scores

    with open_store(location) as store:
        inputs = prepare_inputs(store, scheme=profile.scheme, level=profile.level,
                                crime_distance_m=profile.crime_distance_m,
                                voice_radius_m=profile.voice_radius_m, **kw)
        return run_scores(inputs, profile).scores


def _same_scores(layer, want: pd.DataFrame) -> pd.DataFrame:
    got = _features(layer).set_index("street_id").loc[want["street_id"]]
    assert layer.featureCount() == len(want)
    np.testing.assert_allclose(got["score"].to_numpy(float), want["score"].to_numpy(float),
                               rtol=0, atol=1e-12)
    assert got["rank_in_beat"].tolist() == want["rank_in_beat"].tolist()
    assert got["reasons"].fillna("").tolist() == want["reasons"].fillna("").tolist()
    for c in ("harm", "voice", "representation", "coverage", "fatigue"):
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), atol=1e-12)
    return got


# -- scoring ------------------------------------------------------------------------------------

def test_score_streets_on_the_demo_equals_spatial_core_and_stores_the_run(run, demo):
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import load_scores

    out = run("score_streets", {"STORE": demo, "PROFILE": 0, "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = out["OUTPUT"]
    want = _core_scores(demo, load_profile("default"))
    assert len(want) == 359
    got = _same_scores(layer, want)
    assert (got["reasons"].str.len() > 0).sum() > 300  # reasons in plain words
    assert layer.geometryType() == 1 and layer.crs().authid() == "EPSG:27700"
    with open_store(demo) as store:
        head, stored = load_scores(store, out["RUN_ID"])
    assert head["profile_name"] == "default" and len(stored) == len(want)
    assert set(got["run_id"]) == {out["RUN_ID"]}
    assert 'name = "default"' in out["PROFILE_TOML"]


def test_score_streets_weights_as_parameters_and_profile_file(run, demo, tmp_path):
    from spatial_core.targeting.profiles import load_profile, profile_to_toml

    params = {"STORE": demo, "PROFILE": 2, "WEIGHT_HARM": 0.0, "WEIGHT_COVERAGE": 2.5,
              "SAVE": False, "OUTPUT": "TEMPORARY_OUTPUT"}
    out = run("score_streets", params)
    want = _core_scores(demo, load_profile("engagement").with_weights(harm=0, coverage=2.5))
    _same_scores(out["OUTPUT"], want)
    assert out["RUN_ID"] == "" and "harm = 0.0" in out["PROFILE_TOML"]

    custom = load_profile("harm").with_weights(voice=3.0)
    path = tmp_path / "custom.toml"
    path.write_text(profile_to_toml(custom), encoding="utf-8")
    out = run("score_streets", {"STORE": demo, "PROFILE_FILE": str(path), "SAVE": False,
                                "AREA": "beat:DM01B01", "OUTPUT": "TEMPORARY_OUTPUT"})
    want = _core_scores(demo, custom, area="beat:DM01B01")
    assert 0 < len(want) < 359
    _same_scores(out["OUTPUT"], want)


def test_score_streets_bad_profile_file_gives_the_core_message(run, demo, tmp_path):
    from qgis.core import QgsProcessingException

    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[weights]\nharm = -1\n', encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="weights"):
        run("score_streets", {"STORE": demo, "PROFILE_FILE": str(path),
                              "OUTPUT": "TEMPORARY_OUTPUT"})


def test_score_layer_loaded_in_the_project_is_graduated_and_shows_reasons(qgis_app, demo):
    import processing
    from qgis.core import QgsGraduatedSymbolRenderer, QgsProcessingFeedback, QgsProject

    out = processing.runAndLoadResults("lpt:score_streets", {
        "STORE": demo, "SAVE": False, "OUTPUT": "TEMPORARY_OUTPUT"},
        feedback=QgsProcessingFeedback())
    layer = QgsProject.instance().mapLayer(out["OUTPUT"])
    try:
        assert layer.name() == "Street scores (default)"
        renderer = layer.renderer()
        assert isinstance(renderer, QgsGraduatedSymbolRenderer)
        assert renderer.classAttribute() == "score" and len(renderer.ranges()) == 5
        assert '"reasons"' in layer.mapTipTemplate() and '"reasons"' in layer.displayExpression()
        tabs = [t.name() for t in layer.editFormConfig().tabs()]
        assert tabs[0] == "Why this street"
        first = [c.name() for c in layer.editFormConfig().tabs()[0].children()]
        assert "reasons" in first
        i = layer.fields().indexOf("reasons")
        assert layer.editorWidgetSetup(i).config()["IsMultiline"] is True
        assert layer.attributeAlias(i) == "Why this street"
    finally:
        QgsProject.instance().removeMapLayer(out["OUTPUT"])


@pytest.mark.real_data
def test_score_streets_on_leeds_wards_as_beats_equals_spatial_core(run, leeds):
    from spatial_core.targeting.profiles import load_profile

    out = run("score_streets", {"STORE": leeds, "PROFILE": 1, "SAVE": False,
                                "OUTPUT": "TEMPORARY_OUTPUT"})
    want = _core_scores(leeds, load_profile("harm"))
    got = _same_scores(out["OUTPUT"], want)
    assert len(want) > 1000
    assert got["beat_id"].notna().sum() > 0.9 * len(got)  # the wards are the beats
    assert (got["harm_raw"] > 0).sum() > 100
    assert got["reasons"].str.contains("harm").sum() > 100


# -- local priorities ---------------------------------------------------------------------------

def test_local_priorities_per_beat_equals_spatial_core(run, demo):
    from spatial_core import open_store
    from spatial_core.analytics.priorities import local_priorities

    out = run("local_priorities", {"STORE": demo, "MIN_N": 5, "OUTPUT": "TEMPORARY_OUTPUT",
                                   "TABLE": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = local_priorities(store, level="beat", min_n=5)
    beats = _features(out["OUTPUT"]).set_index("area_id")
    assert out["OUTPUT"].featureCount() == want["area_id"].nunique() == 8
    assert out["OUTPUT"].geometryType() == 2  # polygons of the beats
    assert out["TABLE"].featureCount() == len(want)
    for area, rows in want.groupby("area_id"):
        chosen = rows[rows["is_priority"]].sort_values(["rank", "priority"])
        row = beats.loc[area]
        assert row["count"] == len(chosen)
        if len(chosen):
            assert row["priority"] == chosen["label"].iloc[0]
            assert row["share"] == pytest.approx(chosen["share"].iloc[0])
            assert row["priorities"].split("; ")[0].startswith(chosen["label"].iloc[0])
    assert "local priority on" in out["SUMMARY"]


def test_local_priorities_share_rule_and_bad_period(run, demo):
    from qgis.core import QgsProcessingException

    from spatial_core import open_store
    from spatial_core.analytics.priorities import local_priorities

    out = run("local_priorities", {"STORE": demo, "LEVEL": 1, "RULE": 1, "THRESHOLD": 0.2,
                                   "MIN_N": 5, "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = local_priorities(store, level="ward", rule="share", threshold=0.2, min_n=5)
    got = _features(out["OUTPUT"]).set_index("area_id")
    assert len(got) == want["area_id"].nunique()
    counts = want.groupby("area_id")["is_priority"].sum()
    assert got["count"].reindex(counts.index).tolist() == counts.tolist()
    with pytest.raises(QgsProcessingException, match="period"):
        run("local_priorities", {"STORE": demo, "PERIOD": "not a period",
                                 "OUTPUT": "TEMPORARY_OUTPUT"})


# -- representation -----------------------------------------------------------------------------

def test_representation_table_households_and_members_equal_spatial_core(run, demo):
    from spatial_core import open_store
    from spatial_core.analytics.representation import (
        member_locations,
        representation,
        underrepresented_households,
    )

    out = run("representation", {"STORE": demo, "TABLE": "TEMPORARY_OUTPUT",
                                 "HOUSEHOLDS": "TEMPORARY_OUTPUT", "MEMBERS": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        table = representation(store, area_level="beat")
        under = underrepresented_households(store, area_level="beat")
        members = member_locations(store, by="cell")
    assert out["TABLE"].featureCount() == len(table)
    assert out["HOUSEHOLDS"].featureCount() == len(under) == out["UNDER_REPRESENTED"] > 0
    assert sorted(_features(out["HOUSEHOLDS"])["uprn"]) == sorted(under["uprn"])
    got_members = _features(out["MEMBERS"])
    assert out["MEMBERS"].featureCount() == len(members)
    assert got_members["members"].sum() == members["members"].sum()
    assert out["MEMBERS"].geometryType() == 2 and out["HOUSEHOLDS"].geometryType() == 0
    t = _features(out["TABLE"]).sort_values(["area_id", "group"])
    w = table.sort_values(["area_id", "group"])
    np.testing.assert_allclose(t["member_ratio"].to_numpy(float),
                               w["member_ratio"].to_numpy(float), equal_nan=True)


def test_representation_restricted_to_a_beat(run, demo):
    from spatial_core import open_store
    from spatial_core.analytics.representation import underrepresented_households

    out = run("representation", {"STORE": demo, "AREAS": "beat:DM01B01",
                                 "TABLE": "TEMPORARY_OUTPUT", "HOUSEHOLDS": "TEMPORARY_OUTPUT",
                                 "MEMBERS": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = underrepresented_households(store, areas=["beat:DM01B01"])
    assert out["HOUSEHOLDS"].featureCount() == len(want)
    assert set(_features(out["HOUSEHOLDS"])["beat_id"]) <= {"beat:DM01B01"}


# -- hot spots ----------------------------------------------------------------------------------

def _check_hotspots(out, want, classes=None):
    got = _features(out["OUTPUT"]).set_index("h3").loc[want["h3"]]
    assert out["OUTPUT"].featureCount() == len(want)
    assert out["HOT"] == int(want["hot"].sum()) and out["COLD"] == int(want["cold"].sum())
    np.testing.assert_allclose(got["z"].to_numpy(float), want["z"].to_numpy(float),
                               equal_nan=True)
    np.testing.assert_allclose(got["p_adjusted"].to_numpy(float),
                               want["p_adjusted"].to_numpy(float), equal_nan=True)
    assert (got["spot"] == "hot").sum() == want["hot"].sum()
    if classes is not None:
        from spatial_core.geo.cells import cells_to_hex

        c = classes.assign(h3=cells_to_hex(classes["cell"].to_numpy())).set_index("h3")
        assert got["class"].tolist() == c["category"].reindex(want["h3"]).tolist()
    return got


def test_hotspots_on_the_demo_equal_spatial_core(run, demo):
    from spatial_core import open_store
    from spatial_core.analytics.hotspots import classify_trends, find_hotspots, monthly_hotspots

    out = run("hotspots", {"STORE": demo, "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = find_hotspots(store)
        classes = classify_trends(monthly_hotspots(store))
    got = _check_hotspots(out, want, classes)
    assert out["HOT"] > 0
    assert out["OUTPUT"].geometryType() == 2
    assert set(got["class"]) <= {"new", "intensifying", "persistent", "diminishing",
                                 "sporadic", "never"}
    assert '"resolution": 10' in out["RUN"]


@pytest.mark.real_data
def test_hotspots_on_leeds_harm_weighted_at_resolution_9(run, leeds):
    from spatial_core import open_store
    from spatial_core.analytics.hotspots import find_hotspots

    out = run("hotspots", {"STORE": leeds, "RESOLUTION": 9, "WEIGHT": 1, "BY_MONTH": False,
                           "MONTHS": "2017-07", "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(leeds) as store:
        want = find_hotspots(store, resolution=9, weight="harm", months=["2017-07"])
    _check_hotspots(out, want)
    assert out["HOT"] > 0 and len(want) > 500


# -- PostGIS ------------------------------------------------------------------------------------

@pytest.mark.postgis
def test_analytics_on_a_postgis_store_equal_spatial_core(run, postgis_url, tmp_path):
    from spatial_core import open_store
    from spatial_core.analytics.hotspots import find_hotspots
    from spatial_core.analytics.representation import underrepresented_households
    from spatial_core.demo import build_demo
    from spatial_core.targeting.profiles import load_profile

    store = open_store(postgis_url)
    build_demo(store, tmp_path / "files", households=3_000, months=3)
    store.close()
    out = run("score_streets", {"STORE": postgis_url, "OUTPUT": "TEMPORARY_OUTPUT"})
    _same_scores(out["OUTPUT"], _core_scores(postgis_url, load_profile("default")))
    assert out["RUN_ID"]
    out = run("representation", {"STORE": postgis_url, "TABLE": "TEMPORARY_OUTPUT",
                                 "HOUSEHOLDS": "TEMPORARY_OUTPUT", "MEMBERS": "TEMPORARY_OUTPUT"})
    out_hot = run("hotspots", {"STORE": postgis_url, "BY_MONTH": False,
                               "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(postgis_url) as store:
        assert out["HOUSEHOLDS"].featureCount() == len(underrepresented_households(store))
        _check_hotspots(out_hot, find_hotspots(store))
    pdf = tmp_path / "doc.pdf"
    doc = run("tactical_document", {"STORE": postgis_url, "AREA": "beat:DM01B01", "MIN_N": 5,
                                    "OUTPUT": str(pdf)})
    from spatial_core.api.tactical import tactical_content

    with open_store(postgis_url) as store:
        sections = tactical_content(store, "beat:DM01B01", load_profile("default"),
                                    min_n=5).sections
    # two pages, then the further sections two to a page
    assert len(sections) >= 1 and doc["PAGES"] == 2 + (len(sections) + 1) // 2
    assert pdf.stat().st_size > 10_000


# -- registration -------------------------------------------------------------------------------

MINE = ("score_streets", "local_priorities", "representation", "hotspots", "setup_create",
        "setup_report", "setup_archive", "export_walk_list", "tactical_document")
# lpt:connect_geoservice has no STORE (it talks HTTP); tests/qgis_plugin/test_geoservice.py


@pytest.mark.parametrize("name", MINE)
def test_analytics_algorithm_is_registered_and_takes_the_store_first(qgis_app, name):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById(f"lpt:{name}")
    assert alg is not None, name
    assert alg.parameterDefinitions()[0].name() == "STORE"
    assert alg.shortHelpString() and alg.group()
