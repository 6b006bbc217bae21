# SPDX-License-Identifier: GPL-3.0-or-later
"""Access control against the running service: every role x endpoint x inside / straddling /
outside the caller's area, counts that do not leak, 404 for out-of-area items."""
from __future__ import annotations

import urllib.parse

import numpy as np
import pytest
import shapely

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
OFFICER_BEAT = "beat:DM01B01"
SUPERVISOR_NPA = "npa:DM01"
PURPOSE = {"X-Purpose": "planning beat patrols"}


def _npa_beats(demo, npa=SUPERVISOR_NPA) -> set[str]:
    a = demo["areas"]
    return set(a.loc[(a["level"] == "beat") & (a["parent_id"] == npa), "area_id"])


def _visible_beats(role: str, demo) -> set[str] | None:
    return {"force_analyst": None, "supervisor": _npa_beats(demo),
            "beat_officer": {OFFICER_BEAT}}.get(role, set())


ROLES = ["force_analyst", "supervisor", "beat_officer", "partner", "partner_key", "public"]
DENIED = {"partner": 403, "partner_key": 403, "public": 401}


@pytest.mark.parametrize("role", ROLES)
def test_streets_list_counts_only_the_callers_beats(service, demo, callers, role):
    status, body = service.json("/collections/streets/items?limit=5", **callers[role])
    if role in DENIED:
        assert status == DENIED[role]
        return
    beats = _visible_beats(role, demo)
    s = demo["streets"]
    expected = len(s) if beats is None else int(s["beat_id"].isin(beats).sum())
    assert status == 200
    assert body["numberMatched"] == expected
    assert body["numberReturned"] == 5
    if beats is not None:
        assert {f["properties"]["beat_id"] for f in body["features"]} <= beats


@pytest.mark.parametrize("role", ROLES)
def test_streets_hits_do_not_leak_out_of_area_counts(service, demo, callers, role):
    status, body = service.json("/collections/streets/items?resulttype=hits", **callers[role])
    if role in DENIED:
        assert status == DENIED[role]
        return
    beats = _visible_beats(role, demo)
    s = demo["streets"]
    expected = len(s) if beats is None else int(s["beat_id"].isin(beats).sum())
    assert body["numberMatched"] == expected
    assert body["features"] == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_single_street_inside_200_outside_404(service, demo, callers, role, where):
    s = demo["streets"]
    in_beat = s["beat_id"] == OFFICER_BEAT
    sid = s.loc[in_beat if where == "inside" else s["beat_id"] == "beat:DM02B04",
                "street_id"].iloc[0]
    status, body = service.json(f"/collections/streets/items/{urllib.parse.quote(sid, safe='')}",
                                **callers[role])
    if role in DENIED:
        assert status == DENIED[role]
        return
    beats = _visible_beats(role, demo)
    beat = "beat:DM01B01" if where == "inside" else "beat:DM02B04"
    if beats is None or beat in beats:
        assert status == 200 and body["id"] == sid
    else:
        assert status == 404  # never 403: the caller must not learn it exists


@pytest.mark.parametrize("role", ["force_analyst", "supervisor", "beat_officer"])
def test_bbox_straddling_the_beat_returns_only_visible_streets(service, demo, callers, role):
    g = demo["geoms"].set_index("area_id").geometry
    beat = g[OFFICER_BEAT]
    # A box around the officer's beat, grown 300 m: it straddles the neighbouring beats.
    minx, miny, maxx, maxy = beat.bounds
    box = shapely.box(minx - 300, miny - 300, maxx + 300, maxy + 300)
    s = demo["streets"]
    hits = s[shapely.intersects(s.geometry.to_numpy(), box)]
    assert hits["beat_id"].nunique() > 1  # really straddling
    beats = _visible_beats(role, demo)
    expected = hits if beats is None else hits[hits["beat_id"].isin(beats)]
    q = urllib.parse.urlencode({"bbox": f"{minx - 300},{miny - 300},{maxx + 300},{maxy + 300}",
                                "bbox-crs": BNG, "limit": 1000, "skipGeometry": "true"})
    status, body = service.json(f"/collections/streets/items?{q}", **callers[role])
    assert status == 200
    assert body["numberMatched"] == len(expected)
    assert {f["id"] for f in body["features"]} == set(expected["street_id"])


@pytest.mark.parametrize("role", ["supervisor", "beat_officer"])
def test_property_filter_on_an_outside_beat_finds_nothing(service, callers, role):
    status, body = service.json("/collections/streets/items?beat_id=beat:DM02B04",
                                **callers[role])
    assert status == 200 and body["numberMatched"] == 0 and body["features"] == []


def test_sortby_and_paging_stay_in_scope(service, demo, callers):
    s = demo["streets"]
    mine = s[s["beat_id"] == OFFICER_BEAT]
    seen = []
    for offset in (0, 10, 20):
        status, body = service.json(
            f"/collections/streets/items?sortby=-street_id&limit=10&offset={offset}"
            "&skipGeometry=true", **callers["beat_officer"])
        assert status == 200 and body["numberMatched"] == len(mine)
        seen += [f["id"] for f in body["features"]]
    assert seen == sorted(mine["street_id"], reverse=True)[:30]


def test_csv_export_is_scoped_too(service, demo, callers):
    status, headers, body = service.get("/collections/streets/items?f=csv&limit=10000",
                                        **callers["beat_officer"])
    assert status == 200
    lines = body.decode().strip().splitlines()
    s = demo["streets"]
    assert len(lines) - 1 == int((s["beat_id"] == OFFICER_BEAT).sum())
    assert "DM02" not in body.decode()


@pytest.mark.parametrize("role", ROLES)
def test_areas_rows_by_role(service, demo, callers, role):
    status, body = service.json("/collections/areas/items?skipGeometry=true&limit=100",
                                **callers[role])
    assert status == 200
    ids = {f["id"] for f in body["features"]}
    a = demo["areas"]
    reporting = set(a.loc[a["level"].isin(["force", "npa", "beat", "ward"]), "area_id"])
    expected = {"force_analyst": reporting,
                "supervisor": _npa_beats(demo) | {SUPERVISOR_NPA},
                "beat_officer": {OFFICER_BEAT}}.get(role, reporting)
    assert ids == expected
    assert body["numberMatched"] == len(expected)


@pytest.mark.parametrize("role,status", [("beat_officer", 404), ("supervisor", 404),
                                         ("force_analyst", 200), ("public", 200)])
def test_area_item_outside_is_404(service, callers, role, status):
    got, _ = service.json("/collections/areas/items/beat:DM02B04", **callers[role])
    assert got == status


@pytest.mark.parametrize("role", ROLES)
def test_visits_list_by_role(service, demo, callers, role):
    status, body = service.json("/collections/visits/items?limit=1000&skipGeometry=true",
                                headers=PURPOSE, **callers[role])
    if role in DENIED:
        assert status == DENIED[role]
        return
    beats = _visible_beats(role, demo)
    v = demo["visits"]
    expected = v if beats is None else v[v["beat_id"].isin(beats)]
    assert status == 200
    # Visits recorded by other tests are newer; the demo's are all there and nothing else
    # from outside the scope.
    got = {f["id"] for f in body["features"]}
    assert set(expected["visit_id"]) <= got
    assert not (got & set(v.loc[~v["visit_id"].isin(expected["visit_id"]), "visit_id"]))


def test_visits_without_purpose_is_400(service, callers):
    status, body = service.json("/collections/visits/items", **callers["beat_officer"])
    assert status == 400
    assert "X-Purpose" in body["description"]


def test_api_key_with_a_default_purpose_reads_visits(service, demo):
    status, body = service.json("/collections/visits/items?resulttype=hits",
                                api_key=service.api_key)
    assert status == 200 and body["numberMatched"] >= len(demo["visits"])


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_single_visit_inside_200_outside_404(service, demo, where):
    v = demo["visits"]
    visit = v.dropna(subset=["beat_id"]).iloc[0]
    others = sorted(set(demo["areas"].query("level == 'beat'")["area_id"]) - {visit["beat_id"]})
    tok = service.token("beat_officer", [visit["beat_id"] if where == "inside" else others[0]])
    status, body = service.json(f"/collections/visits/items/{visit['visit_id']}",
                                headers=PURPOSE, token=tok)
    assert status == (200 if where == "inside" else 404)
    if where == "inside":
        assert body["properties"]["uprn"] == visit["uprn"]


@pytest.mark.parametrize("case", ["other_key", "expired", "wrong_audience", "wrong_issuer",
                                  "bad_role", "garbage", "unknown_api_key", "basic_auth"])
def test_bad_credentials_are_401_never_public(service, case):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    headers = {}
    if case == "other_key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tok = jwt.encode({"iss": "x", "aud": "y", "sub": "s", "exp": 9999999999,
                          "lpt_role": "force_analyst"}, other, algorithm="RS256",
                         headers={"kid": service.kid})
    elif case == "expired":
        tok = service.token("force_analyst", exp=1000)
    elif case == "wrong_audience":
        tok = service.token("force_analyst", aud="someone-else")
    elif case == "wrong_issuer":
        tok = service.token("force_analyst", iss="https://evil.invalid")
    elif case == "bad_role":
        tok = service.token("superuser")
    elif case == "garbage":
        tok = "not.a.token"
    if case == "unknown_api_key":
        headers["X-API-Key"] = "guess"
    elif case == "basic_auth":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    else:
        headers["Authorization"] = f"Bearer {tok}"
    status, resp_headers, _ = service.get("/collections/areas/items", headers=headers)
    assert status == 401
    assert "Bearer" in resp_headers.get("WWW-Authenticate", "")


def test_npa_claim_expands_to_its_beats(service, demo):
    tok = service.token("supervisor", ["npa:DM02"])
    status, body = service.json("/collections/streets/items?resulttype=hits", token=tok)
    s = demo["streets"]
    assert body["numberMatched"] == int(s["beat_id"].isin(_npa_beats(demo, "npa:DM02")).sum())
    assert np.all(s["beat_id"].notna())
