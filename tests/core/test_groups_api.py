# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups and communities for a scope (issue 11): an area's representation by census group
and local priorities by group as police, partners and the public see them, the tactical
document's representation section, and the issue's acceptance check on the demo force.

The hand-built town is ``tests/core/test_census.py``'s (beat A: 16 White and 3 Asian
residents once the census is shared by households; beat B 12 and 1) with members M1 (White
British) and M2 (Other White) and M5 (Pakistani) in beat A, and its six survey responses in
beat A (online R1, R2 by M1 and R3; at the door R4-R6)."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from spatial_core import NotFoundError
from spatial_core.analytics.priorities import wilson_interval
from spatial_core.api import FORCE, Scope
from spatial_core.api.groups import area_representation, group_priorities
from spatial_core.io.imports import import_files
from tests.core.test_census import _surveys, build_store, members_frame, write_ts021

ETHNICITY = {"1": "white_british", "2": "white_other", "5": "asian_pakistani",
             "9": "white_british"}
OFFICER_A = Scope(role="beat_officer", areas=frozenset({"beat:A"}))
OFFICER_B = Scope(role="beat_officer", areas=frozenset({"beat:B"}))


@pytest.fixture
def town(gpkg_store, tmp_path):
    build_store(gpkg_store, members_frame(ETHNICITY))
    import_files(gpkg_store, "census", [write_ts021(tmp_path / "ts021.csv")], table="TS021")
    _surveys(gpkg_store)
    return gpkg_store


def test_area_representation_as_the_beat_officer_sees_it(town):
    out = area_representation(town, "beat:A", OFFICER_A, by="ethnicity")
    g = out["groups"].set_index("group")
    assert list(g.index) == ["asian", "black", "mixed", "other", "white"]
    assert g["population"].tolist() == pytest.approx([3, 0, 0, 0, 16])
    g = g.loc[["asian", "white"]]
    assert g["members"].tolist() == [1, 2] and g["member_n"].tolist() == [3, 3]
    assert g.loc["white", "member_ratio"] == pytest.approx((2 / 3) / (16 / 19))
    lo, hi = wilson_interval([1], [3])
    assert g.loc["asian", "member_ci_low"] == pytest.approx(lo[0] / (3 / 19))
    assert g.loc["asian", "member_ci_high"] == pytest.approx(hi[0] / (3 / 19))
    assert not g["member_below"].any()
    # A higher target flags White (0.79 < 0.8).
    strict = area_representation(town, "beat:A", OFFICER_A, by="ethnicity", target=0.8)
    assert strict["groups"].set_index("group").loc[["asian", "white"], "member_below"
                                                   ].tolist() == [False, True]
    # At least 3 members expected: Asian (3 x 3/19) is not judged.
    few = area_representation(town, "beat:A", OFFICER_A, by="ethnicity", target=1.0,
                              min_n=3)["groups"].set_index("group")
    assert not bool(few.loc["asian", "member_below"])
    assert few.loc["asian", "note"].startswith("fewer than 3 members expected")
    cov = out["coverage"]
    assert cov["area_id"].tolist() == ["beat:A"]
    assert cov[["households", "members"]].values.tolist() == [[7, 3]]
    with pytest.raises(NotFoundError, match="beat:A"):
        area_representation(town, "beat:A", OFFICER_B, by="ethnicity")


def test_area_representation_for_partners_and_the_public(town):
    out = area_representation(town, "beat:A", Scope(role="partner", k=3), by="ethnicity")
    g = out["groups"].set_index("group")
    assert g.loc[["black", "mixed", "other"], "members"].tolist() == [0, 0, 0]
    g = g.loc[["asian", "white"]]
    # Members 1 and 2 are below k = 3: withheld with their shares and ratios; their total
    # (3) and the population (16, 3) are published.
    assert g["members"].tolist() == [None, None] and g["member_ratio"].tolist() == [None, None]
    assert g["member_share"].tolist() == [None, None] and g["member_n"].tolist() == [3, 3]
    assert g["population"].tolist() == [3, 16]
    assert g["population_share"].tolist() == pytest.approx([3 / 19, 16 / 19])
    assert g["note"].str.startswith("withheld").all()
    # Coverage as the areas collection publishes it: beat B's 1 member is withheld, so beat
    # A's 3 goes with it (npa N = A + B); six responses are published.
    cov = out["coverage"].iloc[0]
    assert cov["members"] is None and cov["members_per_100"] is None
    assert cov["households"] == 7 and cov["responses"] == 6


def test_group_priorities_in_scope_and_disclosed(town):
    police = group_priorities(town, OFFICER_A, by="channel", level="beat", min_n=2)
    p = police["people"].set_index("group")
    assert p.loc["online", ["people", "responses", "issues"]].tolist() == [2, 3, 4]
    assert set(police["people"]["area_name"]) == {"Beat A"}
    assert group_priorities(town, OFFICER_B, by="channel", level="beat")["people"].empty
    assert group_priorities(town, OFFICER_A, by="channel", level="force")["people"].empty
    public = group_priorities(town, Scope(role="public", k=3), by="channel", level="beat")
    q = public["people"].set_index("group")
    assert q.loc["online", "people"] is None and q.loc["online", "responses"] == 3
    # Online, R1 and R2 named ASB of the 3 who named a priority: 2 votes < 3 are withheld
    # with their share and interval; the 3 respondents are published.
    votes = public["priorities"].set_index(["group", "priority"]).loc[("online", "asb")]
    assert votes["votes"] is None and votes["share"] is None and votes["ci_high"] is None
    assert votes["n"] == 3
    # With k = 2 the 2 ASB votes are no longer small, but the 1 online respondent who did
    # not name ASB (3 - 2) is: withheld through its complement; theft (0 of 3) is published.
    two = group_priorities(town, Scope(role="public", k=2), by="channel", level="beat")
    online = two["priorities"].set_index(["group", "priority"]).loc["online"]
    assert online.loc["asb", "votes"] is None and online.loc["asb", "share"] is None
    assert online.loc["asb", "note"] == "withheld: those not naming it are fewer than 2"
    assert online.loc["asb", "n"] == 3 and online.loc["theft", "votes"] == 0
    exact = group_priorities(town, FORCE, by="channel", level="beat")["priorities"]
    row = exact.set_index(["group", "priority"]).loc[("online", "asb")]
    assert row["votes"] == 2 and row["share"] == pytest.approx(2 / 3)


def test_tactical_section_representation_by_census_group(town):
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections import representation_groups
    from spatial_core.targeting.profiles import load_profile

    ctx = SectionContext(store=town, area_id="beat:A", level="beat", scope=FORCE,
                         profile=load_profile("default"), period=None, min_n=10, target=0.8)
    s = representation_groups.section(ctx)
    lo, hi = (v[0] / (16 / 19) for v in wilson_interval([2], [3]))
    ratio = (2 / 3) / (16 / 19)
    # Below target first (White at 0.79 < 0.8), then the largest; only TS021 is stored.
    assert s.rows == (
        ("Ethnicity", "White", "84%", "67%", f"{ratio:.2f} ({lo:.2f}-{hi:.2f})", "below"),
        ("Ethnicity", "Asian, Asian British or Asian Welsh", "16%", "33%",
         f"{(1 / 3) / (3 / 19):.2f} ({wilson_interval([1], [3])[0][0] / (3 / 19):.2f}-"
         f"{wilson_interval([1], [3])[1][0] / (3 / 19):.2f})", ""))
    assert "ethnicity" in s.note and "80%" in s.note


def test_tactical_section_is_left_out_without_a_census_base(gpkg_store):
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections import representation_groups
    from spatial_core.targeting.profiles import load_profile

    build_store(gpkg_store, members_frame(ETHNICITY))
    ctx = SectionContext(store=gpkg_store, area_id="beat:A", level="beat", scope=FORCE,
                         profile=load_profile("default"), period=None, min_n=10, target=0.7)
    assert representation_groups.section(ctx) is None


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return demo_builds.copy(tmp_path_factory.mktemp("demo-groups"), households=3_000,
                            months=3)


def test_acceptance_representation_by_ethnicity_json_on_the_demo_force(demo):
    """The issue's check: every group of every beat with its population share, member
    share, ratio and interval, and the groups below target flagged."""
    run = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(demo),
                          "representation", "--by", "ethnicity", "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    g = pd.DataFrame(out["groups"])
    assert out["by"] == "ethnicity" and out["target"] == 0.7
    beats = sorted(g["area_id"].unique())
    assert len(beats) == 8 and all(b.startswith("beat:") for b in beats)
    for _, rows in g.groupby("area_id"):
        assert sorted(rows["group"]) == ["asian", "black", "mixed", "other", "white"]
        assert rows["population_share"].sum() == pytest.approx(1.0)
    with_pop = g[g["population"] > 0]
    for col in ("population_share", "member_share", "member_ratio", "member_ci_low",
                "member_ci_high"):
        assert with_pop[col].notna().all(), col
    assert with_pop["member_ratio"].tolist() == pytest.approx(
        (with_pop["member_share"] / with_pop["population_share"]).tolist())
    assert (with_pop["member_ci_low"] <= with_pop["member_ratio"] + 1e-12).all()
    assert (with_pop["member_ratio"] <= with_pop["member_ci_high"] + 1e-12).all()
    assert g["member_below"].tolist() == (g["member_ratio"].fillna(float("inf")) < 0.7).tolist()
    assert g["member_below"].any()
