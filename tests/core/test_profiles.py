# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting profiles: shipped profiles, TOML round trip, validation messages; the harm table."""
from __future__ import annotations

import pytest

from spatial_core.analytics.harm import CATEGORY_NAMES, category_weights, crimes_to_harm, harm_table
from spatial_core.errors import InputError, NotFoundError
from spatial_core.targeting.profiles import (
    Profile,
    list_profiles,
    load_profile,
    profile_from_toml,
    profile_to_toml,
)


def test_list_profiles_ships_default_harm_and_engagement():
    assert list_profiles() == ["default", "engagement", "harm"]


def test_load_profile_default_file_equals_the_dataclass_defaults():
    p = load_profile("default")
    assert p == Profile(name="default", description=p.description)
    assert load_profile() == p


@pytest.mark.parametrize("name", ["default", "harm", "engagement"])
def test_profile_toml_round_trip(name):
    p = load_profile(name)
    assert profile_from_toml(profile_to_toml(p)) == p


def test_profile_toml_round_trip_with_overrides_groups_and_priorities(tmp_path):
    p = Profile(name="custom.v2", description='quotes " and ünïcode', scale_within="area",
                weights={"harm": 2.5, "voice": 0, "representation": 1, "coverage": 0,
                         "fatigue": 3},
                harm_overrides={"burglary": 120, "Anti-social behaviour": 2},
                normalisation="per_km", voice_priorities=("asb", "drugs"),
                target_groups=("4", "7"), level=2, fatigue_days=0)
    text = profile_to_toml(p)
    assert '"Anti-social behaviour" = 2.0' in text and 'groups = ["4", "7"]' in text
    path = tmp_path / "custom.toml"
    path.write_text(text, "utf-8")
    back = load_profile(path)
    assert back == p
    assert back.harm_overrides == {"Anti-social behaviour": 2.0, "Burglary": 120.0}


def test_profile_missing_weights_are_zero_and_missing_sections_take_defaults():
    p = profile_from_toml('name = "x"\n[weights]\nharm = 1\n')
    assert p.weights == {"harm": 1.0, "voice": 0.0, "representation": 0.0, "coverage": 0.0,
                         "fatigue": 0.0}
    assert p.half_life_days == 180.0 and p.voice_min_n == 5
    assert (p.harm_model, p.lookback_days, p.prior_crimes, p.mix_within, p.smoothing) == (
        "expected", 730, 100.0, "area", 0.0)


@pytest.mark.parametrize(("toml", "message"), [
    ('[harm]\nhalf_life_days = 0', "column 'harm.half_life_days': value '0': expected a number "
                                   "of days > 0"),
    ('[harm]\nhalf_life_days = "90"', "column 'harm.half_life_days': value \"'90'\""),
    ('[harm]\nnormalisation = "per_street"', "expected one of per_household, per_km, total"),
    ('[voice]\nmin_n = 2.5', "column 'voice.min_n': value '2.5': expected a whole number >= 1"),
    ('[voice]\npriorities = ["asb", "noise"]', "column 'voice.priorities'"),
    ('[weights]\nharm = -1', "column 'weights.harm': value '-1': expected a number >= 0"),
    ('[weights]\nhram = 1', "column 'weights.hram': value \"'hram'\": unknown key; expected one "
                            "of harm, voice, representation, coverage, fatigue"),
    ('[harm.overrides]\nmurder = 10', "column 'harm.overrides.murder'"),
    ('[representation]\ntarget = 1.5', "expected a ratio > 0 and <= 1"),
    ('[representation]\ngroups = "everyone"', "expected 'under_represented' or a list"),
    ('[fatigue]\nwindow = 3', "column 'fatigue.window': unknown profile key"),
    ('name = "has space"', "column 'name'"),
    ('[voice.mix]\npriority = 0\nlow_confidence = 0\nlow_feel_safe = 0',
     "at least one voice.mix weight > 0"),
    ('name = ', "not valid TOML"),
])
def test_profile_validation_names_the_key_and_what_was_expected(toml, message):
    with pytest.raises(InputError) as err:
        profile_from_toml(toml, source="p.toml")
    assert str(err.value).startswith("p.toml")
    assert message in str(err.value)


def test_profile_replace_validates_too():
    with pytest.raises(InputError, match="harm.max_distance_m"):
        Profile(crime_distance_m=900)
    with pytest.raises(InputError, match="weights.voice"):
        Profile().with_weights(voice=-2)


def test_load_profile_unknown_name_lists_the_shipped_ones(tmp_path):
    with pytest.raises(NotFoundError, match="no profile 'nope'; shipped profiles: default, "
                                            "engagement, harm"):
        load_profile("nope")
    with pytest.raises(NotFoundError, match="does not exist"):
        load_profile(tmp_path / "missing.toml")


def test_harm_table_documents_every_category_and_asb_is_small_but_not_zero():
    t = harm_table()
    cats = t[t["kind"] == "category"]
    assert sorted(cats["key"]) == sorted(CATEGORY_NAMES)
    assert (t["basis"].str.len() > 20).all()
    w = dict(zip(CATEGORY_NAMES, category_weights(), strict=True))
    assert 0 < w["Anti-social behaviour"] < w["Shoplifting"] < w["Burglary"] < w["Robbery"]


def test_crimes_to_harm_uses_offence_codes_unless_the_category_is_overridden():
    cats = ["Violence and sexual offences", "Violence and sexual offences", "Burglary"]
    assert crimes_to_harm(cats, ["019C", "", "028E"]).tolist() == [1825.0, 60.0, 40.0]
    assert crimes_to_harm(cats, ["019C", "", "028E"],
                          {"violent-crime": 5}).tolist() == [5.0, 5.0, 40.0]
    with pytest.raises(InputError, match="unknown category 'arson'"):
        category_weights({"arson": 1})
