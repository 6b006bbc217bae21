# SPDX-License-Identifier: GPL-3.0-or-later
"""spatial_core.api.confidence: the scope's rows and the disclosure rule of confidence,
feeling safe and change over time, on small stores whose values are worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.api import FORCE, Scope
from spatial_core.api.confidence import area_change, area_confidence
from spatial_core.errors import InputError
from tests.core.test_confidence import SAFE, build_store

Z = 1.959963984540054
T1 = 12.706204736174707  # Student's t, 97.5%, 1 degree of freedom


def _tree(store):
    from spatial_core.analytics.population import area_table

    return area_table(store)


# -- confidence ---------------------------------------------------------------------------------
def test_police_see_exact_values_of_their_areas(gpkg_store):
    build_store(gpkg_store)
    t = area_confidence(gpkg_store, FORCE, level="beat").set_index("area_id")
    assert sorted(t.index) == [f"beat:{b}" for b in "ABCDEF"]
    a = t.loc["beat:A"]
    assert a["level"] == "beat" and a["parent_id"] == "npa:N" and a["disclosure"] == "exact"
    assert a["feel_safe_n"] == 10 and a["feel_safe"] == pytest.approx(4.0)
    assert a["confidence"] == pytest.approx(np.mean([min(5, s + 1) for s in SAFE["A"]]))
    assert a["crimes"] == 1 and a["crime_rate"] == pytest.approx(1000 * 1 / 10 * 12)
    assert a["geometry"].equals(shapely.MultiPolygon([shapely.box(430000, 290000, 431000,
                                                                  291000)]))
    assert t.loc["beat:F", "safe_outlier"] == "less safe than crime suggests"
    assert (t.drop(index="beat:F")["safe_outlier"] == "").all()
    officer = Scope.for_caller(_tree(gpkg_store), "beat_officer", ["beat:B"])
    assert area_confidence(gpkg_store, officer)["area_id"].tolist() == ["beat:B"]
    supervisor = Scope.for_caller(_tree(gpkg_store), "supervisor", ["npa:N"])
    seen = area_confidence(gpkg_store, supervisor)
    assert sorted(seen["area_id"]) == sorted(["npa:N", *[f"beat:{b}" for b in "ABCDEF"]])
    npa = seen.set_index("area_id").loc["npa:N"]
    assert npa["feel_safe_n"] == 60
    assert npa["feel_safe"] == pytest.approx(np.mean(sum(SAFE.values(), [])))


def test_public_at_k11_sees_no_beat_mean_and_no_rate_without_households(gpkg_store):
    build_store(gpkg_store)
    t = area_confidence(gpkg_store, Scope(role="public", k=11)).set_index("area_id")
    assert sorted(t.index) == sorted(["force:F", "npa:N", *[f"beat:{b}" for b in "ABCDEF"]])
    beats = t.loc[[f"beat:{b}" for b in "ABCDEF"]]
    # 10 answers and 10 households per beat: all below 11, so withheld with their means,
    # intervals, rates and gaps; the six beats together (60) are published in the npa.
    for col in ("feel_safe_n", "feel_safe", "feel_safe_ci_low", "confidence_n", "confidence",
                "households", "crime_rate", "safe_gap", "safe_z", "safe_outlier",
                "confidence_outlier"):
        assert beats[col].isna().all(), col
    # Crimes 1, 2, 4, 8, 16, 1: only 16 is at least 11; five withheld terms in the npa's
    # equation, so nothing can be worked out and 16 stays.
    assert beats["crimes"].tolist() == [None, None, None, None, 16, None]
    assert t.loc["npa:N", "feel_safe_n"] == 60 and t.loc["npa:N", "crimes"] == 32
    assert t.loc["npa:N", "feel_safe"] == pytest.approx(np.mean(sum(SAFE.values(), [])))
    assert t.loc["npa:N", "crime_rate"] == pytest.approx(1000 * 32 / 60 * 12)
    assert (t["disclosure"] == "k=11").all()


def test_public_at_k5_keeps_means_and_withholds_gaps_of_withheld_crime_counts(store):
    """On both back ends (GeoPackage and PostGIS)."""
    build_store(store)
    exact = area_confidence(store, FORCE, level="beat").set_index("area_id")
    t = area_confidence(store, Scope(role="public", k=5), level="beat").set_index(
        "area_id")
    assert (t["feel_safe_n"] == 10).all()
    np.testing.assert_allclose(t["feel_safe"].astype(float), exact["feel_safe"])
    # Crimes 1, 2, 4 and 1 (A, B, C, F) are below 5: their rates and feeling-safe gaps go.
    assert t["crimes"].tolist() == [None, None, None, 8, 16, None]
    assert t.loc[["beat:A", "beat:B", "beat:C", "beat:F"], "safe_gap"].isna().all()
    assert t.loc["beat:F", "safe_outlier"] is None
    assert t.loc["beat:D", "safe_z"] == pytest.approx(exact.loc["beat:D", "safe_z"])
    # The confidence gap needs only the two means: published everywhere.
    np.testing.assert_allclose(t["confidence_gap"].astype(float), exact["confidence_gap"])


def test_public_a_lone_small_beat_takes_a_sibling_with_it(gpkg_store):
    """Beat A keeps 3 of its 10 answers: withheld (3 < 5), and since the npa (53) and the
    other five beats (10 each) would give it away, the smallest other beat goes too."""
    from spatial_core.store import schema

    build_store(gpkg_store)
    with gpkg_store.begin() as conn:
        t = schema.table("surveys")
        conn.execute(t.delete().where(t.c.response_id.in_([f"RA{j}" for j in range(3, 10)])))
    pub = area_confidence(gpkg_store, Scope(role="public", k=5)).set_index("area_id")
    beats = pub.loc[[f"beat:{b}" for b in "ABCDEF"], "feel_safe_n"]
    assert beats.isna().sum() == 2 and pd.isna(beats["beat:A"])
    assert pub.loc["npa:N", "feel_safe_n"] == 53 and pub.loc["force:F", "feel_safe_n"] == 53
    assert pub.loc[beats.index[beats.isna()], "feel_safe"].isna().all()
    exact = area_confidence(gpkg_store, FORCE, level="beat").set_index("area_id")
    assert exact.loc["beat:A", "feel_safe_n"] == 3
    assert exact.loc["beat:A", "feel_safe"] == pytest.approx(np.mean(SAFE["A"][:3]))


@pytest.mark.parametrize("level", ["street", "Beat"])
def test_area_confidence_names_the_levels_for_a_bad_level(gpkg_store, level):
    with pytest.raises(InputError, match="beat, ward, npa, force"):
        area_confidence(gpkg_store, FORCE, level=level)


# -- change -------------------------------------------------------------------------------------
X0, Y0 = 430000.0, 290000.0
# Beat A (x 0-1 km), beat B (1-2 km), ten households each; npa N, force F.
Q1 = {"A": [("a1", 2, 3), ("a2", 3, 3), ("a3", 3, 4), ("a4", 4, 4)],
      "B": [("b1", 4, 4), ("b2", 4, 5), ("b3", 5, 5)]}
Q2 = {"A": [("a1", 3, 3), ("a2", 4, 4), ("a3", 4, 4), ("a4", 5, 5)],
      "B": [("b1", 5, 5), ("b2", 4, 5)]}
CRIMES_Q = {("A", "2026-02"): 3, ("A", "2026-05"): 1, ("B", "2026-05"): 2}


def _change_store(store, crimes_q=None) -> None:
    box = [shapely.MultiPolygon([shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000)])
           for i in range(2)]
    whole = shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 2000, Y0 + 1000)])
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N", "beat:A", "beat:B"],
        "level": ["force", "npa", "beat", "beat"], "code": ["F", "N", "A", "B"],
        "name": ["Force", "Npa", "Beat A", "Beat B"],
        "parent_id": [None, "force:F", "npa:N", "npa:N"], "boundary_set": "default",
        "geom": [whole, whole, *box]})
    addr, crimes, surveys = [], [], []
    for i, b in enumerate("AB"):
        for j in range(10):
            addr.append((f"{i}{j:02d}", X0 + 1000 * i + 50 + 90 * j, Y0 + 500, f"beat:{b}"))
        for day, wave in (("2026-02-10", Q1), ("2026-05-10", Q2)):
            for m, conf, safe in wave[b]:
                surveys.append((f"{m}-{day}", day, m, X0 + 1000 * i + 500, Y0 + 600,
                                safe, conf))
    for (b, month), n in (crimes_q or CRIMES_Q).items():
        i = "AB".index(b)
        crimes += [(f"c{b}{month}{j}", month, "Burglary", X0 + 1000 * i + 500, Y0 + 400, 0)
                   for j in range(n)]
    with store.begin() as conn:
        store.insert_new(conn, "areas", areas)
        store.insert_new(conn, "addresses", pd.DataFrame(
            addr, columns=["uprn", "x", "y", "beat_id"]).assign(cell=0))
        store.insert_new(conn, "crimes", pd.DataFrame(
            crimes, columns=["crime_key", "month", "category", "x", "y", "is_outlier"]
        ).assign(cell=1))  # a located crime has a cell
        store.insert_new(conn, "surveys", pd.DataFrame(
            surveys, columns=["response_id", "responded", "member_id", "x", "y", "feel_safe",
                              "confidence"]).assign(channel="online", cell=0))


def test_change_since_the_quarter_before_and_the_panel_by_hand(gpkg_store):
    _change_store(gpkg_store)
    t = area_change(gpkg_store, FORCE).set_index("area_id")
    a = t.loc["beat:A"]
    assert (a["quarter_from"], a["quarter_to"], a["quarters"]) == ("2026Q1", "2026Q2", 2)
    assert a["responses"] == 4 and a["confidence"] == pytest.approx(4.0)
    # Confidence 3 -> 4, sd sqrt(2/3) in both quarters of 4 answers.
    assert a["confidence_change"] == pytest.approx(1.0)
    half = Z * math.sqrt(2 / 3 / 4 + 2 / 3 / 4)
    assert (a["confidence_change_ci_low"], a["confidence_change_ci_high"]) == pytest.approx(
        (1 - half, 1 + half))
    # Crimes 3 -> 1, Poisson: +-1.96 sqrt(3 + 1).
    assert a["crimes"] == 1 and a["crimes_change"] == -2
    assert a["crimes_change_ci_high"] == pytest.approx(-2 + Z * 2)
    # Two quarters: the trend is the change, without an interval (it needs three).
    assert a["crimes_trend"] == pytest.approx(-2) and math.isnan(a["crimes_trend_ci_low"])
    # The panel: a1-a4 each +1 on confidence.
    assert a["panel_confidence_n"] == 4 and a["panel_confidence_change"] == pytest.approx(1)
    assert a["panel_confidence_ci_low"] == pytest.approx(1.0)
    b = t.loc["beat:B"]  # b1 4 -> 5, b2 4 -> 4: mean 0.5, sd sqrt(0.5), t(1 df)
    assert b["panel_confidence_n"] == 2 and b["panel_confidence_change"] == pytest.approx(0.5)
    assert b["panel_confidence_ci_high"] == pytest.approx(0.5 + T1 * math.sqrt(0.5) / math.sqrt(2))
    f = t.loc["force:F"]
    assert f["panel_confidence_n"] == 6 and f["panel_confidence_change"] == pytest.approx(5 / 6)
    assert [s["quarter"] for s in a["series"]] == ["2026Q1", "2026Q2"]
    assert [s["confidence"] for s in a["series"]] == pytest.approx([3.0, 4.0])
    assert a["geometry"].bounds == (X0, Y0, X0 + 1000, Y0 + 1000)


def test_public_change_withholds_small_quarters_and_small_panels(store):
    """On both back ends (GeoPackage and PostGIS)."""
    _change_store(store)
    t = area_change(store, Scope(role="public", k=5)).set_index("area_id")
    a, n = t.loc["beat:A"], t.loc["npa:N"]
    # 4 answers in beat A each quarter, 4 in its panel: below 5, withheld with what they give.
    assert a["responses"] is None and pd.isna(a["confidence"])
    assert math.isnan(a["confidence_change"]) and math.isnan(a["confidence_trend"])
    assert a["panel_confidence_n"] is None and a["panel_confidence_change"] is None
    assert all(s["confidence"] is None for s in a["series"])
    # The npa: 7 then 6 answers, a panel of 6.
    assert n["responses"] == 6
    q1 = [c for _, c, _ in Q1["A"] + Q1["B"]]
    q2 = [c for _, c, _ in Q2["A"] + Q2["B"]]
    assert n["confidence_change"] == pytest.approx(np.mean(q2) - np.mean(q1))
    assert n["panel_confidence_n"] == 6
    assert n["panel_confidence_change"] == pytest.approx(5 / 6)
    # Crimes: 3 and 0 in Q1, 1 and 2 in Q2 (beats), 3 and 3 in the npa and the force: every
    # one in 1 .. 4, so no crime count and no change of one is published.
    assert t["crimes"].isna().all() and t["crimes_change"].isna().all()
    assert [s["crimes"] for s in a["series"]] == [None, None]
    officer = Scope.for_caller(_tree(store), "beat_officer", ["beat:A"])
    mine = area_change(store, officer)
    assert mine["area_id"].tolist() == ["beat:A"] and mine["panel_confidence_n"].iloc[0] == 4


def test_tactical_section_shows_the_area_and_its_change(gpkg_store):
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections.confidence import section

    _change_store(gpkg_store)
    s = section(SectionContext(store=gpkg_store, area_id="beat:A", level="beat", scope=FORCE,
                               profile=None, period=None, min_n=10, target=0.7))
    rows = {r[0]: r[1:] for r in s.rows}
    # Confidence over both quarters: 2,3,3,4,3,4,4,5 -> 3.5 from 8 answers.
    assert rows["Confidence in the police (1-5)"][0] == "3.50"
    assert rows["Confidence in the police (1-5)"][2] == "8"
    assert rows["Confidence: change since 2026Q1 (2026Q2)"][0] == "+1.00"
    assert rows["Confidence: same people 2026Q1 to 2026Q2"] == ("+1.00", "1.00 to 1.00", "4")
    assert rows["Crimes: change since 2026Q1 (2026Q2)"][0] == "-2"
    # Two beats: too few areas for a line, so no outlier and no z.
    assert rows["Feeling safe against crime"] == ("as expected", "", "")
    public = section(SectionContext(store=gpkg_store, area_id="npa:N", level="npa",
                                    scope=Scope(role="public", k=5), profile=None,
                                    period=None, min_n=10, target=0.7))
    assert "withheld" in public.note and s.key == "confidence"
    prows = {r[0]: r[1:] for r in public.rows}
    assert prows["Confidence in the police (1-5)"][2] == "13"  # 7 + 6 answers in the npa
    assert prows["Confidence: same people 2026Q1 to 2026Q2"][2] == "6"


def test_a_level_without_areas_is_a_clear_error_in_change(gpkg_store):
    from spatial_core.analytics.change import quarterly_snapshots

    _change_store(gpkg_store)  # beats, an npa and a force; no ward
    with pytest.raises(InputError, match="no ward is stored .levels stored: beat, force, npa"):
        quarterly_snapshots(gpkg_store, level="ward")
    with pytest.raises(InputError, match="no ward is stored"):
        area_change(gpkg_store, FORCE, level="ward")
    assert area_change(gpkg_store, Scope(role="public", k=5), level="ward").empty
    assert set(area_change(gpkg_store, Scope(role="public", k=5))["level"]) == \
        {"beat", "npa", "force"}


def test_public_change_withholds_every_quarter_of_a_flow_with_one_withheld(gpkg_store):
    """29 crimes then 1 in beat A: the quarter of 1 is withheld, and the quarter of 29 with it,
    since area_confidence publishes the total (30) and 30 - 29 would give the 1 away."""
    _change_store(gpkg_store, {("A", "2026-02"): 29, ("A", "2026-05"): 1,
                               ("B", "2026-02"): 12, ("B", "2026-05"): 14})
    public = Scope(role="public", k=5)
    conf = area_confidence(gpkg_store, public).set_index("area_id")
    assert conf.loc["beat:A", "crimes"] == 30  # the total is published
    t = area_change(gpkg_store, public).set_index("area_id")
    assert [s["crimes"] for s in t.loc["beat:A", "series"]] == [None, None]
    assert pd.isna(t.loc["beat:A", "crimes"]) and math.isnan(t.loc["beat:A", "crimes_change"])
    # B's quarter of 14 would give A's 1 away through the npa (15 - 14): withheld in that
    # quarter by the tree rule, so in both; the npa's quarters (41, 15) stay published
    assert [s["crimes"] for s in t.loc["beat:B", "series"]] == [None, None]
    assert [s["crimes"] for s in t.loc["npa:N", "series"]] == [41, 15]
    # no area shows some quarters of a flow and hides others
    for area, row in t.iterrows():
        for c in ("crimes", "responses"):
            shown = [s[c] is not None for s in row["series"]]
            assert all(shown) or not any(shown), (area, c)
