# SPDX-License-Identifier: GPL-3.0-or-later
"""Concentration curves, Gini, PAI and the backtest on hand-built streets and crimes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.errors import InputError
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.targeting.evaluation import (
    backtest,
    concentration,
    concentration_curve,
    gini,
    predictive_accuracy_index,
    recency_weighted_scores,
    street_harm,
    top_share,
)

X0, Y0 = 430000.0, 433000.0


def test_one_street_with_all_the_harm_is_all_of_the_top_share():
    values = np.zeros(40)
    values[17] = 12.5
    for fraction in (0.01, 0.05, 0.2, 1.0):
        assert top_share(values, fraction) == 1.0
    curve = concentration_curve(values)
    assert curve["harm_share"].tolist() == [1.0] * 40
    assert curve["value"].iloc[0] == 12.5
    assert gini(values) == pytest.approx(39 / 40)


def test_concentration_curve_and_gini_on_known_values():
    curve = concentration_curve([1, 3, 0, 6], lengths=[100, 100, 200, 100])
    assert curve["value"].tolist() == [6, 3, 1, 0]
    assert curve["harm_share"].tolist() == pytest.approx([0.6, 0.9, 1.0, 1.0])
    assert curve["length_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 1.0])
    # Ascending 0, 1, 3, 6: 2 * (0 + 2 + 9 + 24) / (4 * 10) - 5 / 4 = 0.5
    assert gini([1, 3, 0, 6]) == pytest.approx(0.5)
    assert gini([2, 2, 2]) == 0.0
    assert math.isnan(gini([0, 0]))


def test_top_share_takes_ceil_of_the_fraction_and_breaks_ties_by_id():
    assert top_share([5, 5, 0, 0], 0.25, ids=["b", "a", "c", "d"]) == 0.5
    assert top_share(np.ones(100), 0.05) == pytest.approx(0.05)  # exactly 5 streets, not 6
    assert top_share(np.ones(101), 0.05) == pytest.approx(6 / 101)
    with pytest.raises(InputError, match=r"in \(0, 1\]"):
        top_share([1, 2], 0)


def test_predictive_accuracy_index_by_hand():
    # 40% of the harm on streets holding 10% of the length: PAI 4.
    assert predictive_accuracy_index(0.4, 0.1) == pytest.approx(4.0)
    assert predictive_accuracy_index(0.05, 0.05) == pytest.approx(1.0)
    assert math.isnan(predictive_accuracy_index(0.3, 0.0))


def test_recency_weighted_scores_halve_per_half_life():
    h = pd.DataFrame({"street_id": ["a", "a", "b"], "month": ["2023-07", "2024-01", "2023-01"],
                      "harm": [4.0, 1.0, 8.0]})
    scores = recency_weighted_scores(h, ["a", "b"], as_of="2024-01", half_life_months=6)
    assert scores.tolist() == [1.0 + 2.0, 2.0]
    with pytest.raises(InputError, match="after as_of"):
        recency_weighted_scores(h, ["a"], as_of="2023-12")


# -- a hand-built store: 20 parallel streets 100 m apart --------------------------------------

def _streets() -> pd.DataFrame:
    ids = [f"s{i:02d}" for i in range(20)]
    lengths = [300.0] + [100.0] * 19
    geoms = [shapely.multilinestrings([[(X0, Y0 + 100 * i), (X0 + lengths[i], Y0 + 100 * i)]])
             for i in range(20)]
    return pd.DataFrame({"street_id": ids, "name": ids,
                         "beat_id": ["beat:A"] * 10 + ["beat:B"] * 10,
                         "ward_id": ["ward:W"] * 20, "length_m": lengths, "households": 10,
                         "geom": geoms})


def _crimes(month: str, per_street: dict[int, int], category: str = "Burglary",
            extra: list[tuple[float, float]] = ()) -> pd.DataFrame:
    xs, ys = [], []
    for street, n in per_street.items():
        xs += [X0 + 50.0] * n
        ys += [Y0 + 100 * street + 5.0] * n
    for x, y in extra:
        xs.append(x)
        ys.append(y)
    x = np.array(xs)
    y = np.array(ys)
    lng, lat = bng_to_lnglat(x, y)
    return pd.DataFrame({
        "crime_key": [f"{month}-{category}-{i}" for i in range(len(x))], "month": month,
        "category": category, "x": x, "y": y, "lat": lat, "lng": lng, "cell": 1,
        "is_outlier": 0, "geom": shapely.points(x, y)})


@pytest.fixture
def streets_store(store):
    far = [(X0 + 5000.0, Y0)]  # 5 km from every street: outside the street coverage
    with store.begin() as conn:
        store.insert_new(conn, "streets", _streets())
        store.insert_new(conn, "crimes", _crimes("2024-01", {0: 5, 1: 3, 2: 1}, extra=far))
        store.insert_new(conn, "crimes", _crimes("2024-02", {0: 4, 1: 2, 5: 4}))
    return store


def test_street_harm_places_crimes_on_the_nearest_street(streets_store):
    h = street_harm(streets_store, weight="count")
    got = h.set_index(["street_id", "month"])["crimes"].to_dict()
    assert got == {("s00", "2024-01"): 5, ("s01", "2024-01"): 3, ("s02", "2024-01"): 1,
                   ("s00", "2024-02"): 4, ("s01", "2024-02"): 2, ("s05", "2024-02"): 4}
    assert h.attrs["crimes_read"] == 20
    assert h.attrs["crimes_on_streets"] == 19


def test_concentration_per_beat_and_force(streets_store):
    out = concentration(streets_store, weight="count").set_index("area_id", drop=False)
    assert out["area_id"].tolist() == ["force", "beat:A", "beat:B"]
    force = out.loc["force"]
    assert force["streets"] == 20 and force["crimes"] == 19 and force["streets_with_harm"] == 4
    assert force["top_5pct"] == pytest.approx(9 / 19)
    assert force["top_10pct"] == pytest.approx(14 / 19)
    assert force["gini"] == pytest.approx(gini([9, 5, 4, 1] + [0] * 16))
    assert out.loc["beat:A", "top_10pct"] == pytest.approx(9 / 19)
    assert out.loc["beat:B", "harm"] == 0 and math.isnan(out.loc["beat:B", "top_5pct"])
    jan = concentration(streets_store, ["2024-01"], weight="count").iloc[0]
    assert jan["crimes"] == 9 and jan["top_5pct"] == pytest.approx(5 / 9)


def test_concentration_weights_crimes_by_harm(gpkg_store):
    from spatial_core.analytics.harm import crimes_to_harm

    with gpkg_store.begin() as conn:
        gpkg_store.insert_new(conn, "streets", _streets())
        gpkg_store.insert_new(conn, "crimes", _crimes("2024-01", {3: 1}, "Robbery"))
        gpkg_store.insert_new(conn, "crimes", _crimes("2024-01", {4: 10}, "Anti-social behaviour"))
    robbery, asb = crimes_to_harm(["Robbery", "Anti-social behaviour"])
    force = concentration(gpkg_store).iloc[0]
    assert force["harm"] == pytest.approx(robbery + 10 * asb)
    assert force["top_5pct"] == pytest.approx(max(robbery, 10 * asb) / (robbery + 10 * asb))
    counted = concentration(gpkg_store, weight="count").iloc[0]
    assert counted["top_5pct"] == pytest.approx(10 / 11)


def test_backtest_hit_rate_and_pai_by_hand(streets_store):
    result, detail = backtest(streets_store, ["2024-01"], ["2024-02"], weight="count")
    # Top 5% of 20 streets = 1 street: s00 (5 crimes in January). February: 4 of 10 on it.
    assert result.selected == 1
    assert detail.loc[detail["selected"], "street_id"].tolist() == ["s00"]
    assert result.hit_rate == pytest.approx(0.4)
    assert result.length_share == pytest.approx(300 / 2200)
    assert result.pai_length == pytest.approx(0.4 / (300 / 2200))
    assert result.pai_streets == pytest.approx(0.4 / 0.05)
    assert result.oracle_hit_rate == pytest.approx(0.4)  # s00 and s05 tie on 4; s00 first by id
    assert result.test_harm == 10 and result.train_streets_with_harm == 3
    assert detail["rank"].tolist()[:3] == [1, 2, 3]
    assert detail["street_id"].tolist()[:3] == ["s00", "s01", "s02"]
    wider, _ = backtest(streets_store, ["2024-01"], ["2024-02"], weight="count", top=0.10)
    assert wider.hit_rate == pytest.approx(0.6)
    assert wider.pai_length == pytest.approx(0.6 / (400 / 2200))
    assert wider.oracle_hit_rate == pytest.approx(0.8)


def test_backtest_shares_the_places_left_among_streets_tied_at_the_cut(streets_store):
    # Top 25% of 20 streets = 5: s00, s01, s02 had crimes in January (5, 3, 1); the other 17
    # tie on 0 for the last 2 places. February: s00 4, s01 2, s05 4 (of 10).
    result, detail = backtest(streets_store, ["2024-01"], ["2024-02"], weight="count", top=0.25)
    assert (result.selected, result.tied_at_cut, result.tied_places) == (5, 17, 2)
    assert result.hit_rate == pytest.approx((4 + 2 + 2 / 17 * 4) / 10)
    # By street_id, s03 and s04 take the two places, and s05's 4 crimes are missed.
    assert detail.loc[detail["selected"], "street_id"].tolist() == ["s00", "s01", "s02", "s03",
                                                                   "s04"]
    assert result.hit_rate_by_id == pytest.approx(0.6)
    assert result.test_harm_selected == pytest.approx(result.hit_rate * 10)
    # The expected length: all of s00-s02 and 2/17 of the other 17 streets' length.
    lengths = detail.set_index("street_id")["length_m"]
    rest = lengths.drop(["s00", "s01", "s02"]).sum()
    assert result.selected_length_m == pytest.approx(
        lengths[["s00", "s01", "s02"]].sum() + 2 / 17 * rest)
    assert result.pai_length == pytest.approx(result.hit_rate / result.length_share)


def test_backtest_with_a_given_score(streets_store):
    scores = pd.Series({"s05": 10.0, "s00": 1.0})
    result, _ = backtest(streets_store, ["2024-01"], ["2024-02"], weight="count", scores=scores)
    assert result.hit_rate == pytest.approx(0.4)
    assert result.length_share == pytest.approx(100 / 2200)
    assert result.score == "given"


@pytest.mark.parametrize("train, test, message", [
    (["2024-02"], ["2024-01"], "before the test months"),
    (["2024-01"], ["2024-01"], "before the test months"),
    ([], ["2024-02"], "at least one training month"),
])
def test_backtest_rejects_months_in_the_wrong_order(gpkg_store, train, test, message):
    with pytest.raises(InputError, match=message):
        backtest(gpkg_store, train, test)


def test_evaluation_needs_streets(gpkg_store):
    with pytest.raises(InputError, match="no streets are stored"):
        concentration(gpkg_store)


# -- a small demo force and the CLI -----------------------------------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    path = demo_builds.copy(tmp_path_factory.mktemp("demo"),
                            households=4_000, months=6, end_month="2026-06")
    store = open_store(path)
    yield store
    store.close()


def test_backtest_and_concentration_on_a_demo_force(demo_store):
    months = [f"2026-{m:02d}" for m in range(1, 7)]
    conc = concentration(demo_store, months[-1:])
    force = conc.iloc[0]
    shares = [force[c] for c in ("top_1pct", "top_2pct", "top_5pct", "top_10pct", "top_20pct",
                                 "top_50pct")]
    assert shares == sorted(shares) and 0 < shares[0] and shares[-1] <= 1
    assert force["streets"] == demo_store.count("streets")
    # Beats partition the streets and the harm.
    beats = conc.iloc[1:]
    assert beats["streets"].sum() == force["streets"]
    assert beats["harm"].sum() == pytest.approx(force["harm"])
    result, detail = backtest(demo_store, months[:-1], months[-1:])
    assert 0 < result.hit_rate <= result.oracle_hit_rate <= 1
    assert result.selected == math.ceil(0.05 * result.streets)
    assert result.pai_length == pytest.approx(result.hit_rate / result.length_share)
    assert detail["selected"].sum() == result.selected
    assert detail.loc[detail["selected"], "test_harm"].sum() == pytest.approx(
        result.hit_rate_by_id * result.test_harm)
    assert result.test_harm_selected == pytest.approx(result.hit_rate * result.test_harm)


def test_cli_evaluate_and_hotspots_json(demo_store, capsys):
    import json

    from lpt_cli.main import main

    assert main(["--store", demo_store.location, "evaluate", "--train", "2026-01..2026-05",
                 "--test", "2026-06", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backtest"]["train_months"] == [f"2026-{m:02d}" for m in range(1, 6)]
    assert out["backtest"]["test_months"] == ["2026-06"]
    assert out["concentration"]["areas"][0]["area_id"] == "force"
    assert len(out["selected_streets"]) == out["backtest"]["selected"]
    assert main(["--store", demo_store.location, "hotspots", "--resolution", "9",
                 "--months", "2026Q2", "--json"]) == 0
    hot = json.loads(capsys.readouterr().out)
    assert hot["run"]["months"] == ["2026-04", "2026-05", "2026-06"]
    assert hot["run"]["resolution"] == 9
    assert hot["hot"] == len(hot["hot_cells"])
    assert main(["--store", demo_store.location, "evaluate", "--test", "2030-01"]) == 2
    assert "no crime is stored for '2030-01'" in capsys.readouterr().err


def test_backtest_with_the_scoring_module_harm_component(streets_store):
    result, detail = backtest(streets_store, ["2024-01"], ["2024-02"], weight="count",
                              score="scoring-harm")
    assert result.score.startswith("scoring module (harm component, profile default")
    assert "as of 2024-01-31" in result.score
    assert detail["street_id"].tolist()[:3] == ["s00", "s01", "s02"]  # 5, 3, 1 burglaries
    assert result.hit_rate == pytest.approx(0.4)
    with pytest.raises(InputError, match="unknown score"):
        backtest(streets_store, ["2024-01"], ["2024-02"], score="magic")
