# SPDX-License-Identifier: GPL-3.0-or-later
"""Recommended actions (spatial_core.targeting.recommend): each shipped rule and their order
on hand-made scores, custom rules files, bad rules files, disclosure of the words, crime
timing."""
from __future__ import annotations

import pandas as pd
import pytest

from spatial_core.errors import InputError, NotFoundError
from spatial_core.targeting.recommend import (
    ACTIONS,
    ActionContext,
    action_rules_from_toml,
    crime_timing,
    load_action_rules,
    recommend_actions,
)

# The shipped default profile's weights.
W = {"harm": 1.0, "voice": 0.5, "representation": 0.75, "coverage": 0.5, "fatigue": 0.5}


def scores(*rows) -> pd.DataFrame:
    """Streets from (street_id, beat, harm, voice, representation, coverage) scaled values;
    raw values: representation_raw 10 x scaled, coverage_raw 20 x scaled."""
    out = []
    for rank, (sid, beat, h, v, r, c) in enumerate(rows, start=1):
        out.append({"street_id": sid, "name": sid.title(), "beat_id": beat,
                    "score": W["harm"] * h + W["voice"] * v + W["representation"] * r
                    + W["coverage"] * c, "rank_in_beat": rank, "harm": h, "voice": v,
                    "representation": r, "coverage": c, "fatigue": 0.0, "harm_raw": h * 2,
                    "voice_raw": v, "representation_raw": r * 10, "coverage_raw": c * 20,
                    "fatigue_raw": 0.0, "voice_n": 17})
    return pd.DataFrame(out)


CONTEXT = ActionContext(
    households=pd.Series({"b": 41}), members=pd.Series({"b": 3}),
    priorities=pd.DataFrame({"beat_id": ["b2"], "priority": ["environmental"],
                             "label": ["Fly-tipping and environmental"], "share": [0.47],
                             "n": [17]}),
    key_contacts=pd.Series({"b1": 4}),
    crime_times=pd.Series({"b1": "most crime 20:00-24:00", "b2": "most crime in Jul"}))


def one(street_id, beat, h, v, r, c, context=CONTEXT, **kw):
    out = recommend_actions(scores((street_id, beat, h, v, r, c)), load_action_rules(), W,
                            context, **kw)
    return out.loc[0, "action"], out.loc[0, "action_label"], out.loc[0, "action_reason"]


def test_harm_share_over_half_is_a_visible_patrol_at_the_beats_crime_times():
    # parts: harm 0.8, representation 0.75 x 0.4 = 0.3, voice 0.1, coverage 0.1; total 1.3;
    # harm 0.8 / 1.3 = 61.5% -> 62%
    assert one("a", "b1", 0.8, 0.2, 0.4, 0.2) == (
        "visible_patrol", "Visible patrol at the times crime happens",
        "harm 0.80 drives the score (62% of it): most crime 20:00-24:00")


def test_representation_and_coverage_over_half_is_a_door_knock_with_members_per_household():
    # parts: harm 0.1, representation 0.75, voice 0.1, coverage 0.3; total 1.25;
    # representation + coverage 1.05 / 1.25 = 84%; coverage_raw 0.6 x 20 = 12
    assert one("b", "b1", 0.1, 0.2, 1.0, 0.6) == (
        "door_knock_register_survey", "Door-knock to register and survey",
        "representation 1.00 and coverage 0.60 drive the score (84% of it): 3 of 41 "
        "households are members, 12 not yet visited or registered")


def test_fly_tipping_priority_with_voice_a_quarter_is_a_council_referral():
    # parts: harm 0.5, representation 0.15, voice 0.4, coverage 0.1; total 1.15;
    # voice 0.4 / 1.15 = 34.8% -> 35% >= 25%; beat b2 has the environmental priority
    assert one("c", "b2", 0.5, 0.8, 0.2, 0.2) == (
        "partner_referral", "Refer to the council (fly-tipping)",
        "Fly-tipping and environmental is a local priority of b2 (47% of 17 respondents) and "
        "residents' voice 0.80 is 35% of the score: refer to the council")


def test_voice_leading_with_key_contacts_in_the_beat_is_contact_the_key_individuals():
    # parts: harm 0.3, representation 0.15, voice 0.5, coverage 0.1; total 1.05; no share
    # over a half; voice leads with 0.5 / 1.05 = 47.6% -> 48%; beat b1 has 4 key contacts
    assert one("d", "b1", 0.3, 1.0, 0.2, 0.2) == (
        "contact_key_individuals", "Contact the key individuals of the area",
        "residents' voice 1.00 leads the score (48% of it): 4 key individuals and IAG members "
        "in b1 can say what is behind it")
    # no key contact in b3 -> no other rule fits -> the catch-all leaflet
    assert one("d", "b3", 0.3, 1.0, 0.2, 0.2) == (
        "leaflet_message", "Leaflet or message the street",
        "voice 1.00 leads the score (48% of it): tell the street what is being done about it")


def test_harm_leading_under_half_is_still_a_patrol_and_representation_leading_a_door_knock():
    # parts: harm 0.45, representation 0.3, voice 0.1, coverage 0.1; total 0.95; harm
    # 47.4% (< 50%), representation + coverage 42% (< 50%); harm leads
    assert one("e", "b1", 0.45, 0.2, 0.4, 0.2)[::2] == (
        "visible_patrol", "harm 0.45 leads the score (47% of it): most crime 20:00-24:00")
    # parts: harm 0.35, representation 0.375, voice 0.25; total 0.975; representation
    # leads with 38.5% -> 38%; representation + coverage < 50%
    assert one("b", "b1", 0.35, 0.5, 0.5, 0.0)[::2] == (
        "door_knock_register_survey",
        "representation 0.50 leads the score (38% of it): 3 of 41 households are members, "
        "0 not yet visited or registered")


def test_a_street_with_score_zero_gets_no_action():
    assert one("z", "b1", 0.0, 0.0, 0.0, 0.0) == (
        "no_action", "No action", "no component adds to the score")


def test_the_first_rule_that_fits_wins():
    # parts: harm 1.0, voice 0.5; total 1.5: harm 67% (harm_patrol fits) and voice 33%
    # (fly_tipping fits where environmental is a priority): fly_tipping comes first
    out = recommend_actions(scores(("p", "b2", 1.0, 1.0, 0.0, 0.0),
                                   ("q", "b1", 1.0, 1.0, 0.0, 0.0)), load_action_rules(), W,
                            CONTEXT)
    assert out["action"].tolist() == ["partner_referral", "visible_patrol"]
    # equal parts: harm and representation 0.75 each -> harm leads (the reasons' order)
    # (harm 50% reaches the half; beat b3 has no crime in the timing context)
    assert one("t", "b3", 0.75, 0.0, 1.0, 0.0)[::2] == (
        "visible_patrol", "harm 0.75 drives the score (50% of it): no crime recorded in the "
        "beat in the last 12 months")


def test_context_missing_makes_its_conditions_fail_and_placeholders_read_n_a():
    # voice leads, but without key contacts known the key-individual rule does not fit
    assert one("d", "b1", 0.3, 1.0, 0.2, 0.2, context=None)[0] == "leaflet_message"
    assert one("b", "b1", 0.1, 0.2, 1.0, 0.6, context=None)[2].endswith(
        "n/a of n/a households are members, 12 not yet visited or registered")


def test_counts_of_people_below_k_are_withheld_when_asked():
    assert one("b", "b1", 0.1, 0.2, 1.0, 0.6, k=5)[2].endswith(
        "<5 of 41 households are members, 12 not yet visited or registered")
    assert one("d", "b1", 0.3, 1.0, 0.2, 0.2, k=5)[2].startswith(
        "residents' voice 1.00 leads the score (48% of it): <5 key individuals")
    # 17 respondents are not below k; 3 members of 41 households are, so the 38
    # non-members would give them away: "all but <5"
    rules = action_rules_from_toml('[[rule]]\nname = "a"\naction = "leaflet_message"\n'
                                   'reason = "{members}|{non_members}|{priority_n}|{voice_n}"',
                                   "mine.toml")
    out = recommend_actions(scores(("b", "b2", 0.1, 0.2, 1.0, 0.6)), rules, W, CONTEXT, k=5)
    assert out.loc[0, "action_reason"] == "<5|all but <5|17|17"
    ctx = ActionContext(households=pd.Series({"b": 41}), members=pd.Series({"b": 38}))
    out = recommend_actions(scores(("b", "b2", 0.1, 0.2, 1.0, 0.6)), rules, W, ctx, k=5)
    assert out.loc[0, "action_reason"] == "38|3|n/a|17"  # 3 households without: not people
    out = recommend_actions(scores(("b", "b2", 0.1, 0.2, 1.0, 0.6)), rules, W, ctx)
    assert out.loc[0, "action_reason"] == "38|3|n/a|17"


CUSTOM = """
[[rule]]
name = "busy_uncovered"
action = "door_knock_register_survey"
label = "Knock on every door"
min = {coverage = 0.5}
min_raw = {representation = 4}
max_rank = 2
reason = "{name} ranks {rank} in {beat}: coverage {coverage} ({coverage_raw} households)"

[[rule]]
name = "scored_high"
action = "visible_patrol"
min_score = 1.0
reason = "score {score}, top driver {top_driver} ({top_share})"
"""


def test_a_custom_rules_file_with_thresholds_rank_and_score(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(CUSTOM)
    rules = load_action_rules(path)
    assert rules.source == str(path) and rules.needs == frozenset()
    s = scores(("x", "b1", 0.0, 0.0, 0.5, 0.5),   # rank 1, representation_raw 5: rule 1
               ("y", "b1", 0.0, 0.0, 0.3, 1.0),   # representation_raw 3 < 4; score 0.725
               ("w", "b1", 1.0, 0.0, 0.5, 0.5),   # rank 3 > 2; score 1.625: rule 2
               ("v", "b1", 0.0, 0.0, 0.0, 0.0))   # no rule
    out = recommend_actions(s, rules, W, None)
    assert out["action"].tolist() == ["door_knock_register_survey", "no_action",
                                      "visible_patrol", "no_action"]
    assert out["action_label"].tolist()[:3] == ["Knock on every door", "No action",
                                                "Visible patrol at the times crime happens"]
    assert out.loc[0, "action_reason"] == "X ranks 1 in b1: coverage 0.50 (10 households)"
    # w: parts harm 1.0, representation 0.375, coverage 0.25; total 1.625: harm 61.5%
    assert out.loc[2, "action_reason"] == "score 1.62, top driver harm 1.00 (62%)"
    assert out.loc[1, "action_reason"] == f"no rule of {path} applies"


def test_shipped_rules_use_only_the_vocabulary_and_need_all_the_context():
    rules = load_action_rules()
    assert {r.action for r in rules.rules} <= set(ACTIONS)
    assert [r.name for r in rules.rules][:3] == ["nothing_to_do", "fly_tipping", "harm_patrol"]
    assert rules.needs == {"households", "priorities", "key_contacts", "crime_times"}


BASE = '[[rule]]\nname = "r1"\naction = "visible_patrol"\nreason = "harm {harm}"\n'


@pytest.mark.parametrize("text, expected", [
    ("name = 'x'", "unknown top-level key 'name'; expected [[rule]] tables only"),
    ("", "no rules; expected one or more [[rule]] tables"),
    ("[[rule]\n", "not valid TOML"),
    ('[[rule]]\naction = "visible_patrol"\nreason = "r"',
     "rule 1, key 'name': expected a rule name (text)"),
    (BASE.replace('"visible_patrol"', '"arrest"'),
     "rule 1 ('r1'), key 'action': value 'arrest': expected one of door_knock_register_survey, "
     "visible_patrol, contact_key_individuals, partner_referral, leaflet_message, no_action"),
    (BASE + "colour = 'red'\n", "rule 1 ('r1'), key 'colour': unknown key; expected one of "
                                "name, action, label, reason"),
    (BASE.replace("{harm}", "{harms}"), "rule 1 ('r1'), key 'reason': value '{harms}': "
                                        "unknown placeholder; expected one of {name}"),
    (BASE.replace("{harm}", "{harm:.1f}"), "rule 1 ('r1'), key 'reason': value '{harm:.1f}': "
                                           "placeholders take no format"),
    (BASE.replace("{harm}", "{harm"), "rule 1 ('r1'), key 'reason': value 'harm {harm': not "
                                      "a valid template"),
    (BASE + "min_share = 0.5\n", "rule 1 ('r1'), key 'min_share': needs 'drivers'"),
    (BASE + "drivers = ['harm']\nmin_share = 1.5\n",
     "rule 1 ('r1'), key 'min_share': value 1.5: expected a number between 0 and 1"),
    (BASE + "drivers = ['fatigue']\n", "rule 1 ('r1'), key 'drivers': value 'fatigue': "
                                       "expected one of harm, representation, voice, coverage"),
    (BASE + "min = {harm = 2}\n", "rule 1 ('r1'), key 'min.harm': value 2: expected a number "
                                  "between 0 and 1"),
    (BASE + "min = {crime = 0.2}\n", "rule 1 ('r1'), key 'min.crime': unknown component"),
    (BASE + "max_rank = 0\n", "rule 1 ('r1'), key 'max_rank': value 0: expected a whole "
                              "number >= 1"),
    (BASE + "min_key_contacts = 'some'\n", "rule 1 ('r1'), key 'min_key_contacts': value "
                                           "'some': expected a whole number >= 1"),
    (BASE + "priorities = ['flytipping']\n", "rule 1 ('r1'), key 'priorities': value "
                                             "'flytipping': expected one of the priority slugs"),
    (BASE + BASE, "rule 2 ('r1'), key 'name': value 'r1': expected a name no earlier rule has"),
    (BASE + '[[rule]]\nname = "r2"\naction = "no_action"\n',
     "rule 2 ('r2'), key 'reason': expected a reason template"),
])
def test_a_bad_rules_file_names_file_rule_key_and_what_was_expected(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_action_rules(path)
    assert str(err.value).startswith(f"{path}"), str(err.value)
    assert expected in str(err.value), str(err.value)


def test_a_missing_rules_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="actions file .*nope.toml' does not exist"):
        load_action_rules(tmp_path / "nope.toml")


def test_crime_timing_hours_and_days_when_timed_months_and_categories_when_not():
    # 2026-01-02 and -09 are Fridays, -03 a Saturday, -05 a Monday. Hours 21, 22, 20 fall
    # in the 20:00-24:00 block (3 of 4); days Fri 2, then Mon and Sat 1 each (ties in
    # weekday order).
    t = crime_timing(["b", "b", "b", "b", "c", "c"],
                     ["2026-01"] * 4 + ["2026-03", "2026-07"],
                     ["2026-01-02 21:30", "2026-01-03T22:10:00", "2026-01-09 20:05",
                      "2026-01-05 09:00", None, None],
                     ["Burglary", "Burglary", "Drugs", "Drugs", "Drugs", "Robbery"],
                     min_timed=3)
    assert t["b"] == ("most crime 20:00-24:00 (3 of 4 timed crimes), busiest on Fri and Mon")
    # c: one crime each in March and July (tie: both named), Drugs and Robbery tie -> the
    # first alphabetically
    assert t["c"] == ("most crime in Mar and Jul (1 of 2 each), mostly drugs (1 of 2); the "
                      "data give months, not times")
