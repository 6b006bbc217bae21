# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``evaluate-setup`` process against the running service: every role on a set-up
inside and one outside the officer's beat (the set-up visibility rule), the answer equal to
spatial_core's for the caller's scope, aggregates only (a street's survey shares withheld
below the disclosure threshold, no person), and bad inputs refused with what was expected."""
from __future__ import annotations

import json

import pytest

INSIDE, OUTSIDE = "eval-inside", "eval-outside"
OFFICER_BEAT, OTHER_BEAT = "beat:DM01B01", "beat:DM02B04"
CREATED = "2026-08-01T09:00:00"  # the demo's months are 2026-07 .. 2026-09
# role -> (status inside, status outside)
EXPECTED = {"force_analyst": (200, 200), "supervisor": (200, 404),
            "beat_officer": (200, 404), "partner": (403, 403), "partner_key": (403, 403),
            "public": (401, 401)}


@pytest.fixture(scope="module")
def setups(service):
    """Two archived set-ups (archived: the officer page's live lists are untouched)."""
    from spatial_core import open_store
    from spatial_core.targeting.setups import archive_setup, create_setup

    s = open_store(service.store, create=False)
    try:
        for sid, beat in ((INSIDE, OFFICER_BEAT), (OUTSIDE, OTHER_BEAT)):
            create_setup(s, sid, areas=[beat], setup_id=sid, max_streets=8, now=CREATED)
            archive_setup(s, sid, now="2026-08-31T18:00:00")
    finally:
        s.close()
    return {INSIDE: OFFICER_BEAT, OUTSIDE: OTHER_BEAT}


def _execute(service, callers, role, inputs):
    status, _, raw = service.request(
        "POST", "/processes/evaluate-setup/execution",
        body=json.dumps({"inputs": inputs}).encode(),
        headers={"Content-Type": "application/json"}, **callers[role])
    return status, (json.loads(raw) if raw else None)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_evaluate_setup_follows_role_and_setup_visibility(service, callers, setups, role):
    inside, outside = EXPECTED[role]
    status, body = _execute(service, callers, role, {"setup_id": INSIDE})
    assert status == inside, body
    if status == 200:
        assert body["setup_id"] == INSIDE and len(body["outcomes"]) == 5
    status, body = _execute(service, callers, role, {"setup_id": OUTSIDE})
    assert status == outside, body
    if status == 404:  # the same answer as for a set-up that does not exist
        _, missing = _execute(service, callers, role, {"setup_id": "no-such-setup"})
        assert body["description"] == missing["description"]


def test_evaluate_setup_answers_what_the_core_gives_the_caller(service, callers, setups):
    from spatial_core import open_store
    from spatial_core.analytics.population import area_table
    from spatial_core.api import Scope
    from spatial_core.api.evaluation import evaluate_setup

    status, body = _execute(service, callers, "beat_officer",
                            {"setup_id": INSIDE, "streets": True, "before_months": 1})
    assert status == 200, body
    s = open_store(service.store, create=False)
    try:
        scope = Scope.for_caller(area_table(s), "beat_officer", [OFFICER_BEAT], k=service.k)
        want = evaluate_setup(s, INSIDE, scope, before_months=1).to_dict()
    finally:
        s.close()
    assert body == json.loads(json.dumps(want, default=str))
    # windows: the set-up started 1 August; after = August, September; before = July
    assert body["windows"]["after"] == ["2026-08", "2026-09"]
    assert body["windows"]["before"] == ["2026-07"]


def test_evaluate_setup_is_aggregate_only(service, callers, setups):
    status, body = _execute(service, callers, "force_analyst",
                            {"setup_id": INSIDE, "streets": True})
    assert status == 200, body
    for street in body["streets"]:
        for w in ("before", "after"):
            if street[f"respondents_{w}"] < service.k:
                assert street[f"confident_pct_{w}"] is None
                assert street[f"safe_pct_{w}"] is None
    text = json.dumps(body)
    for word in ("uprn", "member_id", "postcode", "email", "phone"):
        assert word not in text
    _, without = _execute(service, callers, "force_analyst", {"setup_id": INSIDE})
    assert "streets" not in without


@pytest.mark.parametrize("inputs, status, words", [
    ({}, 400, "'setup_id' is required"),
    ({"setup_id": INSIDE, "before_months": 0}, 400, "from 1 to 60"),
    ({"setup_id": INSIDE, "after_from": "middle"}, 400, "one of ['start', 'end']"),
    ({"setup_id": INSIDE, "colour": "red"}, 400, "unknown inputs ['colour']"),
    ({"setup_id": "no-such-setup"}, 404, "does not name a set-up you may see"),
])
def test_evaluate_setup_refuses_bad_inputs_clearly(service, callers, setups, inputs, status,
                                                   words):
    got, body = _execute(service, callers, "beat_officer", inputs)
    assert got == status, body
    assert words in body["description"]
