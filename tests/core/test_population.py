# SPDX-License-Identifier: GPL-3.0-or-later
"""The population base: households, current members, respondents and periods."""
from __future__ import annotations

import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.analytics.population import (
    dates_to_quarters,
    households,
    members_frame,
    parse_period,
    period_mask,
    respondents_frame,
)
from spatial_core.io.classification import classify_households

X0, Y0 = 430000.0, 290000.0


def _box(x0, y0, x1, y1):
    return shapely.MultiPolygon([shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)])


def build_store(store) -> None:
    """Force F > npa N > beats A (west half) and B (east half); ward W over both; output areas
    OA1 (west, class 1) and OA2 (east, class 2); four addresses in each beat."""
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N", "beat:A", "beat:B", "ward:W", "oa:OA1", "oa:OA2"],
        "level": ["force", "npa", "beat", "beat", "ward", "oa", "oa"],
        "code": ["F", "N", "A", "B", "W", "OA1", "OA2"],
        "name": ["Force", "Npa", "Beat A", "Beat B", "Ward W", "OA1", "OA2"],
        "parent_id": [None, "force:F", "npa:N", "npa:N", None, None, None],
        "boundary_set": ["default"] * 7,
        "geom": [_box(0, 0, 2000, 1000), _box(0, 0, 2000, 1000), _box(0, 0, 1000, 1000),
                 _box(1000, 0, 2000, 1000), _box(0, 0, 2000, 1000), _box(0, 0, 1000, 1000),
                 _box(1000, 0, 2000, 1000)],
    })
    xs = [100, 200, 300, 400, 1100, 1200, 1300, 1400]
    addresses = pd.DataFrame({
        "uprn": [str(i) for i in range(1, 9)],
        "postcode": ["AA1 1AA"] * 4 + ["AA1 1AB"] * 4,
        "x": [X0 + x for x in xs], "y": [Y0 + 500] * 8, "lat": [52.5] * 8, "lng": [-1.5] * 8,
        "cell": [0] * 8,
        "oa_code": ["OA1"] * 4 + ["OA2"] * 4,
        "street_id": ["s1"] * 4 + ["s2"] * 4,
        "beat_id": ["beat:A"] * 4 + ["beat:B"] * 4,
        "ward_id": ["ward:W"] * 8,
    })
    classes = pd.DataFrame({"scheme": ["oac2011"] * 2, "key_type": ["oa"] * 2,
                            "key": ["OA1", "OA2"], "l1": ["1", "2"], "l2": ["1a", "2b"]})
    members = pd.DataFrame({
        "member_id": ["M1", "M2", "M3", "M4", "M5"],
        "name": ["A Person"] * 5,
        "uprn": ["1", "1", "5", None, "2"],
        "x": [X0 + 100, X0 + 100, X0 + 1100, X0 + 1500, X0 + 200],
        "y": [Y0 + 500] * 5, "cell": [0] * 5,
        "gender": ["female", "male", "female", "male", "female"],
        "joined": ["2025-01-01", "2025-06-01", "2026-02-01", "2025-01-01", "2024-01-01"],
        "left_on": [None, None, None, None, "2025-12-31"],
    })
    surveys = pd.DataFrame({
        "response_id": ["R1", "R2", "R3"],
        "responded": ["2026-01-15", "2026-02-20", "2026-04-02"],
        "channel": ["online"] * 3,
        "member_id": ["M1", None, None],
        "x": [X0 + 999, X0 + 1500, X0 + 150], "y": [Y0 + 500] * 3, "cell": [0] * 3,
        "confidence": [4, 2, 5], "feel_safe": [5, 1, 4],
    })
    visits = pd.DataFrame({
        "visit_id": ["V1", "V2", "V3"], "uprn": ["3", "3", "6"],
        "visited_at": ["2026-01-01T10:00:00", "2026-03-01T11:00:00", "2026-02-01T12:00:00"],
        "outcome": ["not_in", "spoke", "declined"], "cell": [0] * 3,
    })
    with store.begin() as conn:
        for name, frame in (("areas", areas), ("addresses", addresses),
                            ("classifications", classes), ("members", members),
                            ("surveys", surveys), ("visits", visits)):
            store.insert_new(conn, name, frame)


def test_households_place_classify_and_count_members_and_visits(store):
    build_store(store)
    h = households(store, as_of="2026-03-01").set_index("uprn")
    assert len(h) == 8
    assert h.loc["1", "npa_id"] == "npa:N" and h.loc["6", "force_id"] == "force:F"
    assert h["group"].tolist() == ["1"] * 4 + ["2"] * 4
    # Two current members at UPRN 1, one at 5; M5 at UPRN 2 left before the day.
    assert h["members"].to_dict() == {"1": 2, "2": 0, "3": 0, "4": 0, "5": 1, "6": 0, "7": 0,
                                      "8": 0}
    assert h["is_member"].sum() == 2
    assert h.loc["3", "last_visit"] == "2026-03-01T11:00:00"
    assert h.loc["3", "last_outcome"] == "spoke"
    assert h.loc["6", "last_outcome"] == "declined"
    assert h.loc["1", "last_visit"] is None


def test_households_group_matches_classify_households(gpkg_store):
    build_store(gpkg_store)
    h = households(gpkg_store, level=2)
    c = classify_households(gpkg_store, "oac2011", 2)
    assert h.set_index("uprn")["group"].equals(c.set_index("uprn")["code"].rename("group"))


def test_street_households_equal_the_households_columns_scoring_uses(store):
    """The lean read for scoring gives what households() gives, including an address with
    no output area (classified by the OA polygon holding its point)."""
    from spatial_core.analytics.population import street_households

    build_store(store)
    with store.begin() as conn:
        store.insert_new(conn, "addresses", pd.DataFrame({
            "uprn": ["9"], "postcode": [None], "x": [X0 + 1500], "y": [Y0 + 500],
            "lat": [52.5], "lng": [-1.5], "cell": [0], "oa_code": [None], "street_id": ["s2"],
            "beat_id": ["beat:B"], "ward_id": ["ward:W"]}))
    want = households(store, as_of="2026-03-01")[["uprn", "street_id", "group", "members"]]
    got = street_households(store, scheme="oac2011", level=1, as_of="2026-03-01")
    assert want.set_index("uprn").loc["9", "group"] == "2"
    pd.testing.assert_frame_equal(got.sort_values("uprn").reset_index(drop=True),
                                  want.sort_values("uprn").reset_index(drop=True))


def test_households_without_the_scheme_have_no_group(gpkg_store):
    build_store(gpkg_store)
    assert households(gpkg_store, scheme="mosaic")["group"].isna().all()


@pytest.mark.parametrize(("areas", "uprns"), [
    (["beat:A"], ["1", "2", "3", "4"]),
    (["beat:B", "beat:A"], [str(i) for i in range(1, 9)]),
    ("npa:N", [str(i) for i in range(1, 9)]),
    (["oa:OA2"], ["5", "6", "7", "8"]),
    (["street:s1"], ["1", "2", "3", "4"]),
    (["ward:nowhere"], []),
])
def test_households_restricted_to_areas(gpkg_store, areas, uprns):
    build_store(gpkg_store)
    assert households(gpkg_store, areas=areas)["uprn"].tolist() == uprns


@pytest.mark.parametrize("bad", ["beatA", "lsoa:E01", "beat:"])
def test_households_reject_bad_area_ids(gpkg_store, bad):
    build_store(gpkg_store)
    with pytest.raises(InputError, match="area"):
        households(gpkg_store, areas=[bad])


def test_members_frame_is_current_members_placed_and_classified_without_names(store):
    build_store(store)
    m = members_frame(store, as_of="2026-01-15").set_index("member_id")
    # M3 joins in February, M5 left in 2025.
    assert sorted(m.index) == ["M1", "M2", "M4"]
    assert "name" not in m.columns
    # M4 has no UPRN: placed and classified by the polygons holding its point (east half).
    assert m.loc["M4", "beat_id"] == "beat:B" and m.loc["M4", "group"] == "2"
    assert m.loc["M1", "group"] == "1" and m.loc["M1", "npa_id"] == "npa:N"
    later = members_frame(store, as_of="2026-03-01")
    assert sorted(later["member_id"]) == ["M1", "M2", "M3", "M4"]


def test_respondents_frame_filters_the_period_and_uses_the_members_household(store):
    build_store(store)
    r = respondents_frame(store, period="2026Q1").set_index("response_id")
    assert sorted(r.index) == ["R1", "R2"]
    # R1's own point is near the boundary, but its member lives at UPRN 1 in beat A.
    assert r.loc["R1", "beat_id"] == "beat:A" and r.loc["R1", "group"] == "1"
    assert r.loc["R2", "beat_id"] == "beat:B" and r.loc["R2", "group"] == "2"
    assert r.loc["R2", "feel_safe"] == 1.0
    assert len(respondents_frame(store)) == 3


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026Q1", "2026-01-01", "2026-03-31"),
    ("2026q4", "2026-10-01", "2026-12-31"),
    ("2024-02", "2024-02-01", "2024-02-29"),
    ("2026", "2026-01-01", "2026-12-31"),
    ("2026-03-15", "2026-03-15", "2026-03-15"),
    ("2026-01..2026-06", "2026-01-01", "2026-06-30"),
    ("2025Q3..2026Q1", "2025-07-01", "2026-03-31"),
])
def test_parse_period_forms(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("bad", ["2026Q5", "last year", "2026-13", "2026-06..2026-01",
                                 "2026-02-30"])
def test_parse_period_rejects_with_the_forms_it_accepts(bad):
    with pytest.raises(InputError, match="2026"):
        parse_period(bad)


def test_period_mask_and_quarters():
    dates = ["2026-03-31T23:59:00", "2026-04-01", None, "2025-12-01"]
    assert period_mask(dates, "2026Q1").tolist() == [True, False, False, False]
    assert period_mask(dates, None).tolist() == [True] * 4
    assert dates_to_quarters(dates).tolist() == ["2026Q1", "2026Q2", None, "2025Q4"]
