# SPDX-License-Identifier: GPL-3.0-or-later
"""Disclosure control, the audit log and recording visits, against the running service."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

PURPOSE = {"X-Purpose": "door-knocking set-up 2026Q3"}


def _areas(service, **kw) -> pd.DataFrame:
    status, body = service.json("/collections/areas/items?skipGeometry=true&limit=1000", **kw)
    assert status == 200
    return pd.DataFrame([f["properties"] for f in body["features"]])


@pytest.mark.parametrize("who", ["public", "partner_key"])
def test_public_aggregates_have_no_count_between_1_and_k_minus_1(service, who):
    kw = {"api_key": service.partner_key} if who == "partner_key" else {}
    a = _areas(service, **kw)
    assert len(a) == 17  # force, 2 npas, 8 beats, 6 wards: every area is published
    values = pd.concat([a[c] for c in ("households", "members", "crimes")])
    shown = values.dropna().astype(int)
    assert not ((shown >= 1) & (shown < service.k)).any()
    assert values.isna().any()  # with k = 40 the demo has small counts to withhold


def test_withheld_counts_cannot_be_recovered_by_differencing(service):
    a = _areas(service).set_index("area_id")
    for col in ("households", "members", "crimes"):
        for (parent, level), kids in a[a["parent_id"].notna()].groupby(["parent_id", "level"]):
            terms = [a.at[parent, col], *kids[col]]
            hidden = sum(v is None or pd.isna(v) for v in terms)
            assert hidden != 1, (col, parent, level)


def test_police_see_exact_counts(service):
    from spatial_core import open_store
    from spatial_core.analytics.disclosure import area_counts

    s = open_store(service.store, create=False)
    try:
        exact = area_counts(s).set_index("area_id")
    finally:
        s.close()
    a = _areas(service, token=service.token("force_analyst")).set_index("area_id")
    for col in ("households", "members", "crimes"):
        assert a[col].astype(int).to_dict() == exact.loc[a.index, col].to_dict()


def test_visit_reads_are_audited_with_who_what_where_why(service):
    tok = service.token("supervisor", ["npa:DM01"], sub="sgt-jones")
    status, body = service.json("/collections/visits/items?limit=3", token=tok, headers=PURPOSE)
    assert status == 200
    entries = [json.loads(line) for line in service.audit.read_text().splitlines()]
    e = next(e for e in reversed(entries) if e["sub"] == "sgt-jones" and e["action"] == "read")
    assert e["role"] == "supervisor"
    assert e["purpose"] == PURPOSE["X-Purpose"]
    assert e["ids"] == [f["id"] for f in body["features"]]
    assert e["number_matched"] == body["numberMatched"]
    assert e["scope"] == ["beat:DM01B01", "beat:DM01B02", "beat:DM01B03", "beat:DM01B04"]
    assert e["query"] == "/collections/visits/items?limit=3"


def test_refused_visit_reads_are_audited(service):
    service.json("/collections/visits/items", token=service.token("partner", sub="council-7"))
    entries = [json.loads(line) for line in service.audit.read_text().splitlines()]
    assert any(e["sub"] == "council-7" and e["action"] == "denied" for e in entries)


def test_audit_log_verifies_and_exports(service, tmp_path):
    service.json("/collections/visits/items?limit=1", token=service.token("force_analyst"),
                 headers=PURPOSE)
    run = [sys.executable, "-m", "lpt_cli.main", "audit"]
    ok = subprocess.run([*run, "verify", "--log", str(service.audit)], capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "audit log intact" in ok.stdout
    out = tmp_path / "audit.csv"
    subprocess.run([*run, "export", "--log", str(service.audit), "--format", "csv", "-o",
                    str(out)], check=True, timeout=60)
    frame = pd.read_csv(out)
    assert {"sub", "role", "action", "collection", "purpose", "ids"} <= set(frame.columns)
    assert len(frame) == len(service.audit.read_text().splitlines())
    # An edited copy no longer verifies.
    lines = service.audit.read_text().splitlines()
    first = json.loads(lines[0])
    first["purpose"] = "something else"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    bad = subprocess.run([*run, "verify", "--log", str(tampered)], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "entry 1" in bad.stderr


def _post_visit(service, props: dict, token: str, headers=PURPOSE):
    body = json.dumps({"type": "Feature", "geometry": None, "properties": props}).encode()
    return service.request("POST", "/collections/visits/items", body=body, token=token,
                           headers={"Content-Type": "application/geo+json", **headers})


def test_officer_records_a_visit_in_their_beat(service, demo):
    a = demo["addresses"]
    uprn = a.loc[a["beat_id"] == "beat:DM01B02", "uprn"].iloc[5]
    tok = service.token("beat_officer", ["DM01B02"], sub="pc-1234")
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    s = open_store(service.store, create=False)
    try:  # a visit names a stored set-up the officer may see (geoservice.md, Visits)
        create_setup(s, "DM01B02 autumn", areas=["beat:DM01B02"], setup_id="2026Q4-DM01B02",
                     max_streets=3)
    finally:
        s.close()
    status, headers, _ = _post_visit(service, {"uprn": uprn, "outcome": "spoke",
                                               "visited_at": "2026-10-01T18:05:00",
                                               "setup_id": "2026Q4-DM01B02",
                                               "notes": "talked about parking"}, tok)
    assert status == 201
    visit_id = headers["Location"].rsplit("/", 1)[1]
    status, body = service.json(f"/collections/visits/items/{visit_id}", token=tok,
                                headers=PURPOSE)
    assert status == 200
    assert body["properties"]["officer"] == "pc-1234"
    assert body["properties"]["outcome"] == "spoke"
    from spatial_core.store import schema

    s = open_store(service.store, create=False)
    try:
        row = s.read("visits", where=schema.table("visits").c.visit_id == visit_id)
    finally:
        s.close()
    assert row["uprn"].tolist() == [uprn]
    assert row["setup_id"].tolist() == ["2026Q4-DM01B02"]
    entries = [json.loads(line) for line in service.audit.read_text().splitlines()]
    assert any(e["action"] == "create" and e.get("ids") == [visit_id] and e["sub"] == "pc-1234"
               for e in entries)


@pytest.mark.parametrize("props,status,message", [
    ({"outcome": "spoke", "visited_at": "2026-10-01"}, 400, "uprn is required"),
    ({"uprn": "U", "outcome": "chatted", "visited_at": "2026-10-01"}, 400, "expected an outcome"),
    ({"uprn": "U", "outcome": "spoke", "visited_at": "someday"}, 400, "visited_at"),
    ({"uprn": "U", "outcome": "spoke", "visited_at": "2026-10-01", "colour": "red"}, 400,
     "unknown properties"),
    ({"uprn": "OUTSIDE", "outcome": "spoke", "visited_at": "2026-10-01"}, 404, "not found"),
    ({"uprn": "999999999999", "outcome": "spoke", "visited_at": "2026-10-01"}, 404,
     "not found"),
])
def test_bad_visit_records_are_400_and_outside_addresses_404(service, demo, props, status,
                                                             message):
    a = demo["addresses"]
    inside = a.loc[a["beat_id"] == "beat:DM01B02", "uprn"].iloc[0]
    outside = a.loc[a["beat_id"] == "beat:DM02B04", "uprn"].iloc[0]
    props = {k: ({"U": inside, "OUTSIDE": outside}.get(v, v) if k == "uprn" else v)
             for k, v in props.items()}
    before = len(service.audit.read_text().splitlines())
    got, _, body = _post_visit(service, props, service.token("beat_officer", ["DM01B02"]))
    assert got == status
    assert message in json.loads(body)["description"]
    assert len(service.audit.read_text().splitlines()) == before + 1  # refusals are audited


@pytest.mark.parametrize("who,status", [("partner", 403), ("public", 401), ("no_purpose", 400)])
def test_visit_create_refused(service, demo, who, status):
    uprn = demo["addresses"]["uprn"].iloc[0]
    tok = {"partner": service.token("partner"), "public": None,
           "no_purpose": service.token("force_analyst")}[who]
    headers = {} if who == "no_purpose" else PURPOSE
    got, _, _ = _post_visit(service, {"uprn": uprn, "outcome": "spoke",
                                      "visited_at": "2026-10-01"}, tok, headers=headers)
    assert got == status
