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
