# SPDX-License-Identifier: GPL-3.0-or-later
"""The progress collections on the running service: role x area, disclosure for partners and
the public, the officer ids audited with a purpose, bad input. What each role should get is
worked out here from the store (set-up streets, visits and addresses), not from the
service's scope code; the counting rules are checked by hand in tests/core/test_progress.py.
"""
from __future__ import annotations

import datetime as dt

import pytest

OFFICER_BEAT = "beat:DM01B01"
SUPERVISOR_NPA = "npa:DM01"
PURPOSE = {"X-Purpose": "supervising set-ups"}
POLICE = ("force_analyst", "supervisor", "beat_officer")
ROW_COLLECTIONS = ("progress_setups", "progress_beats", "progress_officers", "progress_days")
CREATED = "2026-07-01T09:00:00"


@pytest.fixture(scope="module")
def facts(service):
    """Two live set-ups made here in the past (so the demo's visits count): one on the beat
    with the most visits, one on the officer's beat; then what the store holds."""
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    s = open_store(service.store, create=False)
    try:
        addr = s.read("addresses", ["uprn", "beat_id"])
        visits = s.read("visits", ["visit_id", "uprn", "visited_at", "outcome", "officer"])
        visits = visits.merge(addr, on="uprn", how="left")
        busy = visits["beat_id"].value_counts().index[0]
        create_setup(s, "Progress busy", areas=[busy], setup_id="progress-busy", now=CREATED,
                     max_streets=40, targets={"visits": 200, "registrations": 20})
        create_setup(s, "Progress mine", areas=[OFFICER_BEAT], setup_id="progress-mine",
                     now=CREATED, max_streets=5)
        setups = s.read("setups", ["setup_id", "status", "created_at"])
        streets = s.read("setup_streets", ["setup_id", "beat_id"])
        areas = s.read("areas", ["area_id", "level", "parent_id"])
        reg = s.read("door_registrations", ["visit_id"])
    finally:
        s.close()
    return {"busy": busy, "setups": setups, "streets": streets, "areas": areas,
            "visits": visits, "registrations": set(reg["visit_id"])}


def _beats(role: str, facts) -> set[str] | None:
    a = facts["areas"]
    npa = set(a.loc[(a["level"] == "beat") & (a["parent_id"] == SUPERVISOR_NPA), "area_id"])
    return {"force_analyst": None, "supervisor": npa, "beat_officer": {OFFICER_BEAT}}[role]


def _items(service, callers, cid, role, query="", headers=None):
    status, _, body = service.get(f"/collections/{cid}/items?f=json&limit=5000{query}",
                                  headers=headers or PURPOSE, **callers[role])
    import json

    return status, json.loads(body) if body else None


@pytest.mark.parametrize("role", POLICE)
def test_police_roles_see_the_live_setups_with_a_street_in_their_beats(service, callers, facts,
                                                                        role):
    mine = _beats(role, facts)
    live = facts["setups"][facts["setups"]["status"] == "live"]
    st = facts["streets"]
    expected = {sid for sid in live["setup_id"]
                if mine is None or set(st.loc[st["setup_id"] == sid, "beat_id"]) & mine}
    status, body = _items(service, callers, "progress_setups", role)
    assert status == 200, body
    got = {f["id"] for f in body["features"]}
    assert got == expected
    assert ("progress-busy" in got) == (mine is None or facts["busy"] in mine)
    assert "progress-mine" in got
    status, beats = _items(service, callers, "progress_beats", role)
    assert status == 200
    if mine is not None:
        assert {f["properties"]["beat_id"] for f in beats["features"]} <= mine


@pytest.mark.parametrize("role", POLICE)
def test_officer_rows_hold_only_visits_in_the_callers_beats(service, callers, facts, role):
    mine = _beats(role, facts)
    status, body = _items(service, callers, "progress_officers", role)
    assert status == 200, body
    rows = [f["properties"] for f in body["features"]]
    v = facts["visits"]
    if mine is not None:
        v = v[v["beat_id"].isin(mine)]
    assert {r["officer"] for r in rows} <= set(v["officer"].dropna()) | {"(not recorded)"}
    busy = [r for r in rows if r["setup_id"] == "progress-busy"]
    _, setups = _items(service, callers, "progress_setups", role)
    whole = {f["id"]: f["properties"] for f in setups["features"]}
    if mine is None:  # every visit of the set-up is some officer's
        assert sum(r["visits"] for r in busy) == whole["progress-busy"]["visits"] > 0
        _, days = _items(service, callers, "progress_days", role)
        assert sum(d["properties"]["visits"] for d in days["features"]
                   if d["properties"]["setup_id"] == "progress-busy") == \
            whole["progress-busy"]["visits"]


def test_officer_ids_need_a_purpose_and_are_audited(service, callers, facts):
    status, body = _items(service, callers, "progress_officers", "supervisor",
                          headers={"Accept": "application/json"})
    assert status == 400 and "X-Purpose" in str(body)
    status, _ = _items(service, callers, "progress_officers", "supervisor")
    assert status == 200
    status, headers, _ = service.get("/collections/progress_officers/items?f=json",
                                     headers=PURPOSE, **callers["supervisor"])
    assert status == 200 and headers["Cache-Control"] == "no-store"  # never kept by a phone
    text = service.audit.read_text()
    assert '"collection": "progress_officers"' in text or \
        '"collection":"progress_officers"' in text


def test_the_headline_of_a_beat_officer_counts_the_visits_in_their_beat(service, callers,
                                                                       facts):
    status, body = _items(service, callers, "progress_headline", "beat_officer")
    assert status == 200
    h = body["features"][0]["properties"]
    v = facts["visits"][facts["visits"]["beat_id"] == OFFICER_BEAT]
    assert h["visits"] == len(v) and h["households_visited"] == v["uprn"].nunique()
    status, body = _items(service, callers, "progress_headline", "force_analyst",
                          "&since=2026-09-01")
    v = facts["visits"]
    assert body["features"][0]["properties"]["visits"] == int(
        (v["visited_at"] >= "2026-09-01").sum())


@pytest.mark.parametrize("role", ["partner", "partner_key", "public"])
def test_partners_and_the_public_get_the_force_headline_only_with_small_counts_withheld(
        service, callers, facts, role):
    for cid in ROW_COLLECTIONS:
        status, _ = _items(service, callers, cid, role)
        assert status == (401 if role == "public" else 403), cid
    status, body = _items(service, callers, "progress_headline", role)
    assert status == 200 and len(body["features"]) == 1
    h = body["features"][0]["properties"]
    today = dt.date.today()
    until = (today.replace(day=1) - dt.timedelta(days=1)).isoformat()
    assert h["until"] == until and h["k"] == service.k
    v = facts["visits"][facts["visits"]["visited_at"].str.slice(0, 10) <= until]
    registered = ((v["outcome"] == "registered") | v["visit_id"].isin(facts["registrations"]))
    truth = {"visits": len(v), "households_visited": v["uprn"].nunique(),
             "registered": int(registered.sum())}
    for name, n in truth.items():
        assert h[name] == (None if 1 <= n < service.k else n), name
    for name in ("joined", "surveyed", "surveyed_online"):
        assert h[name] is None or h[name] == 0 or h[name] >= service.k
    assert "officer" not in h and "setup_id" not in h


def test_a_bad_since_is_a_400_naming_the_format(service, callers):
    status, body = _items(service, callers, "progress_headline", "force_analyst",
                          "&since=yesterday")
    assert status == 400 and "YYYY-MM-DD" in str(body)
