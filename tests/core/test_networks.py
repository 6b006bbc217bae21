# SPDX-License-Identifier: GPL-3.0-or-later
"""Key individual networks and advisory groups (issue 11): the beats without a network list,
each network against the population by group, their disclosure control, ``lpt networks``
and the tactical document's section, on a hand-built town whose every value is worked out
here.

The town (``tests/core/test_census.py``): beat A holds output area OA1 (4 households) and
three of OA2's four; beat B the fourth of OA2 and OA3 (4). Census residents: OA1 6 White
British + 4 Other White, OA2 8 White British + 4 Pakistani, OA3 10 White British. Shared by
households, beat A has 6 + 4 + 6 = 16 White and 3 Asian residents, beat B 2 + 10 = 12 White
and 1 Asian.

Members: M1 (household 1, White British, key individual), M2 (household 2, Other White, key
individual and IAG), M5 (household 5, Pakistani), all in beat A; M9 (household 9, White
British, IAG) and M10 (household 10, White British) in beat B. Beat B has no key individual.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from spatial_core import InputError
from spatial_core.analytics.networks import beat_networks, network_representation
from spatial_core.analytics.priorities import wilson_interval
from spatial_core.api import Scope
from spatial_core.api.networks import network_gaps, network_groups
from spatial_core.io.imports import import_files
from tests.core.test_census import build_store, members_frame, write_ts021

ETHNICITY = {"1": "white_british", "2": "white_other", "5": "asian_pakistani",
             "9": "white_british", "10": "white_british"}
GROUPS = [("M1", "key_individual"), ("M2", "key_individual"), ("M2", "iag"), ("M9", "iag"),
          ("M10", "neighbourhood_watch")]


def _town(store, tmp_path, census: bool = True) -> None:
    build_store(store, members_frame(ETHNICITY))
    with store.begin() as conn:
        store.insert_new(conn, "member_groups", pd.DataFrame(GROUPS, columns=["member_id",
                                                                              "grp"]))
    if census:
        import_files(store, "census", [write_ts021(tmp_path / "ts021.csv")], table="TS021")


@pytest.fixture
def town(gpkg_store, tmp_path):
    _town(gpkg_store, tmp_path)
    return gpkg_store


@pytest.fixture
def town_both(store, tmp_path):
    """The town on a GeoPackage and on a real PostGIS."""
    _town(store, tmp_path)
    return store


def test_beats_without_a_key_individual_and_with_fewer_than_n(town_both):
    town = town_both
    b = beat_networks(town, min_members=2).set_index("area_id")
    assert b.loc["beat:A", ["households", "members", "key_individual", "iag"]].tolist() == \
        [7, 3, 2, 1]
    assert b.loc["beat:B", ["households", "members", "key_individual", "iag"]].tolist() == \
        [5, 2, 0, 1]
    assert b.loc["beat:A", "key_individual_per_1000"] == pytest.approx(2000 / 7)
    assert b.loc["beat:B", "iag_per_1000"] == pytest.approx(1000 / 5)
    assert b["no_key_individual"].tolist() == [False, True]
    assert b["below_min"].tolist() == [False, True]
    assert b.loc["beat:B", "note"] == "no current key individual: no network list"
    # With three needed, beat A has too few as well.
    three = beat_networks(town, min_members=3).set_index("area_id")
    assert three["below_min"].tolist() == [True, True]
    assert three.loc["beat:A", "note"] == "fewer than 3 current key individuals"
    # A member who has left is no longer in the network.
    gone = beat_networks(town, as_of="2024-12-31")
    assert gone["key_individual"].tolist() == [0, 0] and gone["no_key_individual"].all()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_min_members_must_be_a_whole_number_of_at_least_one(town, bad):
    with pytest.raises(InputError, match="min_members is a whole number"):
        beat_networks(town, min_members=bad)


def test_key_individuals_against_the_census_by_ethnicity_by_hand(town):
    t = network_representation(town, by="ethnicity", area_level="beat").set_index(
        ["area_id", "group"])
    a_white, a_asian = t.loc[("beat:A", "white")], t.loc[("beat:A", "asian")]
    assert a_white["population"] == pytest.approx(16) and a_asian["population"] == \
        pytest.approx(3)
    assert a_white["population_share"] == pytest.approx(16 / 19)
    # Both key individuals of beat A are White: share 1, ratio 19/16.
    assert (a_white["network_members"], a_asian["network_members"]) == (2, 0)
    assert a_white["network_member_n"] == 2
    assert a_white["network_member_ratio"] == pytest.approx(19 / 16)
    lo, hi = wilson_interval([0], [2])
    assert a_asian["network_member_ratio"] == 0
    assert a_asian["network_member_ci_high"] == pytest.approx(hi[0] / (3 / 19))
    assert bool(a_asian["network_member_below"]) and not bool(a_white["network_member_below"])
    # All members alongside: M5 makes the Asian share of members 1/3, ratio 19/9.
    assert a_asian["members"] == 1 and a_asian["member_ratio"] == pytest.approx(19 / 9)
    # Beat B has no key individual: no share, nothing flagged, the note says why.
    b_white = t.loc[("beat:B", "white")]
    assert b_white["network_member_n"] == 0 and pd.isna(b_white["network_member_ratio"])
    assert not bool(b_white["network_member_below"])
    assert b_white["note"] == "no network members in the area"
    assert b_white["population_share"] == pytest.approx(12 / 13)
    # The advisory group: M2 (White) in A, M9 (White) in B; at force level 2 of 2 White.
    iag = network_representation(town, network="iag", by="ethnicity").set_index("group")
    assert iag.loc["white", "network_members"] == 2
    assert iag.loc["white", "network_member_ratio"] == pytest.approx(1 / (28 / 32))
    assert iag.loc["asian", "network_member_ratio"] == 0


def test_key_individuals_by_class_need_no_census(gpkg_store, tmp_path):
    _town(gpkg_store, tmp_path, census=False)
    t = network_representation(gpkg_store, by="ethnicity", area_level="beat")
    assert t["population"].eq(0).all() and t["network_member_ratio"].isna().all()
    assert t["note"].str.contains("import census table TS021").all()
    with pytest.raises(InputError, match="network 'kin' is not one of key_individual, iag"):
        network_representation(gpkg_store, network="kin")
    with pytest.raises(InputError, match="by='shoe' is not one of class"):
        network_representation(gpkg_store, by="shoe")


def test_police_see_their_beats_exact(town):
    officer = Scope(role="beat_officer", areas=frozenset({"beat:A"}))
    g = network_gaps(town, officer)
    assert g["area_id"].tolist() == ["beat:A"] and g["key_individual"].tolist() == [2]
    assert g["disclosure"].tolist() == ["exact"]
    groups = network_groups(town, officer, by="ethnicity", area_level="beat")
    assert set(groups["area_id"]) == {"beat:A"}
    assert network_groups(town, officer, by="ethnicity").empty  # the force is not theirs


def test_partners_and_the_public_see_every_beat_with_small_counts_withheld(town_both):
    town = town_both
    public = Scope(role="public", k=3)
    g = network_gaps(town, public).set_index("area_id")
    assert list(g.index) == ["beat:A", "beat:B"]
    # Key individuals: A 2 (withheld, 1..2), B 0 (published: zero tells nothing).
    assert g.loc["beat:A", "key_individual"] is None
    assert g.loc["beat:A", "key_individual_per_1000"] is None
    assert g.loc["beat:A", "no_key_individual"] is None and g.loc["beat:A", "below_min"] is None
    assert g.loc["beat:B", "key_individual"] == 0 and g.loc["beat:B", "no_key_individual"]
    # Members: B's 2 is withheld, so A's 3 goes with it (npa N = A + B would give B away).
    assert g.loc["beat:A", "members"] is None and g.loc["beat:B", "members"] is None
    assert g.loc["beat:A", "iag"] is None and g.loc["beat:B", "iag"] is None
    assert g["note"].str.startswith("withheld").all()
    assert set(g["disclosure"]) == {"k=3"}
    # Groups: within beat A, the network's 2 White (and so the total 2) are withheld, its 0
    # Asian published; members 2 White and 1 Asian withheld, their total 3 published.
    t = network_groups(town, public, by="ethnicity", area_level="beat").set_index(
        ["area_id", "group"])
    w, a = t.loc[("beat:A", "white")], t.loc[("beat:A", "asian")]
    assert w["network_members"] is None and w["network_member_ratio"] is None
    assert w["network_member_n"] is None and a["network_member_n"] is None
    assert a["network_members"] == 0
    assert w["members"] is None and a["members"] is None and w["member_n"] == 3
    assert w["member_share"] is None and w["population"] == 16 and a["population"] == 3


def test_cli_networks_json(town):
    path = str(town.location)
    run = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", path, "networks",
                          "--min-members", "2", "--by", "ethnicity", "--area-level", "beat",
                          "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    beats = {b["area_id"]: b for b in out["beats"]}
    assert beats["beat:B"]["no_key_individual"] and beats["beat:B"]["key_individual"] == 0
    assert beats["beat:A"]["key_individual"] == 2 and not beats["beat:A"]["below_min"]
    kin = {(r["area_id"], r["group"]): r for r in out["groups"]["key_individual"]}
    assert kin[("beat:A", "white")]["network_member_ratio"] == pytest.approx(19 / 16)
    assert not {"name", "postcode", "member_id"} & set(out["beats"][0])
    text = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", path, "networks",
                           "--suppress-below", "3"], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "1 of 2 beats have no current key individual" in text.stdout
    assert "withheld" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", path, "networks",
                          "--min-members", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "min_members is a whole number" in bad.stderr


def test_tactical_section_lists_the_beats_and_the_gap(town):
    from spatial_core.api import FORCE
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections import networks
    from spatial_core.targeting.profiles import load_profile

    ctx = SectionContext(store=town, area_id="npa:N", level="npa", scope=FORCE,
                         profile=load_profile("default"), period=None, min_n=10, target=0.7)
    s = networks.section(ctx)
    # Beat B (none) first; counts of people below k (5) read <5.
    assert [r[0] for r in s.rows] == ["Beat B", "Beat A"]
    assert s.rows[0][1:] == ("5", "<5", "0", "<5", "no key individual")
    assert s.rows[1][1:] == ("7", "<5", "<5", "<5", "")
    assert s.note.startswith("1 of 2 beats have no current key individual")
    one = networks.section(SectionContext(store=town, area_id="beat:A", level="beat",
                                          scope=FORCE, profile=load_profile("default"),
                                          period=None, min_n=10, target=0.7))
    assert [r[0] for r in one.rows] == ["Beat A"]
