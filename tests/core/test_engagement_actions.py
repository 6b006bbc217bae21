# SPDX-License-Identifier: GPL-3.0-or-later
"""The actions log and the "You said, we did" draft built from an area's local priorities
and the actions recorded there and above it."""
from __future__ import annotations

import pytest

from spatial_core import open_store
from spatial_core.analytics.priorities import local_priorities
from spatial_core.engagement.actions import add_action, list_actions, you_said_we_did_draft
from spatial_core.errors import InputError, NotFoundError

NOW = "2026-10-05T10:00:00"


@pytest.fixture
def demo(demo_builds, tmp_path):
    """The demo without its engagement history: the actions log starts empty."""
    store = open_store(demo_builds.copy(tmp_path, households=2_000, months=6, history=False))
    yield store
    store.close()


def _beat_with_priorities(store):
    lp = local_priorities(store, level="beat", min_n=10)
    lp = lp[lp["is_priority"]]
    beat = lp.groupby("area_id")["n"].first().sort_values(ascending=False).index[0]
    mine = lp[lp["area_id"] == beat].sort_values(["votes", "priority"], ascending=[False, True])
    areas = store.read("areas", ["area_id", "parent_id"])
    npa = areas.set_index("area_id").loc[beat, "parent_id"]
    return beat, npa, mine


@pytest.mark.parametrize("change, message", [
    ({"done_on": "05/10/2026"}, "ISO date"),
    ({"done_on": "2026-12-01"}, "future"),
    ({"priority": "parking"}, "not one of"),
    ({"what": "  "}, "empty"),
    ({"recorded_by": ""}, "recorded_by"),
])
def test_bad_actions_are_refused_and_nothing_is_written(demo, change, message):
    beat, _, _ = _beat_with_priorities(demo)
    args = {"done_on": "2026-09-01", "priority": "asb", "area_id": beat,
            "what": "Dispersal order", "recorded_by": "PC 1", **change}
    before = demo.fingerprint()
    with pytest.raises(InputError, match=message):
        add_action(demo, now=NOW, **args)
    with pytest.raises(NotFoundError):
        add_action(demo, done_on="2026-09-01", priority="asb", area_id="beat:NOPE",
                   what="x", recorded_by="PC 1", now=NOW)
    with pytest.raises(NotFoundError, match="outside"):
        add_action(demo, done_on="2026-09-01", priority="asb", area_id=beat, what="x",
                   recorded_by="PC 1", scope_areas=["beat:OTHER"], now=NOW)
    assert demo.fingerprint() == before


def test_the_draft_says_what_residents_said_and_what_was_done_there_and_above(demo):
    beat, npa, mine = _beat_with_priorities(demo)
    top, second = mine["priority"].iloc[0], mine["priority"].iloc[1]
    a1 = add_action(demo, done_on="2026-09-12", priority=top, area_id=beat,
                    what="Weekly patrols of the shops", partner="Town council",
                    recorded_by="PC 1", scope_areas=[beat], now=NOW)
    a2 = add_action(demo, done_on="2026-08-02", priority=top, area_id=npa,
                    what="Operation across the neighbourhood", recorded_by="PS 2", now=NOW)
    add_action(demo, done_on="2026-09-12", priority="other", area_id=beat,
               what="Not a local priority here", recorded_by="PC 1", now=NOW)
    listed = list_actions(demo, scope_areas=[beat])
    assert listed["done_on"].tolist() == sorted(listed["done_on"], reverse=True)  # newest first
    assert a1 in set(listed["action_id"].iloc[:2])
    assert a2 in set(listed["action_id"])  # the npa's action is visible to the beat
    draft = you_said_we_did_draft(demo, beat)
    n = int(mine["n"].iloc[0])
    assert draft.subject.startswith("You said, we did: ")
    assert draft.respondents == n
    assert [p["priority"] for p in draft.priorities] == mine["priority"].tolist()
    assert draft.priorities[0]["actions"] == 2
    assert draft.priorities[1]["actions"] == 0
    votes = int(mine["votes"].iloc[0])
    assert f"{mine['share'].iloc[0]:.0%} ({votes} of {n})" in draft.body
    assert "Weekly patrols of the shops (with Town council)" in draft.body
    assert "Operation across the neighbourhood" in draft.body
    assert "Not a local priority here" not in draft.body
    label2 = mine["label"].iloc[1]
    assert f"{label2}:\n- Nothing recorded yet" in draft.body
    assert second != top
    # a period without the actions leaves them out
    early = you_said_we_did_draft(demo, beat, period="2026Q2")
    assert "Weekly patrols" not in early.body


def test_a_draft_for_an_unknown_area_is_not_found(demo):
    with pytest.raises(NotFoundError):
        you_said_we_did_draft(demo, "beat:NOPE")
