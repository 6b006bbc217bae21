# SPDX-License-Identifier: GPL-3.0-or-later
"""The use-case layer (spatial_core.api): scopes, and each rule's one home checked by value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from spatial_core import NotFoundError
from spatial_core.analytics.population import (
    area_table,
    current_member_clause,
    is_current_member,
    members_frame,
)
from spatial_core.api import FORCE, Scope, scope_areas, scope_beats
from spatial_core.api.areas import area_profiles, area_profiles_table
from spatial_core.api.attribution import (
    DEMO_DOCUMENT_LINE,
    DEMO_MAP_LINE,
    attribution_lines,
    data_attributions,
)
from spatial_core.api.contacts import key_contacts, key_contacts_table
from spatial_core.api.scores import score_streets_for
from spatial_core.api.setups import (
    SetupNotVisible,
    may_see_setup,
    record_visit_in_scope,
    visible_setups,
    walk_lists,
)
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_per_area, newest_set_by_level


@pytest.fixture
def demo(demo_builds, tmp_path):
    """A copy of the 1,500-household demo force (built once per session)."""
    from spatial_core import open_store

    store = open_store(demo_builds.copy(tmp_path, households=1_500, months=2))
    yield store
    store.close()


def _tree(store) -> pd.DataFrame:
    return area_table(store)[["area_id", "level", "parent_id"]]


# -- current member on a day ------------------------------------------------------------------

def test_current_member_at_boundary_days():
    day = "2026-03-31"
    joined = ["2026-03-31", "2026-04-01", "2026-03-30", None, "", "2025-01-01", "2025-01-01"]
    left = [None, None, "2026-03-31", None, None, "2026-04-01", "2026-03-30"]
    # joined on the day counts; joins tomorrow does not; left on the day does not; no dates
    # counts; left tomorrow counts; left yesterday does not
    assert is_current_member(joined, left, day).tolist() == [True, False, False, True, True,
                                                             True, False]


def test_current_member_sql_equals_the_rule_on_boundary_days(demo):
    m = demo.read("members", ["member_id", "joined", "left_on"])
    day = "2026-01-15"
    ids = m["member_id"].tolist()[:3]
    t = schema.table("members")
    with demo.begin() as conn:  # one joins on the day, one leaves on it, one left the day after
        conn.execute(update(t).where(t.c.member_id == ids[0]).values(joined=day, left_on=None))
        conn.execute(update(t).where(t.c.member_id == ids[1]).values(joined="2020-01-01",
                                                                     left_on=day))
        conn.execute(update(t).where(t.c.member_id == ids[2]).values(joined="2020-01-01",
                                                                     left_on="2026-01-16"))
    m = demo.read("members", ["member_id", "joined", "left_on"])
    rule = is_current_member(m["joined"], m["left_on"], day)
    sql = demo.read("members", ["member_id"], where=current_member_clause(day))["member_id"]
    assert set(sql) == set(m.loc[rule, "member_id"])
    assert ids[0] in set(sql) and ids[1] not in set(sql) and ids[2] in set(sql)
    # and the analytics' members frame uses the same rule
    assert set(members_frame(demo, as_of=day)["member_id"]) == set(sql)


# -- newest boundary set ---------------------------------------------------------------------

def test_newest_boundary_set_per_area_and_per_level():
    f = pd.DataFrame({
        "area_id": ["beat:A", "beat:A", "beat:B", "ward:W", "ward:W"],
        "level": ["beat", "beat", "beat", "ward", "ward"],
        "boundary_set": ["2019", "2024", "2019", None, "2023"],
        "valid_from": ["2019-04-01", "2024-04-01", "2019-04-01", None, "2023-01-01"],
        "name": ["old A", "new A", "B", "old W", "new W"]})
    one = newest_per_area(f)
    assert one["name"].tolist() == ["new A", "B", "new W"]
    assert newest_set_by_level(f).to_dict() == {"beat": "2024", "ward": "2023"}
    # a later set wins even when its name sorts first; equal dates fall back to the name
    g = pd.DataFrame({"area_id": ["x", "x", "y", "y"], "level": ["npa"] * 4,
                      "boundary_set": ["zz", "aa", "a", "b"],
                      "valid_from": ["2019-01-01", "2024-01-01", "2020-01-01", "2020-01-01"]})
    assert newest_per_area(g)["boundary_set"].tolist() == ["aa", "b"]
    assert newest_set_by_level(g).to_dict() == {"npa": "aa"}


# -- scopes ------------------------------------------------------------------------------------

def test_scope_for_each_role(demo):
    tree = _tree(demo)
    npa = tree.loc[tree["level"] == "npa", "area_id"].iloc[0]
    beats_of_npa = sorted(tree.loc[(tree["level"] == "beat") & (tree["parent_id"] == npa),
                                   "area_id"])
    assert scope_beats(tree, "force_analyst", []) is None
    assert scope_beats(tree, "supervisor", [npa]) == beats_of_npa
    assert scope_areas(tree, "supervisor", [npa]) == sorted([*beats_of_npa, npa])
    assert scope_beats(tree, "beat_officer", [beats_of_npa[0], "beat:nowhere"]) == \
        [beats_of_npa[0]]
    assert scope_beats(tree, "partner", [npa]) == []
    assert scope_beats(tree, "no_such_role", [npa]) == []
    s = Scope.for_caller(tree, "public", k=7)
    assert s.aggregate and s.disclosure_k == 7 and s.areas == frozenset()
    assert Scope.for_caller(tree, "beat_officer", [beats_of_npa[0]]).disclosure_k is None


# -- area profiles -----------------------------------------------------------------------------

def test_area_profiles_through_the_api_equal_the_service_provider(demo, tmp_path):
    """The service's area_profiles collection answers exactly the api's rows for a scope."""
    from geoservice import stores
    from geoservice.context import Principal, RequestContext, activate, deactivate
    from geoservice.providers.area_profiles import AreaProfileProvider

    location = str(tmp_path / "demo.gpkg")
    tree = _tree(demo)
    npa = tree.loc[tree["level"] == "npa", "area_id"].iloc[0]
    stores.clear()
    try:
        provider = AreaProfileProvider({"name": "area_profiles", "type": "feature",
                                        "data": location, "options": {"k": 5}})
        for role, areas in (("partner", ()), ("supervisor", (npa,))):
            scope = Scope.for_caller(tree, role, areas, k=5)
            token = activate(RequestContext(principal=Principal(sub="t", role=role,
                                                                areas=areas, via="token")))
            try:
                got = provider.query(limit=10_000)
            finally:
                deactivate(token)
            api = area_profiles(demo, scope)
            assert got["numberMatched"] == len(api) > 0
            by_id = {f["id"]: f["properties"] for f in got["features"]}
            assert set(by_id) == set(api["area_id"])
            for row in api.to_dict("records"):
                props = by_id[row["area_id"]]
                for col in ("households", "members", "crimes", "respondents", "priorities",
                            "under_represented", "disclosure"):
                    want = row[col]
                    want = None if want is None or (np.isscalar(want) and pd.isna(want)) \
                        else want
                    assert props[col] == want, (role, row["area_id"], col)
    finally:
        stores.clear()


def test_area_profiles_disclose_by_role(demo):
    tree = _tree(demo)
    public = area_profiles(demo, Scope.for_caller(tree, "public", k=5))
    assert set(public["disclosure"]) == {"k=5"}
    assert public["votes"].isna().all() and public["representation"].isna().all()
    shown = public["respondents"].dropna().astype(int)
    assert not ((shown >= 1) & (shown < 5)).any()
    exact = area_profiles(demo, FORCE)
    assert set(exact["disclosure"]) == {"exact"}
    assert len(exact) == len(public) == len(area_profiles_table(demo))
    beat = tree.loc[tree["level"] == "beat", "area_id"].iloc[0]
    mine = area_profiles(demo, Scope.for_caller(tree, "beat_officer", [beat]))
    assert mine["area_id"].tolist() == [beat]
    assert mine["members"].iloc[0] == exact.set_index("area_id").loc[beat, "members"]


# -- scores ------------------------------------------------------------------------------------

def test_score_streets_for_a_scope(demo):
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, score_streets

    tree = _tree(demo)
    beats = sorted(tree.loc[tree["level"] == "beat", "area_id"])
    officer = Scope.for_caller(tree, "beat_officer", [beats[0]])
    run = score_streets_for(demo, officer, "default", area=beats[0])
    p = load_profile("default")
    inputs = prepare_inputs(demo, area=beats[0], scheme=p.scheme, level=p.level,
                            crime_distance_m=p.crime_distance_m, voice_radius_m=p.voice_radius_m)
    pd.testing.assert_frame_equal(run.scores, score_streets(inputs, p))
    assert run.area == beats[0] and len(run.scores) > 0
    with pytest.raises(NotFoundError, match="no area"):
        score_streets_for(demo, officer, "default", area=beats[1])
    with pytest.raises(NotFoundError):
        score_streets_for(demo, officer, "default")


# -- set-ups -----------------------------------------------------------------------------------

def test_setup_visibility_walk_lists_and_visits(demo):
    from spatial_core.targeting.setups import create_setup

    tree = _tree(demo)
    beats = sorted(tree.loc[tree["level"] == "beat", "area_id"])
    s = create_setup(demo, "api test", areas=[beats[0]], now="2026-01-20T09:00:00+00:00")
    mine = Scope.for_caller(tree, "beat_officer", [beats[0]])
    other = Scope.for_caller(tree, "beat_officer", [beats[-1]])
    assert s.setup_id in set(visible_setups(demo, mine)["setup_id"])
    assert s.setup_id not in set(visible_setups(demo, other)["setup_id"])
    assert s.setup_id in set(visible_setups(demo, FORCE)["setup_id"])
    assert may_see_setup(demo, s.setup_id, mine)
    assert not may_see_setup(demo, s.setup_id, other)
    assert not may_see_setup(demo, "no-such-setup", FORCE)
    wl = walk_lists(demo, mine, s.setup_id)
    assert len(wl) > 0 and set(wl["beat_id"]) == {beats[0]}
    assert len(walk_lists(demo, other, s.setup_id)) == 0
    uprn = wl["uprn"].iloc[0]
    before = demo.count("visits")
    with pytest.raises(SetupNotVisible):
        record_visit_in_scope(demo, other, uprn=uprn, outcome="not_in",
                              visited_at="2026-01-21T10:00:00", officer="o2",
                              setup_id=s.setup_id)
    assert demo.count("visits") == before  # refused: nothing written
    vid = record_visit_in_scope(demo, mine, uprn=uprn, outcome="not_in",
                                visited_at="2026-01-21T10:00:00", officer="o1",
                                setup_id=s.setup_id)
    v = demo.read("visits", ["visit_id", "setup_id", "uprn"])
    assert v.set_index("visit_id").loc[vid, "setup_id"] == s.setup_id


# -- key contacts ------------------------------------------------------------------------------

def test_key_contacts_by_scope(demo):
    tree = _tree(demo)
    every = key_contacts_table(demo)
    assert len(every) > 0 and every["name"].notna().all()
    beat = every["beat_id"].dropna().iloc[0]
    officer = key_contacts(demo, Scope.for_caller(tree, "beat_officer", [beat]))
    assert set(officer["beat_id"]) == {beat}
    assert officer["name"].isna().all()  # a beat officer gets no names
    npa = tree.set_index("area_id").loc[beat, "parent_id"]
    sup = key_contacts(demo, Scope.for_caller(tree, "supervisor", [npa]))
    assert beat in set(sup["beat_id"]) and sup["name"].notna().all()
    assert len(key_contacts(demo, Scope.for_caller(tree, "partner"))) == 0
    assert len(key_contacts(demo, FORCE)) == len(every)


# -- attributions ------------------------------------------------------------------------------

def test_attributions_of_the_demo_and_of_imported_kinds(demo):
    assert data_attributions(demo) == [DEMO_MAP_LINE]
    assert data_attributions(demo, "document") == [DEMO_DOCUMENT_LINE]
    lines = attribution_lines(["postcodes", "streets"], False)
    assert lines == [
        "Contains public sector information licensed under the Open Government Licence v3.0",
        "Contains OS data © Crown copyright and database right",
        "Contains Royal Mail data © Royal Mail copyright and database right",
        "Contains National Statistics data © Crown copyright and database right",
        "© OpenStreetMap contributors (ODbL)"]
    doc = attribution_lines(["streets", "crimes", "members"], False, "document")
    assert [d.split(":")[0] for d in doc] == ["Crime", "Streets"]
    with pytest.raises(ValueError, match="form"):
        attribution_lines([], False, "poster")


# -- the tactical document's content -----------------------------------------------------------

def test_tactical_content_of_a_beat(demo):
    from spatial_core.api.tactical import tactical_content
    from spatial_core.targeting.profiles import load_profile

    tree = _tree(demo)
    beats = sorted(tree.loc[tree["level"] == "beat", "area_id"])
    profile = load_profile("default")
    c = tactical_content(demo, beats[0], profile, top=5, min_n=5)
    assert c.level == "beat" and c.area_id == beats[0]
    assert c.attributions == (DEMO_DOCUMENT_LINE,)
    assert len(c.recommended) <= 5 and c.recommended["rank"].tolist() == \
        list(range(1, len(c.recommended) + 1))
    assert (np.diff(c.recommended["score"].to_numpy()) <= 0).all()
    assert c.streets.crs.to_epsg() == 27700 and c.area.geometry.iloc[0].area > 0
    same = score_streets_for(demo, FORCE, profile, area=beats[0]).scores
    assert sorted(c.streets["street_id"]) == sorted(same["street_id"])
    officer = Scope.for_caller(tree, "beat_officer", [beats[1]])
    with pytest.raises(NotFoundError):
        tactical_content(demo, beats[0], profile, scope=officer)
