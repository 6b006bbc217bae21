# SPDX-License-Identifier: GPL-3.0-or-later
"""The access matrix against the running service: every role x every collection beyond
``streets``, ``areas`` and ``visits`` (test_access.py), their vector tiles and the processes,
with features inside, straddling and outside the caller's area. Expected ids and counts come
from the store (spatial_core), never from the service's own scope code."""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import urllib.parse
from datetime import date

import pytest
import shapely
from pyproj import Transformer

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
OFFICER_BEAT = "beat:DM01B01"
OTHER_BEAT = "beat:DM02B04"
SUPERVISOR_NPA = "npa:DM01"
PURPOSE = {"X-Purpose": "planning beat patrols"}
ROLES = ["force_analyst", "supervisor", "beat_officer", "partner", "partner_key", "public"]
POLICE = ROLES[:3]
DENIED = {"partner": 403, "partner_key": 403, "public": 401}
AGGREGATES = ("area_profiles", "crime_cells")  # every role reads them (disclosed for some)
COLLECTIONS = ["street_scores", "walk_lists", "key_contacts", "setups", *AGGREGATES]
ID = {"street_scores": "street_id", "walk_lists": "walk_id", "key_contacts": "member_id",
      "setups": "setup_id", "area_profiles": "area_id", "crime_cells": "cell_id"}
SETUPS = {"matrix-inside": [OFFICER_BEAT], "matrix-outside": [OTHER_BEAT],  # + straddling
          "matrix-same-npa": ["beat:DM01B02"], "matrix-next-npa": ["beat:DM02B01"]}
STRADDLING = "matrix-straddling"
TO_LNGLAT = Transformer.from_crs(27700, 4326, always_xy=True)


def _box(demo) -> tuple[float, float, float, float]:
    """The officer's beat bounds grown 300 m: it straddles the neighbouring beats."""
    minx, miny, maxx, maxy = demo["geoms"].set_index("area_id").geometry[OFFICER_BEAT].bounds
    return minx - 300, miny - 300, maxx + 300, maxy + 300


def _scope(role: str, demo) -> set[str] | None:
    """The beats a role may see (None: all), from the area tree."""
    a = demo["areas"]
    npa = set(a.loc[(a["level"] == "beat") & (a["parent_id"] == SUPERVISOR_NPA), "area_id"])
    return {"force_analyst": None, "supervisor": npa, "beat_officer": {OFFICER_BEAT}}.get(
        role, set())


@pytest.fixture(scope="module")
def facts(service, demo):
    """Live set-ups inside, outside and straddling the officer's beat, then what the store
    holds per collection: id -> the beats (areas) the row belongs to."""
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells, disclosed_crime_cells
    from spatial_core.store.index import assign_points_to_areas
    from spatial_core.targeting.scoring import load_scores
    from spatial_core.targeting.setups import create_setup

    s = open_store(service.store, create=False)
    try:
        for sid, areas in SETUPS.items():
            create_setup(s, sid, areas=areas, setup_id=sid, max_streets=5)
        create_setup(s, STRADDLING, areas=[shapely.box(*_box(demo)).wkt],
                     setup_id=STRADDLING, max_streets=12)  # each bumps the data version
        _, scores = load_scores(s)
        setups = s.read("setups", ["setup_id"])
        st = s.read("setup_streets", ["setup_id", "street_id", "beat_id"])
        hh = s.read("setup_households", ["setup_id", "street_id", "uprn"])
        groups = s.read("member_groups", ["member_id", "grp"])
        m = s.read("members", ["member_id", "x", "y", "joined", "left_on"])
        m = m[m["member_id"].isin(groups.loc[groups["grp"].isin(["key_individual", "iag"]),
                                             "member_id"])]
        today = date.today().isoformat()
        left, joined = (m[c].fillna("").astype(str).str.slice(0, 10)
                        for c in ("left_on", "joined"))
        m = m[((left == "") | (left > today)) & (joined <= today)]
        m_beats = assign_points_to_areas(s, m["x"].to_numpy(float), m["y"].to_numpy(float),
                                         "beat")
        cells = {r: crime_cells(s, 8, beats=None if _scope(r, demo) is None
                                else sorted(_scope(r, demo))) for r in POLICE}
        disclosed = disclosed_crime_cells(s, 8, k=service.k)
    finally:
        s.close()
    a = demo["areas"]
    hh = hh.merge(st, on=["setup_id", "street_id"], how="left")
    setup_beats = st.dropna(subset=["beat_id"]).groupby("setup_id")["beat_id"].agg(set)
    rows = {
        "street_scores": {i: {b} for i, b in
                          zip(scores["street_id"], scores["beat_id"], strict=True)},
        "walk_lists": {f"{s_}/{u}": {b} for s_, u, b in
                       zip(hh["setup_id"], hh["uprn"], hh["beat_id"], strict=True)},
        "key_contacts": {i: {b} for i, b in zip(m["member_id"], m_beats, strict=True)},
        "setups": {i: setup_beats.get(i, set()) for i in setups["setup_id"]},
        "area_profiles": {i: {i} for i in
                          a.loc[a["level"].isin(["force", "npa", "beat", "ward"]), "area_id"]},
    }
    cells = {r: {c: int(n) for c, n in zip(f["cell_id"], f["crimes"], strict=True)}
             for r, f in cells.items()}
    for r in DENIED:
        cells[r] = {c: None if n is None or n != n else int(n)
                    for c, n in zip(disclosed["cell_id"], disclosed["crimes"], strict=True)}
    return {"rows": rows, "cells": cells, "demo": demo}


def visible(facts, cid: str, role: str) -> set[str] | None:
    """The ids of ``cid`` that ``role`` may see; None: the role may not use it at all."""
    if cid == "crime_cells":
        return set(facts["cells"][role])
    rows = facts["rows"][cid]
    if role in DENIED:
        return set(rows) if cid in AGGREGATES else None
    scope = _scope(role, facts["demo"])
    if scope is None:
        return set(rows)
    if cid == "area_profiles" and role == "supervisor":
        scope = scope | {SUPERVISOR_NPA}
    return {i for i, beats in rows.items() if beats & scope}


def _outside(facts, cid: str) -> str:
    """An id neither the officer nor the supervisor may see (preferably in OTHER_BEAT)."""
    ids = visible(facts, cid, "force_analyst") - visible(facts, cid, "supervisor")
    beats = facts["rows"].get(cid, {})
    return sorted(ids, key=lambda i: (beats.get(i) != {OTHER_BEAT}, i))[0]


def _get(service, callers, role, path):
    status, _, body = service.get(path, headers=PURPOSE, **callers[role])
    return status, (json.loads(body) if body else None)


def _items(service, callers, role, cid, **params):
    q = urllib.parse.urlencode({"limit": 10000, "skipGeometry": "true", **params})
    return _get(service, callers, role, f"/collections/{cid}/items?{q}")


# -- lists, items, bbox, filters, csv -----------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_list_and_hits_hold_exactly_the_callers_rows(service, callers, facts, cid, role):
    want = visible(facts, cid, role)
    status, hits = _items(service, callers, role, cid, resulttype="hits")
    if want is None:
        assert status == DENIED[role]
        return
    assert status == 200 and hits["numberMatched"] == len(want) and hits["features"] == []
    status, body = _items(service, callers, role, cid)
    assert status == 200 and body["numberMatched"] == len(want)
    assert {f["id"] for f in body["features"]} == want
    if cid == "crime_cells":  # exact in the caller's beats, disclosure-controlled for others
        assert {f["id"]: f["properties"]["crimes"] for f in body["features"]} == \
            facts["cells"][role]
    assert want  # every role that may read the collection has rows to see
    if role != "force_analyst" and cid not in AGGREGATES:
        assert want < visible(facts, cid, "force_analyst")  # and rows it must not see


@pytest.mark.parametrize("where", ["inside", "neighbour", "outside"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_single_item_inside_200_outside_404(service, callers, facts, cid, role, where):
    """inside: the officer's; neighbour: the supervisor's, not the officer's; outside:
    neither."""
    officer = visible(facts, cid, "beat_officer")
    item = {"inside": lambda: sorted(officer)[0],
            "neighbour": lambda: sorted(visible(facts, cid, "supervisor") - officer)[0],
            "outside": lambda: _outside(facts, cid)}[where]()
    status, body = _get(service, callers, role,
                        f"/collections/{cid}/items/{urllib.parse.quote(item, safe='')}?f=json")
    want = visible(facts, cid, role)
    if want is None:
        assert status == DENIED[role]
    elif item in want:
        assert status == 200 and body["id"] == item
    else:
        assert status == 404  # never 403: the caller must not learn it exists


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_bbox_straddling_the_beat_returns_the_analysts_rows_in_scope(service, callers, facts,
                                                                    cid, role):
    bbox = {"bbox": ",".join(str(v) for v in _box(facts["demo"])), "bbox-crs": BNG}
    status, ref = _items(service, callers, "force_analyst", cid, **bbox)
    assert status == 200
    everything = {f["id"] for f in ref["features"]}
    officer = visible(facts, cid, "beat_officer")
    assert everything & officer and everything - officer  # really straddling
    beats = facts["rows"].get(cid)
    if beats is not None and cid != "area_profiles":
        assert len(set().union(*(beats[i] for i in everything))) > 1
    status, body = _items(service, callers, role, cid, **bbox)
    want = visible(facts, cid, role)
    if want is None:
        assert status == DENIED[role]
        return
    assert status == 200
    assert {f["id"] for f in body["features"]} == everything & want
    assert body["numberMatched"] == len(everything & want)


@pytest.mark.parametrize("how", ["property", "cql2"])
@pytest.mark.parametrize("role", ["force_analyst", "supervisor", "beat_officer"])
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_filter_on_an_outside_row_finds_nothing(service, callers, facts, cid, role, how):
    item = _outside(facts, cid)
    beats = facts["rows"].get(cid, {}).get(item)
    field, value = ("beat_id", next(iter(beats))) if cid in (
        "street_scores", "walk_lists", "key_contacts") else (ID[cid], item)
    params = ({field: value} if how == "property" else {"filter": f"{field}='{value}'"})
    status, body = _items(service, callers, role, cid, **params)
    assert status == 200, body
    if role == "force_analyst":  # there is something to hide
        assert body["numberMatched"] == len(body["features"]) > 0
        assert item in {f["id"] for f in body["features"]}
    else:
        assert body["numberMatched"] == 0 and body["features"] == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_csv_export_holds_only_the_callers_rows(service, callers, facts, cid, role):
    status, headers, body = service.get(f"/collections/{cid}/items?f=csv&limit=10000",
                                        headers=PURPOSE, **callers[role])
    want = visible(facts, cid, role)
    if want is None:
        assert status == DENIED[role]
        return
    assert status == 200, body[:300]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {r[ID[cid]] for r in rows} == want and len(rows) == len(want)


@pytest.mark.parametrize("cid", ["walk_lists", "key_contacts"])
def test_personal_collections_need_a_purpose(service, callers, cid):
    status, _, body = service.get(f"/collections/{cid}/items", **callers["beat_officer"])
    assert status == 400 and b"X-Purpose" in body


def test_officer_never_gets_key_contact_names(service, callers, facts):
    status, body = _items(service, callers, "beat_officer", "key_contacts")
    assert status == 200 and body["features"]
    assert all(f["properties"]["name"] is None for f in body["features"])


# -- vector tiles -------------------------------------------------------------------------------
def _tiles_over(box, z: int) -> list[tuple[int, int, int]]:
    lng, lat = TO_LNGLAT.transform([box[0], box[2]], [box[1], box[3]])
    n = 1 << z

    def xy(lo, la):
        return (int((lo + 180) / 360 * n),
                int((1 - math.asinh(math.tan(math.radians(la))) / math.pi) / 2 * n))

    (x0, y0), (x1, y1) = xy(lng[0], lat[1]), xy(lng[1], lat[0])
    return [(z, y, x) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def _tile(service, callers, role, cid, z, y, x):
    import mapbox_vector_tile

    status, hdrs, body = service.get(
        f"/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt", **callers[role])
    if status != 200:
        return status, None
    if hdrs.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    layer = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}).get(cid)
    id_field = "cell_id" if cid == "crime_cells" else "street_id"
    return status, {f["properties"][id_field]: f["properties"] for f in
                    (layer or {}).get("features", [])}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", ["street_scores", "streets", "crime_cells"])
def test_tiles_over_the_straddling_box_hold_the_analysts_features_in_scope(
        service, callers, facts, cid, role):
    pytest.importorskip("mapbox_vector_tile")
    if cid == "streets":
        s = facts["demo"]["streets"]
        scope = _scope(role, facts["demo"])
        want = (None if role in DENIED else
                set(s["street_id"]) if scope is None else set(s.loc[s["beat_id"].isin(scope),
                                                                   "street_id"]))
        officer = set(s.loc[s["beat_id"] == OFFICER_BEAT, "street_id"])
    else:
        want, officer = visible(facts, cid, role), visible(facts, cid, "beat_officer")
    everything, got = set(), set()
    for z, y, x in _tiles_over(_box(facts["demo"]), 14):
        _, ref = _tile(service, callers, "force_analyst", cid, z, y, x)
        status, feats = _tile(service, callers, role, cid, z, y, x)
        everything |= set(ref)
        if want is None:  # a role that may not read the collection: as a missing tile
            assert status == 404
            continue
        assert status == 200
        assert set(feats) == set(ref) & want, (z, y, x)
        if cid == "crime_cells":
            assert {c: p.get("crimes") for c, p in feats.items()} == \
                {c: facts["cells"][role][c] for c in feats}
        got |= set(feats)
    assert everything & officer and everything - officer  # the tiles really straddle
    if want is not None:
        assert got and got <= want


# -- processes ----------------------------------------------------------------------------------
def _execute(service, callers, role, pid, inputs):
    h = {"Content-Type": "application/json", **PURPOSE}
    status, _, raw = service.request("POST", f"/processes/{pid}/execution",
                                     body=json.dumps({"inputs": inputs}).encode(),
                                     headers=h, **callers[role])
    return status, (json.loads(raw) if raw else None)


def _setup_ids(service) -> set[str]:
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        return set(s.read("setups", ["setup_id"])["setup_id"])
    finally:
        s.close()


@pytest.mark.parametrize("area", [OFFICER_BEAT, SUPERVISOR_NPA, OTHER_BEAT])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("pid", ["score-area", "area-representation", "create-setup"])
def test_processes_run_in_the_callers_area_only(service, callers, facts, pid, role, area):
    inputs = {"area": area, **({"name": f"matrix {role} {area}", "max_streets": 3}
                               if pid == "create-setup" else {})}
    before = _setup_ids(service)
    status, body = _execute(service, callers, role, pid, inputs)
    scope = _scope(role, facts["demo"])
    beats = _scope("supervisor", facts["demo"]) if area == SUPERVISOR_NPA else {area}
    if role in DENIED:
        assert status == DENIED[role]
    elif scope is not None and not (beats <= scope):
        assert status == 404 and area in body["description"]  # never 403: as unknown
    else:
        assert status == 200, body
        streets = facts["demo"]["streets"]
        if pid == "score-area":
            assert {r["street_id"] for r in body["scores"]} == set(
                streets.loc[streets["beat_id"].isin(beats), "street_id"])
        elif pid == "area-representation":
            assert body["area"] == area and body["groups"]
        else:
            assert body["areas"] == [area] and _setup_ids(service) - before == {
                body["setup_id"]}
            st, setup = _get(service, callers, role,
                             f"/collections/setups/items/{body['setup_id']}?f=json")
            assert st == 200 and setup["properties"]["beats"]
            assert set(setup["properties"]["beats"]) <= beats
        return
    if pid == "create-setup":
        assert _setup_ids(service) == before  # nothing was made for a refused caller
