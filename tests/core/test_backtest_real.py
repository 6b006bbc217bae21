# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 12 on real police.uk data: the default score's crime component against the naive
prior count, on central Leeds streets (July 2016 -> July 2017) and on 35 Leicestershire
months of H3 cells (rolling monthly origins). Figures in docs/leeds-evaluation.md and
docs/analytics/scoring.md."""
from __future__ import annotations

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
