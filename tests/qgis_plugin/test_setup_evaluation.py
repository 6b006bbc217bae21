# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_evaluation in real PyQGIS on the demo force's campaign set-up: the street layer
and the difference-in-differences table equal spatial_core's, the layer is styled targeted /
comparison, and the tactical document of the set-up's beat has the "Did it work?" section
laid out on its further page."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo-evaluation"), households=5_000))


@pytest.fixture(scope="module")
def campaign(demo):
    from spatial_core import open_store

    with open_store(demo) as store:
        return json.loads(store.get_meta("demo_history"))["evaluation_setup"]


def _features(layer):
    names = layer.fields().names()
    return [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]


def test_setup_evaluation_layer_and_table_equal_spatial_core(run, demo, campaign):
    from qgis_plugin.processing.setup_evaluation import GROUP_COLOURS, style_evaluation_streets
    from spatial_core import open_store
    from spatial_core.api.evaluation import evaluate_setup

    sid = campaign["setup_id"]
    out = run("setup_evaluation", {"STORE": demo, "SETUP_ID": sid, "BEFORE_MONTHS": 3,
                                   "STREETS": "TEMPORARY_OUTPUT", "TABLE": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = evaluate_setup(store, sid, before_months=3)
    streets = _features(out["STREETS"])
    assert sorted(s["street_id"] for s in streets) == sorted(want.streets["street_id"])
    by_id = want.streets.set_index("street_id")
    for s in streets:
        assert s["group"] == by_id.loc[s["street_id"], "group"]
        assert s["crime_rate_before"] == pytest.approx(by_id.loc[s["street_id"],
                                                                 "crime_rate_before"])
        assert s["members_after"] == by_id.loc[s["street_id"], "members_after"]
    assert all(f.geometry().length() > 0 for f in out["STREETS"].getFeatures())
    table = {r["outcome"]: r for r in _features(out["TABLE"])}
    assert list(table) == list(want.outcomes["outcome"])
    for r in want.outcomes.itertuples():
        assert table[r.outcome]["did"] == pytest.approx(r.did)
        assert table[r.outcome]["ci_low"] == pytest.approx(r.ci_low)
        assert table[r.outcome]["verdict"] == r.verdict
    assert out["VERDICT"] == want.verdict
    assert json.loads(out["EVALUATION"])["windows"]["before"] == list(want.effect.windows.before)
    # the style: two categories on "group"
    layer = out["STREETS"]
    style_evaluation_streets(layer)
    r = layer.renderer()
    assert r.type() == "categorizedSymbol" and r.classAttribute() == "group"
    assert {c.value(): c.symbol().color().name() for c in r.categories()} == {
        k: v[0] for k, v in GROUP_COLOURS.items()}
    assert layer.attributeAlias(layer.fields().indexOf("crime_rate_before")).startswith(
        "Crimes per 1,000")


def test_setup_evaluation_unknown_setup_is_a_clear_error(run, demo):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="no set-up 'nope'"):
        run("setup_evaluation", {"STORE": demo, "SETUP_ID": "nope",
                                 "STREETS": "TEMPORARY_OUTPUT", "TABLE": "TEMPORARY_OUTPUT"})


def test_tactical_document_has_the_did_it_work_page(qgis_app, demo, campaign):
    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile

    with open_store(demo) as store:
        data = tactical.gather(store, campaign["beat_id"], load_profile("default"), min_n=5)
    keys = [s.key for s in data.sections]
    assert "setup_effect" in keys
    layout, project = tactical.build_layout(data)
    assert layout.pageCollection().pageCount() == 2 + (len(data.sections) + 1) // 2
    from qgis.core import QgsLayoutItemLabel, QgsLayoutItemTextTable

    labels = [i.text() for i in layout.items() if isinstance(i, QgsLayoutItemLabel)]
    assert "Did it work? Set-ups against comparable streets" in labels
    tables = [[list(map(str, row)) for row in t.contents()] for t in layout.multiFrames()
              if isinstance(t, QgsLayoutItemTextTable)]
    section = next(s for s in data.sections if s.key == "setup_effect")
    mine = [t for t in tables if [tuple(r) for r in t] == [tuple(tactical._short(v, 60)
                                                                 for v in r)
                                                           for r in section.rows]]
    assert len(mine) == 1
    assert any(r[1] == "Membership" for r in section.rows)
    del project
