# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups and communities in QGIS (issue 11), through ``processing.run("lpt:…")`` on the demo
force with its census base, each result checked against spatial_core called directly on the
same store: representation by ethnicity, local priorities split by channel and by community
group, a community set-up, key individual networks, and the tactical document's further
pages with the representation and networks sections."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo-groups"), households=3_000,
                                months=3))


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    rows = [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def _float(values) -> np.ndarray:
    return np.array([np.nan if v is None or (not isinstance(v, (int, float)))
                     else float(v) for v in values], dtype="float64")


def test_representation_by_ethnicity_equals_spatial_core(run, demo):
    from spatial_core import open_store
    from spatial_core.analytics.representation import BY, representation

    out = run("representation", {"STORE": demo, "BY": BY.index("ethnicity"), "MIN_N": 2,
                                 "TABLE": "TEMPORARY_OUTPUT", "HOUSEHOLDS": "TEMPORARY_OUTPUT",
                                 "MEMBERS": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = representation(store, area_level="beat", by="ethnicity", min_n=2)
    got = _features(out["TABLE"]).sort_values(["area_id", "group"]).reset_index(drop=True)
    want = want.sort_values(["area_id", "group"]).reset_index(drop=True)
    assert got["group"].tolist() == want["group"].tolist()
    assert set(got["group"]) == {"asian", "black", "mixed", "other", "white"}
    for c in ("population_share", "member_share", "member_ratio", "member_ci_low",
              "member_ci_high"):
        np.testing.assert_allclose(_float(got[c]), want[c].to_numpy(float), equal_nan=True)
    assert got["member_below"].astype(bool).tolist() == want["member_below"].tolist()
    assert want["member_below"].any()


@pytest.mark.parametrize("by", ["channel", "group"])
def test_local_priorities_by_group_equals_spatial_core(run, demo, by):
    from qgis_plugin.processing.local_priorities import _by
    from spatial_core import open_store
    from spatial_core.api.groups import group_priorities

    out = run("local_priorities", {"STORE": demo, "LEVEL": 3, "BY": _by().index(by),
                                   "MIN_N": 5, "OUTPUT": "TEMPORARY_OUTPUT",
                                   "TABLE": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = group_priorities(store, by=by, level="force", min_n=5)
    got = _features(out["OUTPUT"]).set_index("group")
    people = want["people"].set_index("group")
    assert sorted(got.index) == sorted(people.index)
    assert got["people"].tolist() == people.loc[got.index, "people"].tolist()
    assert got["responses"].tolist() == people.loc[got.index, "responses"].tolist()
    scores = want["scores"].set_index("group").loc[got.index]
    for c in ("confidence", "confidence_ci_low", "feel_safe_n"):
        np.testing.assert_allclose(_float(got[c]), scores[c].to_numpy(float), equal_nan=True)
    assert out["TABLE"].featureCount() == len(want["priorities"])
    pri = want["priorities"]
    for g, row in got.iterrows():
        top = pri[(pri["group"] == g) & pri["enough"] & (pri["votes"] > 0) & (pri["rank"] == 1)]
        if len(top):
            assert row["priorities"].split(" ")[0] in set(top["label"].str.split(" ").str[0])
    assert out["OUTPUT"].geometryType() == 2  # the force polygon, once per group


def test_community_setup_targets_the_polish_speakers(run, demo, tmp_path):
    import shutil

    from qgis.core import QgsProcessingException

    from spatial_core import open_store
    from spatial_core.targeting.setups import stored_recommendation

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo, path)
    out = run("setup_create", {"STORE": str(path), "NAME": "Polish community",
                               "AREAS": "force:DEMO", "COMMUNITY": "language:polish",
                               "MAX_STREETS": 4, "NOW": "2026-10-01T10:00",
                               "STREETS": "TEMPORARY_OUTPUT", "WALK_LIST": "TEMPORARY_OUTPUT"})
    with open_store(path) as store:
        streets, hh = stored_recommendation(store, out["SETUP_ID"])
        rule = store.read("setups", ["setup_id", "target_rule"]).set_index("setup_id").loc[
            out["SETUP_ID"], "target_rule"]
    assert rule == "community language:polish"
    got = _features(out["STREETS"])
    assert got["street_id"].tolist() == streets["street_id"].tolist() and len(got) == 4
    assert got["reasons"].str.startswith("Polish: ").all()
    with pytest.raises(QgsProcessingException, match="BY:GROUP"):
        run("setup_create", {"STORE": str(path), "NAME": "x", "AREAS": "force:DEMO",
                             "COMMUNITY": "polish", "STREETS": "TEMPORARY_OUTPUT",
                             "WALK_LIST": "TEMPORARY_OUTPUT"})


def test_networks_equal_spatial_core(run, demo):
    from qgis_plugin.processing.networks import _by, _levels
    from spatial_core import open_store
    from spatial_core.analytics.networks import beat_networks, network_representation

    out = run("networks", {"STORE": demo, "MIN_MEMBERS": 3, "BY": _by().index("ethnicity"),
                           "AREA_LEVEL": _levels().index("npa"),
                           "BEATS": "TEMPORARY_OUTPUT", "GROUPS": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        beats = beat_networks(store, min_members=3)
        kin = network_representation(store, by="ethnicity", area_level="npa")
        iag = network_representation(store, network="iag", by="ethnicity", area_level="npa")
    got = _features(out["BEATS"]).set_index("area_id").loc[beats["area_id"]]
    assert out["BEATS"].geometryType() == 2 and len(got) == len(beats) == 8
    for c in ("households", "members", "key_individual", "iag"):
        assert got[c].tolist() == beats[c].tolist(), c
    assert got["below_min"].astype(bool).tolist() == beats["below_min"].tolist()
    assert out["WITHOUT"] == int(beats["no_key_individual"].sum())
    groups = _features(out["GROUPS"]).sort_values(["network", "area_id", "group"])
    want = pd.concat([kin, iag]).sort_values(["network", "area_id", "group"])
    assert groups["group"].tolist() == want["group"].tolist()
    np.testing.assert_allclose(_float(groups["network_member_ratio"]),
                               want["network_member_ratio"].to_numpy(float), equal_nan=True)
    assert not {"name", "postcode", "member_id"} & set(groups.columns)


def test_tactical_document_has_the_group_sections(qgis_app, demo):
    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile

    with open_store(demo) as store:
        data = tactical.gather(store, BEAT, load_profile("default"), min_n=5)
    keys = [s.key for s in data.sections]
    assert "representation_groups" in keys and "networks" in keys
    layout, project = tactical.build_layout(data)
    assert layout.pageCollection().pageCount() == 2 + math.ceil(len(data.sections) / 2)
    texts = []
    from qgis.core import QgsLayoutItemLabel

    for item in layout.items():
        if isinstance(item, QgsLayoutItemLabel):
            texts.append(item.text())
    text = "\n".join(texts)
    assert "Representation by census group" in text and "Key individual networks" in text
    nets = next(s for s in data.sections if s.key == "networks")
    assert [r[0] for r in nets.rows] == ["Wexcombe West 1"]
    del project
