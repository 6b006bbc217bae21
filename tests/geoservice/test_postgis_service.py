# SPDX-License-Identifier: GPL-3.0-or-later
"""One run of the service on PostGIS: scores, H3 cells, a filter and a process."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("pygeoapi")

ROOT = Path(__file__).resolve().parents[2]
OFFICER_KEY = "postgis-officer-key-0123"
BEAT = "beat:DM01B01"


def _get(url: str, key: str | None = None, body: bytes | None = None):
    h = {"X-API-Key": key} if key else {}
    if body is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=body, headers=h, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_service_on_postgis_serves_scores_cells_filters_and_processes(postgis_url, tmp_path,
                                                                      running_service):
    from geoservice.auth import hash_api_key
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells
    from spatial_core.demo import build_demo
    from spatial_core.targeting.scoring import load_scores

    s = open_store(postgis_url)
    build_demo(s, tmp_path / "files", households=1_500, months=2)
    s.close()
    (tmp_path / "service.yml").write_text(f"""
store: {postgis_url}
auth:
  api_keys:
    - name: officer
      sha256: {hash_api_key(OFFICER_KEY)}
      role: beat_officer
      areas: [{BEAT}]
      purpose: test
audit:
  path: audit.jsonl
""")
    with running_service(tmp_path / "service.yml") as (url, proc, log):
        assert _get(url + "/health")[1]["backend"] == "postgis"
        s = open_store(postgis_url, create=False)
        try:
            _, scores = load_scores(s)  # stored by lpt serve at start
            cells = crime_cells(s, 8, beats=[BEAT])
        finally:
            s.close()
        mine = scores[scores["beat_id"] == BEAT]
        st, body = _get(url + "/collections/street_scores/items?f=json&limit=1000", OFFICER_KEY)
        assert st == 200 and body["numberMatched"] == len(mine) > 0
        flt = urllib.parse.quote("rank_in_beat <= 3 AND score >= 0")
        st, body = _get(url + f"/collections/street_scores/items?f=json&filter={flt}",
                        OFFICER_KEY)
        assert st == 200 and body["numberMatched"] == int((mine["rank_in_beat"] <= 3).sum())
        st, body = _get(url + "/collections/crime_cells/items?f=json&limit=1000", OFFICER_KEY)
        assert {f["id"]: f["properties"]["crimes"] for f in body["features"]} == \
            cells.set_index("cell_id")["crimes"].to_dict()
        st, body = _get(url + "/processes/score-area/execution", OFFICER_KEY,
                        json.dumps({"inputs": {"area": BEAT, "top": 1}}).encode())
        assert st == 200 and body["streets"] == mine["beat_id"].nunique()
        st, _ = _get(url + "/processes/score-area/execution", OFFICER_KEY,
                     json.dumps({"inputs": {"area": "beat:DM02B01"}}).encode())
        assert st == 404
