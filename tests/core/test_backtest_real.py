# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 12 on real police.uk data: the default score's crime component against the naive
prior count, on central Leeds streets (July 2016 -> July 2017, and both -> February 2025) and
on 35 Leicestershire months of H3 cells (rolling monthly origins, a year ahead, and two
months a year apart as in Leeds). Figures in docs/leeds-evaluation.md and
docs/analytics/scoring.md."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from spatial_core import open_store
from spatial_core.io.imports import import_files
from spatial_core.targeting.evaluation import (
    backtest,
    rolling_backtest,
    rolling_summary,
    street_harm,
    unit_months,
)
from spatial_core.targeting.profiles import load_profile

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def leeds(real, tmp_path_factory):
    """Streets from the shipped OSM extract and the two West Yorkshire months, nothing else."""
    store = open_store(tmp_path_factory.mktemp("leeds") / "leeds.gpkg")
    d = real / "leeds"
    import_files(store, "streets", [d / "streets/leeds_central_osm_2022.gpkg"])
    import_files(store, "crimes", [d / "crime/2016-07-west-yorkshire-street.csv",
                                   d / "crime/2017-07-west-yorkshire-street.csv"])
    yield store
    store.close()


def test_leeds_default_score_captures_at_least_the_naive_prior_count(leeds):
    # Naive: the plain number of July 2016 crimes per street unit (ties by street_id).
    train = street_harm(leeds, ["2016-07"])
    naive = train.groupby("street_id")["crimes"].sum()
    for weight in ("harm", "count"):
        score, _ = backtest(leeds, ["2016-07"], ["2017-07"], weight=weight, score="scoring")
        count, _ = backtest(leeds, ["2016-07"], ["2017-07"], weight=weight, scores=naive)
        assert score.streets == count.streets == 2017 and score.selected == 101
        assert score.score.startswith("scoring module (composite score, profile default")
        assert score.hit_rate >= count.hit_rate, weight
    # The rolling engine's crime component ranks as lpt score does (one origin here).
    rows = rolling_backtest(unit_months(leeds), min_history=1)
    got = rows.set_index("method")
    assert got.loc["score", "hit_rate"] == pytest.approx(
        backtest(leeds, ["2016-07"], ["2017-07"], score="scoring-harm")[0].hit_rate)
    assert got.loc["score", "hit_rate"] >= got.loc["count", "hit_rate"]


@pytest.fixture(scope="module")
def leeds_later(real, tmp_path_factory):
    """The same, plus the Leeds-only February 2025 file as a later test month."""
    store = open_store(tmp_path_factory.mktemp("leeds-later") / "leeds.gpkg")
    d = real / "leeds"
    import_files(store, "streets", [d / "streets/leeds_central_osm_2022.gpkg"])
    import_files(store, "crimes", [d / "crime/2016-07-west-yorkshire-street.csv",
                                   d / "crime/2017-07-west-yorkshire-street.csv",
                                   d / "crime/crimedataleeds_2025-02.csv"])
    yield store
    store.close()


def test_leeds_two_julys_forecast_february_2025(leeds_later):
    """Trained on July 2016 + July 2017 (scored as of 2017-07-31), tested 7.5 years later.
    With the default long_run_months the two Julys weigh 0.78 and 0.98 (decay alone: 0.23
    and 0.94); the default then captures at least as much of the harm and crimes as counting
    (31.27% / 32.51% against 31.25% / 32.13%). Counting ties 17 streets (9 crimes each) for
    the last 15 of the 101 places: broken by street_id, as before the hit rates shared the
    tied places, it happens to take 31.46% of the harm. Decay alone captured 27.85% /
    28.94%."""
    train = ["2016-07", "2017-07"]
    naive = street_harm(leeds_later, train).groupby("street_id")["crimes"].sum()
    hits = {}
    for weight in ("harm", "count"):
        score, _ = backtest(leeds_later, train, ["2025-02"], weight=weight, score="scoring")
        count, _ = backtest(leeds_later, train, ["2025-02"], weight=weight, scores=naive)
        assert score.streets == 2017 and score.selected == 101
        hits[weight] = (score.hit_rate, count.hit_rate)
        assert (count.tied_at_cut, count.tied_places) == (17, 15)
        assert score.tied_at_cut == 1
        assert score.hit_rate == score.hit_rate_by_id
        if weight == "harm":
            assert count.hit_rate_by_id == pytest.approx(0.3146, abs=5e-5)
    assert hits["count"][0] >= hits["count"][1]
    assert hits["harm"][0] >= hits["harm"][1]
    rows = rolling_backtest(unit_months(leeds_later), min_history=1)
    later = rows[rows["origin"] == "2017-07"].set_index("method")
    assert later.loc["score", "hit_rate"] == pytest.approx(hits["harm"][0])
    old = rolling_backtest(unit_months(leeds_later), min_history=1,
                           profile=replace(load_profile(None), long_run_months=0.0))
    old = old[old["origin"] == "2017-07"].set_index("method")
    assert later.loc["score", "hit_rate"] > old.loc["score", "hit_rate"] + 0.03


@pytest.fixture(scope="module")
def leicester(real, tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("leicester") / "leicester.gpkg")
    import_files(store, "crimes", sorted((real / "leicester/crime").glob("*.csv.gz")))
    yield store
    store.close()


def test_leicester_rolling_monthly_backtest_on_cells_ahead_of_the_naive_count(leicester):
    data = unit_months(leicester, units="cells", resolution=10)
    assert len(data.months) == 35
    rows = rolling_backtest(data, min_history=12)
    origins = sorted(set(rows["origin"]))
    assert len(origins) == 23 and origins[0] == "2020-11" and origins[-1] == "2022-09"
    summary = rolling_summary(rows).set_index("method")
    score, count = summary.loc["score"], summary.loc["count"]
    assert score["hit_rate"] > count["hit_rate"]
    assert score["hit_rate_crimes"] > count["hit_rate_crimes"]
    assert score["beats_count"] >= 12  # ahead at most origins, not only on average
    # The spread over origins is reported and is the sample standard deviation.
    hits = rows.loc[rows["method"] == "score", "hit_rate"].to_numpy()
    assert score["hit_rate_sd"] == pytest.approx(np.std(hits, ddof=1))
    assert summary.loc["oracle", "hit_rate"] > score["hit_rate"]
    # The naive count is every crime up to the origin, as a pandas groupby gives it.
    cr = leicester.read("crimes", ["month", "cell", "is_outlier"])
    cr = cr[(cr["cell"] != 0) & (cr["is_outlier"] == 0)]
    first = cr[cr["month"] <= origins[0]].groupby("cell").size()
    assert first.sum() == data.crimes[:, :data.months.index(origins[0]) + 1].sum()
    assert pd.Index(first.index.astype("uint64")).isin(data.units).all()


def test_leicester_rolling_backtest_on_police_uk_locations(leicester):
    """Street-level evidence where the store has no street network: police.uk's own
    locations ("On or near ..." per LSOA, 14,427 holding crime). The default's crime
    component is ahead of counting next month on harm and crimes, at most origins."""
    data = unit_months(leicester, units="locations")
    assert len(data.units) == 14427 and data.crimes.sum() == 294261  # located, not outliers
    summary = rolling_summary(rolling_backtest(data, min_history=12)).set_index("method")
    score, count = summary.loc["score"], summary.loc["count"]
    assert score["origins"] == 23
    assert score["hit_rate"] > count["hit_rate"] + 0.005
    assert score["hit_rate_crimes"] > count["hit_rate_crimes"] + 0.005
    assert score["beats_count"] >= 18


@pytest.mark.parametrize("resolution", [10, 9])
def test_leicester_a_year_ahead_and_two_months_a_year_apart(leicester, resolution):
    """Forecasts the Leeds data ask for, simulated on Leicestershire cells: (a) every month up
    to the origin, tested on the single month 12 months later (``lead=12``); (b) only two
    months, the origin and the month a year before it (``history=(12, 0)``, as the two
    Julys), tested on the next month and on the month a year later. The default is ahead of
    counting on average in each but (b) a year on at resolution 10, where it is level with it
    (28.40% against 28.44%, within 0.1 point); decay alone (long_run_months = 0) is behind
    counting in (b), by 0.3 to 1.2 points."""
    data = unit_months(leicester, units="cells", resolution=resolution)
    default = load_profile(None)
    decay = replace(default, long_run_months=0.0)

    def margin(profile, **kw):
        summary = rolling_summary(rolling_backtest(data, profile=profile, **kw))
        summary = summary.set_index("method")["hit_rate"]
        return summary["score"] - summary["count"]

    a_year = rolling_backtest(data, lead=12)
    assert a_year["origin"].nunique() == 12
    assert margin(default, lead=12) > 0
    for lead in (1, 12):
        ahead = margin(default, history=(12, 0), lead=lead)
        if (resolution, lead) == (10, 12):
            assert ahead > -0.001
        else:
            assert ahead > 0, lead
        behind = margin(decay, history=(12, 0), lead=lead)
        assert behind < 0 and behind < ahead - 0.002, lead
