# SPDX-License-Identifier: GPL-3.0-or-later
"""Confidence, feeling safe and crime per area, and the robust gaps that flag outliers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.analytics.confidence import area_confidence, fit_gaps

X0, Y0 = 430000.0, 290000.0
# Six beats in 1 km strips, ten households each. Crime doubles from beat to beat (1, 2, 4, 8,
# 16 in January) and feeling safe falls by half a point each time: a straight line in
# log(1 + rate). Beat F has as little crime as beat A but feels as unsafe as beat E.
CRIMES = {"A": 1, "B": 2, "C": 4, "D": 8, "E": 16, "F": 1}
SAFE = {"A": [4, 4, 4, 4, 4, 4, 4, 4, 3, 5], "B": [3, 4, 3, 4, 3, 4, 3, 4, 3, 4],
        "C": [3, 3, 3, 3, 3, 3, 3, 3, 2, 4], "D": [2, 3, 2, 3, 2, 3, 2, 3, 2, 3],
        "E": [2, 2, 2, 2, 2, 2, 2, 2, 1, 3], "F": [2, 2, 2, 2, 2, 2, 2, 2, 1, 3]}


def _box(i):
    return shapely.MultiPolygon([shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)])


def build_store(store) -> None:
    beats = list(CRIMES)
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N"] + [f"beat:{b}" for b in beats],
        "level": ["force", "npa"] + ["beat"] * 6, "code": ["F", "N", *beats],
        "name": ["Force", "Npa"] + [f"Beat {b}" for b in beats],
        "parent_id": [None, "force:F"] + ["npa:N"] * 6, "boundary_set": "default",
        "geom": [shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 6000, Y0 + 1000)])] * 2
        + [_box(i) for i in range(6)],
    })
    addr, crimes, surveys = [], [], []
    for i, b in enumerate(beats):
        for j in range(10):
            addr.append((f"{i}{j:02d}", X0 + 1000 * i + 50 + 90 * j, Y0 + 500, f"beat:{b}"))
        for j in range(CRIMES[b]):
            crimes.append((f"c{b}{j}", "2026-01", "Burglary", X0 + 1000 * i + 500, Y0 + 400, 0))
        for j, s in enumerate(SAFE[b]):
            surveys.append((f"R{b}{j}", "2026-01-20", X0 + 1000 * i + 500, Y0 + 600, s,
                            min(5, s + 1)))
    # Not counted: a crime flagged outside the force and one without a location.
    crimes += [("out", "2026-01", "Burglary", X0 + 500, Y0 + 400, 1),
               ("nowhere", "2026-01", "Burglary", np.nan, np.nan, 0)]
    with store.begin() as conn:
        store.insert_new(conn, "areas", areas)
        store.insert_new(conn, "addresses", pd.DataFrame(
            addr, columns=["uprn", "x", "y", "beat_id"]).assign(cell=0))
        store.insert_new(conn, "crimes", pd.DataFrame(
            crimes, columns=["crime_key", "month", "category", "x", "y", "is_outlier"]
        ).assign(cell=0))
        store.insert_new(conn, "surveys", pd.DataFrame(
            surveys, columns=["response_id", "responded", "x", "y", "feel_safe", "confidence"]
        ).assign(channel="online", cell=0))


def test_fit_gaps_finds_the_area_off_the_line():
    x = np.arange(8.0)
    y = 4.0 - 0.25 * x
    y[5] += 1.0
    gap, se, fit = fit_gaps(x, y, np.full(8, 0.01))
    assert fit.slope == pytest.approx(-0.25, abs=0.02)
    assert gap[5] == pytest.approx(1.0, abs=0.05)
    z = gap / se
    assert z[5] > 2 and (np.abs(np.delete(z, 5)) < 2).all()


def test_fit_gaps_leaves_out_small_areas_but_still_gives_their_gap():
    x = np.arange(6.0)
    y = 1.0 + 0.5 * x
    y[2] = 10.0
    use = np.array([True, True, False, True, True, True])
    gap, se, fit = fit_gaps(x, y, np.full(6, 0.04), use=use)
    assert fit.areas == 5 and fit.slope == pytest.approx(0.5)
    assert gap[2] == pytest.approx(8.0) and se[2] == pytest.approx(0.2)


def test_fit_gaps_needs_three_areas():
    gap, se, fit = fit_gaps([1.0, 2.0], [3.0, 4.0], [0.1, 0.1])
    assert fit is None and np.isnan(gap).all() and np.isnan(se).all()


def test_area_confidence_means_rates_and_the_outlier(store):
    build_store(store)
    t = area_confidence(store, level="beat", period="2026-01").set_index("area_id")
    a = t.loc["beat:A"]
    assert a["feel_safe_n"] == 10 and a["feel_safe"] == pytest.approx(4.0)
    assert a["confidence"] == pytest.approx(np.mean([min(5, s + 1) for s in SAFE["A"]]))
    assert a["feel_safe_ci_low"] < 4.0 < a["feel_safe_ci_high"]
    # The flagged and unlocated crimes are not counted: 1 crime, 10 households, 1 month.
    assert a["crimes"] == 1 and a["households"] == 10
    assert a["crime_rate"] == pytest.approx(1000 * 1 / 10 * 12)
    assert t.loc["beat:E", "crime_rate"] == pytest.approx(1000 * 16 / 10 * 12)
    assert a["harm"] == pytest.approx(40.0)  # one burglary, 40 CCHI days in the harm table
    f = t.loc["beat:F"]
    assert f["safe_gap"] < -1.5
    assert f["safe_outlier"] == "less safe than crime suggests"
    others = t.drop(index="beat:F")
    assert (others["safe_outlier"] == "").all()
    assert (np.abs(others["safe_z"]) < 2).all()
    assert t.attrs["fits"]["safe"]["areas"] == 6
    assert t.attrs["months"] == 1


def test_area_confidence_min_n_keeps_small_areas_out(gpkg_store):
    build_store(gpkg_store)
    t = area_confidence(gpkg_store, min_n=11)
    assert t["safe_gap"].isna().all() and (t["safe_outlier"] == "").all()
    assert t.attrs["fits"]["safe"] is None


def test_area_confidence_at_npa_and_force(gpkg_store):
    build_store(gpkg_store)
    t = area_confidence(gpkg_store, level="force")
    assert t["area_id"].tolist() == ["force:F"]
    assert t.loc[0, "crimes"] == sum(CRIMES.values())
    assert t.loc[0, "feel_safe_n"] == 60


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"level": "street"}, "level"), ({"rate": "fear"}, "rate"), ({"min_n": 1}, "min_n"),
])
def test_area_confidence_rejects_bad_options(gpkg_store, kwargs, message):
    with pytest.raises(InputError, match=message):
        area_confidence(gpkg_store, **kwargs)


def test_cli_confidence(tmp_path, capsys):
    import json

    from lpt_cli.main import main
    from spatial_core import open_store

    path = tmp_path / "s.gpkg"
    s = open_store(path)
    build_store(s)
    s.close()
    assert main(["--store", str(path), "confidence", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    flagged = [a["area_id"] for a in out["areas"] if a["safe_outlier"]]
    assert flagged == ["beat:F"]
    assert main(["--store", str(path), "confidence"]) == 0
    assert "Beat F: less safe than crime suggests" in capsys.readouterr().out
