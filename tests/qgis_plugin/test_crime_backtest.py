# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:crime_backtest in real PyQGIS on the real Leicestershire months: the summary and
by-origin tables equal spatial_core's rolling backtest, the verdict quotes them, and a tuned
run writes a profile that Score streets can load."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def leicester(real, tmp_path_factory):
    from spatial_core import open_store
    from spatial_core.io.imports import import_files

    path = tmp_path_factory.mktemp("qgis-backtest") / "leicester.gpkg"
    with open_store(path) as store:
        import_files(store, "crimes", sorted((real / "leicester/crime").glob("*.csv.gz")))
    return str(path)


def _rows(layer):
    names = layer.fields().names()
    return [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]


def test_crime_backtest_tables_equal_spatial_core(run, leicester):
    from spatial_core import open_store
    from spatial_core.api.backtest import crime_backtest

    out = run("crime_backtest", {"STORE": leicester, "UNITS": 2, "HISTORY": 1,
                                 "SUMMARY": "TEMPORARY_OUTPUT", "ORIGINS": "TEMPORARY_OUTPUT"})
    with open_store(leicester) as store:
        want = crime_backtest(store, units="locations", history=(12, 0))
    assert want.unit_count == 14427 and len(want.summary) == 4
    got = {r["method"]: r for r in _rows(out["SUMMARY"])}
    for r in want.summary.itertuples():
        assert got[r.method]["hit_rate"] == pytest.approx(r.hit_rate)
        assert got[r.method]["hit_rate_crimes"] == pytest.approx(r.hit_rate_crimes)
        assert got[r.method]["beats_count"] == r.beats_count
        assert got[r.method]["origins"] == 22
    assert out["ORIGINS"].featureCount() == len(want.rows) == 22 * 4
    score = want.summary.set_index("method").loc["score"]
    count = want.summary.set_index("method").loc["count"]
    assert out["VERDICT"] == (
        f"14,427 police.uk locations, 22 origins: the crime component captures "
        f"{100 * score['hit_rate']:.1f}% of the test month's harm on the top 5%, the naive "
        f"prior count {100 * count['hit_rate']:.1f}%; ahead at {int(score['beats_count'])} "
        f"of 22 origins.")
    result = json.loads(out["RESULT"])
    assert result["units"] == "locations" and result["history"] == [12, 0]
    assert result["crime_parameters"]["long_run_months"] == 5.0
    assert result["profile_written"] is None


def test_crime_backtest_tunes_and_writes_a_profile(run, leicester, tmp_path):
    from spatial_core.targeting.profiles import load_profile

    target = tmp_path / "tuned.toml"
    out = run("crime_backtest", {"STORE": leicester, "UNITS": 1, "RESOLUTION": 9,
                                 "MIN_HISTORY": 31, "TUNE": True,
                                 "PROFILE_FILE": str(target), "SUMMARY": "TEMPORARY_OUTPUT"})
    result = json.loads(out["RESULT"])
    assert result["units"] == "cells" and result["resolution"] == 9
    assert [r["origin"] for r in result["origins"]][::4] == ["2022-06", "2022-07", "2022-08",
                                                             "2022-09"]
    assert out["PROFILE_FILE"] == str(target) and result["profile_written"] == str(target)
    tuned = load_profile(str(target))
    best = result["tuning"][0]
    assert tuned.half_life_days == best["half_life_days"]
    assert tuned.smoothing == best["smoothing"]
    assert tuned.long_run_months == best["long_run_months"]
    assert result["crime_parameters"]["half_life_days"] == tuned.half_life_days
    # The tuned profile's backtest hit rate is the best row of the tuning table (in-sample).
    score = next(r for r in result["summary"] if r["method"] == "score")
    assert score["hit_rate"] == pytest.approx(best["hit_rate"])
    assert "(tuned, in-sample)" in out["VERDICT"]


def test_crime_backtest_unknown_resolution_is_a_clear_error(run, leicester):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="resolution 10; resolution 11 is finer"):
        run("crime_backtest", {"STORE": leicester, "UNITS": 1, "RESOLUTION": 11,
                               "SUMMARY": "TEMPORARY_OUTPUT"})

