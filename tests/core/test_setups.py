# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting set-ups on a hand-built town where every answer is known.

Beat B1 (npa N1, ward W1) has an L-shaped street ``l`` ((0,0) east to (100,0), then north to
(100,100)) with six households of group "2" on both sides, and a straight street ``b``
(y = 500, x 0..200) with ten households: ``201`` of group "2", the rest group "1", and a member
at ``202``. Beat B2 has street ``c`` (y = 2000) with five group "1" households and a member at
``301``. Group "2" has no member: under-represented at 0.7. The set-ups are created at
:data:`NOW` (20 November 2026, 10:00), so their data date is 19 November.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.errors import InputError, NotFoundError, ReadOnlyError
from spatial_core.targeting.setups import (
    archive_setup,
    create_setup,
    get_setup,
    list_setups,
    record_setup_visit,
    rerun_setup,
    setup_report,
    stored_recommendation,
    update_setup,
)
from spatial_core.targeting.walklists import walk_list

NOW = "2026-11-20T10:00:00"
# uprn -> (x, y): distances along the L street are 20, 60, 110, 160, 190, 40.
L_HOUSES = {"101": (20.0, -5.0), "102": (60.0, 5.0), "103": (105.0, 10.0), "104": (95.0, 60.0),
            "105": (105.0, 90.0), "106": (40.0, -6.0)}
L_ORDER = ["101", "106", "102", "103", "104", "105"]


def _box(x0, y0, x1, y1):
    return shapely.multipolygons([shapely.box(x0, y0, x1, y1)])


def build_town(store, *, visits: list[tuple] | None = None) -> None:
    """Write the town (and ``visits``: (uprn, visited_at, outcome[, setup_id]))."""
    streets = pd.DataFrame({
        "street_id": ["l", "b", "c"], "name": ["L Street", "B Road", "C Lane"],
        "beat_id": ["beat:B1", "beat:B1", "beat:B2"], "ward_id": "ward:W1",
        "length_m": [200.0, 200.0, 100.0], "households": [6, 10, 5],
        "geom": [shapely.multilinestrings([[(0, 0), (100, 0), (100, 100)]]),
                 shapely.multilinestrings([[(0, 500), (200, 500)]]),
                 shapely.multilinestrings([[(0, 2000), (100, 2000)]])]})
    rows = [(u, "l", "beat:B1", x, y, "2") for u, (x, y) in L_HOUSES.items()]
    rows += [(f"2{i:02d}", "b", "beat:B1", 10.0 + 20 * i, 495.0 if i % 2 else 505.0,
              "2" if i == 1 else "1") for i in range(1, 11)]
    rows += [(f"30{i}", "c", "beat:B2", 10.0 + 20 * i, 2005.0, "1") for i in range(1, 6)]
    addr = pd.DataFrame(rows, columns=["uprn", "street_id", "beat_id", "x", "y", "group"])
    addr["ward_id"] = "ward:W1"
    addr["postcode"] = np.where(addr["street_id"] == "c", "ZZ2 2ZZ", "ZZ1 1ZZ")
    addr["cell"] = 0
    addr["geom"] = shapely.points(addr["x"], addr["y"])
    classes = pd.DataFrame({"scheme": "oac2011", "key_type": "uprn", "key": addr["uprn"],
                            "l1": addr["group"]})
    codes = pd.DataFrame({"scheme": "oac2011", "level": 1, "code": ["1", "2"],
                          "name": ["Group one", "Group two"]})
    members = pd.DataFrame({"member_id": ["M1", "M2"], "name": ["Ann Example", "Bob Example"],
                            "uprn": ["202", "301"], "joined": "2025-01-01", "cell": 0,
                            "gender": ["female", "male"], "ethnicity": ["white", "asian"]})
    members["x"] = members["uprn"].map(addr.set_index("uprn")["x"])
    members["y"] = members["uprn"].map(addr.set_index("uprn")["y"])
    crimes = pd.DataFrame({"crime_key": ["k1", "k2"], "month": "2026-10",
                           "category": "Burglary", "x": [50.0, 150.0], "y": [505.0, 495.0],
                           "cell": 0, "is_outlier": 0})
    areas = pd.DataFrame({
        "area_id": ["beat:B1", "beat:B2", "npa:N1", "ward:W1"],
        "level": ["beat", "beat", "npa", "ward"], "code": ["B1", "B2", "N1", "W1"],
        "name": ["Beat one", "Beat two", "Npa one", "Ward one"],
        "parent_id": ["npa:N1", "npa:N1", None, None], "boundary_set": "default",
        "geom": [_box(-50, -50, 300, 700), _box(-50, 1900, 300, 2100),
                 _box(-50, -50, 300, 2100), _box(-50, -50, 300, 2100)]})
    with store.begin() as conn:
        store.insert_new(conn, "streets", streets)
        store.insert_new(conn, "addresses", addr.drop(columns=["group"]))
        store.insert_new(conn, "classifications", classes)
        store.insert_new(conn, "class_codes", codes)
        store.insert_new(conn, "members", members)
        store.insert_new(conn, "crimes", crimes)
        store.insert_new(conn, "areas", areas)
    if visits:
        add_visits(store, visits)


def add_visits(store, visits: list[tuple]) -> None:
    v = pd.DataFrame([tuple(r) + (None,) * (4 - len(r)) for r in visits],
                     columns=["uprn", "visited_at", "outcome", "setup_id"])
    v["visit_id"] = [f"V{abs(hash(tuple(r))) % 10**12}-{i}" for i, r in enumerate(visits)]
    v["cell"] = 0
    with store.begin() as conn:
        store.insert_new(conn, "visits", v)


@pytest.fixture
def town(store):
    build_town(store)
    return store


def test_create_setup_resolves_under_represented_groups_and_stores_its_inputs(town):
    s = create_setup(town, "Beat one recruitment", areas=["beat:B1"], now=NOW)
    assert s.setup_id == "beat-one-recruitment" and s.status == "live"
    assert s.target_rule == "under_represented<0.7" and s.target_groups == ("2",)
    assert s.as_of == "2026-11-19" and s.created_at == NOW
    assert s.profile_name == "engagement" and "[weights]" in s.profile_toml
    assert len(s.inputs_fingerprint) == 64
    assert s.input_counts["addresses"] == 21 and s.input_counts["members"] == 2
    again = create_setup(town, "Beat one recruitment", areas=["beat:B1"], now=NOW)
    assert again.setup_id == "beat-one-recruitment-2"  # several set-ups live at once
    assert [x.setup_id for x in list_setups(town)] == ["beat-one-recruitment",
                                                       "beat-one-recruitment-2"]


def test_setup_writes_give_a_new_data_version_and_visits_do_not(town):
    from spatial_core.store.data_version import data_version

    seen = [data_version(town)]
    s = create_setup(town, "Versions", areas=["beat:B1"], now=NOW)
    seen.append(data_version(town))
    update_setup(town, s.setup_id, name="Versions, renamed")
    seen.append(data_version(town))
    uprn = stored_recommendation(town, s.setup_id)[1]["uprn"].iloc[0]
    record_setup_visit(town, s.setup_id, uprn=uprn, outcome="spoke",
                       visited_at="2026-11-20T10:00:00")
    seen.append(data_version(town))
    archive_setup(town, s.setup_id, now="2026-11-21T10:00:00")
    seen.append(data_version(town))
    # Every set-up write drops the geoservice's cached answers; a visit changes nothing
    # they hold, so it leaves the version as it was.
    assert len(set(seen)) == 4 and seen[3] == seen[2]


def test_create_setup_streets_ranked_and_walk_list_ordered_along_the_l_street(town):
    create_setup(town, "b1", areas=["beat:B1"], now=NOW)
    streets, hh = stored_recommendation(town, "b1")
    assert streets["street_id"].tolist() == ["l", "b"]  # beat B2's street is not in the area
    assert streets["street_rank"].tolist() == [1, 2]
    assert streets["households"].tolist() == [6, 9]  # the member at 202 is left out
    on_l = hh[hh["street_id"] == "l"]
    assert on_l["uprn"].tolist() == L_ORDER
    assert on_l["walk_order"].tolist() == [1, 2, 3, 4, 5, 6]
    assert on_l["along_m"].tolist() == [20.0, 40.0, 60.0, 110.0, 160.0, 190.0]
    # Both sides of B Road interleave by distance along it.
    assert hh.loc[hh["street_id"] == "b", "uprn"].tolist() == [f"2{i:02d}" for i in
                                                               range(1, 11) if i != 2]
    assert on_l["reason"].iloc[0] == "target group 2, no member; not visited before"
    assert "202" not in set(hh["uprn"])


def test_create_setup_revisit_registered_keeps_members(town):
    create_setup(town, "b1", areas=["beat:B1"], now=NOW, revisit_registered=True,
                 target_groups=["1"])
    _streets, hh = stored_recommendation(town, "b1")
    row = hh.set_index("uprn").loc["202"]
    assert row["reason"] == "target group 1; registered member (revisited); not visited before"
    assert get_setup(town, "b1").target_rule == "groups"


@pytest.mark.parametrize("visit, at, listed", [
    (("203", "2026-11-19T10:00:00", "spoke"), NOW, False),  # visited yesterday, 28-day window
    (("203", "2026-10-20T09:00:00", "spoke"), NOW, True),  # 31 days ago
    (("204", "2026-08-12T10:00:00", "declined"), NOW, True),  # declined 100 days ago (90)
    (("204", "2026-09-01T10:00:00", "declined"), NOW, False),  # declined 80 days ago
    (("205", "2026-11-20T08:00:00", "not_in"), NOW, False),  # not in 2 hours ago (4 h retry)
    (("205", "2026-11-20T08:00:00", "not_in"), "2026-11-20T13:00:00", True),  # 5 hours later
    (("205", "2026-11-20T08:00:00", "not_in"), "2026-11-20T11:59:59", False),
])
def test_suppression_windows_at_creation_and_later(store, visit, at, listed):
    build_town(store, visits=[visit])
    create_setup(store, "s", areas=["beat:B1"], now=NOW, visited_days=28, declined_days=90,
                 not_in_hours=4)
    uprn = visit[0]
    assert (uprn in set(walk_list(store, "s", now=at)["uprn"])) is listed
    # Created at that moment instead, the stored list says the same.
    create_setup(store, "t", areas=["beat:B1"], now=at)
    assert (uprn in set(walk_list(store, "t", now=at)["uprn"])) is listed
    full = walk_list(store, "s", now=at, include_suppressed=True)
    assert uprn in set(full["uprn"])


def test_walk_list_drops_a_door_visited_after_creation_until_its_window_ends(town):
    create_setup(town, "s", areas=["beat:B1"], now=NOW)
    add_visits(town, [("101", "2026-11-20T11:00:00", "not_in")])
    assert "101" in set(walk_list(town, "s", now="2026-11-20T10:30:00")["uprn"])
    assert "101" not in set(walk_list(town, "s", now="2026-11-20T12:00:00")["uprn"])
    assert "101" in set(walk_list(town, "s", now="2026-11-20T15:00:01")["uprn"])
    wl = walk_list(town, "s", now="2026-11-20T12:00:00", include_suppressed=True)
    assert wl.set_index("uprn").loc["101", "suppressed_until"] == "2026-11-20T15:00:00"
    assert not {"name", "email", "member_id"} & set(wl.columns)


def test_archived_setup_refuses_writes_and_rerun_is_identical_after_new_data(town):
    add_visits(town, [("203", "2026-11-18T09:00:00", "spoke")])
    s = create_setup(town, "arch", areas=["beat:B1", "beat:B2"], now=NOW,
                     targets={"visits": 5})
    first = rerun_setup(town, s.setup_id)
    assert first.identical and first.inputs_unchanged
    a = archive_setup(town, s.setup_id, now="2026-11-21T09:00:00")
    assert a.status == "archived" and a.archived_at == "2026-11-21T09:00:00"
    with pytest.raises(ReadOnlyError, match="archived on 2026-11-21T09:00:00"):
        update_setup(town, s.setup_id, targets={"visits": 9})
    with pytest.raises(ReadOnlyError):
        record_setup_visit(town, s.setup_id, uprn="101", outcome="spoke",
                           visited_at="2026-11-21T10:00:00")
    with pytest.raises(ReadOnlyError):
        archive_setup(town, s.setup_id)
    before = stored_recommendation(town, s.setup_id)
    # New visits and members after the set-up's data date and creation moment.
    add_visits(town, [("101", "2026-11-22T10:00:00", "registered"),
                      ("204", "2026-11-22T10:05:00", "declined")])
    with town.begin() as conn:
        town.insert_new(conn, "members", pd.DataFrame({
            "member_id": ["M9"], "uprn": ["101"], "joined": ["2026-11-22"], "cell": [0]}))
    again = rerun_setup(town, s.setup_id)
    assert again.same_streets and again.same_walk_lists and again.inputs_unchanged
    assert again.streets["street_id"].tolist() == before[0]["street_id"].tolist()
    assert again.households["uprn"].tolist() == before[1]["uprn"].tolist()
    assert "203" in set(again.households["uprn"])  # held back, kept with its date
    assert again.households.set_index("uprn").loc["203", "suppressed_until"] == \
        "2026-12-16T09:00:00"
    # The report kept at archiving does not change with later visits.
    assert setup_report(town, s.setup_id, now="2026-12-01").totals["visits"] == 0


def test_rerun_of_a_live_setup_notices_changed_old_data(town):
    s = create_setup(town, "chg", areas=["beat:B1"], now=NOW)
    with town.begin() as conn:
        town.insert_new(conn, "crimes", pd.DataFrame({
            "crime_key": ["late"], "month": ["2026-09"], "category": ["Robbery"],
            "x": [50.0], "y": [5.0], "cell": [0], "is_outlier": [0]}))
    r = rerun_setup(town, s.setup_id)
    assert not r.inputs_unchanged and r.inputs_fingerprint != s.inputs_fingerprint


def test_setup_report_counts_visits_per_street_and_against_targets(town):
    add_visits(town, [("103", "2026-11-18T09:00:00", "spoke")])  # before: not progress
    s = create_setup(town, "prog", areas=["beat:B1"], now=NOW,
                     targets={"visits": 10, "registrations": 2, "surveys": 4})
    add_visits(town, [
        ("101", "2026-11-20T11:00:00", "registered"),  # untagged, on the walk list
        ("102", "2026-11-20T11:05:00", "not_in", "prog"),
        ("102", "2026-11-20T15:00:00", "surveyed", "prog"),
        ("203", "2026-11-20T12:00:00", "declined"),
        ("301", "2026-11-20T12:30:00", "spoke", "prog"),  # tagged, off the walk lists
        ("304", "2026-11-20T12:40:00", "spoke"),  # neither: not counted
        ("106", "2026-11-25T10:00:00", "spoke", "prog"),  # after the report moment
    ])
    r = setup_report(town, s.setup_id, now="2026-11-21T09:00:00")
    assert r.totals == {"households": 15, "households_visited": 4, "visits": 5,
                        "registered": 1, "surveyed": 1, "spoke": 1, "not_in": 1,
                        "declined": 1, "no_access": 0, "to_knock": 11}
    t = r.targets.set_index("measure")
    assert t.loc["visits", "achieved"] == 5 and t.loc["visits", "share"] == 0.5
    assert t.loc["registrations", "share"] == 0.5 and t.loc["surveys", "share"] == 0.25
    st = r.streets.set_index("street_id")
    assert st.loc["l", ["visits", "households_visited", "registered", "surveyed", "not_in"]
                  ].tolist() == [3, 2, 1, 1, 1]
    assert st.loc["b", ["visits", "declined"]].tolist() == [1, 1]
    assert st.loc["(elsewhere)", "spoke"] == 1
    assert st.loc["l", "to_knock"] == 3  # 101 and 102 visited, 103 held back since the 18th
    json.dumps(r.to_dict())


def test_create_setup_with_a_drawn_polygon_in_wgs84_and_bng(town):
    from spatial_core.geo.crs import bng_to_lnglat

    # Wide margins: at the grid origin (off Scilly) WGS84 <-> BNG round trips drift ~80 m.
    ring = [(-200, -200), (400, -200), (400, 800), (-200, 800)]
    wkt = "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring + ring[:1]) + "))"
    s = create_setup(town, "drawn", areas=[wkt], now=NOW, target_groups="2")
    assert s.areas == () and s.polygon_wkt.startswith("POLYGON")
    lng, lat = bng_to_lnglat(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    gj = {"type": "Polygon", "coordinates": [[[a, b] for a, b in zip(lng, lat, strict=True)]
                                             + [[lng[0], lat[0]]]]}
    w = create_setup(town, "drawn84", areas=[json.dumps(gj)], now=NOW, target_groups="2")
    a, b = stored_recommendation(town, s.setup_id), stored_recommendation(town, w.setup_id)
    assert a[0]["street_id"].tolist() == b[0]["street_id"].tolist() == ["l", "b"]
    assert rerun_setup(town, w.setup_id).identical


@pytest.mark.parametrize("kwargs, error, message", [
    ({"areas": ["beat:ZZ"]}, NotFoundError, "no area 'beat:ZZ'"),
    ({"areas": ["beat:B1"], "goal": "sell"}, InputError, "goal 'sell' is not one of"),
    ({"areas": ["beat:B1"], "targets": {"doors": 3}}, InputError, "unknown target 'doors'"),
    ({"areas": ["beat:B1"], "declined_days": -1}, InputError, "declined_days must be"),
    ({"areas": ["LINESTRING (0 0, 1 1)"]}, InputError, "Polygon or MultiPolygon"),
    ({"areas": ["beat:B1"], "target_groups": ["9"]}, InputError, "codes not found"),
    ({"areas": []}, InputError, "needs an area"),
])
def test_create_setup_bad_input_names_the_problem_and_stores_nothing(town, kwargs, error,
                                                                     message):
    before = town.fingerprint()
    with pytest.raises(error, match=message):
        create_setup(town, "bad", now=NOW, **kwargs)
    assert town.fingerprint() == before


def test_get_setup_unknown_id_lists_the_known_ones(town):
    create_setup(town, "known", areas=["beat:B1"], now=NOW)
    with pytest.raises(NotFoundError, match="no set-up 'nope'; set-ups: known"):
        get_setup(town, "nope")


# -- integration: a small demo force through the command line -----------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    path = demo_builds.copy(tmp_path_factory.mktemp("setup-demo"),
                            households=5_000, months=3)
    store = open_store(path)
    yield store
    store.close()


def _lpt(store, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store",
                           store.location, *map(str, args)], capture_output=True, text=True)


def test_setup_on_a_small_demo_force_from_create_to_rerun(demo_store, tmp_path):
    import pyogrio

    from spatial_core.analytics.population import area_table
    from spatial_core.targeting.fairness import fairness_report

    beats = area_table(demo_store).query("level == 'beat'")["area_id"].tolist()[:2]
    made = _lpt(demo_store, "setup", "create", "Demo spring", *sum((["--area", b] for b in beats),
                                                                   []),
                "--visits", 20, "--registrations", 5, "--streets", 8,
                "--now", "2026-10-01T10:00:00", "--json")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    sid = created["setup"]["setup_id"]
    assert sid == "demo-spring" and created["setup"]["areas"] == beats
    assert len(created["streets"]) == 8
    assert [s["street_rank"] for s in created["streets"]] == list(range(1, 9))
    scores = [s["score"] for s in created["streets"]]
    assert scores == sorted(scores, reverse=True)
    assert {s["beat_id"] for s in created["streets"]} <= set(beats)
    # A second set-up live at the same time.
    other = _lpt(demo_store, "setup", "create", "Other", "--area", beats[0], "--goal", "survey",
                 "--now", "2026-10-01T10:00:00")
    assert other.returncode == 0, other.stderr
    listed = json.loads(_lpt(demo_store, "setup", "list", "--json").stdout)
    assert {s["setup_id"] for s in listed} == {"demo-spring", "other"}

    # Officers knock on the first six doors of the first street.
    wl = walk_list(demo_store, sid, now="2026-10-01T10:00:00")
    first = wl[wl["street_rank"] == 1]
    assert first["walk_order"].is_monotonic_increasing
    outcomes = ["registered", "surveyed", "not_in", "declined", "spoke", "registered"]
    for i, (uprn, outcome) in enumerate(zip(first["uprn"], outcomes, strict=False)):
        record_setup_visit(demo_store, sid, uprn=uprn, outcome=outcome,
                           visited_at=f"2026-10-01T11:{i:02d}:00", officer="PC 1")
    rep = json.loads(_lpt(demo_store, "setup", "report", sid, "--now", "2026-10-01T12:00:00",
                          "--json", "--fairness").stdout)
    n = min(6, len(first))
    assert rep["totals"]["visits"] == n
    assert rep["totals"]["registered"] == outcomes[:n].count("registered")
    assert rep["totals"]["to_knock"] == len(wl) - n
    top = rep["streets"][0]
    assert top["street_rank"] == 1 and top["visits"] == n
    assert {t["measure"]: t["achieved"] for t in rep["targets"]}["visits"] == n
    fair = fairness_report(demo_store, sid, now="2026-10-01T12:00:00")
    assert fair["visited"].sum() == n
    assert fair["recommended"].sum() == created["households"]
    assert fair["population"].sum() == len(
        demo_store.read("addresses", ["beat_id"]).query("beat_id in @beats"))
    assert fair["population_share"].sum() == pytest.approx(1.0)

    out = tmp_path / "walk.gpkg"
    exp = _lpt(demo_store, "export", "walk-list", "--setup", sid, "-o", out,
               "--now", "2026-10-01T12:00:00")
    assert exp.returncode == 0, exp.stderr
    got = pyogrio.read_dataframe(out)
    assert len(got) == len(wl) - n and got.crs.to_epsg() == 27700
    assert not {c.lower() for c in got.columns} & {"name", "email", "member_id", "telephone"}

    assert _lpt(demo_store, "setup", "archive", sid, "--now", "2026-10-02T09:00:00"
                ).returncode == 0
    refused = _lpt(demo_store, "setup", "archive", sid)
    assert refused.returncode == 1 and "read-only" in refused.stderr
    add_visits(demo_store, [(u, "2026-10-05T10:00:00", "registered") for u in wl["uprn"][-5:]])
    rerun = _lpt(demo_store, "setup", "rerun", sid, "--json")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert json.loads(rerun.stdout) | {} == {
        "setup_id": sid, "identical": True, "same_streets": True, "same_walk_lists": True,
        "inputs_unchanged": True, "streets": 8, "households": created["households"]}
    kept = json.loads(_lpt(demo_store, "setup", "report", sid, "--json").stdout)
    assert kept["status"] == "archived" and kept["now"] == "2026-10-02T09:00:00"
    # Kept as at archiving: the same visits; the "not in" door was back on the list by then.
    assert {k: v for k, v in kept["totals"].items() if k != "to_knock"} == \
        {k: v for k, v in rep["totals"].items() if k != "to_knock"}
    assert kept["totals"]["to_knock"] == rep["totals"]["to_knock"] + ("not_in" in outcomes[:n])
    assert [s["setup_id"] for s in json.loads(
        _lpt(demo_store, "setup", "list", "--json").stdout)] == ["other"]


def test_setup_report_does_not_count_a_visit_at_the_creation_moment_as_progress(town):
    # A visit stamped exactly at creation is one the set-up already knew (it holds 101 back
    # at creation), so it is not progress made since; a tagged one still counts.
    add_visits(town, [("101", NOW, "spoke")])
    s = create_setup(town, "edge", areas=["beat:B1"], now=NOW)
    hh = stored_recommendation(town, s.setup_id)[1].set_index("uprn")
    assert hh.loc["101", "suppressed_until"] == "2026-12-18T10:00:00"
    r = setup_report(town, s.setup_id, now="2026-11-21T09:00:00")
    assert r.totals["visits"] == 0 and r.totals["households_visited"] == 0
    add_visits(town, [("102", NOW, "registered", s.setup_id)])
    r = setup_report(town, s.setup_id, now="2026-11-21T09:00:00")
    assert r.totals["visits"] == 1 and r.totals["registered"] == 1
