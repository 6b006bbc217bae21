# SPDX-License-Identifier: GPL-3.0-or-later
"""The crime component's month weights (issue 12): the recent rate (half-life) blended with
the long-run rate worth ``long_run_months`` months of data, by hand."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spatial_core.analytics.harm import expected_harm, recency_weights
from spatial_core.errors import InputError
from spatial_core.targeting.evaluation import UnitMonths, crime_component, rolling_backtest
from spatial_core.targeting.profiles import load_profile, profile_from_toml


def test_recency_weights_by_hand():
    # Decay alone (L = 0): 0.5 ** (age / half-life).
    assert recency_weights([0, 90, 180], 180.0).tolist() == pytest.approx([1, 2 ** -0.5, 0.5])
    # L = 2 months over M = 2 months: one long-run month for each, (1 + d) / (1 + 1).
    assert recency_weights([0, 180], 180.0, 2).tolist() == pytest.approx([1.0, 0.75])
    # The Leeds case: July 2017 and July 2016 scored as of 2017-07-31 (16 and 381 days), L = 5
    # over 2 months (2.5 each): (2.5 + 0.5 ** (16 / 180)) / 3.5 and (2.5 + 0.5 ** (381 / 180)) /
    # 3.5 = 0.9829 and 0.7802 (decay alone: 0.9403 and 0.2305, a quarter).
    w = recency_weights([16, 381], 180.0, 5)
    assert w.tolist() == pytest.approx([(2.5 + 0.5 ** (16 / 180)) / 3.5,
                                        (2.5 + 0.5 ** (381 / 180)) / 3.5])
    assert w.round(4).tolist() == [0.9829, 0.7802]
    # Twenty-four consecutive months: L / M = 5 / 24 adds little; the oldest month still weighs
    # far less than the latest (decay 0.5 ** (706 / 180) = 0.066 -> (0.208 + 0.066) / 1.208).
    ages = 16 + 30.0 * np.arange(24)
    w24 = recency_weights(ages, 180.0, 5)
    share = 5 / 24
    assert w24.tolist() == pytest.approx(((share + 0.5 ** (ages / 180)) / (1 + share)).tolist())
    assert w24[-1] == pytest.approx(0.2270, abs=1e-4)
    assert np.all(np.diff(w24) < 0)  # still newest first
    assert recency_weights([], 180.0, 5).tolist() == []
    with pytest.raises(InputError, match="long_run_months"):
        recency_weights([0], 180.0, -1)
    with pytest.raises(InputError, match="half_life_days"):
        recency_weights([0], 0.0)


def _two_julys() -> UnitMonths:
    """Unit a: 30 crimes in July 2017 only; unit b: 50 in July 2016 only; unit c: 1 in each.
    Every crime a burglary (40 days); August 2017 is the test month."""
    crimes = np.array([[0.0, 30, 2], [50, 0, 1], [1, 1, 0]])
    return UnitMonths(kind="cells", units=np.array([1, 2, 3], dtype="uint64"),
                      months=("2016-07", "2017-07", "2017-08"), crimes=crimes,
                      harm=40 * crimes, group=np.zeros(3, dtype="int64"), length=np.ones(3),
                      neighbour_i=np.zeros(0, dtype="int64"),
                      neighbour_j=np.zeros(0, dtype="int64"))


def test_crime_component_two_months_a_year_apart_by_hand():
    data = _two_julys()
    profile = load_profile("default")
    assert (profile.half_life_days, profile.long_run_months, profile.prior_crimes) == (
        180.0, 5.0, 100.0)
    # As of 2017-07-31: July 2017 is 16 days old, July 2016 381 days.
    w = np.array([(2.5 + 0.5 ** (381 / 180)) / 3.5, (2.5 + 0.5 ** (16 / 180)) / 3.5])
    n = data.crimes[:, :2] @ w  # a: 30 * 0.9829 = 29.488; b: 50 * 0.7802 = 39.008; c: 1.763
    assert n.round(3).tolist() == [29.488, 39.008, 1.763]
    got = crime_component(data, "2017-07", profile)
    want = expected_harm(n, 40 * n, w, prior_crimes=100.0).harm
    assert got.tolist() == pytest.approx(want.tolist())
    # Every crime weighs 40 days, so the harm ranks as the weighted crimes: b (50 crimes a year
    # ago) first, as counting ranks it; decay alone (L = 0) puts a (30 crimes last month)
    # first: 30 * 0.9403 = 28.2 against 50 * 0.2305 = 11.5.
    assert np.argsort(-got).tolist() == [1, 0, 2]
    decay = crime_component(data, "2017-07", replace(profile, long_run_months=0.0))
    assert np.argsort(-decay).tolist() == [0, 1, 2]
    # The rolling engine ranks with the same weights: top 1 of 3 units is b; August's crimes
    # are on a (2) and b (1), so b's share is 1/3, a's (decay alone) 2/3.
    rows = rolling_backtest(data, origins=["2017-07"], min_history=2, top=0.3,
                            profile=profile).set_index("method")
    assert rows.loc["score", "hit_rate_crimes"] == pytest.approx(1 / 3)
    assert rows.loc["count", "hit_rate_crimes"] == pytest.approx(1 / 3)
    rows0 = rolling_backtest(data, origins=["2017-07"], min_history=2, top=0.3,
                             profile=replace(profile, long_run_months=0.0)).set_index("method")
    assert rows0.loc["score", "hit_rate_crimes"] == pytest.approx(2 / 3)
    # "recorded" keeps the old component: harm weighted by decay alone.
    recorded = crime_component(data, "2017-07", replace(profile, harm_model="recorded"))
    assert recorded.tolist() == pytest.approx(
        (40 * data.crimes[:, :2] @ (0.5 ** (np.array([381, 16]) / 180))).tolist())


def test_long_run_months_in_a_profile():
    p = profile_from_toml('name = "x"\n[harm]\nlong_run_months = 0\n')
    assert p.long_run_months == 0.0
    assert profile_from_toml('name = "x"\n').long_run_months == 5.0
    with pytest.raises(InputError, match="harm.long_run_months"):
        profile_from_toml('name = "x"\n[harm]\nlong_run_months = -2\n')
