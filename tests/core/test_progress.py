# SPDX-License-Identifier: GPL-3.0-or-later
"""Supervisors' progress (spatial_core.api.progress) on the hand-built town of test_setups.

One set-up over beats B1 and B2, created at 2026-11-20T10:00 with targets of 10 visits,
4 registrations and 4 surveys. Its walk lists hold B1's 15 households (streets ``l`` and
``b`` less the member at 202) and B2's 4 (street ``c`` less the member at 301): 19.

Visits (officer, outcome, what else happened):

=====  ======  ==================  =======  ===========================================
visit  UPRN    when                officer  what it achieved
=====  ======  ==================  =======  ===========================================
V1     101     2026-11-20 11:00    pc1      registered; member M3 joins there on the 25th
V2     102     2026-11-21 11:00    pc1      surveyed; M5 (joins 23rd) answers online 24th
V3     103     2026-11-21 12:00    pc2      not in
V4     302     2026-11-22 12:00    pc3      spoke + door registration; M4 joined on the
                                            21st, before the visit: not matched
V5     303     2026-11-22 13:00    pc3      spoke + a door survey response at its point
V6     104     2026-11-19 09:00    pc2      before the set-up: only in the headline
=====  ======  ==================  =======  ===========================================

So the set-up has 5 visits, 2 registered (V1, V4), 1 joined (V1), 2 surveyed (V2, V5) and
1 answered online later (102). B1 has 3 visits, 1 registered, 1 surveyed, 1 online;
B2 2 visits, 1 registered, 1 surveyed.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from spatial_core.api import Scope
from spatial_core.api.progress import progress
from spatial_core.errors import InputError, NotFoundError
from spatial_core.targeting.setups import create_setup
from tests.core.test_setups import build_town

CREATED = "2026-11-20T10:00:00"
VISITS = [("V1", "101", "2026-11-20T11:00:00", "registered", "pc1"),
          ("V2", "102", "2026-11-21T11:00:00", "surveyed", "pc1"),
          ("V3", "103", "2026-11-21T12:00:00", "not_in", "pc2"),
          ("V4", "302", "2026-11-22T12:00:00", "spoke", "pc3"),
          ("V5", "303", "2026-11-22T13:00:00", "spoke", "pc3"),
          ("V6", "104", "2026-11-19T09:00:00", "spoke", "pc2")]
TREE = pd.DataFrame({"area_id": ["beat:B1", "beat:B2", "npa:N1"],
                     "level": ["beat", "beat", "npa"], "parent_id": ["npa:N1", "npa:N1", None]})


@pytest.fixture
def town(store):
    build_town(store)
    create_setup(store, "Town drive", areas=["beat:B1", "beat:B2"], setup_id="drive",
                 now=CREATED, targets={"visits": 10, "registrations": 4, "surveys": 4})
    addr = store.read("addresses", ["uprn", "x", "y"]).set_index("uprn")
    v = pd.DataFrame(VISITS, columns=["visit_id", "uprn", "visited_at", "outcome", "officer"])
    v["cell"] = 0
    members = pd.DataFrame({"member_id": ["M3", "M4", "M5"], "uprn": ["101", "302", "102"],
                            "joined": ["2026-11-25", "2026-11-21", "2026-11-23"], "cell": 0})
    surveys = pd.DataFrame({
        "response_id": ["D1", "O1"], "responded": ["2026-11-22", "2026-11-24"],
        "channel": ["door_knock", "online"], "member_id": [None, "M5"],
        "x": [addr.loc["303", "x"], None], "y": [addr.loc["303", "y"], None], "cell": 0})
    reg = pd.DataFrame({"registration_id": ["G1"], "visit_id": ["V4"], "uprn": ["302"],
                        "registered_at": ["2026-11-22T12:05:00"], "officer": ["pc3"],
                        "organisation": ["police"], "response_id": [None], "has_contact": [0]})
    with store.begin() as conn:
        store.insert_new(conn, "visits", v)
        store.insert_new(conn, "members", members)
        store.insert_new(conn, "surveys", surveys)
        store.insert_new(conn, "door_registrations", reg)
    return store


COUNTS = ["visits", "households_visited", "registered", "joined", "surveyed",
          "surveyed_online"]


def test_progress_counts_a_setup_against_its_targets_and_judges_the_pace(town):
    # A week in: elapsed 7/28 = 0.25, behind below 0.8 x 0.25 = 0.2: nothing behind.
    r = progress(town, now="2026-11-27T10:00:00")
    s = r.setups.set_index("setup_id").loc["drive"]
    assert s["households"] == 19
    assert s[COUNTS].tolist() == [5, 5, 2, 1, 2, 1]
    assert s["elapsed"] == 0.25 and s["days_elapsed"] == 7.0
    assert (s["share_visits"], s["share_registrations"], s["share_surveys"]) == (0.5, 0.5, 0.75)
    assert not s["behind"] and s["behind_on"] == [] and s["judged_on"] == "targets"
    # Three weeks in: elapsed 0.75, the pace 0.6 of each target.
    r = progress(town, now="2026-12-11T10:00:00")
    s = r.setups.set_index("setup_id").loc["drive"]
    assert s["behind_on"] == ["visits", "registrations"] and s["beats_behind"] == 1
    b = r.beats.set_index("beat_id")
    assert b.loc["beat:B1", ["households", *COUNTS]].tolist() == [15, 3, 3, 1, 1, 1, 1]
    assert b.loc["beat:B2", ["households", *COUNTS]].tolist() == [4, 2, 2, 1, 0, 1, 0]
    # B1's share of the targets: 15/19 of 10 visits and of 4 registrations and surveys.
    assert b.loc["beat:B1", "target_visits"] == pytest.approx(150 / 19)
    assert b.loc["beat:B1", "share_visits"] == pytest.approx(3 / (150 / 19))  # 0.38 < 0.6
    assert b.loc["beat:B1", "share_surveys"] == pytest.approx(2 / (60 / 19))  # 0.63 >= 0.6
    assert b.loc["beat:B1", "behind_on"] == ["visits", "registrations"]
    assert b.loc["beat:B2", "behind_on"] == [] and not b.loc["beat:B2", "behind"]
    assert r.behind["beat_id"].tolist() == ["beat:B1"]
    # A looser rule (behind below half the pace, 0.375): B1's visits 0.38 are on pace.
    loose = progress(town, now="2026-12-11T10:00:00", behind_below=0.5)
    assert loose.beats.set_index("beat_id").loc["beat:B1", "behind_on"] == ["registrations"]
    json.dumps(r.to_dict())


def test_progress_by_officer_and_day_and_since(town):
    r = progress(town, now="2026-12-11T10:00:00")
    o = r.officers.set_index("officer")
    assert o.loc["pc1", [*COUNTS, "days_out"]].tolist() == [2, 2, 1, 1, 1, 1, 2]
    assert o.loc["pc2", ["visits", "registered"]].tolist() == [1, 0]  # V6 came before
    assert o.loc["pc3", [*COUNTS, "days_out"]].tolist() == [2, 2, 1, 0, 1, 0, 1]
    d = r.days.set_index("day")
    assert d["visits"].to_dict() == {"2026-11-20": 1, "2026-11-21": 2, "2026-11-22": 2}
    assert d.loc["2026-11-21", "officers"] == 2
    later = progress(town, now="2026-12-11T10:00:00", since="2026-11-21")
    assert later.officers.set_index("officer").loc["pc1", "visits"] == 1
    assert later.days["day"].min() == "2026-11-21"
    assert later.setups.iloc[0]["visits"] == 5  # targets are judged since creation


def test_the_headline_counts_every_visit_in_the_scope(town):
    r = progress(town, now="2026-12-11T10:00:00")
    assert [r.headline[c] for c in COUNTS] == [6, 6, 2, 1, 2, 1]
    assert progress(town, now="2026-12-11T10:00:00", since="2026-11-22").headline["visits"] == 2
    officer = Scope.for_caller(TREE, "beat_officer", ["beat:B2"])
    mine = progress(town, officer, now="2026-12-11T10:00:00")
    assert [mine.headline[c] for c in COUNTS] == [2, 2, 1, 0, 1, 0]
    assert mine.beats["beat_id"].tolist() == ["beat:B2"]
    assert mine.officers["officer"].tolist() == ["pc3"]
    # The set-up is one operation: its whole progress shows to an officer on it.
    assert mine.setups.iloc[0]["visits"] == 5


def test_partners_see_the_force_headline_in_whole_months_with_small_counts_withheld(town):
    r = progress(town, Scope(role="partner", k=5), now="2026-12-11T10:00:00")
    assert r.headline["until"] == "2026-11-30" and r.setups.empty and r.officers.empty
    assert [r.headline[c] for c in COUNTS] == [6, 6, None, None, None, None]
    r2 = progress(town, Scope(role="public", k=2), now="2026-12-11T10:00:00",
                  since="2026-11-21")
    assert r2.since == "2026-11-01"  # back to the first of the month
    assert [r2.headline[c] for c in COUNTS] == [6, 6, 2, None, 2, None]
    # In November the month is not over: nothing to publish yet.
    assert progress(town, Scope(role="public"), now="2026-11-28T10:00:00").headline[
        "visits"] == 0


def test_a_setup_without_targets_is_judged_on_its_walk_lists(town):
    create_setup(town, "No targets", areas=["beat:B2"], setup_id="plain", now=CREATED)
    r = progress(town, setup_id="plain", now="2026-12-11T10:00:00")
    s = r.setups.iloc[0]
    assert s["judged_on"] == "walk lists" and s["households"] == 4
    assert s["share_households"] == 0.5  # 302 and 303 of its 4 households
    assert s["behind_on"] == ["households"]  # 0.5 < 0.8 x 0.75


def test_progress_refuses_bad_input_with_what_was_expected(town):
    with pytest.raises(InputError, match="since must be a date YYYY-MM-DD"):
        progress(town, since="21/11/2026")
    with pytest.raises(InputError, match="behind_below must be a share"):
        progress(town, behind_below=1.5)
    with pytest.raises(InputError, match="period_days"):
        progress(town, period_days=0)
    with pytest.raises(NotFoundError, match="no live set-up 'nope'"):
        progress(town, setup_id="nope")
    other = Scope(role="beat_officer", areas=frozenset({"beat:B9"}))
    with pytest.raises(NotFoundError, match="no live set-up 'drive'"):
        progress(town, other, setup_id="drive")


def test_the_tactical_section_lists_the_areas_setups_against_their_targets(town):
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections.progress import section

    def ctx(area, scope):
        return SectionContext(store=town, area_id=area, level="beat", scope=scope,
                              profile=None, period=None, min_n=10, target=0.7)

    # At midnight on 11 December: 20.58 of 28 days, the pace 0.8 x 0.735 = 0.588.
    got = section(ctx("beat:B1", Scope(as_of="2026-12-11")))
    assert got.columns[0] == "Set-up" and len(got.rows) == 1
    assert got.rows[0] == ("Town drive (drive)", "21", "5 of 19", "5 of 10 (50%)",
                           "2 of 4 (50%)", "3 of 4 (75%)", "1", "visits, registrations")
    # The note is the beat's headline: V1, V2, V3 and V6 were in B1.
    assert got.note.startswith("In the area: 4 houses visited (4 visits), 1 registered "
                               "(1 now members), 1 surveyed at the door and 1 online later.")
    assert "Town drive" not in got.note and "pc1" not in " ".join(map(str, got.rows))
    assert section(ctx("beat:B1", Scope(role="partner", as_of="2026-12-11"))) is None
    assert section(ctx("beat:B1", Scope(as_of="2026-11-01"))) is None  # not created yet


def _lpt(store, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", store.location,
                           *map(str, args)], capture_output=True, text=True)


def test_lpt_progress_prints_the_report_and_refuses_a_bad_date(town):
    got = _lpt(town, "progress", "--now", "2026-12-11T10:00:00", "--by", "officer", "--json")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert [data["headline"][c] for c in COUNTS] == [6, 6, 2, 1, 2, 1]
    assert {o["officer"]: o["visits"] for o in data["officers"]} == {"pc1": 2, "pc2": 1,
                                                                     "pc3": 2}
    assert "beats" not in data and data["setups"][0]["behind_on"] == ["visits",
                                                                     "registrations"]
    text = _lpt(town, "progress", "--now", "2026-12-11T10:00:00")
    assert text.returncode == 0, text.stderr
    assert "6 houses visited (6 visits), 2 registered (1 now members)" in text.stdout
    assert "BEHIND on visits, registrations" in text.stdout
    assert "beat:B1" in text.stdout and "beat:B2" not in text.stdout  # only beats behind
    bad = _lpt(town, "progress", "--since", "11/12/2026")
    assert bad.returncode == 2 and "since must be a date YYYY-MM-DD" in bad.stderr
