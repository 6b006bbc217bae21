# SPDX-License-Identifier: GPL-3.0-or-later
"""What an attacker found (issue 13), against the running service: bodies and strings
without bounds, deep JSON giving 500s, formulas in CSV answers."""
from __future__ import annotations

import csv
import io
import json

import pytest

OFFICER_BEAT = "beat:DM01B01"
PURPOSE = {"X-Purpose": "attacker limits test"}


def _entries(service):
    from geoservice.audit import read_entries

    return list(read_entries(service.audit))


def _uprn(demo, beat: str, i: int) -> str:
    a = demo["addresses"]
    return str(a.loc[a["beat_id"] == beat, "uprn"].iloc[i])


@pytest.fixture(scope="module")
def officer(service):
    return service.token("beat_officer", [OFFICER_BEAT], sub="pc-limits")


def _visit(service, token, props, headers=PURPOSE):
    body = json.dumps({"type": "Feature", "geometry": None, "properties": props}).encode()
    return service.request("POST", "/collections/visits/items", body=body, token=token,
                           headers={"Content-Type": "application/geo+json", **headers})


def test_a_huge_visit_note_is_413_and_audited_and_not_stored(service, demo, officer):
    before = len(_store_visits(service))
    status, headers, raw = _visit(service, officer, {
        "uprn": _uprn(demo, OFFICER_BEAT, 7), "outcome": "not in",
        "visited_at": "2026-10-03T10:00:00", "notes": "x" * (3 << 20)})
    assert status == 413, raw[:300]
    assert headers["Content-Type"].startswith("application/json")
    assert "at most 1048576" in json.loads(raw)["description"]
    assert len(_store_visits(service)) == before
    mine = [e for e in _entries(service) if e.get("sub") == "pc-limits"]
    assert mine[-1]["action"] == "denied" and mine[-1]["collection"] == "visits"
    assert mine[-1]["outcome"].startswith("POST refused (413)")


def _store_visits(service):
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        return s.read("visits", ["visit_id", "notes"])
    finally:
        s.close()


def test_a_long_string_is_400_naming_the_bound(service, demo, officer):
    before = len(_store_visits(service))
    status, _, raw = _visit(service, officer, {
        "uprn": _uprn(demo, OFFICER_BEAT, 8), "outcome": "not in",
        "visited_at": "2026-10-03T10:05:00", "notes": "y" * 20_000})
    assert status == 400, raw[:300]
    assert json.loads(raw)["description"] == ("a JSON string in the body is 20000 characters "
                                              "long; at most 10000 are accepted")
    assert len(_store_visits(service)) == before
    body = json.dumps({"inputs": {"area": "z" * 500_000}}).encode()
    status, _, raw = service.request("POST", "/processes/score-area/execution", body=body,
                                     headers={"Content-Type": "application/json"},
                                     token=service.token("force_analyst"))
    assert status == 400 and "500000 characters" in json.loads(raw)["description"]


@pytest.mark.parametrize("path,auth", [
    ("/processes/score-area/execution", False),
    ("/processes/create-setup/execution", True),
    ("/collections/visits/items", True),
    ("/collections/visits/items", False),
    ("/collections/street_scores/items", False),  # CQL2 JSON
])
def test_deep_json_is_400_never_500(service, officer, path, auth):
    deep = b"[" * 50_000 + b"]" * 50_000
    status, headers, raw = service.request(
        "POST", path, body=deep, token=officer if auth else None,
        headers={"Content-Type": "application/json", **PURPOSE})
    assert status == 400, raw[:300]
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw)["description"] == ("the JSON body is nested 50000 levels deep; at "
                                              "most 32 are accepted")


def test_a_refused_deep_visit_is_audited(service, officer):
    status, _, _ = service.request("POST", "/collections/visits/items",
                                   body=b'{"a":' * 40 + b"1" + b"}" * 40, token=officer,
                                   headers={"Content-Type": "application/json", **PURPOSE})
    assert status == 400
    last = [e for e in _entries(service) if e.get("sub") == "pc-limits"][-1]
    assert (last["action"], last["collection"]) == ("denied", "visits")
    assert last["outcome"] == ("POST refused (400): the JSON body is nested 40 levels deep; at "
                               "most 32 are accepted")


def test_unknown_route_errors_are_json(service):
    status, headers, raw = service.get("/no/such/page")
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(raw)["code"] == "NotFound"


# -- CSV formula injection ------------------------------------------------------------------

def test_visits_csv_neutralises_formulas(service, demo, officer):
    note = '=HYPERLINK("http://evil.invalid","x")'
    status, _, raw = _visit(service, officer, {
        "uprn": _uprn(demo, OFFICER_BEAT, 9), "outcome": "not in",
        "visited_at": "2026-10-03T11:00:00", "notes": note})
    assert status == 201, raw
    status, headers, raw = service.get("/collections/visits/items?f=csv&limit=10000",
                                       token=officer, headers=PURPOSE)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    notes = [r["notes"] for r in rows if r.get("notes")]
    assert "'" + note in notes
    assert not any(n.startswith(("=", "+", "@")) for n in notes)


def test_audit_export_csv_neutralises_formulas(tmp_path):
    from geoservice.audit import AuditLog, export

    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(request_id="r1", sub="=cmd|' /C calc'!A0", role="partner", via="token",
               action="read", collection="visits", purpose="+SUM(1,2)", number_matched=-3)
    rows = list(csv.DictReader(io.StringIO(export(tmp_path / "audit.jsonl", fmt="csv"))))
    assert rows[0]["sub"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["purpose"] == "'+SUM(1,2)"
    assert rows[0]["number_matched"] == "-3"  # a number stays a number


def test_lpt_export_csv_neutralises_formulas(tmp_path):
    import pandas as pd

    from spatial_core.api.export import csv_safe_frame

    frame = pd.DataFrame({"street": ["=1+1", "-2", "@x", "Low Street"], "n": [1, -2, 3, 4]})
    out = csv_safe_frame(frame)
    assert out["street"].tolist() == ["'=1+1", "-2", "'@x", "Low Street"]
    assert out["n"].tolist() == [1, -2, 3, 4]


# -- authentication, request ids and purposes ------------------------------------------------

def test_a_ten_year_token_and_a_token_without_iat_are_refused(service):
    import time as _time

    now = int(_time.time())
    long_lived = service.token("force_analyst", exp=now + 10 * 365 * 86400)
    status, _, raw = service.get("/collections/street_scores/items?limit=1", token=long_lived)
    assert status == 401
    assert "longer than the 43200 s accepted" in json.loads(raw)["description"]
    import jwt

    from tests.geoservice.conftest import AUDIENCE, ISSUER

    no_iat = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 600,
                         "lpt_role": "force_analyst", "lpt_areas": []}, service.key,
                        algorithm="RS256", headers={"kid": service.kid})
    status, _, raw = service.get("/collections/street_scores/items?limit=1", token=no_iat)
    assert status == 401 and "iat" in json.loads(raw)["description"]
    ok = service.token("force_analyst")
    assert service.get("/collections/street_scores/items?limit=1", token=ok)[0] == 200


def test_a_clients_request_id_is_bounded_before_it_is_logged(service, officer):
    bad = 'x" injected\tand ' + "y" * 300
    for given in (bad, "z" * 65):
        status, headers, _ = service.get("/collections/visits/items?limit=1", token=officer,
                                         headers={**PURPOSE, "X-Request-ID": given})
        assert status == 200
        rid = headers["X-Request-ID"]
        assert rid != given and len(rid) == 16
        last = [e for e in _entries(service) if e.get("sub") == "pc-limits"][-1]
        assert last["request_id"] == rid
    status, headers, _ = service.get("/collections/visits/items?limit=1", token=officer,
                                     headers={**PURPOSE, "X-Request-ID": "client-abc.1"})
    assert headers["X-Request-ID"] == "client-abc.1"
    # the cache answers with the same rule
    for _ in range(2):
        _, headers, _ = service.get("/collections/areas/items?limit=3",
                                    headers={"X-Request-ID": "q" * 100})
        assert len(headers["X-Request-ID"]) == 16


@pytest.fixture(scope="module")
def strict_service(service, demo_builds, running_service, tmp_path_factory):
    """A second service on the same demo data whose audit section lists the purposes (no
    free text) and which allows 5 failed sign-ins a minute per worker."""
    d = tmp_path_factory.mktemp("strict")
    demo_builds.copy(d, households=3_000, months=3)
    (d / "jwks.json").write_text((service.audit.parent / "jwks.json").read_text())
    from tests.geoservice.conftest import AUDIENCE, ISSUER

    (d / "service.yml").write_text(f"""
store: demo.gpkg
auth:
  oidc: {{issuer: {ISSUER}, audience: {AUDIENCE}, jwks_file: jwks.json,
          role_claim: lpt_role, areas_claim: lpt_areas}}
  failed_auth_per_minute: 5
audit:
  path: audit.jsonl
  purposes: [Planning patrols, Door-knocking, Safeguarding follow-up]
""")
    with running_service(d / "service.yml", workers=1) as (url, _proc, _log):
        yield url


def _get(url, headers):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_purposes_come_from_the_configured_list(service, strict_service):
    token = service.token("beat_officer", [OFFICER_BEAT], sub="pc-purpose")
    auth = {"Authorization": f"Bearer {token}"}
    url = strict_service + "/collections/visits/items?limit=1"
    status, _, raw = _get(url, {**auth, "X-Purpose": "just looking"})
    assert status == 400
    assert json.loads(raw)["description"] == ("X-Purpose must be one of ['Planning patrols', "
                                              "'Door-knocking', 'Safeguarding follow-up']")
    assert _get(url, {**auth, "X-Purpose": "door-knocking"})[0] == 200
    status, _, raw = _get(url, {**auth, "X-Purpose": "Door-knocking" + "x" * 300})
    assert status == 400


def test_failed_sign_ins_are_limited_per_address(service, strict_service):
    url = strict_service + "/collections/areas/items?limit=1"
    statuses = [_get(url, {"X-API-Key": f"guess-{i}"})[0] for i in range(5)]
    assert statuses == [401] * 5
    status, headers, raw = _get(url, {"X-API-Key": "guess-6"})
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    assert json.loads(raw)["code"] == "TooManyRequests"
    # even a good token waits (the address is guessing); the public is still served
    good = {"Authorization": f"Bearer {service.token('force_analyst')}"}
    assert _get(url, good)[0] == 429
    assert _get(url, {})[0] == 200


# -- set-up ids and names -------------------------------------------------------------------

def _create_setup(service, token, name, area):
    body = json.dumps({"inputs": {"name": name, "area": area, "max_streets": 2}}).encode()
    status, _, raw = service.request("POST", "/processes/create-setup/execution", body=body,
                                     token=token, headers={"Content-Type": "application/json",
                                                           **PURPOSE})
    return status, json.loads(raw)


def test_a_setup_id_tells_nothing_about_other_beats(service):
    other = service.token("beat_officer", ["beat:DM02B04"], sub="pc-other-beat")
    mine = service.token("beat_officer", [OFFICER_BEAT], sub="pc-limits")
    status, theirs = _create_setup(service, other, "Operation Lantern", "beat:DM02B04")
    assert status == 200, theirs
    status, ours = _create_setup(service, mine, "Operation Lantern", OFFICER_BEAT)
    assert status == 200, ours
    import re

    for got in (theirs, ours):
        assert re.fullmatch(r"operation-lantern-[0-9a-f]{8}", got["setup_id"]), got
    assert theirs["setup_id"] != ours["setup_id"]
    # a name used nowhere gets an id of the same form: the two cannot be told apart
    status, fresh = _create_setup(service, mine, "Operation Quiet", OFFICER_BEAT)
    assert re.fullmatch(r"operation-quiet-[0-9a-f]{8}", fresh["setup_id"])


@pytest.mark.parametrize("name,message", [
    ('<b onmouseover="x">Lantern</b>', "may not contain < > &"),
    ("Line one\nline two", "one line without control characters"),
    ("n" * 121, "at most 120 characters"),
])
def test_setup_names_are_validated(service, name, message):
    mine = service.token("beat_officer", [OFFICER_BEAT], sub="pc-limits")
    status, body = _create_setup(service, mine, name, OFFICER_BEAT)
    assert status == 400 and message in body["description"], body
