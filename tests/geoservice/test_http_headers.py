# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP caching headers: personal answers are never stored by a browser or a proxy, answers
to an authenticated caller are private, and every answer varies by the caller's credentials
(served and cached answers alike)."""
from __future__ import annotations

import json

import pytest

from geoservice.app import PERSONAL, cache_control


def _vary(headers: dict) -> set[str]:
    return {v.strip().lower() for v in headers.get("Vary", "").split(",") if v.strip()}


def _features(body: bytes) -> dict:
    doc = json.loads(body)
    doc.pop("timeStamp", None)  # each worker stamps its own answer
    return doc


@pytest.fixture()
def officer(service, demo):
    beat = sorted(demo["streets"]["beat_id"].dropna().unique())[0]
    return service.token("beat_officer", [beat], sub="headers-officer")


def test_cache_control_rules():
    assert cache_control("/collections/walk_lists/items/1", 200, True) == "no-store"
    assert cache_control("/jobs/abc/results", 200, True) == "no-store"
    assert cache_control("/processes/score-area/execution", 200, False) == "no-store"
    assert cache_control("/collections/streets/items", 404, True) == "no-store"
    assert cache_control("/collections/streets/items", 200, True) == "private, no-cache"
    assert cache_control("/collections/crime_cells/items", 200, False) == "public, max-age=60"
    assert {"visits", "walk_lists", "key_contacts"} <= PERSONAL


def test_an_officers_layer_is_private_and_varies_by_credentials(service, officer):
    path = "/collections/street_scores/items?f=json&limit=47"
    first = service.get(path, token=officer)
    assert first[0] == 200 and first[1].get("X-Cache") == "MISS"
    # Two workers, each with its own response cache: ask until one answers from its cache.
    for _ in range(12):
        second = service.get(path, token=officer)
        if second[1].get("X-Cache") == "HIT":
            break
    assert second[0] == 200 and second[1].get("X-Cache") == "HIT"
    assert _features(first[2]) == _features(second[2])
    for _, headers, _ in (first, second):
        assert headers["Cache-Control"] == "private, no-cache"
        assert {"authorization", "x-api-key"} <= _vary(headers), headers.get("Vary")


def test_public_aggregates_may_be_kept_by_shared_caches(service):
    status, headers, _ = service.get("/collections/areas/items?f=json&limit=5")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=60"
    assert {"authorization", "x-api-key"} <= _vary(headers)


def test_personal_answers_and_errors_are_never_stored(service, officer):
    status, headers, _ = service.get("/collections/visits/items?f=json&limit=5",
                                     token=officer, headers={"X-Purpose": "header test"})
    assert status == 200 and headers["Cache-Control"] == "no-store"
    status, headers, _ = service.get("/collections/street_scores/items?f=json",
                                     token="not-a-token")
    assert status == 401 and headers["Cache-Control"] == "no-store"
    status, headers, _ = service.get("/processes?f=json", token=officer)
    assert status == 200 and headers["Cache-Control"] == "no-store"
