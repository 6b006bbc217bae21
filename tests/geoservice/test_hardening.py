# SPDX-License-Identifier: GPL-3.0-or-later
"""Defects found in review, against the running service: visit creation (the service assigns
the id; a set-up must be one the caller may see), no update/delete of items (405, never
500), months of withheld crime cells withheld (items and tiles), and a bad process input
(400, never 500)."""
from __future__ import annotations

import gzip
import json

import pytest

OFFICER_BEAT = "beat:DM01B01"
OTHER_BEAT = "beat:DM02B04"
PURPOSE = {"X-Purpose": "hardening test"}
SETUP_IN = "hardening-in-DM01B01"
SETUP_OUT = "hardening-out-DM02B04"
ASSIGNED = "visit_id is assigned by the service; leave it out"


# -- helpers ------------------------------------------------------------------------------
def _store_read(service, table, columns=None, where=None):
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        return s.read(table, columns, where=where)
    finally:
        s.close()


def _visits(service):
    return _store_read(service, "visits", ["visit_id", "uprn", "visited_at", "officer",
                                           "outcome", "setup_id", "notes"])


def _post_visit(service, props: dict, token: str | None, headers=PURPOSE):
    body = json.dumps({"type": "Feature", "geometry": None, "properties": props}).encode()
    status, hdrs, raw = service.request(
        "POST", "/collections/visits/items", body=body, token=token,
        headers={"Content-Type": "application/geo+json", **headers})
    return status, hdrs, (json.loads(raw) if raw else None)


def _uprn(demo, beat: str, i: int = 0) -> str:
    a = demo["addresses"]
    return str(a.loc[a["beat_id"] == beat, "uprn"].iloc[i])


@pytest.fixture(scope="module")
def officer(service):
    return service.token("beat_officer", [OFFICER_BEAT], sub="pc-hardening")


@pytest.fixture(scope="module")
def visited(service, demo):
    """A stored demo visit, its beat, and a beat officer of that beat."""
    v = demo["visits"].dropna(subset=["beat_id"]).sort_values("visit_id")
    row = v.iloc[0]
    return {"visit_id": str(row["visit_id"]), "beat": row["beat_id"],
            "token": service.token("beat_officer", [row["beat_id"]], sub="pc-hardening-2")}


@pytest.fixture(scope="module")
def setups(service):
    """Two stored set-ups: one in the officer's beat, one in another beat."""
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    s = open_store(service.store, create=False)
    try:
        for sid, beat in ((SETUP_IN, OFFICER_BEAT), (SETUP_OUT, OTHER_BEAT)):
            create_setup(s, f"hardening {beat}", areas=[beat], setup_id=sid, max_streets=3)
        st = s.read("setup_streets", ["setup_id", "beat_id"])
    finally:
        s.close()
    beats = st.groupby("setup_id")["beat_id"].agg(set)
    assert beats[SETUP_IN] == {OFFICER_BEAT} and beats[SETUP_OUT] == {OTHER_BEAT}
    return {"in": SETUP_IN, "out": SETUP_OUT}


# -- 1. visit creation --------------------------------------------------------------------
def test_client_visit_id_is_refused_whether_or_not_it_exists(service, demo, officer):
    """An id of a visit in another beat and a fresh id get the same 400: nothing to probe."""
    v = demo["visits"]
    elsewhere = str(v.loc[v["beat_id"].notna() & (v["beat_id"] != OFFICER_BEAT),
                          "visit_id"].iloc[0])
    before = _visits(service)
    assert elsewhere in set(before["visit_id"])
    answers = []
    for visit_id in (elsewhere, "hardening-fresh-id-1"):
        status, hdrs, body = _post_visit(service, {
            "visit_id": visit_id, "uprn": _uprn(demo, OFFICER_BEAT, 3), "outcome": "spoke",
            "visited_at": "2026-10-02T10:00:00"}, officer)
        assert status == 400, body
        assert "Location" not in hdrs
        assert ASSIGNED in body["description"]
        answers.append(body["description"])
    assert answers[0] == answers[1]
    after = _visits(service)
    assert len(after) == len(before)
    assert "hardening-fresh-id-1" not in set(after["visit_id"])
    entries = [json.loads(line) for line in service.audit.read_text().splitlines()]
    refused = [e for e in entries if e.get("sub") == "pc-hardening"
               and e["action"] == "create" and "visit_id" in e["outcome"]]
    assert len(refused) >= 2  # refusals are audited


@pytest.mark.parametrize("which", ["out", "unknown"])
def test_setup_outside_scope_or_unknown_is_the_same_400(service, demo, officer, setups,
                                                         which):
    setup_id = setups["out"] if which == "out" else "no-such-setup-2026"
    before = len(_visits(service))
    status, hdrs, body = _post_visit(service, {
        "uprn": _uprn(demo, OFFICER_BEAT, 4), "outcome": "spoke",
        "visited_at": "2026-10-02T11:00:00", "setup_id": setup_id}, officer)
    assert status == 400, body
    assert "Location" not in hdrs
    assert body["description"].startswith("invalid visit: setup_id ")
    assert setup_id not in body["description"]  # nothing echoed that could differ
    assert len(_visits(service)) == before


def test_setup_answers_do_not_tell_existence_apart(service, demo, officer, setups):
    descriptions = set()
    for setup_id in (setups["out"], "no-such-setup-2026"):
        status, _, body = _post_visit(service, {
            "uprn": _uprn(demo, OFFICER_BEAT, 4), "outcome": "spoke",
            "visited_at": "2026-10-02T11:00:00", "setup_id": setup_id}, officer)
        assert status == 400
        descriptions.add(body["description"])
    assert len(descriptions) == 1


def test_normal_create_is_201_with_a_service_id_and_a_visible_setup(service, demo, officer,
                                                                    setups):
    uprn = _uprn(demo, OFFICER_BEAT, 5)
    before = _visits(service)
    status, hdrs, body = _post_visit(service, {
        "uprn": uprn, "outcome": "not in", "visited_at": "2026-10-02T12:00:00",
        "setup_id": setups["in"], "notes": "card left", "visit_id": None}, officer)
    assert status == 201, body
    visit_id = hdrs["Location"].rsplit("/", 1)[1]
    after = _visits(service)
    assert len(after) == len(before) + 1
    assert visit_id not in set(before["visit_id"])
    row = after[after["visit_id"] == visit_id].iloc[0]
    assert (row["uprn"], row["outcome"], row["officer"], row["setup_id"], row["notes"]) == (
        uprn, "not_in", "pc-hardening", SETUP_IN, "card left")
    # the same visit again is recognised, not doubled
    status, _, body = _post_visit(service, {
        "uprn": uprn, "outcome": "not in", "visited_at": "2026-10-02T12:00:00",
        "setup_id": setups["in"], "notes": "card left"}, officer)
    assert status == 400
    assert body["description"] == ("invalid visit: this visit is already recorded (the same "
                                   "uprn, visited_at, officer and outcome); a correction is a "
                                   "new visit")
    assert len(_visits(service)) == len(after)


def test_force_analyst_may_name_any_stored_setup(service, demo, setups):
    tok = service.token("force_analyst", sub="analyst-hardening")
    before = len(_visits(service))
    status, _, body = _post_visit(service, {
        "uprn": _uprn(demo, OTHER_BEAT, 2), "outcome": "spoke",
        "visited_at": "2026-10-02T13:00:00", "setup_id": setups["out"]}, tok)
    assert status == 201, body
    status, _, body = _post_visit(service, {
        "uprn": _uprn(demo, OTHER_BEAT, 2), "outcome": "spoke",
        "visited_at": "2026-10-02T13:05:00", "setup_id": "no-such-setup-2026"}, tok)
    assert status == 400 and "setup_id" in body["description"]
    assert len(_visits(service)) == before + 1


# -- 2. no update or delete ---------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("who", ["anonymous", "officer", "force_analyst"])
def test_item_update_and_delete_are_refused_never_500(service, demo, visited, method, who):
    """Whatever the caller, and even for a visit in the officer's own beat: 405 for everyone
    (no credentials would make it allowed, so an anonymous caller is not asked to sign in)."""
    visit_id = visited["visit_id"]
    token = {"anonymous": None, "officer": visited["token"],
             "force_analyst": service.token("force_analyst", sub="analyst-hardening")}[who]
    before = _visits(service)
    body = None
    if method != "DELETE":
        body = json.dumps({"type": "Feature", "geometry": None, "properties": {
            "uprn": _uprn(demo, visited["beat"]), "outcome": "declined",
            "visited_at": "2026-10-03T10:00:00"}}).encode()
    status, hdrs, raw = service.request(
        method, f"/collections/visits/items/{visit_id}", body=body, token=token,
        headers={"Content-Type": "application/geo+json", **PURPOSE})
    answer = json.loads(raw)
    assert status == 405 and "WWW-Authenticate" not in hdrs
    assert answer["code"] == "MethodNotAllowed"
    assert "append-only" in answer["description"]
    assert "new visit" in answer["description"]
    assert hdrs["Allow"] == "GET, HEAD, OPTIONS"
    assert hdrs["Cache-Control"] == "no-store"
    after = _visits(service)
    assert after.sort_values("visit_id").reset_index(drop=True).equals(
        before.sort_values("visit_id").reset_index(drop=True))
    status, item = service.json(f"/collections/visits/items/{visit_id}",
                                token=visited["token"], headers=PURPOSE)
    assert status == 200 and item["id"] == visit_id  # refused although it is theirs


def test_item_writes_on_another_collection_and_unknown_items_are_405(service, officer):
    s = _store_read(service, "streets", ["street_id", "beat_id"])
    sid = s.loc[s["beat_id"] == OFFICER_BEAT, "street_id"].iloc[0]
    for path in (f"/collections/streets/items/{sid}", "/collections/visits/items/nope"):
        status, hdrs, raw = service.request("DELETE", path, token=officer, headers=PURPOSE)
        assert status == 405, raw
        assert hdrs["Allow"] == "GET, HEAD, OPTIONS"
        assert "not allowed" in json.loads(raw)["description"]


def test_options_and_openapi_do_not_offer_update_or_delete(service, demo, officer):
    v = demo["visits"]
    visit_id = str(v["visit_id"].iloc[0])
    status, hdrs, _ = service.request("OPTIONS", f"/collections/visits/items/{visit_id}",
                                      token=officer)
    assert status == 200 and hdrs["Allow"] == "GET, HEAD, OPTIONS"
    status, oas = service.json("/openapi?f=json")
    assert status == 200
    item = oas["paths"]["/collections/visits/items/{featureId}"]
    assert "get" in item and not {"put", "patch", "delete"} & set(item)
    assert "post" in oas["paths"]["/collections/visits/items"]


def test_refused_visit_writes_are_audited(service, visited):
    visit_id = visited["visit_id"]
    n = len(service.audit.read_text().splitlines())
    status, _, _ = service.request("DELETE", f"/collections/visits/items/{visit_id}",
                                   token=visited["token"], headers=PURPOSE)
    assert status == 405
    entries = [json.loads(line) for line in service.audit.read_text().splitlines()[n:]]
    assert any(e["action"] == "denied" and e["collection"] == "visits"
               and e.get("ids") == [visit_id] and e["sub"] == "pc-hardening-2"
               and e["purpose"] == PURPOSE["X-Purpose"] for e in entries)


# -- 3. months of withheld crime cells ----------------------------------------------------
@pytest.mark.parametrize("who", ["public", "partner_key"])
def test_withheld_crime_cells_have_no_months(service, who):
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells

    kw = {} if who == "public" else {"api_key": service.partner_key}
    status, body = service.json("/collections/crime_cells/items?limit=10000", **kw)
    assert status == 200
    s = open_store(service.store, create=False)
    try:
        exact = crime_cells(s, 8).set_index("cell_id")
    finally:
        s.close()
    feats = body["features"]
    assert body["numberMatched"] == len(feats) == len(exact)
    withheld = [f for f in feats if f["properties"]["crimes"] is None]
    shown = [f for f in feats if f["properties"]["crimes"] is not None]
    assert withheld and shown  # k=40 withholds some cells of the demo, not all
    for f in withheld:
        p = f["properties"]
        assert (p["first_month"], p["last_month"], p["harm_days"]) == (None, None, None), p
    for f in shown:  # published cells keep their true months
        p, want = f["properties"], exact.loc[f["id"]]
        assert (p["first_month"], p["last_month"]) == (want["first_month"],
                                                       want["last_month"])


def test_withheld_crime_cells_have_no_months_in_tiles(tiles_over, service):
    mvt = pytest.importorskip("mapbox_vector_tile")
    streets = _store_read(service, "streets", ["street_id", "geom"])
    seen = withheld = 0
    for z, y, x in tiles_over(streets.total_bounds, 9):
        status, hdrs, raw = service.get(
            f"/collections/crime_cells/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt")
        assert status == 200
        if hdrs.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        layer = mvt.decode(raw).get("crime_cells", {"features": []})
        for f in layer["features"]:
            p = f["properties"]
            seen += 1
            if "crimes" not in p:  # withheld: the key is left out of the tile
                withheld += 1
                assert not {"first_month", "last_month", "harm_days"} & set(p), p
            else:
                assert p["crimes"] >= service.k and "first_month" in p
    assert seen and withheld


# -- 4. process inputs --------------------------------------------------------------------
def _execute(service, pid, inputs, token):
    status, _, raw = service.request("POST", f"/processes/{pid}/execution",
                                     body=json.dumps({"inputs": inputs}).encode(),
                                     token=token, headers={"Content-Type": "application/json"})
    return status, (json.loads(raw) if raw else None)


@pytest.mark.parametrize("level", ["two", 1.5, True, [1], {"n": 1}, 0, 4, "-1"])
def test_representation_bad_level_is_400_naming_it(service, officer, level):
    status, body = _execute(service, "area-representation",
                            {"area": OFFICER_BEAT, "level": level}, officer)
    assert status == 400, body
    assert "input 'level' must be a whole number from 1 to 3" in body["description"]


@pytest.mark.parametrize("level", [2, "2"])
def test_representation_whole_level_is_served(service, officer, level):
    from spatial_core import open_store
    from spatial_core.analytics.representation import representation

    status, body = _execute(service, "area-representation",
                            {"area": OFFICER_BEAT, "level": level}, officer)
    assert status == 200, body
    s = open_store(service.store, create=False)
    try:
        r = representation(s, level=2, area_level="beat")
    finally:
        s.close()
    r = r[r["area_id"] == OFFICER_BEAT]
    assert [g["group"] for g in body["groups"]] == r["group"].tolist()
    assert [g["members"] for g in body["groups"]] == r["members"].tolist()


# -- processes: refusals of a personal-data write are audited; scope as it is -------------
def _audit_entries(service) -> list[dict]:
    return [json.loads(line) for line in service.audit.read_text().splitlines()]


def test_a_refused_create_setup_is_audited_with_the_callers_scope(service):
    def execute(token, area):
        return service.request(
            "POST", "/processes/create-setup/execution", token=token,
            body=json.dumps({"inputs": {"name": "audit refusal", "area": area}}).encode(),
            headers={"Content-Type": "application/json", "X-Purpose": "audit test"})

    officer = service.token("beat_officer", ["DM01B01"], sub="pc-audit-refused")
    assert execute(officer, "beat:DM02B04")[0] == 404  # outside: not found, never 403
    nobody = service.token("beat_officer", ["ZZ99B99"], sub="pc-audit-nowhere")
    assert execute(nobody, "beat:DM01B01")[0] == 404
    entries = _audit_entries(service)
    refused = [e for e in entries if e["sub"] == "pc-audit-refused"]
    assert [(e["action"], e["collection"], e["scope"]) for e in refused] == [
        ("denied", "setups", ["beat:DM01B01"])]
    assert refused[0]["outcome"] == "refused: no area 'beat:DM02B04' here"
    nowhere = [e for e in entries if e["sub"] == "pc-audit-nowhere"]
    # A caller with no beat in this store has an empty scope, not "all".
    assert [(e["action"], e["scope"]) for e in nowhere] == [("denied", [])]
    assert not [e for e in entries if e["sub"] in ("pc-audit-refused", "pc-audit-nowhere")
                and e["action"] == "create"]


def test_a_visit_for_an_archived_setup_is_refused_and_nothing_is_written(service, demo,
                                                                          officer):
    from spatial_core import open_store
    from spatial_core.targeting.setups import archive_setup, create_setup

    s = open_store(service.store, create=False)
    try:
        create_setup(s, "hardening closed", areas=[OFFICER_BEAT], setup_id="hardening-closed",
                     max_streets=2)
        archive_setup(s, "hardening-closed")
    finally:
        s.close()
    before = len(_visits(service))
    status, _, body = _post_visit(service, {
        "uprn": _uprn(demo, OFFICER_BEAT, 7), "outcome": "spoke",
        "visited_at": "2026-10-04T11:00:00", "setup_id": "hardening-closed"}, officer)
    assert status == 400
    assert body["description"] == (
        "invalid visit: set-up 'hardening-closed' is archived (read-only: its final report is "
        "kept as it was); name a live set-up or leave setup_id out")
    assert len(_visits(service)) == before


def test_stored_text_cannot_close_a_pages_script(service, demo, officer):
    """A visit note that tries to end the items page's inline script and start its own: the
    page's JSON escapes it, so no script of its own appears or gets a CSP hash."""
    from geoservice.html_assets import inline_script_hashes

    injected = "window.lptInjected = 1"
    note = f"</script><script>{injected}</script><!--<script>"
    status, hdrs, body = _post_visit(service, {
        "uprn": _uprn(demo, OFFICER_BEAT, 9), "outcome": "spoke",
        "visited_at": "2026-10-05T09:30:00", "notes": note}, officer)
    assert status == 201, body
    visit_id = hdrs["Location"].rsplit("/", 1)[1]
    for path in (f"/collections/visits/items/{visit_id}?f=html",
                 "/collections/visits/items?f=html&limit=1000"):
        status, headers, raw = service.get(path, token=officer, headers=PURPOSE)
        assert status == 200, raw[:300]
        html = raw.decode()
        assert "\\u003c/script\\u003e\\u003cscript\\u003ewindow.lptInjected" in html
        assert f"<script>{injected}" not in html
        csp = headers["Content-Security-Policy"]
        assert csp.split("; ")[1] == " ".join(["script-src 'self'", *inline_script_hashes(html)])
        # The page's own scripts only: none is the injected one.
        assert inline_script_hashes(f"<script>{injected}</script>")[0] not in csp
    # The note itself is stored as given and served as given in JSON.
    status, item = service.json(f"/collections/visits/items/{visit_id}", token=officer,
                                headers=PURPOSE)
    assert item["properties"]["notes"] == note


def test_create_setup_bad_as_of_is_400_before_any_job_and_audited(service):
    officer = service.token("beat_officer", ["DM01B01"], sub="pc-audit-as-of")
    for prefer in ({}, {"Prefer": "respond-async"}):
        status, hdrs, raw = service.request(
            "POST", "/processes/create-setup/execution", token=officer,
            body=json.dumps({"inputs": {"name": "as-of test", "area": OFFICER_BEAT,
                                        "as_of": "last tuesday"}}).encode(),
            headers={"Content-Type": "application/json", "X-Purpose": "audit test", **prefer})
        assert status == 400, raw
        assert "Location" not in hdrs  # no job was created
        assert json.loads(raw)["description"].startswith("input 'as_of': ")
    denied = [e for e in _audit_entries(service) if e["sub"] == "pc-audit-as-of"]
    assert [(e["action"], e["collection"]) for e in denied] == [("denied", "setups")] * 2
