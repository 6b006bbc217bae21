# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priorities, representation and set-ups/walk lists through ``processing.run("lpt:…")``
on real Leeds data (2017 wards as beats, OAC 2011 output areas, Code-Point postcodes, OSM
streets, two months of crime) with synthetic households, members, surveys and visits
(:func:`spatial_core.demo.leeds.add_synthetic_people`), each checked against spatial_core
called directly on the same store."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

NOW = "2017-10-01T09:00:00"
BEAT = "beat:E05001429"  # a central ward where students (OAC supergroup 2) are under-represented


@pytest.fixture(scope="module")
def leeds_people(real, tmp_path_factory):
    """The Leeds store with synthetic people (GeoPackage), and the people written."""
    from spatial_core import open_store
    from spatial_core.demo.leeds import add_synthetic_people
    from spatial_core.io.imports import import_files

    d = tmp_path_factory.mktemp("leeds-people")
    location = d / "leeds.gpkg"
    store = open_store(location)
    r = real / "leeds"
    import_files(store, "boundaries", [r / "boundaries/leeds_wards_2017.geojson"], level="beat",
                 crs=27700)
    import_files(store, "classification", [r / "geodemographics/leeds_oa_oac2011.geojson"],
                 crs=27700)
    import_files(store, "postcodes", [r / "postcodes/codepoint_open_2014_ls.csv"])
    import_files(store, "streets", [r / "streets/leeds_central_osm_2022.gpkg"])
    import_files(store, "crimes", [r / "crime/2016-07-west-yorkshire-street.csv",
                                   r / "crime/2017-07-west-yorkshire-street.csv"])
    people = add_synthetic_people(store, d / "people")
    store.close()
    return str(location), people


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    rows = [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def test_leeds_store_holds_the_synthetic_people(run, leeds_people):
    location, people = leeds_people
    status = json.loads(run("store_status", {"STORE": location})["STATUS"])
    for kind in ("addresses", "members", "surveys", "visits"):
        assert status["counts"][kind] == people.counts[kind] > 0, kind
    assert status["areas_by_level"] == {"beat": 33, "oa": 2543}


def test_local_priorities_on_leeds_equal_spatial_core(run, leeds_people):
    from spatial_core import open_store
    from spatial_core.analytics.priorities import local_priorities

    location, _ = leeds_people
    out = run("local_priorities", {"STORE": location, "MIN_N": 5,
                                   "OUTPUT": "TEMPORARY_OUTPUT", "TABLE": "TEMPORARY_OUTPUT"})
    with open_store(location) as store:
        want = local_priorities(store, level="beat", min_n=5)
    assert want["is_priority"].sum() > 0  # the synthetic surveys name priorities
    beats = _features(out["OUTPUT"]).set_index("area_id")
    assert out["OUTPUT"].featureCount() == want["area_id"].nunique()
    assert out["OUTPUT"].geometryType() == 2
    assert out["TABLE"].featureCount() == len(want)
    assert set(beats.index) == set(want["area_id"])
    for area, rows in want.groupby("area_id"):
        chosen = rows[rows["is_priority"]].sort_values(["rank", "priority"])
        row = beats.loc[area]
        assert row["count"] == len(chosen), area
        if len(chosen):
            assert row["priority"] == chosen["label"].iloc[0]
            assert row["share"] == pytest.approx(chosen["share"].iloc[0])
    table = _features(out["TABLE"]).sort_values(["area_id", "priority"])
    w = want.sort_values(["area_id", "priority"])
    assert table["area_id"].tolist() == w["area_id"].tolist()
    assert table["priority"].tolist() == w["priority"].tolist()
    assert [bool(v) for v in table["is_priority"]] == w["is_priority"].tolist()
    assert "local priority on" in out["SUMMARY"]


def test_representation_on_leeds_equals_spatial_core(run, leeds_people):
    from spatial_core import open_store
    from spatial_core.analytics.representation import (
        member_locations,
        representation,
        underrepresented_households,
    )

    location, _ = leeds_people
    out = run("representation", {"STORE": location, "TABLE": "TEMPORARY_OUTPUT",
                                 "HOUSEHOLDS": "TEMPORARY_OUTPUT", "MEMBERS": "TEMPORARY_OUTPUT"})
    with open_store(location) as store:
        table = representation(store, area_level="beat")
        under = underrepresented_households(store, area_level="beat")
        members = member_locations(store, by="cell")
    assert out["TABLE"].featureCount() == len(table)
    assert out["HOUSEHOLDS"].featureCount() == len(under) == out["UNDER_REPRESENTED"] > 0
    assert sorted(_features(out["HOUSEHOLDS"])["uprn"]) == sorted(under["uprn"])
    got_members = _features(out["MEMBERS"])
    assert out["MEMBERS"].featureCount() == len(members)
    assert got_members["members"].sum() == members["members"].sum() > 0
    t = _features(out["TABLE"]).sort_values(["area_id", "group"])
    w = table.sort_values(["area_id", "group"])
    assert t["area_id"].tolist() == w["area_id"].tolist()
    assert t["group"].astype(str).tolist() == w["group"].astype(str).tolist()
    np.testing.assert_allclose(t["member_ratio"].to_numpy(float),
                               w["member_ratio"].to_numpy(float), equal_nan=True)
    np.testing.assert_allclose(t["population"].to_numpy(float),
                               w["population"].to_numpy(float))
    assert w["member_below"].any()


def test_setup_and_walk_list_on_leeds_equal_spatial_core(run, leeds_people, tmp_path):
    import pyogrio

    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup, stored_recommendation
    from spatial_core.targeting.walklists import walk_list

    location, _ = leeds_people
    plugin, core = tmp_path / "plugin.gpkg", tmp_path / "core.gpkg"
    shutil.copy(location, plugin)
    shutil.copy(location, core)
    out = run("setup_create", {
        "STORE": str(plugin), "NAME": "Leeds recruitment", "AREAS": BEAT, "GOAL": 0,
        "MAX_STREETS": 5, "TARGET_VISITS": 40, "NOW": NOW,
        "STREETS": "TEMPORARY_OUTPUT", "WALK_LIST": "TEMPORARY_OUTPUT"})
    with open_store(core) as store:
        want = create_setup(store, "Leeds recruitment", areas=[BEAT], goal="recruit",
                            max_streets=5, targets={"visits": 40}, now=NOW)
        want_walk = walk_list(store, want.setup_id, now=NOW)
        want_streets, _ = stored_recommendation(store, want.setup_id)
    assert out["SETUP_ID"] == want.setup_id == "leeds-recruitment"
    got = json.loads(out["SETUP"])
    assert got["target_groups"] == list(want.target_groups) == ["2"]
    streets = sorted(_features(out["STREETS"]).to_dict("records"),
                     key=lambda s: s["street_rank"])
    assert 0 < len(streets) <= 5
    assert [s["street_id"] for s in streets] == want_streets["street_id"].tolist()
    assert all(s["street_id"].startswith(BEAT + "/") for s in streets)
    assert [s["score"] for s in streets] == pytest.approx(want_streets["score"].tolist())
    doors = _features(out["WALK_LIST"])
    assert doors["uprn"].tolist() == want_walk["uprn"].tolist()
    assert len(want_walk) > 0

    path = tmp_path / "walk.geojson"
    exp = run("export_walk_list", {"STORE": str(plugin), "SETUP_ID": want.setup_id, "NOW": NOW,
                                   "OUTPUT": str(path)})
    assert exp["ROWS"] == len(want_walk)
    info = pyogrio.read_info(path)
    assert info["features"] == len(want_walk)
    assert not {"name", "email", "telephone"} & set(info["fields"])
    exported = pyogrio.read_dataframe(path)
    assert exported["uprn"].astype(str).tolist() == want_walk["uprn"].astype(str).tolist()
