# SPDX-License-Identifier: GPL-3.0-or-later
"""Fairness of a set-up on the hand-built town of ``test_setups.py``.

Beat B1 has 16 households: 7 of group "2" (the L street and ``201``) and 9 of group "1"
(B Road, one of them the member at ``202``, who is not on the walk list). Recommended: all 15
doors of the walk lists, 7 of group 2. Visited: ``101`` (group 2, registered), ``203``,
``204`` and ``205`` (group 1; ``203`` registered).
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spatial_core.errors import InputError
from spatial_core.targeting.fairness import fairness_report
from spatial_core.targeting.setups import create_setup

_spec = importlib.util.spec_from_file_location("_town", Path(__file__).with_name(
    "test_setups.py"))
town_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(town_mod)


def _wilson(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.fixture
def visited_town(store):
    town_mod.build_town(store)
    create_setup(store, "fair", areas=["beat:B1"], now=town_mod.NOW)
    town_mod.add_visits(store, [
        ("101", "2026-11-20T11:00:00", "registered"),
        ("203", "2026-11-20T11:10:00", "registered", "fair"),
        ("204", "2026-11-20T11:20:00", "spoke"),
        ("205", "2026-11-20T11:30:00", "not_in"),
        ("205", "2026-11-20T16:30:00", "declined"),  # the same household twice
    ])
    return store


def test_fairness_report_shares_ratios_and_intervals_on_a_hand_case(visited_town):
    t = fairness_report(visited_town, "fair", now="2026-11-21").set_index("group")
    assert t["population"].tolist() == [9, 7]
    assert t.loc["2", "population_share"] == pytest.approx(7 / 16)
    assert t["group_name"].tolist() == ["Group one", "Group two"]
    assert t["recommended"].tolist() == [8, 7]
    assert t.loc["2", "recommended_ratio"] == pytest.approx((7 / 15) / (7 / 16))
    assert t["visited"].tolist() == [3, 1]
    assert t.loc["2", "visited_share"] == pytest.approx(0.25)
    assert t.loc["2", "visited_ratio"] == pytest.approx(0.25 / (7 / 16))  # 0.571
    lo, hi = _wilson(1, 4)
    assert t.loc["2", "visited_ci_low"] == pytest.approx(lo / (7 / 16))
    assert t.loc["2", "visited_ci_high"] == pytest.approx(hi / (7 / 16))
    assert bool(t.loc["2", "visited_below"]) and not bool(t.loc["1", "visited_below"])
    assert t["registered"].tolist() == [1, 1]
    assert t.loc["1", "registered_ratio"] == pytest.approx(0.5 / (9 / 16))


def test_fairness_report_counts_only_visits_up_to_now(visited_town):
    t = fairness_report(visited_town, "fair", now="2026-11-20T11:05:00").set_index("group")
    assert t["visited"].tolist() == [0, 1]
    early = fairness_report(visited_town, "fair", now="2026-11-20T10:30:00")
    assert early["visited"].tolist() == [0, 0]
    assert early["visited_share"].isna().all()
    assert set(early["note"]) == {"no households visited yet"}


def test_fairness_report_self_declared_demographics_with_a_census_base(visited_town):
    with visited_town.begin() as conn:
        visited_town.insert_new(conn, "members", pd.DataFrame({
            "member_id": ["N1", "N2"], "uprn": ["101", "203"], "joined": "2026-11-20",
            "gender": ["female", "male"], "cell": 0}))
    census = pd.DataFrame({"group": ["female", "male"], "count": [60, 40]})
    t = fairness_report(visited_town, "fair", now="2026-11-21", by="gender",
                        population=census).set_index("group")
    assert t["visited"].tolist() == [1, 1] and t["registered"].tolist() == [1, 1]
    assert t.loc["female", "visited_ratio"] == pytest.approx(0.5 / 0.6)
    assert t["recommended"].isna().all()
    bare = fairness_report(visited_town, "fair", now="2026-11-21", by="gender")
    assert bare["visited_ratio"].isna().all()
    assert bare["note"].str.startswith("no population base for gender").all()


def test_fairness_report_rejects_unknown_grouping(visited_town):
    with pytest.raises(InputError, match="by='religion' is not one of class, gender"):
        fairness_report(visited_town, "fair", by="religion")
    assert np.isfinite(fairness_report(visited_town, "fair", now="2026-11-21")[
        "population_share"]).all()
