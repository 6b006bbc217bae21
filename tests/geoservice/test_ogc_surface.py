# SPDX-License-Identifier: GPL-3.0-or-later
"""The rest of the OGC API surface against the running service: street scores, H3 cell
aggregates, area profiles, set-ups, walk lists, key contacts, CQL2 filters and sorting, and
the processes (sync and async with job status), each checked against spatial_core."""
from __future__ import annotations

import json
import time
import urllib.parse

import numpy as np
import pandas as pd
import pytest
import shapely

OFFICER_BEAT = "beat:DM01B01"
OTHER_BEAT = "beat:DM02B04"
PURPOSE = {"X-Purpose": "planning beat patrols"}


@pytest.fixture(scope="module")
def tokens(service):
    return {"analyst": service.token("force_analyst"),
            "supervisor": service.token("supervisor", ["DM01"]),
            "officer": service.token("beat_officer", [OFFICER_BEAT]),
            "partner": service.token("partner")}


@pytest.fixture(scope="module")
def scores(service):
    from spatial_core import open_store
    from spatial_core.targeting.scoring import load_scores

    s = open_store(service.store, create=False)
    try:
        head, frame = load_scores(s)
    finally:
        s.close()
    return head, frame


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _features(service, path, **kw):
    status, body = service.json(path, **kw)
    assert status == 200, body
    return body


# -- street scores --------------------------------------------------------------------------

def test_street_scores_default_run_is_stored_and_served_to_an_officer(service, tokens, scores):
    head, frame = scores
    assert head["profile_name"] == "default"
    body = _features(service, "/collections/street_scores/items?limit=1000",
                     token=tokens["officer"])
    mine = frame[frame["beat_id"] == OFFICER_BEAT]
    assert body["numberMatched"] == len(mine) > 0
    got = {f["id"]: f["properties"] for f in body["features"]}
    assert set(got) == set(mine["street_id"])
    row = mine.iloc[0]
    p = got[row["street_id"]]
    assert p["score"] == pytest.approx(row["score"], abs=1e-6)
    assert p["rank_in_beat"] == row["rank_in_beat"]
    assert p["reasons"] == row["reasons"]
    assert p["profile"] == "default" and p["run_id"] == head["run_id"]
    assert p["components"]["harm"]["scaled"] == pytest.approx(row["harm"], abs=1e-6)
    assert p["components"]["coverage"]["raw"] == pytest.approx(row["coverage_raw"], abs=1e-6)


@pytest.mark.parametrize("who,status", [("partner", 403), (None, 401)])
def test_street_scores_refused_to_partners_and_public(service, tokens, who, status):
    got, _ = service.json("/collections/street_scores/items",
                          token=tokens[who] if who else None)
    assert got == status


def test_street_score_outside_the_beat_is_404(service, tokens, scores):
    _, frame = scores
    sid = frame.loc[frame["beat_id"] == OTHER_BEAT, "street_id"].iloc[0]
    path = f"/collections/street_scores/items/{_q(sid)}"
    assert service.json(path, token=tokens["officer"])[0] == 404
    assert service.json(path, token=tokens["analyst"])[0] == 200


# -- filters and sorting --------------------------------------------------------------------

def test_cql2_text_filter_and_sort_equal_pandas(service, tokens, scores):
    _, frame = scores
    text = "score > 0.3 AND (households >= 5 OR rank_in_beat <= 2)"
    body = _features(service, f"/collections/street_scores/items?limit=1000&sortby=-score"
                              f"&filter={_q(text)}", token=tokens["analyst"])
    f = frame.merge(_households(service), on="street_id")
    want = f[(f["score"] > 0.3) & ((f["households"] >= 5) | (f["rank_in_beat"] <= 2))]
    assert body["numberMatched"] == len(want) > 0
    got = [x["properties"]["score"] for x in body["features"]]
    assert got == sorted(got, reverse=True)
    assert {x["id"] for x in body["features"]} == set(want["street_id"])


def _households(service) -> pd.DataFrame:
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        return s.read("streets", ["street_id", "households"])
    finally:
        s.close()


def test_filter_never_widens_the_officers_scope(service, tokens, scores):
    _, frame = scores
    for text in (f"beat_id = '{OTHER_BEAT}'", f"beat_id = '{OTHER_BEAT}' OR score >= 0"):
        body = _features(service, f"/collections/street_scores/items?limit=1000"
                                  f"&filter={_q(text)}", token=tokens["officer"])
        assert {x["properties"]["beat_id"] for x in body["features"]} <= {OFFICER_BEAT}
    body = _features(service, f"/collections/streets/items?resulttype=hits"
                              f"&filter={_q(f'beat_id = {OTHER_BEAT!r}')}",
                     token=tokens["officer"])
    assert body["numberMatched"] == 0


def test_cql2_json_post_equals_cql2_text_with_intersects(service, tokens, demo):
    s = demo["streets"]
    mine = s[s["beat_id"] == OFFICER_BEAT]
    x0, y0, x1, y1 = shapely.bounds(mine.geometry.iloc[0])
    box = shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)
    want = set(mine.loc[shapely.intersects(mine.geometry.to_numpy(), box), "street_id"])
    bng = "http://www.opengis.net/def/crs/EPSG/0/27700"
    text = f"INTERSECTS(geometry, {box.wkt}) AND score >= 0"
    body = _features(service, f"/collections/street_scores/items?limit=1000&filter-crs={bng}"
                              f"&filter={_q(text)}", token=tokens["officer"])
    assert {x["id"] for x in body["features"]} == want
    cql = {"op": "and", "args": [
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                        json.loads(shapely.to_geojson(box))]},
        {"op": ">=", "args": [{"property": "score"}, 0]}]}
    status, _, raw = service.request(
        "POST", f"/collections/street_scores/items?limit=1000&filter-crs={bng}",
        body=json.dumps(cql).encode(), token=tokens["officer"],
        headers={"Content-Type": "application/query-cql-json"})
    assert status == 200, raw
    assert {x["id"] for x in json.loads(raw)["features"]} == want
    # The same filter on the SQL-backed streets collection.
    body = _features(service, f"/collections/streets/items?limit=1000&filter-crs={bng}"
                              f"&filter={_q(f'INTERSECTS(geometry, {box.wkt})')}",
                     token=tokens["officer"])
    assert {x["id"] for x in body["features"]} == want


@pytest.mark.parametrize("text,message", [
    ("nosuch = 1", "unknown property 'nosuch'"),
    ("score = 'high'", "'score' is a number"),
    ("name > 3", "compare it with text"),
    ("score + 1 > 2", "not supported"),
    ("components = 1", "cannot be compared"),
])
def test_unsupported_or_bad_filters_are_400_with_the_reason(service, tokens, text, message):
    status, body = service.json(f"/collections/street_scores/items?filter={_q(text)}",
                                token=tokens["officer"])
    assert status == 400
    assert message in body["description"]


def test_queryables_list_the_fields(service, tokens):
    status, body = service.json("/collections/street_scores/queryables?f=json",
                                token=tokens["officer"])
    assert status == 200
    props = body["properties"]
    assert {"score", "rank_in_beat", "reasons", "beat_id", "geometry"} <= set(props)
    assert props["score"]["type"] == "number" and props["rank_in_beat"]["type"] == "integer"


# -- H3 cells -------------------------------------------------------------------------------

def test_crime_cells_public_have_no_small_counts_and_no_single_withheld(service):
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells

    body = _features(service, "/collections/crime_cells/items?limit=10000")
    counts = [f["properties"]["crimes"] for f in body["features"]]
    assert not any(c is not None and 1 <= c < service.k for c in counts)
    s = open_store(service.store, create=False)
    try:
        exact = crime_cells(s, 8)
    finally:
        s.close()
    assert body["numberMatched"] == len(exact)
    assert sum(c is None for c in counts) != 1  # total minus the others would reveal it
    for f in body["features"]:
        if f["properties"]["crimes"] is None:
            assert f["properties"]["harm_days"] is None


def test_crime_cells_exact_for_an_officer_in_their_beat(service, tokens):
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells

    s = open_store(service.store, create=False)
    try:
        want = crime_cells(s, 8, beats=[OFFICER_BEAT]).set_index("cell_id")["crimes"]
    finally:
        s.close()
    body = _features(service, "/collections/crime_cells/items?limit=1000",
                     token=tokens["officer"])
    got = {f["id"]: f["properties"]["crimes"] for f in body["features"]}
    assert got == want.to_dict()
    assert {f["properties"]["disclosure"] for f in body["features"]} == {"exact"}


# -- area profiles --------------------------------------------------------------------------

def test_area_profiles_public_are_disclosure_controlled(service):
    body = _features(service, "/collections/area_profiles/items?limit=100")
    assert body["numberMatched"] == 17
    for f in body["features"]:
        p = f["properties"]
        for c in ("respondents", "members", "households", "crimes"):
            assert p[c] is None or p[c] == 0 or p[c] >= service.k
        assert p["votes"] is None and p["representation"] is None
        if p["respondents"] is None:
            assert p["priorities"] is None


def test_area_profiles_officer_sees_their_beat_with_votes(service, tokens):
    from spatial_core import open_store
    from spatial_core.analytics.priorities import local_priorities

    body = _features(service, "/collections/area_profiles/items", token=tokens["officer"])
    assert [f["id"] for f in body["features"]] == [OFFICER_BEAT]
    p = body["features"][0]["properties"]
    s = open_store(service.store, create=False)
    try:
        lp = local_priorities(s, level="beat")
    finally:
        s.close()
    lp = lp[lp["area_id"] == OFFICER_BEAT]
    assert p["respondents"] == int(lp["n"].max())
    assert p["votes"] == {r.priority: int(r.votes) for r in lp.itertuples() if r.votes > 0}
    assert isinstance(p["representation"], list) and p["representation"]


# -- key contacts ---------------------------------------------------------------------------

def test_key_contacts_names_for_supervisors_not_for_officers(service, tokens):
    sup = _features(service, "/collections/key_contacts/items?limit=1000",
                    token=tokens["supervisor"], headers=PURPOSE)
    off = _features(service, "/collections/key_contacts/items?limit=1000",
                    token=tokens["officer"], headers=PURPOSE)
    assert off["numberMatched"] > 0
    assert {f["properties"]["beat_id"] for f in off["features"]} == {OFFICER_BEAT}
    assert all(f["properties"]["name"] is None for f in off["features"])
    assert all(f["properties"]["name"] for f in sup["features"])
    assert {f["id"] for f in off["features"]} <= {f["id"] for f in sup["features"]}
    probe = _q("name LIKE 'A%'")
    status, body = service.json(f"/collections/key_contacts/items?filter={probe}",
                                token=tokens["officer"], headers=PURPOSE)
    assert status == 400 and "unknown property 'name'" in body["description"]


def test_key_contacts_need_a_purpose_and_are_audited(service, tokens):
    status, _ = service.json("/collections/key_contacts/items", token=tokens["officer"])
    assert status == 400
    assert service.json("/collections/key_contacts/items", token=tokens["partner"])[0] == 403
    body = _features(service, "/collections/key_contacts/items?limit=3",
                     token=tokens["officer"], headers=PURPOSE)
    entries = [json.loads(x) for x in service.audit.read_text().splitlines()]
    reads = [e for e in entries if e.get("collection") == "key_contacts"
             and e["action"] == "read" and e["sub"] == "beat_officer-1"]
    assert reads and reads[-1]["ids"] == [f["id"] for f in body["features"]]
    assert reads[-1]["purpose"] == PURPOSE["X-Purpose"]
    assert any(e.get("collection") == "key_contacts" and e["action"] == "denied"
               for e in entries)


# -- processes ------------------------------------------------------------------------------

def _execute(service, pid, inputs, token, headers=None):
    h = {"Content-Type": "application/json", **(headers or {})}
    status, hdrs, raw = service.request("POST", f"/processes/{pid}/execution",
                                        body=json.dumps({"inputs": inputs}).encode(),
                                        token=token, headers=h)
    return status, hdrs, (json.loads(raw) if raw else None)


def test_processes_are_listed(service):
    status, body = service.json("/processes?f=json")
    assert status == 200
    assert {p["id"] for p in body["processes"]} == {
        "score-area", "area-representation", "create-setup", "compose-message",
        "you-said-we-did-draft", "send-message", "record-action", "answer-reply", "door-survey",
        "evaluate-setup", "priorities-by-group"}


def test_score_area_equals_spatial_core_and_other_beat_is_404(service, tokens):
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, score_streets

    status, _, body = _execute(service, "score-area", {"area": OFFICER_BEAT,
                                                       "profile": "harm"}, tokens["officer"])
    assert status == 200, body
    p = load_profile("harm")
    s = open_store(service.store, create=False)
    try:
        want = score_streets(prepare_inputs(s, area=OFFICER_BEAT, scheme=p.scheme,
                                            level=p.level, crime_distance_m=p.crime_distance_m,
                                            voice_radius_m=p.voice_radius_m), p)
    finally:
        s.close()
    assert body["streets"] == len(want)
    assert [r["street_id"] for r in body["scores"]] == want["street_id"].tolist()
    assert np.allclose([r["score"] for r in body["scores"]], want["score"])
    status, _, body = _execute(service, "score-area", {"area": OTHER_BEAT}, tokens["officer"])
    assert status == 404 and OTHER_BEAT in body["description"]
    status, _, body = _execute(service, "score-area", {"area": OFFICER_BEAT},
                               tokens["partner"])
    assert status == 403
    status, _, body = _execute(service, "score-area", {"area": OFFICER_BEAT, "bogus": 1},
                               tokens["officer"])
    assert status == 400 and "unknown inputs ['bogus']" in body["description"]


def test_representation_process_for_the_officers_beat(service, tokens):
    from spatial_core import open_store
    from spatial_core.analytics.representation import representation

    status, _, body = _execute(service, "area-representation", {"area": OFFICER_BEAT},
                               tokens["officer"])
    assert status == 200, body
    s = open_store(service.store, create=False)
    try:
        r = representation(s, area_level="beat")
    finally:
        s.close()
    r = r[r["area_id"] == OFFICER_BEAT]
    assert [g["group"] for g in body["groups"]] == r["group"].tolist()
    assert [g["members"] for g in body["groups"]] == r["members"].tolist()
    status, _, _ = _execute(service, "area-representation", {"area": OTHER_BEAT},
                            tokens["officer"])
    assert status == 404


def test_create_setup_async_job_then_setups_and_walk_lists(service, tokens):
    status, hdrs, body = _execute(service, "create-setup",
                                  {"area": OFFICER_BEAT, "name": "Async test", "max_streets": 3},
                                  tokens["officer"], {"Prefer": "respond-async", **PURPOSE})
    assert status == 201, body
    job = hdrs["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while True:
        st, info = service.json(f"/jobs/{job}?f=json", token=tokens["officer"])
        assert st == 200
        if info["status"] in ("successful", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert info["status"] == "successful", info
    # Another officer never sees the job or its results.
    other = service.token("beat_officer", [OTHER_BEAT], sub="other-officer")
    assert service.json(f"/jobs/{job}?f=json", token=other)[0] == 404
    assert service.json(f"/jobs/{job}/results?f=json", token=other)[0] == 404
    st, result = service.json(f"/jobs/{job}/results?f=json", token=tokens["officer"])
    assert st == 200
    sid = result["setup_id"]
    st, setup = service.json(f"/collections/setups/items/{sid}?f=json",
                             token=tokens["officer"])
    assert st == 200 and setup["properties"]["streets"] == 3
    assert setup["properties"]["beats"] == [OFFICER_BEAT]
    walk = _features(service, f"/collections/walk_lists/items?limit=1000&setup_id={sid}",
                     token=tokens["officer"], headers=PURPOSE)
    assert walk["numberMatched"] == setup["properties"]["households_to_knock"] > 0
    assert {f["properties"]["beat_id"] for f in walk["features"]} == {OFFICER_BEAT}
    assert service.json(f"/collections/setups/items/{sid}", token=other)[0] == 404
    hits = _features(service, f"/collections/walk_lists/items?resulttype=hits&setup_id={sid}",
                     token=other, headers=PURPOSE)
    assert hits["numberMatched"] == 0
    st, _, body = _execute(service, "create-setup", {"area": OFFICER_BEAT, "name": "x"},
                           tokens["officer"])
    assert st == 400 and "X-Purpose" in body["description"]
