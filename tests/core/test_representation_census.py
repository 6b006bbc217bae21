# SPDX-License-Identifier: GPL-3.0-or-later
"""Representation against the census base on the demo force: its synthetic Census 2021 tables
(Nomis layout) and members' answers, and the planted Polish community under-represented."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from spatial_core.analytics.representation import representation
from spatial_core.demo.census import POLISH_SHARE, census_files
from spatial_core.io.census import ETHNIC_19
from spatial_core.io.members import ETHNICITIES

HOUSEHOLDS = 3_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return demo_builds.copy(tmp_path_factory.mktemp("demo-census"), households=HOUSEHOLDS,
                            months=3)


def test_cli_by_ethnicity_json_gives_every_group_and_flags_those_below_target(demo):
    run = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(demo),
                          "representation", "--by", "ethnicity", "--area-level", "force",
                          "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    groups = pd.DataFrame(json.loads(run.stdout)["groups"])
    assert sorted(groups["group"]) == ["asian", "black", "mixed", "other", "white"]
    for col in ("population_share", "member_share", "member_ratio", "member_ci_low",
                "member_ci_high", "member_n", "respondent_share"):
        assert groups[col].notna().all(), col
    # The population shares are those of the census file itself, counted here from the CSV.
    ts021 = pd.read_csv(census_files(demo.parent / "files")["TS021"])
    broad = pd.Series({k: ts021[f"Ethnic group: {v}"].sum() for k, v in ETHNIC_19.items()})
    broad = broad.groupby(broad.index.map(ETHNICITIES)).sum()
    total = ts021["Ethnic group: Total: All usual residents"].sum()
    got = groups.set_index("group")
    for g, n in broad.items():
        assert got.loc[g, "population_share"] == pytest.approx(n / total)
        assert got.loc[g, "member_ratio"] == pytest.approx(
            got.loc[g, "member_share"] / got.loc[g, "population_share"])
    assert got["member_below"].tolist() == (got["member_ratio"] < 0.7).tolist()
    # The demo recruits minority ethnic residents less (people.ETHNIC_FACTOR): some groups are
    # flagged, white is not.
    assert got["member_below"].any() and not got.loc["white", "member_below"]


def test_the_planted_polish_community_is_well_under_its_share(demo):
    from spatial_core import open_store

    with open_store(demo, create=False) as store:
        lang = representation(store, by="language", area_level="force").set_index("group")
        detailed = representation(store, by="ethnicity_detailed", area_level="beat")
    polish = lang.loc["polish"]
    assert polish["member_ratio"] < 0.6 and bool(polish["member_below"])
    assert polish["member_ci_high"] < 1.0  # told from a fair share
    assert not bool(lang.loc["english", "member_below"])
    # Its beat: the one where other White residents are the largest share.
    wo = detailed[detailed["group"] == "white_other"].sort_values("population_share")
    top = wo.iloc[-1]
    assert top["population_share"] > 0.3 and top["member_ratio"] < 0.7
    assert bool(top["member_below"])
    assert 0 < POLISH_SHARE < 0.5


def test_a_setup_targets_the_community_where_its_census_share_is_highest(demo, tmp_path):
    import shutil

    from spatial_core import InputError, open_store
    from spatial_core.targeting.setups import create_setup, rerun_setup, stored_recommendation

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo, path)
    with open_store(path, create=False) as store:
        s = create_setup(store, "Polish community", areas=["force:DEMO"],
                         community="language:polish", max_streets=5, now="2026-10-01T10:00")
        streets, hh = stored_recommendation(store, s.setup_id)
        again = rerun_setup(store, s.setup_id)
        addresses = store.read("addresses", ["uprn", "oa_code", "street_id"])
        with pytest.raises(InputError, match="no language group 'klingon'"):
            create_setup(store, "x", areas=["force:DEMO"], community="language:klingon")
        with pytest.raises(InputError, match="BY:GROUP"):
            create_setup(store, "x", areas=["force:DEMO"], community="polish")
    assert s.target_rule == "community language:polish" and len(streets) == 5
    # The rule is stored: a rerun reproduces the streets and walk lists.
    assert again.same_streets and again.same_walk_lists and again.inputs_unchanged
    # By hand from the TS024 file: each output area's Polish share, each street's mean over
    # its households; the streets are the best five, best first.
    ts024 = pd.read_csv(census_files(demo.parent / "files")["TS024"])
    total = ts024.filter(like="Total").iloc[:, 0]
    share = pd.Series((ts024.filter(like=": Polish").iloc[:, 0] / total).to_numpy(),
                      index=ts024["geography code"])
    addresses["p"] = addresses["oa_code"].map(share).fillna(0.0)
    per_street = addresses.dropna(subset=["street_id"]).groupby("street_id")["p"].mean()
    assert streets["score"].tolist() == pytest.approx(
        per_street.loc[streets["street_id"]].tolist())
    assert streets["score"].is_monotonic_decreasing
    assert streets["score"].iloc[-1] >= per_street.sort_values().iloc[-20]
    assert streets["reasons"].str.startswith("Polish: ").all()
    # Targets: households whose output area's share is at least the force-wide mean.
    overall = addresses["p"].mean()
    p = hh["uprn"].map(addresses.set_index("uprn")["p"])
    assert hh["is_target"].astype(bool).tolist() == ((p > 0) & (p >= overall)).tolist()
    assert len(hh) > 0 and hh["is_target"].any()
