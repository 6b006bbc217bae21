# SPDX-License-Identifier: GPL-3.0-or-later
"""The street_scores collection carries each street's recommended action: the values equal
the core's (spatial_core.api.scores.add_actions on the stored run), for the police roles in
their beats; partners and the public get none (the collection's access rule)."""
from __future__ import annotations

import urllib.parse

OFFICER_BEAT = "beat:DM01B01"
PURPOSE = {"X-Purpose": "planning beat patrols"}


def _core_actions(store_path):
    from spatial_core import open_store
    from spatial_core.api.scores import add_actions
    from spatial_core.targeting.scoring import load_scores

    s = open_store(store_path, create=False)
    try:
        head, scores = load_scores(s)
        names = s.read("streets", ["street_id", "name"])
        scores = scores.merge(names, on="street_id", how="left")
        return add_actions(s, scores, head["profile"], as_of=head["as_of"]).set_index(
            "street_id")
    finally:
        s.close()


def test_street_scores_carry_the_core_action_for_a_known_street(service, callers):
    core = _core_actions(service.store)
    mine = core[core["beat_id"] == OFFICER_BEAT].sort_values("rank_in_beat")
    street = mine.index[0]  # the officer's first street
    path = (f"/collections/street_scores/items/{urllib.parse.quote(street, safe='')}"
            "?f=json")
    status, body = service.json(path, headers=PURPOSE, **callers["beat_officer"])
    assert status == 200, body
    props = body["properties"]
    for col in ("action", "action_label", "action_reason"):
        assert props[col] == mine.loc[street, col]
    # every street of the beat, as the officer pages through them
    q = urllib.parse.urlencode({"beat_id": OFFICER_BEAT, "limit": 1000, "f": "json"})
    status, body = service.json(f"/collections/street_scores/items?{q}", headers=PURPOSE,
                                **callers["beat_officer"])
    assert status == 200, body
    got = {f["properties"]["street_id"]: (f["properties"]["action"],
                                          f["properties"]["action_reason"])
           for f in body["features"]}
    assert got == {sid: (r["action"], r["action_reason"]) for sid, r in mine.iterrows()}


def test_street_scores_queryables_list_the_action_fields(service, callers):
    status, body = service.json("/collections/street_scores/queryables?f=json",
                                headers=PURPOSE, **callers["force_analyst"])
    assert status == 200, body
    assert {"action", "action_label", "action_reason"} <= set(body["properties"])


def test_partners_and_the_public_get_no_street_actions(service, callers):
    for role in ("partner", "partner_key", "public"):
        status, body = service.json("/collections/street_scores/items?f=json&limit=5",
                                    headers=PURPOSE, **callers[role])
        assert status in (401, 403), (role, status)
        assert "action_reason" not in str(body)


def test_score_area_process_returns_the_core_actions_for_the_officers_beat(service, callers):
    import json

    from spatial_core import open_store
    from spatial_core.api import Scope
    from spatial_core.api.scores import score_streets_for

    h = {"Content-Type": "application/json", **PURPOSE}
    status, _, raw = service.request(
        "POST", "/processes/score-area/execution",
        body=json.dumps({"inputs": {"area": OFFICER_BEAT}}).encode(), headers=h,
        **callers["beat_officer"])
    assert status == 200, raw
    got = {r["street_id"]: (r["action"], r["action_label"], r["action_reason"])
           for r in json.loads(raw)["scores"]}
    s = open_store(service.store, create=False)
    try:
        scope = Scope(role="beat_officer", areas=frozenset({OFFICER_BEAT}))
        want = score_streets_for(s, scope, None, area=OFFICER_BEAT, actions=True).scores
    finally:
        s.close()
    assert got == {r["street_id"]: (r["action"], r["action_label"], r["action_reason"])
                   for r in want.to_dict("records")}
