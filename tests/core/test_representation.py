# SPDX-License-Identifier: GPL-3.0-or-later
"""Representation: shares, ratios and intervals, below-target flags, the under-represented
household layer, member locations and coverage."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.analytics.priorities import wilson_interval
from spatial_core.analytics.representation import (
    coverage,
    member_locations,
    representation,
    underrepresented_households,
    underrepresented_streets,
)
from spatial_core.geo.cells import cells_to_parents, points_to_cells
from spatial_core.geo.crs import bng_to_lnglat

X0, Y0 = 430000.0, 290000.0
# Four output areas of four households each: OA1 (class 1) and OA2 (class 2) make beat A,
# OA3 (class 1) and OA4 (class 2) make beat B. Each OA is one street.
OAS = {"OA1": (0, "1", "beat:A"), "OA2": (500, "2", "beat:A"), "OA3": (1000, "1", "beat:B"),
       "OA4": (1500, "2", "beat:B")}
# Beat A: class 1 has 1 member (share 0.25 of members against 0.5 of households: ratio 0.5),
# class 2 has 3 (ratio 1.5). Beat B: 2 and 2 (ratio 1.0 each).
MEMBER_UPRNS = {"1": "female", "5": "male", "6": "male", "7": "not_stated", "9": "female",
                "10": "male", "13": "female", "14": "male"}


def _box(x0, x1):
    return shapely.MultiPolygon([shapely.box(X0 + x0, Y0, X0 + x1, Y0 + 1000)])


def build_store(store) -> None:
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N", "beat:A", "beat:B"] + [f"oa:{k}" for k in OAS],
        "level": ["force", "npa", "beat", "beat"] + ["oa"] * 4,
        "code": ["F", "N", "A", "B", *OAS],
        "name": ["Force", "Npa", "Beat A", "Beat B", *OAS],
        "parent_id": [None, "force:F", "npa:N", "npa:N"] + [None] * 4,
        "boundary_set": ["default"] * 8,
        "geom": [_box(0, 2000), _box(0, 2000), _box(0, 1000), _box(1000, 2000)]
        + [_box(x, x + 500) for x, _, _ in OAS.values()],
    })
    rows = []
    for oa, (x, _, beat) in OAS.items():
        for j in range(4):
            rows.append((str(len(rows) + 1), X0 + x + 100 + 100 * j, Y0 + 500, oa, f"s{oa}", beat))
    addresses = pd.DataFrame(rows, columns=["uprn", "x", "y", "oa_code", "street_id", "beat_id"])
    lng, lat = bng_to_lnglat(addresses["x"].to_numpy(), addresses["y"].to_numpy())
    addresses["lat"], addresses["lng"] = lat, lng
    addresses["cell"] = points_to_cells(lat, lng, 10)
    classes = pd.DataFrame({"scheme": "oac2011", "key_type": "oa", "key": list(OAS),
                            "l1": [c for _, c, _ in OAS.values()]})
    codes = pd.DataFrame({"scheme": "oac2011", "level": 1, "code": ["1", "2"],
                          "name": ["Rural Residents", "Cosmopolitans"]})
    by_uprn = addresses.set_index("uprn")
    members = pd.DataFrame({
        "member_id": [f"M{u}" for u in MEMBER_UPRNS], "uprn": list(MEMBER_UPRNS),
        "x": by_uprn.loc[list(MEMBER_UPRNS), "x"].to_numpy(),
        "y": by_uprn.loc[list(MEMBER_UPRNS), "y"].to_numpy(),
        "cell": by_uprn.loc[list(MEMBER_UPRNS), "cell"].to_numpy(),
        "gender": list(MEMBER_UPRNS.values()), "joined": "2025-01-01",
    })
    surveys = pd.DataFrame({"response_id": ["R1", "R2"], "responded": "2026-01-10",
                            "channel": "online", "member_id": ["M1", "M5"],
                            "x": [X0 + 100, X0 + 600], "y": Y0 + 500, "cell": 0})
    streets = pd.DataFrame({
        "street_id": [f"s{oa}" for oa in OAS], "name": [f"{oa} Road" for oa in OAS],
        "beat_id": [b for _, _, b in OAS.values()], "households": 4,
        "geom": [shapely.MultiLineString([[(X0 + x, Y0 + 500), (X0 + x + 500, Y0 + 500)]])
                 for x, _, _ in OAS.values()],
    })
    with store.begin() as conn:
        for name, frame in (("areas", areas), ("addresses", addresses),
                            ("classifications", classes), ("class_codes", codes),
                            ("members", members), ("surveys", surveys), ("streets", streets)):
            store.insert_new(conn, name, frame)


def test_a_group_with_half_its_share_flags_and_one_at_its_share_does_not(store):
    build_store(store)
    t = representation(store, area_level="beat", as_of="2026-06-01").set_index(
        ["area_id", "group"])
    half = t.loc[("beat:A", "1")]
    assert half["population"] == 4 and half["population_share"] == 0.5
    assert half["members"] == 1 and half["member_share"] == 0.25
    assert half["member_ratio"] == pytest.approx(0.5)
    assert bool(half["member_below"])
    lo, hi = wilson_interval([1], [4])
    assert half["member_ci_low"] == pytest.approx(lo[0] / 0.5)
    assert half["member_ci_high"] == pytest.approx(hi[0] / 0.5)
    # With four members the interval still reaches the target: not clearly below.
    assert not bool(half["member_clearly_below"])
    assert half["group_name"] == "Rural Residents" and half["area_name"] == "Beat A"
    over = t.loc[("beat:A", "2")]
    assert over["member_ratio"] == pytest.approx(1.5) and not bool(over["member_below"])
    for group in ("1", "2"):
        fair = t.loc[("beat:B", group)]
        assert fair["member_ratio"] == pytest.approx(1.0)
        assert not bool(fair["member_below"])


def test_target_is_configurable(gpkg_store):
    build_store(gpkg_store)
    t = representation(gpkg_store, target=0.4, as_of="2026-06-01")
    assert not t["member_below"].any()
    with pytest.raises(InputError, match="target"):
        representation(gpkg_store, target=70)


def test_respondent_shares_use_the_respondents_household(gpkg_store):
    build_store(gpkg_store)
    t = representation(gpkg_store, as_of="2026-06-01").set_index(["area_id", "group"])
    # R1 (member at UPRN 1, class 1) and R2 (member at UPRN 5, class 2), both in beat A.
    assert t.loc[("beat:A", "1"), "respondents"] == 1
    assert t.loc[("beat:A", "1"), "respondent_ratio"] == pytest.approx(1.0)
    assert t.loc[("beat:B", "1"), "respondents"] == 0
    assert t.loc[("beat:B", "1"), "note"] == "no respondents in the area"


def test_force_level_adds_up_the_beats(gpkg_store):
    build_store(gpkg_store)
    t = representation(gpkg_store, area_level="force", as_of="2026-06-01").set_index("group")
    assert t.loc["1", "population"] == 8 and t.loc["1", "members"] == 3
    assert t.loc["1", "member_ratio"] == pytest.approx((3 / 8) / 0.5)


def test_self_declared_demographics_need_a_population_base(gpkg_store):
    build_store(gpkg_store)
    t = representation(gpkg_store, by="gender", as_of="2026-06-01")
    assert t["member_ratio"].isna().all()
    assert t["note"].str.startswith("no population base for gender").all()
    # not_stated is left out: beat A has one female and two male members who said.
    a = t[t["area_id"] == "beat:A"].set_index("group")
    assert a["members"].to_dict() == {"female": 1, "male": 2}
    census = pd.DataFrame({"area_id": ["beat:A", "beat:A"], "group": ["female", "male"],
                           "count": [600, 400]})
    t = representation(gpkg_store, by="gender", population=census, as_of="2026-06-01")
    a = t[t["area_id"] == "beat:A"].set_index("group")
    assert a.loc["female", "member_ratio"] == pytest.approx((1 / 3) / 0.6)
    assert bool(a.loc["female", "member_below"]) and not bool(a.loc["male", "member_below"])


@pytest.mark.parametrize(("population", "message"), [
    (pd.DataFrame({"area_id": ["beat:A"], "group": ["female"]}), "count"),
    (pd.DataFrame({"area_id": ["beat:A"], "group": ["female"], "count": ["many"]}), "many"),
])
def test_population_table_errors(gpkg_store, population, message):
    with pytest.raises(InputError, match=message):
        representation(gpkg_store, by="gender", population=population)


def test_underrepresented_households_are_those_without_a_member(store):
    build_store(store)
    u = underrepresented_households(store, as_of="2026-06-01")
    # Class 1 in beat A: UPRNs 1-4; UPRN 1 has a member.
    assert u["uprn"].tolist() == ["2", "3", "4"]
    assert u.crs.to_epsg() == 27700
    assert u.geometry.x.tolist() == pytest.approx([X0 + 200, X0 + 300, X0 + 400])
    assert u["member_ratio"].tolist() == pytest.approx([0.5] * 3)
    assert underrepresented_households(store, areas=["beat:B"], as_of="2026-06-01").empty


def test_underrepresented_streets(gpkg_store):
    build_store(gpkg_store)
    s = underrepresented_streets(gpkg_store, as_of="2026-06-01")
    assert s[["street_id", "households", "members", "underrepresented", "groups"]].values.tolist() \
        == [["sOA1", 4, 1, 3, "1"]]
    assert s.geometry.iloc[0].length == pytest.approx(500)


def test_member_locations_per_street_and_cell_never_points(gpkg_store):
    build_store(gpkg_store)
    by_street = member_locations(gpkg_store, as_of="2026-06-01").set_index("street_id")
    assert by_street.loc["sOA1", "members"] == 1
    assert by_street.loc["sOA1", "members_per_100"] == pytest.approx(25.0)
    assert by_street.loc["sOA2", "groups"] == "2:3"
    assert not {"x", "y", "lat", "lng", "geom", "member_id"} & set(by_street.columns)
    by_cell = member_locations(gpkg_store, by="cell", resolution=7, as_of="2026-06-01")
    assert by_cell["members"].sum() == 8
    addresses = gpkg_store.read("addresses", ["cell"])
    assert set(by_cell["cell"]) <= set(cells_to_parents(addresses["cell"].to_numpy(), 7))


def test_coverage_members_per_100_and_low_coverage(gpkg_store):
    build_store(gpkg_store)
    c = coverage(gpkg_store, as_of="2026-06-01", min_responses=2).set_index("area_id")
    assert c.loc["beat:A", "members"] == 4 and c.loc["beat:A", "households"] == 8
    assert c.loc["beat:A", "members_per_100"] == pytest.approx(50.0)
    assert c.loc["beat:A", "responses"] == 2 and not c.loc["beat:A", "low_coverage"]
    assert c.loc["beat:B", "low_coverage"]
    assert c.loc["beat:B", "reason"] == "0 responses (< 2)"
    c = coverage(gpkg_store, as_of="2026-06-01", min_members_per_100=60, min_responses=0)
    assert c["low_coverage"].all()
    assert c.set_index("area_id").loc["beat:A", "reason"] == (
        "50.0 members per 100 households (< 60)")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    s = open_store(demo_builds.copy(tmp_path_factory.mktemp("demo"), households=3_000, months=3))
    yield s
    s.close()


def test_demo_force_under_represents_some_supergroups(demo_store):
    t = representation(demo_store, area_level="force")
    assert t["population"].sum() == 3000
    assert t["population_share"].sum() == pytest.approx(1.0)
    assert t["member_share"].sum() == pytest.approx(1.0)
    # The demo recruits some supergroups less by design: at least one is below target and at
    # least one over-represented; every ratio's interval holds its estimate.
    assert t["member_below"].any() and (t["member_ratio"] > 1).any()
    assert (t["member_ci_low"] <= t["member_ratio"]).all()
    assert (t["member_ratio"] <= t["member_ci_high"]).all()
    beats = representation(demo_store, area_level="beat")
    assert beats.groupby("area_id")["population"].sum().sum() == 3000
    u = underrepresented_households(demo_store, table=beats)
    assert len(u) > 0 and not u["is_member"].any()
    flagged = set(map(tuple, beats.loc[beats["member_below"], ["area_id", "group"]].values))
    assert set(zip(u["beat_id"], u["group"], strict=True)) <= flagged
    cov = coverage(demo_store)
    assert cov["households"].sum() == 3000
    assert np.isfinite(cov["members_per_100"]).all()


def test_coverage_reason_of_an_area_without_households_is_not_nan(monkeypatch):
    import spatial_core.analytics.representation as rep

    monkeypatch.setattr(rep, "households_per_area", lambda store, level: pd.Series(
        {"beat:A": 100}))
    monkeypatch.setattr(rep, "members_frame", lambda store, **kw: pd.DataFrame(
        {"beat_id": ["beat:A"] * 3}))
    monkeypatch.setattr(rep, "respondents_frame", lambda store, **kw: pd.DataFrame(
        {"beat_id": ["beat:A"] * 12}))
    monkeypatch.setattr(rep, "area_table", lambda store: pd.DataFrame(
        {"area_id": ["beat:A", "beat:E"], "name": ["A", "Empty"], "level": ["beat", "beat"]}))
    c = coverage(None).set_index("area_id")
    assert c.loc["beat:A", "reason"] == "3.0 members per 100 households (< 5)"
    assert c.loc["beat:E", "reason"] == "no households stored in the area; 0 responses (< 10)"
    assert "nan" not in " ".join(c["reason"])
