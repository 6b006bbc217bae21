# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:area_confidence and lpt:area_change through ``processing.run`` in real PyQGIS: values
worked out by hand on small stores, the demo force's layers equal to spatial_core's, the
shipped styles applied (outliers highlighted, change coloured), and the tactical document's
extra page."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests.core.test_api_confidence import _change_store
from tests.core.test_confidence import SAFE, build_store


def _geoservice_fixtures():
    """The geoservice tests' conftest as a module (loaded once: test_geoservice.py does the
    same), for its session fixture ``service`` (the demo force served by ``lpt serve``)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "lpt_geoservice_fixtures"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "geoservice" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


service = _geoservice_fixtures().service


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    rows = [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names).set_index("area_id")


def _plain(v):
    """A QGIS attribute as a Python value (NULL as None)."""
    from qgis.PyQt.QtCore import QVariant

    return None if v is None or (isinstance(v, QVariant) and v.isNull()) else v


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    """The demo force (about 5,000 households, a year of surveys) in a GeoPackage store."""
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo-confidence"), households=5_000))


@pytest.fixture
def six_beats(tmp_path):
    from spatial_core import open_store

    path = tmp_path / "six.gpkg"
    with open_store(path) as store:
        build_store(store)
    return str(path)


@pytest.fixture
def two_quarters(tmp_path):
    from spatial_core import open_store

    path = tmp_path / "two.gpkg"
    with open_store(path) as store:
        _change_store(store)
    return str(path)


def _category(layer, area_id: str) -> str:
    """The category the layer's renderer gives the feature of ``area_id``."""
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils

    expr = QgsExpression(layer.renderer().classAttribute())
    ctx = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    for f in layer.getFeatures():
        if f["area_id"] == area_id:
            ctx.setFeature(f)
            return expr.evaluate(ctx)
    raise AssertionError(area_id)


def test_confidence_layer_by_hand_flags_beat_f_red(run, six_beats):
    from qgis.core import QgsCategorizedSymbolRenderer, QgsVectorLayer

    from qgis_plugin.layers import apply_style

    out = run("area_confidence", {"STORE": six_beats, "LEVEL": 0, "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = out["OUTPUT"]
    assert isinstance(layer, QgsVectorLayer) and layer.crs().authid() == "EPSG:27700"
    assert layer.featureCount() == 6 and out["OUTLIERS"] == 1
    got = _features(layer)
    a = got.loc["beat:A"]
    assert a["feel_safe_n"] == 10 and a["feel_safe"] == pytest.approx(4.0)
    assert a["confidence"] == pytest.approx(np.mean([min(5, s + 1) for s in SAFE["A"]]))
    assert a["crimes"] == 1 and a["crime_rate"] == pytest.approx(1000 * 1 / 10 * 12)
    assert got.loc["beat:F", "safe_outlier"] == "less safe than crime suggests"
    # beats A-F are 1 km squares side by side
    box = {f["area_id"]: f.geometry().boundingBox() for f in layer.getFeatures()}
    assert box["beat:B"].xMinimum() == 431000 and box["beat:B"].width() == 1000
    apply_style(layer, "confidence_outliers")
    assert isinstance(layer.renderer(), QgsCategorizedSymbolRenderer)
    assert _category(layer, "beat:F") == "below"
    assert {_category(layer, f"beat:{b}") for b in "ABCDE"} == {"as expected"}


def test_confidence_layer_equals_the_core_on_the_demo(run, demo):
    from spatial_core import open_store
    from spatial_core.api import FORCE
    from spatial_core.api.confidence import area_confidence

    out = run("area_confidence", {"STORE": demo, "LEVEL": 0, "OUTPUT": "TEMPORARY_OUTPUT"})
    got = _features(out["OUTPUT"])
    with open_store(demo) as store:
        want = area_confidence(store, FORCE, level="beat").set_index("area_id")
    assert sorted(got.index) == sorted(want.index) and len(want) == 8
    for col in ("confidence_n", "feel_safe_n", "crimes", "households"):
        assert got[col].astype(int).tolist() == want.loc[got.index, col].astype(int).tolist()
    for col in ("confidence", "feel_safe", "feel_safe_ci_low", "crime_rate", "safe_z",
                "confidence_z"):
        np.testing.assert_allclose(got[col].astype(float), want.loc[got.index, col],
                                   rtol=0, atol=1e-12)
    flagged = (want["safe_outlier"] != "") | (want["confidence_outlier"] != "")
    assert out["OUTLIERS"] == int(flagged.sum())
    assert [_plain(v) or "" for v in got["safe_outlier"]] == \
        want.loc[got.index, "safe_outlier"].tolist()


def test_change_layer_by_hand(run, two_quarters):
    from qgis.core import QgsGraduatedSymbolRenderer

    from qgis_plugin.layers import apply_style

    out = run("area_change", {"STORE": two_quarters, "LEVEL": 0, "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = out["OUTPUT"]
    got = _features(layer)
    assert sorted(got.index) == ["beat:A", "beat:B"]
    a, b = got.loc["beat:A"], got.loc["beat:B"]
    assert (a["quarter_from"], a["quarter_to"]) == ("2026Q1", "2026Q2")
    assert a["confidence_change"] == pytest.approx(1.0)
    half = 1.959963984540054 * math.sqrt(2 / 3 / 4 * 2)
    assert a["confidence_change_ci_low"] == pytest.approx(1 - half)
    assert a["panel_confidence_n"] == 4 and a["panel_confidence_change"] == pytest.approx(1.0)
    assert b["panel_confidence_n"] == 2 and b["panel_confidence_change"] == pytest.approx(0.5)
    assert a["crimes_change"] == pytest.approx(-2)
    series = json.loads(a["series"])
    assert [s["confidence"] for s in series] == pytest.approx([3.0, 4.0])
    apply_style(layer, "area_change")
    r = layer.renderer()
    assert isinstance(r, QgsGraduatedSymbolRenderer) and r.classAttribute() == "confidence_change"


def test_change_layer_with_given_panel_periods_and_a_bad_one(run, two_quarters):
    from qgis.core import QgsProcessingException

    out = run("area_change", {"STORE": two_quarters, "LEVEL": 3, "PAIRED": "2026-02 2026-05",
                              "OUTPUT": "TEMPORARY_OUTPUT"})
    force = _features(out["OUTPUT"]).iloc[0]
    # February: a1-a4 and b1-b3 answered; May: all but b3 again -> 6 people, changes
    # (+1, +1, +1, +1, +1, 0).
    assert force["panel_first"] == "2026-02" and force["panel_confidence_n"] == 6
    assert force["panel_confidence_change"] == pytest.approx(5 / 6)
    with pytest.raises(QgsProcessingException, match="two periods"):
        run("area_change", {"STORE": two_quarters, "PAIRED": "2026Q1",
                            "OUTPUT": "TEMPORARY_OUTPUT"})
    with pytest.raises(QgsProcessingException, match="overlap"):
        run("area_change", {"STORE": two_quarters, "PAIRED": "2026Q1 2026-03",
                            "OUTPUT": "TEMPORARY_OUTPUT"})


def test_change_layer_equals_the_core_on_the_demo(run, demo):
    from spatial_core import open_store
    from spatial_core.api import FORCE
    from spatial_core.api.confidence import area_change

    out = run("area_change", {"STORE": demo, "LEVEL": 2, "OUTPUT": "TEMPORARY_OUTPUT"})
    got = _features(out["OUTPUT"])
    with open_store(demo) as store:
        want = area_change(store, FORCE, level="npa").set_index("area_id")
    assert sorted(got.index) == sorted(want.index)
    for col in ("confidence_change", "feel_safe_change", "crimes_change", "confidence_trend",
                "panel_confidence_change", "panel_feel_safe_ci_low"):
        np.testing.assert_allclose(got[col].astype(float), want.loc[got.index, col].astype(float),
                                   rtol=0, atol=1e-12)
    assert got["panel_confidence_n"].astype(int).tolist() == \
        want.loc[got.index, "panel_confidence_n"].astype(int).tolist()
    assert (want["panel_confidence_n"] > 0).all()


def test_tactical_document_has_the_confidence_page(qgis_app, demo):
    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile

    with open_store(demo) as store:
        data = tactical.gather(store, "beat:DM01B01", load_profile("default"), min_n=5)
    keys = [s.key for s in data.sections]
    assert "confidence" in keys
    layout, _project = tactical.build_layout(data)
    assert layout.pageCollection().pageCount() == 2 + math.ceil(len(keys) / 2)
    section = data.sections[keys.index("confidence")]
    rows = {r[0]: r for r in section.rows}
    assert rows["Feeling safe (1-5)"][3] != "withheld"  # a police document: exact n
    from qgis.core import QgsLayoutItemLabel

    labels = [i.text() for i in layout.items() if isinstance(i, QgsLayoutItemLabel)]
    assert "Confidence and feeling safe" in labels


def test_connect_geoservice_styles_the_confidence_and_change_collections(run, service):
    """lpt:connect_geoservice as the public: both collections as styled OAPIF layers, one
    feature per area, disclosure-controlled as the public sees them."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsGraduatedSymbolRenderer

    from qgis_plugin.geoservice import remove_headers

    try:
        out = run("connect_geoservice", {"URL": service.url + "/", "RESTRICT": False,
                                         "AUTH": 0,
                                         "COLLECTIONS": "area_confidence,area_change"})
        layers = {layer.source().split("typename='")[1].split("'")[0]: layer
                  for layer in out["OUTPUT"]}
    finally:
        remove_headers()
    conf, change = layers["area_confidence"], layers["area_change"]
    status, hits = service.json("/collections/area_confidence/items?resulttype=hits&f=json")
    assert status == 200 and conf.featureCount() == hits["numberMatched"] == 17
    assert change.featureCount() == 17
    assert isinstance(conf.renderer(), QgsCategorizedSymbolRenderer)
    assert isinstance(change.renderer(), QgsGraduatedSymbolRenderer)
    got = _features(conf)
    assert got["disclosure"].eq(f"k={service.k}").all()

