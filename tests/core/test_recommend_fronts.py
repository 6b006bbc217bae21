# SPDX-License-Identifier: GPL-3.0-or-later
"""Recommended actions through the use-case layer and the CLI on a demo force: the context
read from the store, `lpt score` with the shipped and a custom rules file, a bad rules file,
the export and the tactical section."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from spatial_core import open_store
from spatial_core.api import FORCE, Scope
from spatial_core.targeting.recommend import ACTIONS


@pytest.fixture(scope="module")
def demo(demo_builds, tmp_path_factory):
    return demo_builds.copy(tmp_path_factory.mktemp("demo-actions"), households=3_000, months=3)


def lpt(*args, store):
    cmd = [sys.executable, "-m", "lpt_cli.main", "--store", str(store), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_action_context_counts_households_members_and_key_contacts_from_the_store(demo):
    from spatial_core.analytics.population import is_current_member
    from spatial_core.api.scores import action_context, score_streets_for
    from spatial_core.targeting.recommend import load_action_rules

    s = open_store(demo, create=False)
    try:
        run = score_streets_for(s, FORCE, "default", area="beat:DM01B01")
        ctx = action_context(s, run.scores, load_action_rules(), as_of=run.as_of)
        addr = s.read("addresses", ["uprn", "street_id"])
        mem = s.read("members", ["member_id", "uprn", "joined", "left_on"])
        groups = s.read("member_groups", ["member_id", "grp"])
    finally:
        s.close()
    street = run.scores["street_id"].iloc[0]
    mine = addr[addr["street_id"] == street]
    current = mem[is_current_member(mem["joined"], mem["left_on"], run.as_of)]
    assert ctx.households[street] == len(mine)
    assert ctx.members[street] == mine["uprn"].isin(set(current["uprn"])).sum()
    # every beat's key contacts are current members of the key individual network or IAG
    key = set(groups.loc[groups["grp"].isin(["key_individual", "iag"]), "member_id"])
    assert ctx.key_contacts.sum() <= len(current[current["member_id"].isin(key)])
    assert set(ctx.priorities.columns) == {"beat_id", "priority", "label", "share", "n"}
    assert ctx.crime_times.index.str.startswith("beat:").all()


def test_lpt_score_prints_the_action_under_each_street(demo):
    r = lpt("score", "--area", "beat:DM01B01", "--top", "2", "--json", store=demo)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["actions"] == "recommended_actions.toml"
    assert {s["action"] for s in data["scores"]} <= set(ACTIONS)
    assert all(s["action_reason"] for s in data["scores"])
    text = lpt("score", "--area", "beat:DM01B01", "--top", "2", store=demo)
    assert text.returncode == 0, text.stderr
    for s in data["scores"]:
        assert f"       -> {s['action_label']}: {s['action_reason']}" in text.stdout


def test_lpt_score_with_a_custom_rules_file(demo, tmp_path):
    rules = tmp_path / "mine.toml"
    rules.write_text('[[rule]]\nname = "all"\naction = "leaflet_message"\nlabel = "Leaflet"\n'
                     'reason = "{name}: score {score}, rank {rank} in {beat}"\n')
    r = lpt("score", "--area", "beat:DM01B01", "--top", "1", "--json", "--actions", rules,
            store=demo)
    assert r.returncode == 0, r.stderr
    (top,) = json.loads(r.stdout)["scores"]
    assert top["action"] == "leaflet_message" and top["action_label"] == "Leaflet"
    assert top["action_reason"] == (f"{top['name']}: score {top['score']:.2f}, rank 1 in "
                                    "beat:DM01B01")


def test_lpt_score_refuses_a_bad_rules_file_before_scoring(demo, tmp_path):
    rules = tmp_path / "bad.toml"
    rules.write_text('[[rule]]\nname = "x"\naction = "visible_patrol"\nreason = "{crimes}"\n')
    r = lpt("score", "--actions", rules, store=demo)
    assert r.returncode != 0
    assert f"{rules}, rule 1 ('x'), key 'reason': value '{{crimes}}': unknown placeholder" \
        in r.stderr
    assert r.stdout == ""


def test_export_street_scores_carries_the_actions_with_small_counts_withheld(demo):
    import re

    from spatial_core.api.export import layer_frame
    from spatial_core.api.scores import score_streets_for

    s = open_store(demo, create=False)
    try:
        f, _, _ = layer_frame(s, "street-scores", area="beat:DM01B01", fresh=True)
        exact = score_streets_for(s, FORCE, "default", area="beat:DM01B01", actions=True)
    finally:
        s.close()
    exact = exact.scores.set_index("street_id")["action_reason"]
    got = f.set_index("street_id")["action_reason"]
    assert set(got.index) == set(exact.index)
    small = re.compile(r"\b([1-4]) (of \d+ households are members|key individuals)")
    changed = 0
    for sid, text in exact.items():
        want = small.sub(lambda m: f"<5 {m.group(2)}", text)
        assert got[sid] == want
        changed += want != text
    assert changed > 0  # the demo beat has streets with 1-4 member households


def test_tactical_section_lists_the_recommended_streets_with_their_action(demo):
    from spatial_core.api.scores import add_actions, score_streets_for
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections.actions import section
    from spatial_core.targeting.profiles import load_profile

    s = open_store(demo, create=False)
    try:
        ctx = SectionContext(store=s, area_id="beat:DM01B01", level="beat", scope=FORCE,
                             profile=load_profile("default"), period=None, min_n=10,
                             target=0.7)
        t = section(ctx)
        run = score_streets_for(s, FORCE, "default", area="beat:DM01B01")
        best = run.scores[run.scores["score"] > 0].sort_values(
            ["score", "street_id"], ascending=[False, True]).head(10)
        expected = add_actions(s, best.reset_index(drop=True), run.profile, as_of=run.as_of,
                               k=5)
        partner = section(SectionContext(store=s, area_id="beat:DM01B01", level="beat",
                                         scope=Scope(role="partner"), profile=ctx.profile,
                                         period=None, min_n=10, target=0.7))
    finally:
        s.close()
    assert t.columns == ("Rank", "Street", "Score", "Action", "Why")
    assert [r[1] for r in t.rows] == expected["name"].tolist()
    assert [r[3] for r in t.rows] == expected["action_label"].tolist()
    assert [r[4] for r in t.rows] == expected["action_reason"].tolist()
    assert partner is None
    assert isinstance(expected, pd.DataFrame)
