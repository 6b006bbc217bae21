# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups and communities in the running service (issue 11): the ``network_gaps`` and
``network_groups`` collections, the ``priorities-by-group`` process, the
``area-representation`` process by census group and ``create-setup`` for a community, for
every role. Expected values are counted from the store here (members, their groups and
places, survey rows), never taken from the service's own code; partners and the public
never see a count from 1 to k-1 and never a name."""
from __future__ import annotations

import json
import urllib.parse
from datetime import date

import pytest

from tests.geoservice.test_access_matrix import (
    DENIED,
    OFFICER_BEAT,
    OTHER_BEAT,
    PURPOSE,
    ROLES,
    SUPERVISOR_NPA,
)

AGGREGATE = ("partner", "partner_key", "public")


def _get(service, callers, role, path):
    status, _, body = service.get(path, headers=PURPOSE, **callers[role])
    return status, (json.loads(body) if body else None)


def _items(service, callers, role, cid, **params):
    q = urllib.parse.urlencode({"limit": 10000, "skipGeometry": "true", **params})
    return _get(service, callers, role, f"/collections/{cid}/items?{q}")


def _execute(service, callers, role, pid, inputs):
    h = {"Content-Type": "application/json", **PURPOSE}
    status, _, raw = service.request("POST", f"/processes/{pid}/execution",
                                     body=json.dumps({"inputs": inputs}).encode(),
                                     headers=h, **callers[role])
    return status, (json.loads(raw) if raw else None)


def _small(value, k) -> bool:
    return value is not None and 1 <= value < k


@pytest.fixture(scope="module")
def counted(service):
    """From the store, by hand: current key individuals and advisory group members per beat
    (the beat of their address, else of their point), members' broad ethnicity, survey
    responses per channel."""
    from spatial_core import open_store
    from spatial_core.io.members import ETHNICITIES
    from spatial_core.store.index import assign_points_to_areas

    s = open_store(service.store, create=False)
    try:
        m = s.read("members", ["member_id", "uprn", "joined", "left_on", "ethnicity", "x",
                               "y"])
        g = s.read("member_groups", ["member_id", "grp"])
        addresses = s.read("addresses", ["uprn", "beat_id"])
        surveys = s.read("surveys", ["response_id", "channel"])
        m["point_beat"] = assign_points_to_areas(s, m["x"].to_numpy(float),
                                                 m["y"].to_numpy(float), "beat")
    finally:
        s.close()
    today = date.today().isoformat()
    left = m["left_on"].fillna("").astype(str).str.slice(0, 10)
    m = m[(m["joined"].fillna("").astype(str).str.slice(0, 10) <= today)
          & ((left == "") | (left > today))]
    m = m.merge(addresses, on="uprn", how="left")
    m["beat_id"] = m["beat_id"].where(m["uprn"].notna(), m["point_beat"])
    per = {}
    for net in ("key_individual", "iag"):
        ids = set(g.loc[g["grp"] == net, "member_id"])
        per[net] = m[m["member_id"].isin(ids)].groupby("beat_id").size()
    m["broad"] = m["ethnicity"].map(lambda v: ETHNICITIES.get(v, v) if isinstance(v, str)
                                    else None)
    return {"per_beat": per, "members": m, "channels": surveys["channel"].value_counts()}


@pytest.mark.parametrize("role", ROLES)
def test_network_gaps_police_exact_in_their_beats_others_every_beat_disclosed(
        service, callers, counted, role):
    status, body = _items(service, callers, role, "network_gaps")
    assert status == 200, body
    rows = {f["id"]: f["properties"] for f in body["features"]}
    if role == "beat_officer":
        assert set(rows) == {OFFICER_BEAT}
    elif role == "supervisor":
        assert set(rows) and all(r["npa_id"] == SUPERVISOR_NPA for r in rows.values())
        assert OTHER_BEAT not in rows
    else:
        assert OTHER_BEAT in rows and OFFICER_BEAT in rows and len(rows) == 8
    for beat, r in rows.items():
        assert not {"name", "postcode", "member_id", "email"} & set(r)
        for net in ("key_individual", "iag"):
            exact = int(counted["per_beat"][net].get(beat, 0))
            if role in AGGREGATE:
                assert r[net] in (None, exact) and not _small(r[net], service.k)
                assert r["disclosure"] == f"k={service.k}"
            else:
                assert r[net] == exact and r["disclosure"] == "exact"
                assert r[f"no_{net}"] == (exact == 0)
    if role in AGGREGATE:  # the small demo has small counts: they are withheld
        assert any(r["key_individual"] is None for r in rows.values())
        withheld = [r for r in rows.values() if r["key_individual"] is None]
        assert all(r["key_individual_per_1000"] is None and r["below_min"] is None
                   for r in withheld)


def test_network_gaps_min_members_flags_beats_with_fewer(service, callers, counted):
    status, body = _items(service, callers, "force_analyst", "network_gaps", min_members=3)
    assert status == 200, body
    for f in body["features"]:
        n = int(counted["per_beat"]["key_individual"].get(f["id"], 0))
        assert f["properties"]["below_min"] == (n < 3)
    status, body = _items(service, callers, "force_analyst", "network_gaps", min_members="x")
    assert status == 400 and "min_members" in body["description"]


@pytest.mark.parametrize("role", ROLES)
def test_network_groups_by_ethnicity(service, callers, counted, role):
    status, body = _items(service, callers, role, "network_groups", by="ethnicity")
    assert status == 200, body
    rows = [f["properties"] for f in body["features"]]
    if role in ("supervisor", "beat_officer"):  # the force row is outside their areas
        assert rows == []
        status, body = _items(service, callers, role, "network_groups", by="ethnicity",
                              area_level="beat")
        rows = [f["properties"] for f in body["features"]]
        assert rows and OTHER_BEAT not in {r["area_id"] for r in rows}
        assert OFFICER_BEAT in {r["area_id"] for r in rows}
        return
    assert {(r["network"], r["group"]) for r in rows} == {
        (n, g) for n in ("key_individual", "iag")
        for g in ("asian", "black", "mixed", "other", "white")}
    m = counted["members"]
    for r in rows:
        exact = int((m["broad"] == r["group"]).sum())
        if role in AGGREGATE:
            for c in ("population", "network_members", "members"):
                assert not _small(r[c], service.k), (r, c)
            assert r["members"] in (None, exact)
            if r["network_members"] is None:
                assert r["network_member_ratio"] is None and r["network_member_share"] is None
        else:
            assert r["members"] == exact
            share = r["network_members"] / r["network_member_n"]
            assert r["network_member_share"] == pytest.approx(share)
            assert r["network_member_ratio"] == pytest.approx(share / r["population_share"])
            assert r["network_member_below"] == (r["network_member_ratio"] < 0.7)
    status, body = _items(service, callers, role, "network_groups", by="nonsense")
    assert status == 400 and "by=" in body["description"]


@pytest.mark.parametrize("role", ROLES)
def test_priorities_by_group_police_exact_partners_and_public_disclosed(
        service, callers, counted, role):
    status, body = _execute(service, callers, role, "priorities-by-group",
                            {"by": "channel", "level": "force"})
    assert status == 200, body
    if role in ("supervisor", "beat_officer"):  # the force is outside their areas
        assert body["people"] == body["priorities"] == body["scores"] == []
        status, body = _execute(service, callers, role, "priorities-by-group",
                                {"by": "channel", "level": "beat"})
        seen = {r["area_id"] for r in body["people"]}
        assert status == 200 and OFFICER_BEAT in seen and OTHER_BEAT not in seen
        return
    people = {r["group"]: r for r in body["people"]}
    assert set(people) == set(counted["channels"].index)
    for ch, n in counted["channels"].items():
        if role in AGGREGATE:
            assert people[ch]["responses"] in (None, int(n))
            assert not _small(people[ch]["responses"], service.k)
        else:
            assert people[ch]["responses"] == int(n)
    for r in body["priorities"]:
        if role in AGGREGATE:
            assert not _small(r["votes"], service.k) and not _small(r["n"], service.k)
            if r["votes"] is not None and r["n"] is not None:  # nor their complement
                assert not _small(r["n"] - r["votes"], service.k)
            if r["n"] is None:
                assert r["share"] is None and r["ci_low"] is None
        elif r["n"]:
            assert r["share"] == pytest.approx(r["votes"] / r["n"])
            assert r["ci_low"] <= r["share"] <= r["ci_high"]
    for r in body["scores"]:
        if role not in AGGREGATE and r["confidence_n"]:
            assert r["confidence_ci_low"] <= r["confidence"] <= r["confidence_ci_high"]
    assert body["disclosure"] == (f"k={service.k}" if role in AGGREGATE else "exact")
    if role in AGGREGATE:
        assert any(r["n"] is None for r in body["priorities"])  # something small to hide


def test_priorities_by_group_bad_input_says_what_was_expected(service, callers):
    status, body = _execute(service, callers, "force_analyst", "priorities-by-group",
                            {"by": "shoe_size"})
    assert status == 400 and "channel" in body["description"]
    status, body = _execute(service, callers, "force_analyst", "priorities-by-group",
                            {"period": "spring"})
    assert status == 400 and "2026Q1" in body["description"]


@pytest.mark.parametrize("role", ["force_analyst", "supervisor", "beat_officer"])
def test_area_representation_by_ethnicity_in_the_callers_beat(service, callers, counted,
                                                              role):
    status, body = _execute(service, callers, role, "area-representation",
                            {"area": OFFICER_BEAT, "by": "ethnicity", "target": 0.8,
                             "min_n": 2})
    assert status == 200, body
    groups = {r["group"]: r for r in body["groups"]}
    assert set(groups) == {"asian", "black", "mixed", "other", "white"}
    m = counted["members"]
    here = m[m["beat_id"] == OFFICER_BEAT]
    n = int(here["broad"].isin(list(groups)).sum())
    for g, r in groups.items():
        assert r["members"] == int((here["broad"] == g).sum())
        assert r["member_n"] == n
        assert r["member_ratio"] == pytest.approx(r["members"] / n / r["population_share"])
        judged = n * r["population_share"] >= 2
        assert r["member_below"] == (judged and r["member_ratio"] < 0.8)
    assert [c["area_id"] for c in body["coverage"]] == [OFFICER_BEAT]
    assert body["coverage"][0]["members"] == len(here)
    status, body = _execute(service, callers, role, "area-representation",
                            {"area": OFFICER_BEAT, "by": "ethnicity", "target": 2})
    assert status == 400 and "target" in body["description"]


@pytest.mark.parametrize("role", ROLES)
def test_create_setup_for_a_community(service, callers, role):
    status, body = _execute(service, callers, role, "create-setup",
                            {"name": f"Polish community {role}", "area": OFFICER_BEAT,
                             "community": "language:polish", "max_streets": 3})
    if role in DENIED:
        assert status == DENIED[role]
        return
    assert status == 200, body
    assert body["target_rule"] == "community language:polish"
    assert body["areas"] == [OFFICER_BEAT]
    status, walk = _get(service, callers, role,
                        f"/collections/walk_lists/items?setup_id={body['setup_id']}&limit=5")
    assert status == 200 and walk["numberMatched"] > 0
    if role == "force_analyst":
        status, body = _execute(service, callers, role, "create-setup",
                                {"name": "x", "area": OFFICER_BEAT, "community": "polish"})
        assert status == 400 and "BY:GROUP" in body["description"]
        status, body = _execute(service, callers, role, "create-setup",
                                {"name": "x", "area": OFFICER_BEAT,
                                 "community": "language:klingon"})
        assert status == 400 and "klingon" in body["description"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("beat", [OFFICER_BEAT, "beat:DM01B02", OTHER_BEAT])
def test_a_beat_of_network_gaps_inside_200_outside_404(service, callers, role, beat):
    q = urllib.parse.quote(beat, safe="")
    status, body = _get(service, callers, role, f"/collections/network_gaps/items/{q}?f=json")
    mine = {"force_analyst": True, "supervisor": beat != OTHER_BEAT,
            "beat_officer": beat == OFFICER_BEAT}.get(role, True)  # aggregates: every beat
    if mine:
        assert status == 200 and body["id"] == beat
        assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    else:
        assert status == 404  # never 403: the caller must not learn it exists
    row = f"key_individual.ethnicity.beat.{beat}.white"
    status, body = _get(service, callers, role, "/collections/network_groups/items/"
                        f"{urllib.parse.quote(row, safe='')}?f=json")
    assert status == (200 if mine else 404), body
    if mine:
        assert body["properties"]["by"] == "ethnicity" and body["properties"]["group"] == "white"
    bad = urllib.parse.quote("key_individual.shoe.beat.x.y", safe="")
    status, body = _get(service, callers, role, f"/collections/network_groups/items/{bad}")
    assert status == 400 and "by=" in body["description"]


@pytest.mark.parametrize("how", ["property", "cql2", "bbox"])
@pytest.mark.parametrize("role", ["supervisor", "beat_officer"])
def test_a_filter_or_bbox_on_an_outside_beat_finds_nothing(service, callers, demo, role, how):
    outline = demo["geoms"].set_index("area_id").geometry[OTHER_BEAT]
    inner = outline.representative_point().buffer(20).bounds
    params = {"property": {"area_id": OTHER_BEAT},
              "cql2": {"filter": f"area_id='{OTHER_BEAT}'"},
              "bbox": {"bbox": ",".join(str(v) for v in inner),
                       "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/27700"}}[how]
    status, ref = _items(service, callers, "force_analyst", "network_gaps", **params)
    assert status == 200 and OTHER_BEAT in {f["id"] for f in ref["features"]}
    status, body = _items(service, callers, role, "network_gaps", **params)
    assert status == 200, body
    assert OTHER_BEAT not in {f["id"] for f in body["features"]}
