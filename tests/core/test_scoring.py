# SPDX-License-Identifier: GPL-3.0-or-later
"""Street scores on a hand-built beat where every answer is known.

Beat B1 has three 100 m streets, 1 km apart (so a 250 m respondent radius reaches one
street only): ``b1/a`` (y = 0), ``b1/b`` (y = 1000) and ``b1/c`` (y = 2000); beat B2 has
``b2/d`` (y = 5000). Ten households per street. Group "2" is 8 households on ``b1/c`` with
1 member (member share 1/11 against a household share 8/40: ratio 0.45, under-represented);
group "1" is everything else, with 10 members on ``b1/a`` and ``b1/b``. Two burglaries on
``b1/b`` in January 2026; five respondents by ``b1/c`` (3 name ASB, 2 feel unsafe), two by
``b1/a``; a visit on ``b1/a`` on 8 January. Scores are as of 15 January 2026.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.errors import InputError, NotFoundError
from spatial_core.targeting.profiles import Profile, load_profile
from spatial_core.targeting.scoring import (
    SCORE_COLUMNS,
    load_scores,
    prepare_inputs,
    run_scores,
    save_scores,
    score_streets,
)

AS_OF = "2026-01-15"
STREETS = {"b1/a": ("beat:B1", 0.0), "b1/b": ("beat:B1", 1000.0), "b1/c": ("beat:B1", 2000.0),
           "b2/d": ("beat:B2", 5000.0)}


def _build(store, *, crimes: list[tuple] | None = None, visits: list[tuple] | None = None,
           respondents: list[tuple] | None = None) -> None:
    streets = pd.DataFrame({
        "street_id": list(STREETS), "name": [f"Street {k[-1].upper()}" for k in STREETS],
        "beat_id": [v[0] for v in STREETS.values()], "length_m": 100.0, "households": 10,
        "geom": [shapely.multilinestrings([[(0, y), (100, y)]]) for _b, y in STREETS.values()],
    })
    rows = []
    for sid, (beat, y) in STREETS.items():
        for i in range(10):
            uprn = f"{1 + list(STREETS).index(sid)}{i:02d}"
            group = "2" if sid == "b1/c" and i < 8 else "1"
            rows.append((uprn, sid, beat, 5.0 + 10 * i, y + 5.0, group))
    addr = pd.DataFrame(rows, columns=["uprn", "street_id", "beat_id", "x", "y", "group"])
    addr["cell"] = 0
    classes = pd.DataFrame({"scheme": "oac2011", "key_type": "uprn", "key": addr["uprn"],
                            "l1": addr["group"]})
    member_uprns = [f"1{i:02d}" for i in range(5)] + [f"2{i:02d}" for i in range(5)] + ["300"]
    members = pd.DataFrame({"member_id": [f"M{i}" for i in range(len(member_uprns))],
                            "uprn": member_uprns, "joined": "2025-01-01", "cell": 0})
    members["x"] = members["uprn"].map(addr.set_index("uprn")["x"])
    members["y"] = members["uprn"].map(addr.set_index("uprn")["y"])
    crimes = crimes if crimes is not None else [("2026-01", "Burglary", 50.0, 1010.0),
                                                ("2026-01", "Burglary", 60.0, 990.0)]
    cr = pd.DataFrame(crimes, columns=["month", "category", "x", "y"])
    cr["crime_key"] = [f"k{i}" for i in range(len(cr))]
    cr["cell"] = 0
    cr["is_outlier"] = 0
    if respondents is None:
        respondents = ([(50.0, 2010.0, 4, 1, "asb")] * 2 + [(50.0, 2010.0, 4, 4, "asb")]
                       + [(50.0, 2010.0, 4, 4, "drugs")] * 2
                       + [(50.0, 10.0, 1, 1, "asb")] * 2)
    sv = pd.DataFrame(respondents, columns=["x", "y", "confidence", "feel_safe", "priority"])
    sv["response_id"] = [f"R{i}" for i in range(len(sv))]
    sv["responded"] = "2026-01-02"
    sv["channel"] = "online"
    sv["cell"] = 0
    visits = visits if visits is not None else [("108", "2026-01-08T10:00:00")]
    vs = pd.DataFrame(visits, columns=["uprn", "visited_at"])
    vs["visit_id"] = [f"V{i}" for i in range(len(vs))]
    vs["outcome"] = "spoke"
    vs["cell"] = 0
    areas = pd.DataFrame({"area_id": ["beat:B1", "beat:B2"], "level": "beat",
                          "code": ["B1", "B2"], "boundary_set": "default"})
    with store.begin() as conn:
        store.insert_new(conn, "streets", streets)
        store.insert_new(conn, "addresses", addr.drop(columns=["group"]))
        store.insert_new(conn, "classifications", classes)
        store.insert_new(conn, "members", members)
        store.insert_new(conn, "crimes", cr)
        store.insert_new(conn, "surveys", sv.drop(columns=["priority"]))
        store.insert_new(conn, "survey_priorities", sv[["response_id", "priority"]])
        store.insert_new(conn, "visits", vs)
        store.insert_new(conn, "areas", areas)


def _only(**weights: float) -> Profile:
    return Profile(name="test", weights={c: weights.get(c, 0.0) for c in
                                         ("harm", "voice", "representation", "coverage",
                                          "fatigue")})


def _row(frame: pd.DataFrame, street: str) -> pd.Series:
    return frame.set_index("street_id").loc[street]


@pytest.fixture
def built(store):
    _build(store)
    return store


def test_score_streets_street_with_all_the_harm_ranks_first_in_its_beat(built):
    scores = score_streets(prepare_inputs(built, as_of=AS_OF), _only(harm=1))
    b1 = scores[scores["beat_id"] == "beat:B1"]
    assert b1["street_id"].tolist() == ["b1/b", "b1/a", "b1/c"]  # ties by street_id
    assert b1["rank_in_beat"].tolist() == [1, 2, 3]
    b = _row(scores, "b1/b")
    # Expected harm (the default model), by hand: crimes per street n = (0, 2, 0, 0) in one
    # month (exposure 1); mean rate 0.5, variance 0.75, so the spread beyond chance is
    # 0.75 - 0.5 = 0.25 and the gamma prior is b = 0.5 / 0.25 = 2, a = 0.5 * 2 = 1. Rates:
    # (1 + 2) / (2 + 1) = 1 on b1/b, 1/3 elsewhere. Harm per crime: the area's mix is 40 days
    # (burglary), b1/b's own is 40 too.
    assert b["harm_raw"] == pytest.approx(1.0 * 40 / 10)  # per household
    assert _row(scores, "b1/a")["harm_raw"] == pytest.approx(40 / 3 / 10)
    assert _row(scores, "b2/d")["harm_raw"] == pytest.approx(40 / 3 / 10)
    # Shrunk towards the beat's mix instead: beat B2 has no crime, so b2/d's mix is 0.
    by_beat = score_streets(prepare_inputs(built, as_of=AS_OF),
                            replace(_only(harm=1), mix_within="beat"))
    assert _row(by_beat, "b2/d")["harm_raw"] == 0.0
    assert _row(by_beat, "b1/a")["harm_raw"] == pytest.approx(40 / 3 / 10)
    assert b["harm"] == 1.0 and b["score"] == 1.0
    assert _row(scores, "b1/a")["harm"] == pytest.approx(1 / 3)
    assert b["reasons"] == "1st in the beat for burglary harm (2 crimes: 2 burglary)"
    assert _row(scores, "b1/a")["reasons"] == ""  # no crime there: the harm says nothing
    # Recorded harm: the two burglaries' CCHI days themselves.
    recorded = score_streets(prepare_inputs(built, as_of=AS_OF),
                             replace(_only(harm=1), harm_model="recorded"))
    assert _row(recorded, "b1/b")["harm_raw"] == pytest.approx(2 * 40 / 10)
    assert _row(recorded, "b1/a")["harm"] == 0.0
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert set(scores["profile"]) == {"test"}


def test_score_streets_recency_decay_halves_harm_at_the_half_life(built):
    profile = replace(_only(harm=1), harm_model="recorded", half_life_days=90)
    fresh = _row(score_streets(prepare_inputs(built, as_of="2026-01-15"), profile), "b1/b")
    # January crimes are dated the 15th: 15 January + 90 days = 15 April.
    later = _row(score_streets(prepare_inputs(built, as_of="2026-04-15"), profile), "b1/b")
    assert fresh["harm_raw"] == pytest.approx(8.0)
    assert later["harm_raw"] == pytest.approx(4.0)
    longer = replace(profile, name="slow", half_life_days=180)
    slow = _row(score_streets(prepare_inputs(built, as_of="2026-04-15"), longer), "b1/b")
    assert slow["harm_raw"] == pytest.approx(8.0 * 0.5 ** 0.5)
    # Expected harm is a rate: one month of crimes forecasts the same next month whatever
    # its age (the weights of the crimes and of the exposure cancel).
    expected = replace(profile, harm_model="expected")
    assert (_row(score_streets(prepare_inputs(built, as_of="2026-04-15"), expected), "b1/b")
            ["harm_raw"] == pytest.approx(4.0))


def test_score_streets_min_n_two_answers_never_drive_a_street(built):
    inputs = prepare_inputs(built, as_of=AS_OF)
    scores = score_streets(inputs, _only(voice=1))
    a = _row(scores, "b1/a")
    assert a["voice_n"] == 2 and a["voice_raw"] == 0.0 and a["voice"] == 0.0
    assert a["reasons"] == "only 2 respondents nearby (fewer than 5): community voice not counted"
    c = _row(scores, "b1/c")
    assert c["voice_n"] == 5
    # mix: (1 x 3/5 named ASB + 0.5 x 0 low confidence + 0.5 x 2/5 unsafe) / 2
    assert c["voice_raw"] == pytest.approx((0.6 + 0.5 * 0.4) / 2)
    assert c["rank_in_beat"] == 1
    low = Profile(name="low", weights=_only(voice=1).weights, voice_min_n=2)
    a2 = _row(score_streets(inputs, low), "b1/a")
    assert a2["voice_raw"] == pytest.approx((1.0 + 0.5 + 0.5) / 2)


def test_score_streets_fatigue_lowers_a_recently_visited_street(built):
    inputs = prepare_inputs(built, as_of=AS_OF)
    without = _row(score_streets(inputs, _only(coverage=1)), "b1/a")
    with_fatigue = _row(score_streets(inputs, _only(coverage=1, fatigue=1)), "b1/a")
    assert with_fatigue["fatigue_raw"] == pytest.approx(1 - 7 / 28)  # visited 7 days ago
    assert with_fatigue["score"] == pytest.approx(without["score"] - 0.75)
    assert with_fatigue["reasons"].endswith("visited 7 days ago (held back)")
    old = _row(score_streets(prepare_inputs(built, as_of="2026-03-01"), _only(fatigue=1)),
               "b1/a")
    assert old["fatigue_raw"] == 0.0  # beyond the 28-day window


def test_score_streets_weights_change_ranks(built):
    inputs = prepare_inputs(built, as_of=AS_OF)
    first = {}
    for name, profile in {"harm": _only(harm=1, representation=0.5),
                          "representation": _only(harm=0.5, representation=1)}.items():
        s = score_streets(inputs, profile)
        first[name] = s.loc[(s["beat_id"] == "beat:B1") & (s["rank_in_beat"] == 1),
                            "street_id"].item()
    assert first == {"harm": "b1/b", "representation": "b1/c"}


def test_score_streets_reasons_in_plain_words(built):
    scores = score_streets(prepare_inputs(built, as_of=AS_OF), load_profile("default"))
    assert _row(scores, "b1/c")["reasons"] == (
        "8 households in an under-represented group, 1 member; ASB named by 60% of 5 "
        "respondents, 40% feel unsafe; 9 households not yet visited or registered")
    assert _row(scores, "b1/b")["reasons"] == (
        "1st in the beat for burglary harm (2 crimes: 2 burglary); 5 households not yet "
        "visited or registered")
    # Coverage adds to b1/a's score; too few respondents add nothing; fatigue takes away.
    assert _row(scores, "b1/a")["reasons"] == (
        "4 households not yet visited or registered; only 2 respondents nearby (fewer than "
        "5): community voice not counted; visited 7 days ago (held back)")
    c = _row(scores, "b1/c")
    assert c["representation_raw"] == 7.0  # 8 in group 2, one of them a member
    assert c["coverage_raw"] == 9.0


def test_score_streets_reasons_lead_with_what_adds_most(built):
    inputs = prepare_inputs(built, as_of=AS_OF)
    rep = "8 households in an under-represented group, 1 member"
    voice = "ASB named by 60% of 5 respondents, 40% feel unsafe"
    cover = "9 households not yet visited or registered"
    for weights, first in [({"representation": 1, "voice": 0.2, "coverage": 0.1}, rep),
                           ({"representation": 0.1, "voice": 1, "coverage": 0.2}, voice),
                           ({"representation": 0.2, "voice": 0.1, "coverage": 1}, cover)]:
        c = _row(score_streets(inputs, _only(**weights)), "b1/c")
        parts = c["reasons"].split("; ")
        assert sorted(parts) == sorted([rep, voice, cover])
        assert parts[0] == first
        shares = {rep: weights["representation"] * c["representation"],
                  voice: weights["voice"] * c["voice"], cover: weights["coverage"] * c["coverage"]}
        assert [shares[p] for p in parts] == sorted(shares.values(), reverse=True)


def test_score_streets_explicit_target_groups_and_unknown_codes(built):
    inputs = prepare_inputs(built, as_of=AS_OF)
    p = Profile(name="g1", weights=_only(representation=1).weights, target_groups=("1",))
    s = score_streets(inputs, p)
    assert _row(s, "b2/d")["representation_raw"] == 10.0
    assert _row(s, "b2/d")["reasons"] == "10 households in a target group, 0 members"
    with pytest.raises(InputError, match=r"codes not found.*\['9'\]; codes present: 1, 2"):
        score_streets(inputs, Profile(name="bad", target_groups=("9",)))


def test_prepare_inputs_area_keeps_only_its_streets_and_unknown_area_fails(built):
    inputs = prepare_inputs(built, area="beat:B2", as_of=AS_OF)
    assert inputs.streets["street_id"].tolist() == ["b2/d"]
    assert score_streets(inputs, load_profile())["rank_in_beat"].tolist() == [1]
    with pytest.raises(NotFoundError, match="no area 'beat:ZZ'"):
        prepare_inputs(built, area="beat:ZZ")


def test_score_streets_refuses_a_profile_wider_than_the_prepared_inputs(built):
    inputs = prepare_inputs(built, as_of=AS_OF, voice_radius_m=100)
    with pytest.raises(InputError, match="voice.radius_m = 250 is more than the inputs"):
        score_streets(inputs, load_profile())


def test_prepare_inputs_default_as_of_is_the_end_of_the_newest_crime_month(built):
    assert prepare_inputs(built).as_of == "2026-01-31"


def test_saved_run_is_reproducible_from_its_stored_profile(built):
    profile = load_profile("default").with_weights(voice=2.0)
    inputs = prepare_inputs(built, as_of=AS_OF)
    run = run_scores(inputs, profile)
    run_id = save_scores(built, run)
    head, stored = load_scores(built, run_id)
    assert head["run_id"] == run_id and head["profile_name"] == "default"
    assert head["as_of"] == AS_OF and head["streets"] == 4
    assert head["profile"] == profile
    again = prepare_inputs(built, area=head["area"], as_of=head["as_of"],
                           scheme=head["profile"].scheme, level=head["profile"].level)
    assert again.fingerprint == head["inputs_fingerprint"]
    rescored = score_streets(again, head["profile"])
    cols = [c for c in SCORE_COLUMNS if c != "name"]
    pd.testing.assert_frame_equal(rescored[cols], stored, check_dtype=False)
    assert np.array_equal(rescored["score"].to_numpy(), stored["score"].to_numpy())
    assert load_scores(built)[0]["run_id"] == run_id  # newest by default


def test_inputs_fingerprint_changes_with_the_data(built):
    before = prepare_inputs(built, as_of=AS_OF).fingerprint
    with built.begin() as conn:
        built.insert_new(conn, "crimes", pd.DataFrame({
            "crime_key": ["new"], "month": ["2026-01"], "category": ["Robbery"],
            "x": [50.0], "y": [5.0], "cell": [0], "is_outlier": [0]}))
    assert prepare_inputs(built, as_of=AS_OF).fingerprint != before


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    path = demo_builds.copy(tmp_path_factory.mktemp("demo"),
                            households=2_000, months=3)
    store = open_store(path)
    yield store
    store.close()


def test_score_streets_on_a_small_demo_ranks_every_street_in_its_beat(demo_store):
    inputs = prepare_inputs(demo_store)
    scores = score_streets(inputs, load_profile("default"))
    assert len(scores) == demo_store.count("streets")
    for _beat, g in scores.groupby(scores["beat_id"].fillna("")):
        assert sorted(g["rank_in_beat"]) == list(range(1, len(g) + 1))
        assert (np.diff(g["score"].to_numpy()) <= 0).all()
    for c in ("harm", "voice", "representation", "coverage"):
        assert scores[c].between(0, 1).all()
    top = scores[scores["rank_in_beat"] == 1]
    assert (top["reasons"].str.len() > 0).all()
    assert top["reasons"].str.contains(r"(?:1st|2nd|3rd|\d+th) in the beat for .* harm").any()
    # Re-weighting gives a new order without recomputing the inputs.
    harm_only = score_streets(inputs, _only(harm=1))
    assert not harm_only["street_id"].equals(scores["street_id"])


def test_lpt_score_cli_json_and_human_output(gpkg_store, capsys):
    import json

    from lpt_cli.main import main

    _build(gpkg_store)
    where = str(gpkg_store.location)
    assert main(["--store", where, "score", "--as-of", AS_OF, "--top", "1", "--json",
                 "--save"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == AS_OF and out["streets"] == 4 and out["run_id"]
    assert [r["street_id"] for r in out["scores"]] == ["b1/c", "b2/d"]
    assert out["profile"]["weights"]["harm"] == 1.0
    assert gpkg_store.count("street_scores") == 4
    assert main(["--store", where, "score", "--as-of", AS_OF, "--area", "beat:B1"]) == 0
    text = capsys.readouterr().out
    assert "street scores in beat:B1 as of 2026-01-15, profile 'default'" in text
    assert "1. Street C" in text and "ASB named by 60% of 5 respondents" in text
    assert main(["--store", where, "score", "--profile", "nope"]) == 2
    assert "no profile 'nope'" in capsys.readouterr().err


def test_area_chain_follows_each_areas_newest_boundary_set(built):
    """beat:B1 moved from npa:N1 (2019 set, stored first) to npa:N2 (2024 set): an npa's
    streets are those of the beats under it in their newest set, not the first row stored."""
    rows = [("npa:N1", "npa", "N1", "force:F", "2019", "2019-04-01"),
            ("npa:N2", "npa", "N2", "force:F", "2024", "2024-04-01"),
            ("beat:B1", "beat", "B1", "npa:N1", "2019", "2019-04-01"),
            ("beat:B2", "beat", "B2", "npa:N1", "2019", "2019-04-01"),
            ("beat:B1", "beat", "B1", "npa:N2", "2024", "2024-04-01"),
            ("beat:B2", "beat", "B2", "npa:N1", "2024", "2024-04-01")]
    moved = pd.DataFrame(rows, columns=["area_id", "level", "code", "parent_id", "boundary_set",
                                        "valid_from"])
    with built.begin() as conn:
        built.insert_new(conn, "areas", moved)

    def streets(area: str) -> list[str]:
        return prepare_inputs(built, area=area, as_of=AS_OF).streets["street_id"].tolist()

    assert streets("npa:N2") == ["b1/a", "b1/b", "b1/c"]
    assert streets("npa:N1") == ["b2/d"]
