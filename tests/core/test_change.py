# SPDX-License-Identifier: GPL-3.0-or-later
"""Change over time: paired change, consecutive-quarter changes, trends, snapshots."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from spatial_core.analytics.change import (
    MEASURES,
    Snapshots,
    paired_change,
    quarter_changes,
    quarter_end,
    quarter_trends,
    quarterly_snapshots,
    quarters_between,
)
from spatial_core.errors import InputError


def _respondents() -> pd.DataFrame:
    rows = [
        # member, responded, beat, confidence, feel_safe
        ("m1", "2026-01-10", "beat:A", 2, 3),
        ("m1", "2026-04-10", "beat:A", 4, 3),
        ("m2", "2026-01-05", "beat:A", 3, 2),
        ("m2", "2026-02-05", "beat:A", 5, 2),  # two answers in Q1: their mean (4) counts
        ("m2", "2026-05-01", "beat:B", 3, 4),  # moved: counted in beat B (latest answer)
        ("m3", "2026-01-20", "beat:A", 1, 1),  # Q1 only
        ("m4", "2026-06-20", "beat:B", 5, 5),  # Q2 only
        ("m5", "2026-03-31", "beat:B", 4, None),
        ("m5", "2026-04-01", "beat:B", 5, 4),  # no feel_safe in Q1: not paired on it
        (None, "2026-01-10", "beat:A", 1, 1),  # not a member: cannot be paired
        (None, "2026-04-10", "beat:A", 5, 5),
    ]
    r = pd.DataFrame(rows, columns=["member_id", "responded", "beat_id", "confidence",
                                    "feel_safe"])
    r["confidence"] = r["confidence"].astype(float)
    r["feel_safe"] = r["feel_safe"].astype(float)
    return r


def test_paired_change_of_the_same_members_by_hand():
    out = paired_change(None, "2026Q1", "2026Q2", respondents=_respondents())
    conf = out[(out["area_id"] == "all") & (out["measure"] == "confidence")].iloc[0]
    # m1: 2 -> 4 (+2); m2: mean(3, 5) = 4 -> 3 (-1); m5: 4 -> 5 (+1).
    assert conf["n"] == 3
    assert conf["mean_change"] == pytest.approx(2 / 3)
    sd = math.sqrt(((2 - 2 / 3) ** 2 + (-1 - 2 / 3) ** 2 + (1 - 2 / 3) ** 2) / 2)
    assert conf["sd_change"] == pytest.approx(sd)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 df)
    assert conf["ci_low"] == pytest.approx(2 / 3 - half)
    assert conf["ci_high"] == pytest.approx(2 / 3 + half)
    assert conf["mean_first"] == pytest.approx((2 + 4 + 4) / 3)
    assert conf["mean_second"] == pytest.approx((4 + 3 + 5) / 3)
    safe = out[(out["area_id"] == "all") & (out["measure"] == "feel_safe")].iloc[0]
    assert safe["n"] == 2 and safe["mean_change"] == pytest.approx((0 + 2) / 2)
    by_area = out[out["measure"] == "confidence"].set_index("area_id")
    assert by_area.loc["beat:A", "n"] == 1 and by_area.loc["beat:A", "mean_change"] == 2
    assert by_area.loc["beat:B", "n"] == 2
    assert by_area.loc["beat:B", "mean_change"] == pytest.approx(0.0)
    assert math.isnan(by_area.loc["beat:A", "ci_low"])  # one person: no interval


@pytest.mark.parametrize("first, second, message", [
    ("2026Q1", "2026-03..2026-06", "overlap"),
    ("2026Q1", "", "two periods"),
])
def test_paired_change_rejects_bad_periods(first, second, message):
    with pytest.raises(InputError, match=message):
        paired_change(None, first, second, respondents=_respondents())


def test_quarters_between_and_quarter_end():
    assert quarters_between("2025Q4", "2026Q2") == ["2025Q4", "2026Q1", "2026Q2"]
    assert quarter_end("2024Q1") == "2024-03-31"
    with pytest.raises(InputError, match="2026Q1"):
        quarters_between("2026-01", "2026Q2")


def _snapshots() -> Snapshots:
    q = ["2025Q3", "2025Q4", "2026Q1"]
    a = pd.DataFrame({
        "area_id": "beat:A", "area_name": "A", "quarter": q,
        "responses": [100, 100, 100],
        "confidence_n": [100, 100, 100], "confidence_mean": [3.0, 3.5, 4.5],
        "confidence_sd": [1.0, 1.0, 1.0],
        "feel_safe_n": [0, 25, 25], "feel_safe_mean": [np.nan, 3.0, 2.0],
        "feel_safe_sd": [np.nan, 0.5, 0.5],
        "households": [400, 400, 400], "members": [16, 36, 36],
        "members_per_100": [4.0, 9.0, 9.0],
        "crimes": [25, 16, 7], "harm": [500.0, 300.0, 100.0],
    })
    p = pd.DataFrame({"area_id": "beat:A", "quarter": q, "priority": "asb",
                      "votes": [50, 25, 20], "n": [100, 100, 80], "share": [0.5, 0.25, 0.25]})
    return Snapshots("beat", tuple(q), a, p, None)


def test_quarter_changes_with_intervals_by_hand():
    ch = quarter_changes(_snapshots()).set_index(["measure", "quarter_from"])
    c = ch.loc[("confidence_mean", "2025Q3")]
    assert c["change"] == pytest.approx(0.5)
    half = 1.959963984540054 * math.sqrt(0.01 + 0.01)  # se = 1 / sqrt(100) each
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    k = ch.loc[("crimes", "2025Q3")]  # Poisson: se sqrt(25 + 16)
    assert k["change"] == -9
    assert k["ci_high"] == pytest.approx(-9 + 1.959963984540054 * math.sqrt(41))
    m = ch.loc[("members_per_100", "2025Q3")]  # 100 sqrt(16 + 36) / 400
    assert m["change"] == 5 and m["ci_low"] == pytest.approx(
        5 - 1.959963984540054 * 100 * math.sqrt(52) / 400)
    s = ch.loc[("priority:asb", "2025Q3")]
    se = math.sqrt(0.25 / 100 + 0.1875 / 100)
    assert s["change"] == -0.25 and s["ci_low"] == pytest.approx(-0.25 - 1.959963984540054 * se)
    assert math.isnan(ch.loc[("harm", "2025Q4"), "ci_low"])
    assert math.isnan(ch.loc[("feel_safe_mean", "2025Q3"), "change"])  # no answers in Q3
    assert ch.loc[("feel_safe_mean", "2025Q4"), "change"] == -1.0
    assert len(ch) == 2 * (len(MEASURES) + 1)


def test_quarter_trends_slope_and_interval_by_hand():
    t = quarter_trends(_snapshots()).set_index("measure")
    assert t.loc["crimes", "slope"] == pytest.approx(-9.0)
    assert t.loc["crimes", "ci_low"] == pytest.approx(-9.0)  # a straight line: no residual
    # Confidence 3.0, 3.5, 4.5 against 0, 1, 2: slope 0.75, residual sum of squares 1/24.
    assert t.loc["confidence_mean", "slope"] == pytest.approx(0.75)
    se = math.sqrt((1 / 24) / 1 / 2)
    assert t.loc["confidence_mean", "ci_high"] == pytest.approx(0.75 + 12.706204736174707 * se)
    assert t.loc["feel_safe_mean", "quarters"] == 2
    assert math.isnan(t.loc["feel_safe_mean", "ci_low"])
    assert t.loc["members_per_100", "first"] == 4.0 and t.loc["members_per_100", "last"] == 9.0


# -- a small demo force -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    path = demo_builds.copy(tmp_path_factory.mktemp("demo"),
                            households=4_000, months=6, end_month="2026-06")
    store = open_store(path)
    yield store
    store.close()


def test_quarterly_snapshots_on_a_demo_force_agree_with_the_population_frames(demo_store):
    from spatial_core.analytics.population import respondents_frame
    from spatial_core.analytics.representation import coverage

    snap = quarterly_snapshots(demo_store)
    assert snap.quarters == ("2026Q1", "2026Q2")
    a = snap.areas.set_index(["area_id", "quarter"])
    r = respondents_frame(demo_store, period="2026Q2")
    beat = r["beat_id"].dropna().iloc[0]
    mine = r[r["beat_id"] == beat]
    assert a.loc[(beat, "2026Q2"), "responses"] == len(mine)
    assert a.loc[(beat, "2026Q2"), "confidence_mean"] == pytest.approx(
        mine["confidence"].mean())
    cov = coverage(demo_store, period="2026Q1", as_of="2026-03-31").set_index("area_id")
    assert a.loc[(beat, "2026Q1"), "members_per_100"] == pytest.approx(
        cov.loc[beat, "members_per_100"])
    crimes_in_beats = a["crimes"].sum()
    assert 0 < crimes_in_beats <= demo_store.count("crimes")
    assert set(snap.priorities["quarter"]) == {"2026Q1", "2026Q2"}
    assert snap.representation is not None and "member_ratio" in snap.representation
    force = quarterly_snapshots(demo_store, level="force", representation=False)
    assert force.representation is None
    f = force.areas.groupby("quarter")["crimes"].sum()
    assert f.sum() == crimes_in_beats  # beats partition the force


def test_cli_change_json(demo_store, capsys):
    from lpt_cli.main import main

    assert main(["--store", demo_store.location, "change", "--level", "force",
                 "--no-representation", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quarters"] == ["2026Q1", "2026Q2"]
    assert out["paired"]["first"] == "2026Q1" and out["paired"]["second"] == "2026Q2"
    assert out["representation"] is None
    assert {r["measure"] for r in out["changes"]} >= set(MEASURES)
