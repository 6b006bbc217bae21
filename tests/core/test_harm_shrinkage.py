# SPDX-License-Identifier: GPL-3.0-or-later
"""A data-estimated harm-mix shrinkage weight (issue 12 experiment, not the default):
``estimate_prior_crimes`` by hand, and ``prior_crimes="auto"`` in the rolling backtest."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spatial_core.analytics.harm import estimate_prior_crimes, expected_harm, recency_weights
from spatial_core.errors import InputError
from spatial_core.targeting.evaluation import UnitMonths, crime_component, rolling_backtest
from spatial_core.targeting.profiles import load_profile

# Three units, two months (oldest first). Unit 0: 2 crimes of 60 days, then 2 of 40; unit 1:
# 1 of 30, then 1 of 10; unit 2: nothing, then one of 110 days.
CRIMES = np.array([[2.0, 2], [1, 1], [0, 1]])
HARM = np.array([[120.0, 80], [30, 10], [0, 110]])


def test_estimate_prior_crimes_by_hand():
    # Weights 1: the mix is 350 / 7 = 50 days a crime. Halves: A = the newer month, B = the
    # older. Units 0 and 1 have crime in both, o = 2*2/4 = 1 and 1*1/2 = 0.5.
    # t2 = (1 (40-50)(60-50) + 0.5 (10-50)(30-50)) / 1.5 = (-100 + 400) / 1.5 = 200
    # s2 = (1 (40-60)^2 + 0.5 (10-30)^2) / (1 (1/2 + 1/2) + 0.5 (1 + 1)) = 600 / 2 = 300
    # k = s2 * c / t2 = 300 * 1 / 200 = 1.5
    assert estimate_prior_crimes(CRIMES, HARM, [1.0, 1.0]) == pytest.approx(1.5)
    # The older month weighs 0.5: nA = 2, 1, 1 and nB = 1, 0.5, 0 weighted crimes; the mix is
    # still (140 + 25 + 110) / (3 + 1.5 + 1) = 50. o = 2*1/3 = 2/3 and 1*0.5/1.5 = 1/3;
    # t2 = (2/3 (-100) + 1/3 (800)) = 200; a weighted crime's chance variance c is
    # sum w^2 / sum w: cA = 1, cB = 0.25 / 0.5 = 0.5, so
    # s2 = (2/3 400 + 1/3 400) / (2/3 (1/2 + 0.5/1) + 1/3 (1/1 + 0.5/0.5)) = 400 / (4/3) = 300
    # and k = 300 * c / 200 with c = (0.25 + 1) / 1.5 = 5/6 over both months: 1.25.
    assert estimate_prior_crimes(CRIMES, HARM, [0.5, 1.0]) == pytest.approx(1.25)
    # A month of weight 0 is left out: one month left, nothing to estimate from.
    assert math.isnan(estimate_prior_crimes(CRIMES, HARM, [0.0, 1.0]))
    assert math.isnan(estimate_prior_crimes(CRIMES[:, :1], HARM[:, :1], [1.0]))
    # No unit with crime in both halves: nan.
    assert math.isnan(estimate_prior_crimes([[1, 0], [0, 1]], [[40, 0], [0, 365]], [1, 1]))
    # The halves disagree about which unit is the more harmful (t2 < 0): every unit takes the
    # mix, k = inf.
    assert estimate_prior_crimes([[1, 1], [1, 1]], [[60, 40], [40, 60]], [1, 1]) == math.inf
    # Each unit is compared with its own group's mix: the case twice, the second copy with
    # every harm doubled (mix 100) in group 1. Group 1's deviations are twice group 0's, so
    # t2 = (300 + 4 * 300) / (1.5 + 1.5) = 500, s2 = (600 + 4 * 600) / (2 + 2) = 750, k = 1.5.
    both = np.vstack([CRIMES, CRIMES]), np.vstack([HARM, 2 * HARM])
    assert estimate_prior_crimes(*both, [1, 1], group=[0, 0, 0, 1, 1, 1]) == pytest.approx(1.5)
    # One group (the area's mix, 75): the groups' difference counts as lasting, k smaller.
    assert estimate_prior_crimes(*both, [1, 1]) < 1.5
    with pytest.raises(InputError, match="U x M"):
        estimate_prior_crimes(CRIMES, HARM, [1.0])
    with pytest.raises(InputError, match="< 0"):
        estimate_prior_crimes(CRIMES, HARM, [-1.0, 1.0])


def _units() -> UnitMonths:
    crimes = np.hstack([CRIMES, np.ones((3, 1))])  # a third month to test on
    return UnitMonths(kind="cells", units=np.array([1, 2, 3], dtype="uint64"),
                      months=("2021-01", "2021-02", "2021-03"), crimes=crimes,
                      harm=np.hstack([HARM, 40 * np.ones((3, 1))]),
                      group=np.zeros(3, dtype="int64"), length=np.ones(3),
                      neighbour_i=np.zeros(0, dtype="int64"),
                      neighbour_j=np.zeros(0, dtype="int64"))


def test_crime_component_auto_prior_crimes():
    data, profile = _units(), load_profile("default")
    # As of 2021-02-28: January is dated the 15th (44 days old), February 13 days old.
    ages = np.array([44.0, 13.0])
    w = recency_weights(ages, profile.half_life_days, profile.long_run_months)
    k = estimate_prior_crimes(CRIMES, HARM, w)
    assert 1.25 < k < 1.5  # between the two hand cases above: the older month weighs < 1
    n, h = CRIMES @ w, HARM @ w
    got = crime_component(data, "2021-02", profile, prior_crimes="auto")
    assert got.tolist() == pytest.approx(expected_harm(n, h, w, prior_crimes=k).harm.tolist())
    # A number replaces the profile's; None keeps it.
    assert crime_component(data, "2021-02", profile, prior_crimes=7).tolist() == pytest.approx(
        expected_harm(n, h, w, prior_crimes=7).harm.tolist())
    assert crime_component(data, "2021-02", profile).tolist() == pytest.approx(
        expected_harm(n, h, w, prior_crimes=profile.prior_crimes).harm.tolist())
    # One month: nothing to estimate from, the profile's prior_crimes.
    assert crime_component(data, "2021-01", profile, prior_crimes="auto").tolist() == (
        crime_component(data, "2021-01", profile).tolist())
    with pytest.raises(InputError, match="'auto'"):
        crime_component(data, "2021-02", profile, prior_crimes="fixed")
    # The rolling engine passes it to the score ranking only.
    auto = rolling_backtest(data, origins=["2021-02"], min_history=2, top=0.3,
                            profile=profile, prior_crimes="auto").set_index("method")
    base = rolling_backtest(data, origins=["2021-02"], min_history=2, top=0.3,
                            profile=profile).set_index("method")
    assert auto.loc["count", "hit_rate"] == base.loc["count", "hit_rate"]
