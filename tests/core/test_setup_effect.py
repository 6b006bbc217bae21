# SPDX-License-Identifier: GPL-3.0-or-later
"""Before/after evaluation of a set-up (spatial_core.analytics.setup_effect and
spatial_core.api.evaluation): the estimators and intervals on streets whose figures are
chosen so every number can be worked out by hand, a hand-built town in a store, and the demo
force, whose door-knock campaign registered members the evaluation must find."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.analytics.setup_effect import (
    difference_in_differences,
    effect_windows,
    match_streets,
    outcome_verdict,
    overall_verdict,
    street_group_effect,
)
from spatial_core.errors import InputError, NotFoundError


# -- the estimators, by hand -------------------------------------------------------------------
def _four_streets() -> pd.DataFrame:
    """Two targeted streets a, b and two comparison streets c, d of 100 households each,
    one month before and one after.

    crimes a 2 -> 1, b 4 -> 1, c 2 -> 2, d 4 -> 4 (burglaries: 40 CCHI days each);
    confidence (answers of 4-5 / answers) a 4/10 -> 8/10, b 6/10 -> 8/10, c and d 5/10 -> 5/10;
    feeling safe 3 answers a cell (too few); members a 5 -> 7, b 5 -> 9, c and d 5 -> 6.
    """
    f = pd.DataFrame({
        "street_id": ["a", "b", "c", "d"],
        "group": ["targeted", "targeted", "comparison", "comparison"],
        "households": [100, 100, 100, 100],
        "crimes_before": [2, 4, 2, 4], "crimes_after": [1, 1, 2, 4],
        "conf_n_before": [10, 10, 10, 10], "conf_k_before": [4, 6, 5, 5],
        "conf_n_after": [10, 10, 10, 10], "conf_k_after": [8, 8, 5, 5],
        "safe_n_before": 3, "safe_k_before": 1, "safe_n_after": 3, "safe_k_after": 2,
        "members_before": [5, 5, 5, 5], "members_after": [7, 9, 6, 6]})
    f["harm_before"] = 40.0 * f["crimes_before"]
    f["harm_after"] = 40.0 * f["crimes_after"]
    return f


def test_difference_in_differences_point_estimates_by_hand():
    out, cells = difference_in_differences(_four_streets(), 1, 1)
    o = out.set_index("outcome")
    # crime: targeted 1000 * 6 / (200 households * 1 month) = 30 -> 1000 * 2 / 200 = 10;
    # comparison 30 -> 30; difference in differences (10 - 30) - (30 - 30) = -20
    assert o.loc["crimes", ["targeted_before", "targeted_after", "comparison_before",
                            "comparison_after", "did"]].tolist() == [30.0, 10.0, 30.0, 30.0,
                                                                     -20.0]
    assert o.loc["harm", "did"] == pytest.approx(-20.0 * 40)
    # confidence: targeted 10/20 = 50% -> 16/20 = 80%, comparison 50% -> 50%: +30 points
    assert o.loc["confidence", ["targeted_before", "targeted_after", "did"]].tolist() == \
        pytest.approx([50.0, 80.0, 30.0])
    # membership per 100 households: targeted 10/200 = 5 -> 16/200 = 8, comparison 5 -> 6
    assert o.loc["membership", ["targeted_change", "comparison_change", "did"]].tolist() == \
        pytest.approx([3.0, 1.0, 2.0])
    assert o.loc["crimes", ["n_targeted_before", "n_targeted_after", "n_comparison_before",
                            "n_comparison_after"]].tolist() == [6, 2, 6, 6]
    assert o.loc["confidence", "n_what"] == "respondents"
    # each cell's own interval: exact Poisson for 6 crimes is 2.202 .. 13.06 crimes (published
    # tables), times 1000 / 200 household-months; Wilson for 10 of 20 is 29.93% .. 70.07%
    c = cells.set_index(["outcome", "group", "window"])
    crime = c.loc[("crimes", "targeted", "before")]
    assert (crime["value"], crime["n"]) == (30.0, 6)
    assert crime["ci_low"] == pytest.approx(2.202 * 5, abs=0.01)
    assert crime["ci_high"] == pytest.approx(13.06 * 5, abs=0.01)
    conf = c.loc[("confidence", "targeted", "before")]
    assert (conf["ci_low"], conf["ci_high"]) == (pytest.approx(29.93, abs=0.01),
                                                 pytest.approx(70.07, abs=0.01))


def test_bootstrap_interval_spans_the_resampled_groups_worked_by_hand():
    """Resampling two streets with replacement gives aa, ab or bb (chances 1/4, 1/2, 1/4),
    so with 2,000 draws the 2.5th and 97.5th percentiles are the smallest and largest of the
    nine (targeted x comparison) compositions."""
    out, _ = difference_in_differences(_four_streets(), 1, 1)
    o = out.set_index("outcome")
    # crime: targeted aa 20 -> 10 (-10), ab -20, bb 40 -> 10 (-30); every comparison draw 0
    assert (o.loc["crimes", "ci_low"], o.loc["crimes", "ci_high"]) == (-30.0, -10.0)
    # confidence: aa 40 -> 80 (+40), ab +30, bb 60 -> 80 (+20); comparison always 0
    assert (o.loc["confidence", "ci_low"], o.loc["confidence", "ci_high"]) == \
        (pytest.approx(20.0), pytest.approx(40.0))
    # membership: targeted aa +2, ab +3, bb +4; comparison +1: 1 .. 3
    assert (o.loc["membership", "ci_low"], o.loc["membership", "ci_high"]) == \
        (pytest.approx(1.0), pytest.approx(3.0))
    assert o.loc["crimes", "status"] == "better"  # fell, and the interval excludes 0
    assert o.loc["confidence", "status"] == "better"
    assert o.loc["feel_safe", "status"] == "too_little_data"  # 3 answers a cell < 10
    again, _ = difference_in_differences(_four_streets(), 1, 1)
    pd.testing.assert_frame_equal(out, again)  # a fixed seed: the same interval every time


def test_one_street_in_a_group_gives_no_interval_and_says_so():
    f = _four_streets()
    out, _ = difference_in_differences(f[f["street_id"] != "d"], 1, 1)
    row = out.set_index("outcome").loc["crimes"]
    assert row["did"] == pytest.approx((10 - 30) - (20 - 20))
    assert np.isnan(row["ci_low"]) and row["status"] == "too_little_data"
    assert "fewer than 2 streets" in row["verdict"]


def test_verdicts_never_claim_more_than_the_interval():
    out, _ = difference_in_differences(_four_streets(), 1, 1)
    o = out.set_index("outcome")
    assert o.loc["crimes", "verdict"].startswith("Crime: fell by 20.0 crimes per 1,000")
    assert "95% interval 10.0 to 30.0" in o.loc["crimes", "verdict"]
    assert "Consistent with an effect" in o.loc["crimes", "verdict"]
    for text in o["verdict"]:
        assert "proves" not in text and "caused by the set-up" not in text
    same = {**o.loc["membership"].to_dict(), "outcome": "membership", "ci_low": -0.5,
            "ci_high": 4.0, "status": None}
    assert outcome_verdict(same).startswith("Membership: no clear difference")
    assert "includes no difference" in outcome_verdict(same)
    worse = {**o.loc["crimes"].to_dict(), "outcome": "crimes", "did": 3.0, "ci_low": 1.0,
             "ci_high": 5.0, "status": None}
    assert "cannot say the set-up caused it" in outcome_verdict(worse)
    summary = overall_verdict(out, 2, 2)
    assert summary.startswith("Crime, harm, confidence and membership changed for the better")
    assert "Too little data to say for feeling safe" in summary and "not proof" in summary


def test_match_streets_within_the_stratum_without_replacement():
    pool = pd.DataFrame({
        "street_id": ["t1", "t2", "c1", "c2", "c3", "far"],
        "stratum": ["npa:N", "npa:N", "npa:N", "npa:N", "npa:N", "npa:M"],
        "households": [10, 40, 10, 40, 12, 10], "crimes_before": [2, 2, 2, 2, 2, 2],
        "members_before": [1, 4, 1, 4, 1, 1],
        "targeted": [True, True, False, False, False, False]})
    # t1 is identical to c1, t2 to c2; c3 is next nearest to t1; "far" is in another npa
    assert match_streets(pool, months_before=2, matches=1).to_dict() == {"c1": "t1",
                                                                         "c2": "t2"}
    two = match_streets(pool, months_before=2, matches=2).to_dict()
    assert two == {"c1": "t1", "c2": "t2", "c3": "t1"}  # c3 goes once; t2 finds no other
    with pytest.raises(InputError, match="matches must be 1 or more"):
        match_streets(pool, months_before=2, matches=0)


@pytest.mark.parametrize("start, months, kwargs, message", [
    ("2026-05-02", ["2026-01", "2026-04"], {}, "after the newest stored crime month"),
    ("2026-01-20", ["2026-01", "2026-02"], {}, "no crime month is stored before"),
    ("2026-02-01", ["2026-01", "2026-02"], {"before_months": 0}, "from 1 to 60"),
    ("yesterday", ["2026-01"], {}, "not an ISO day"),
    ("2026-02-01", [], {}, "no crime is stored"),
])
def test_effect_windows_refuse_what_cannot_be_compared(start, months, kwargs, message):
    with pytest.raises(InputError, match=message):
        effect_windows(start, months, **kwargs)


def test_effect_windows_after_months_and_before_months():
    months = [f"2026-{m:02d}" for m in range(1, 10)]
    w, notes = effect_windows("2026-06-30", months, after_months=2, before_months=4)
    assert (w.before, w.after) == (("2026-02", "2026-03", "2026-04", "2026-05"),
                                   ("2026-06", "2026-07"))
    assert (w.before_end, w.after_start, w.after_end) == ("2026-05-31", "2026-06-01",
                                                         "2026-07-31")
    assert notes == []


# -- a hand-built town in a store --------------------------------------------------------------
def _line(y: float, x0: float = 0.0, x1: float = 200.0):
    return shapely.multilinestrings([[(x0, y), (x1, y)]])


def build_streets_town(store) -> None:
    """Streets 200 m long along y = const: targeted t1 (y 0) and t2 (500) in beat B1, c1
    (1000) and c2 (1500) in beat B2 (both npa N), ``a`` (y 60, beat B2: within 100 m of t1,
    so never a comparison) and ``x`` (3000, beat B3 in npa M: another npa). Ten households a
    street, postcodes ``P <street>``."""
    ys = {"t1": 0.0, "t2": 500.0, "c1": 1000.0, "c2": 1500.0, "a": 60.0, "x": 3000.0}
    beats = {"t1": "beat:B1", "t2": "beat:B1", "c1": "beat:B2", "c2": "beat:B2",
             "a": "beat:B2", "x": "beat:B3"}
    streets = pd.DataFrame({"street_id": list(ys), "name": [f"{s} Street" for s in ys],
                            "beat_id": [beats[s] for s in ys], "ward_id": "ward:W",
                            "length_m": 200.0, "households": 10,
                            "geom": [_line(y) for y in ys.values()]})
    rows = []
    for s, y in ys.items():
        for i in range(10):
            off = -8.0 if s == "a" else 8.0  # a's houses on its far side from t1
            rows.append((f"{s}-{i}", s, beats[s], 10.0 + 20 * i, y + off, f"P {s}"))
    addr = pd.DataFrame(rows, columns=["uprn", "street_id", "beat_id", "x", "y", "postcode"])
    addr["cell"] = 0
    addr["geom"] = shapely.points(addr["x"], addr["y"])

    def crime(key, month, x, y, outlier=0):
        return {"crime_key": key, "month": month, "category": "Burglary", "x": x, "y": y,
                "cell": 0, "is_outlier": outlier}

    crimes = pd.DataFrame([
        crime("t1-1", "2026-01", 50, 5), crime("t1-2", "2026-02", 60, -5),
        crime("t2-1", "2026-01", 50, 505), crime("t2-2", "2026-02", 70, 495),
        crime("t2-3", "2026-03", 90, 510),
        crime("c1-1", "2026-02", 50, 1005), crime("c1-2", "2026-04", 50, 995),
        crime("c2-1", "2026-01", 50, 1505), crime("c2-2", "2026-02", 50, 1495),
        crime("c2-3", "2026-03", 50, 1505), crime("c2-4", "2026-04", 50, 1495),
        crime("near-a", "2026-03", 50, 45),  # 45 m from t1 but 15 m from a: a's
        crime("t1-outlier", "2026-03", 50, 2, outlier=1),
        crime("t1-old", "2025-12", 50, 2),  # before the before window
        crime("between", "2026-03", 50, 250),  # 250 m from every street
    ])
    members = pd.DataFrame([
        ("M1", "t1-1", None, "2020-01-01", None),
        ("M2", "t1-2", None, "2026-03-15", None),  # joined after the start
        ("M3", "t2-1", None, "2020-01-01", "2026-04-01"),  # left after the start
        ("M4", "c1-1", None, "2020-01-01", None),
        ("M5", None, "P c2", "2026-04-02", None),  # no UPRN: placed by its postcode
    ], columns=["member_id", "uprn", "postcode", "joined", "left_on"])
    members["x"] = members["uprn"].map(addr.set_index("uprn")["x"]).fillna(10.0)
    members["y"] = members["uprn"].map(addr.set_index("uprn")["y"]).fillna(1508.0)
    members["cell"] = 0
    surveys = pd.DataFrame([
        ("R1", "2026-01-10", "M1", None, 10.0, 8.0, 5, 2),  # t1 before: confident, not safe
        ("R2", "2026-03-20", None, "P t2", 110.0, 508.0, 3, 4),  # t2 after, by postcode
        ("R3", "2026-04-05", None, None, 70.0, 1004.0, 4, None),  # c1 after, by its point
        ("R4", "2025-11-05", "M4", None, 10.0, 1008.0, 5, 5),  # before the before window
    ], columns=["response_id", "responded", "member_id", "postcode", "x", "y", "confidence",
                "feel_safe"])
    surveys["feel_safe"] = pd.Series([2, 4, None, 5], dtype=object)
    surveys["channel"] = "online"
    surveys["cell"] = 0
    surveys["geom"] = shapely.points(surveys["x"], surveys["y"])

    def box(y0, y1):
        return shapely.multipolygons([shapely.box(-50, y0, 300, y1)])

    areas = pd.DataFrame({
        "area_id": ["beat:B1", "beat:B2", "beat:B3", "npa:N", "npa:M"],
        "level": ["beat", "beat", "beat", "npa", "npa"],
        "code": ["B1", "B2", "B3", "N", "M"], "name": ["B1", "B2", "B3", "N", "M"],
        "parent_id": ["npa:N", "npa:N", "npa:M", None, None], "boundary_set": "default",
        "geom": [box(-50, 550), box(550, 2000), box(2900, 3100), box(-50, 2000),
                 box(2900, 3100)]})
    with store.begin() as conn:
        store.insert_new(conn, "areas", areas)
        store.insert_new(conn, "streets", streets)
        store.insert_new(conn, "addresses", addr)
        store.insert_new(conn, "crimes", crimes)
        store.insert_new(conn, "members", members)
        store.insert_new(conn, "surveys", surveys)


def test_street_group_effect_on_a_hand_built_town(store):
    build_streets_town(store)
    e = street_group_effect(store, ["t1", "t2"], "2026-03-10", matches=1)
    # crime months 2025-12 .. 2026-04; after = March, April; before = the 2 months before
    assert (e.windows.before, e.windows.after) == (("2026-01", "2026-02"),
                                                   ("2026-03", "2026-04"))
    s = e.streets.set_index("street_id")
    assert set(s.index) == {"t1", "t2", "c1", "c2"}  # not a (next to t1), not x (npa M)
    assert s.loc[["t1", "t2"], "group"].eq("targeted").all()
    assert set(s.loc[["c1", "c2"], "matched_to"]) == {"t1", "t2"}
    assert s["crimes_before"].to_dict() == {"t1": 2, "t2": 2, "c1": 1, "c2": 2}
    assert s["crimes_after"].to_dict() == {"t1": 0, "t2": 1, "c1": 1, "c2": 2}
    assert s.loc["t1", "harm_before"] == 80.0  # two burglaries of 40 CCHI days
    # members on 28 February and 30 April: t1 M1 -> M1, M2; t2 M3 -> none; c1 M4 -> M4;
    # c2 none -> M5 (placed by its postcode)
    assert s["members_before"].to_dict() == {"t1": 1, "t2": 1, "c1": 1, "c2": 0}
    assert s["members_after"].to_dict() == {"t1": 2, "t2": 0, "c1": 1, "c2": 1}
    assert (s.loc["t1", "conf_n_before"], s.loc["t1", "conf_k_before"],
            s.loc["t1", "safe_n_before"], s.loc["t1", "safe_k_before"]) == (1, 1, 1, 0)
    assert (s.loc["t2", "conf_n_after"], s.loc["t2", "conf_k_after"]) == (1, 0)
    assert (s.loc["c1", "conf_n_after"], s.loc["c1", "conf_k_after"],
            s.loc["c1", "safe_n_after"]) == (1, 1, 0)
    assert s["conf_n_before"].sum() == 1  # R4 (November) is in no window
    o = e.outcomes.set_index("outcome")
    # crime per 1,000 households a month: targeted 4 / (20 x 2) -> 1 / 40 = 100 -> 25;
    # comparison 3 / 40 -> 3 / 40 = 75 -> 75: -75
    assert o.loc["crimes", ["targeted_before", "targeted_after", "comparison_before",
                            "comparison_after", "did"]].tolist() == [100.0, 25.0, 75.0, 75.0,
                                                                     -75.0]
    # members per 100 households: targeted 2/20 -> 2/20 (0), comparison 1/20 -> 2/20 (+5)
    assert o.loc["membership", "did"] == pytest.approx(-5.0)
    assert o.loc["confidence", "status"] == "too_little_data"
    assert any("Only 2 targeted street(s)" in w for w in e.warnings)
    assert "not proof" in e.verdict


def test_street_group_effect_refuses_unknown_streets_and_bad_distances(store):
    build_streets_town(store)
    with pytest.raises(InputError, match="none of the targeted streets is stored"):
        street_group_effect(store, ["nope"], "2026-03-10")
    with pytest.raises(InputError, match="exclude_m"):
        street_group_effect(store, ["t1"], "2026-03-10", exclude_m=-1)


# -- the demo force ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    path = demo_builds.copy(tmp_path_factory.mktemp("demo"), households=5_000)
    store = open_store(path, create=False)
    yield store
    store.close()


def test_demo_campaign_setup_recovers_the_members_registered_at_the_door(demo):
    """The demo's archived campaign set-up: members registered at its doors joined on the
    day of the visit, so membership must rise more in its streets than in the comparison
    streets, and the interval must hold the registrations per 100 households."""
    from spatial_core.api.evaluation import evaluate_setup

    campaign = json.loads(demo.get_meta("demo_history"))["evaluation_setup"]
    e = evaluate_setup(demo, campaign["setup_id"])
    assert e.status == "archived" and e.started == campaign["created_at"][:10]
    m = e.outcomes.set_index("outcome").loc["membership"]
    # registrations at the door in the after window, on the targeted and comparison streets
    v = demo.read("visits", ["uprn", "visited_at", "outcome"])
    a = demo.read("addresses", ["uprn", "street_id"])
    v = v.merge(a, on="uprn")
    after = v[(v["visited_at"] >= e.effect.windows.after_start)
              & (v["visited_at"] <= e.effect.windows.after_end + "T23:59")
              & (v["outcome"] == "registered")]
    s = e.effect.streets
    planted = []
    for g in ("targeted", "comparison"):
        ids = set(s.loc[s["group"] == g, "street_id"])
        planted.append(100 * after["street_id"].isin(ids).sum()
                       / s.loc[s["group"] == g, "households"].sum())
    expected = planted[0] - planted[1]
    assert expected > 1.0
    assert m["status"] == "better" and m["ci_low"] > 0
    assert m["ci_low"] <= expected <= m["ci_high"] + 1.0  # + organic joining, within a point
    assert "Membership: rose by" in m["verdict"]


def test_evaluate_setup_follows_the_setup_visibility_rule(demo):
    from spatial_core.analytics.population import area_table
    from spatial_core.api import Scope
    from spatial_core.api.evaluation import evaluate_setup, setups_in_area

    campaign = json.loads(demo.get_meta("demo_history"))["evaluation_setup"]
    sid, beat = campaign["setup_id"], campaign["beat_id"]
    tree = area_table(demo)
    other = sorted(set(tree.loc[tree["level"] == "beat", "area_id"]) - {beat})[0]
    mine = Scope.for_caller(tree, "beat_officer", [beat])
    theirs = Scope.for_caller(tree, "beat_officer", [other])
    partner = Scope.for_caller(tree, "partner", [])
    assert evaluate_setup(demo, sid, mine).setup_id == sid
    for scope in (theirs, partner):
        with pytest.raises(NotFoundError, match="does not name a set-up you may see"):
            evaluate_setup(demo, sid, scope)
    with pytest.raises(NotFoundError, match="no set-up 'nope'"):
        evaluate_setup(demo, "nope")
    assert sid in set(setups_in_area(demo, beat)["setup_id"])
    assert sid not in set(setups_in_area(demo, other)["setup_id"])


def test_evaluation_streets_withhold_small_survey_shares_and_hold_no_person(demo):
    from spatial_core.api import Scope
    from spatial_core.api.evaluation import evaluate_setup

    sid = json.loads(demo.get_meta("demo_history"))["evaluation_setup"]["setup_id"]
    e = evaluate_setup(demo, sid, Scope(k=5))
    st = e.streets
    few = st["respondents_before"] < 5
    assert few.any() and st.loc[few, "confident_pct_before"].isna().all()
    many = st[~few & (st["respondents_before"] > 0)]
    raw = e.effect.streets.set_index("street_id")
    for r in many.itertuples():
        assert r.confident_pct_before == pytest.approx(
            100 * raw.loc[r.street_id, "conf_k_before"] / r.respondents_before)
    text = json.dumps(e.to_dict())
    for word in ("uprn", "member_id", "postcode"):
        assert word not in text
    names = demo.read("members", ["name"])["name"].dropna()
    assert not [n for n in names if f'"{n}"' in text]
    assert set(e.to_dict()["outcomes"][0]) >= {"did", "ci_low", "ci_high", "verdict"}


def test_cli_evaluate_setup_prints_the_table_and_json_equals_the_core(demo, capsys):
    from lpt_cli.main import main
    from spatial_core.api.evaluation import evaluate_setup

    sid = json.loads(demo.get_meta("demo_history"))["evaluation_setup"]["setup_id"]
    location = str(demo.location)
    assert main(["--store", location, "evaluate", "setup", sid, "--json",
                 "--before-months", "3"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = evaluate_setup(demo, sid, before_months=3).to_dict()
    assert got == json.loads(json.dumps(want, default=str))
    assert len(got["windows"]["before"]) == 3
    assert main(["--store", location, "evaluate", "setup", sid]) == 0
    text = capsys.readouterr().out
    assert f"Set-up {sid}" in text and "Membership" in text and "not proof" in text
    assert main(["--store", location, "evaluate", "setup"]) == 2
    assert "needs a set-up id" in capsys.readouterr().err
    assert main(["--store", location, "evaluate", "setup", "nope"]) == 2
    assert "no set-up 'nope'" in capsys.readouterr().err


def _store_setup(store, setup_id: str, streets: list[str], created_at: str) -> None:
    """A set-up row and its streets, written as create_setup stores them."""
    setup = pd.DataFrame([{
        "setup_id": setup_id, "name": "Town test", "status": "live", "goal": "recruit",
        "areas": json.dumps(["beat:B1"]), "target_rule": "groups", "target_groups": "[]",
        "profile_name": "engagement", "profile_toml": "# none", "revisit_registered": 0,
        "visited_days": 28, "declined_days": 90, "not_in_hours": 4.0, "max_streets": 2,
        "as_of": created_at[:10], "created_at": created_at, "inputs_fingerprint": "0" * 64,
        "input_counts": "{}", "scheme": "oac2011", "level": 1}])
    rows = pd.DataFrame({"setup_id": setup_id, "street_id": streets,
                         "street_rank": range(1, len(streets) + 1), "beat_id": "beat:B1",
                         "score": 1.0, "households": 10, "to_knock": 10})
    with store.begin() as conn:
        store.insert_new(conn, "setups", setup)
        store.insert_new(conn, "setup_streets", rows)


def test_tactical_section_lists_the_areas_setups_with_their_lines_by_hand(gpkg_store):
    from spatial_core.analytics.population import area_table
    from spatial_core.api import FORCE, Scope
    from spatial_core.api.tactical import SectionContext
    from spatial_core.api.tactical_sections.setup_effect import section

    build_streets_town(gpkg_store)
    _store_setup(gpkg_store, "town-setup", ["t1", "t2"], "2026-03-10T09:00:00")

    def ctx(area, scope=FORCE):
        return SectionContext(store=gpkg_store, area_id=area, level=area.split(":")[0],
                              scope=scope, profile=None, period=None, min_n=10, target=0.7)

    sec = section(ctx("npa:N"))
    assert sec is not None and sec.key == "setup_effect" and len(sec.rows) == 5
    rows = {r[1]: r for r in sec.rows}
    assert rows["Crime"][0] == "Town test (town-setup)"
    assert rows["Harm"][0] == "  2 months before, 2 after"
    # crime: 100 -> 25 against 75 -> 75 (worked out above); resampling t1, t2 gives
    # -100 (t1 t1), -75 or -50 (t2 t2) and the comparison always 0: -100 to -50
    assert rows["Crime"][2:] == ("100.0 -> 25.0", "75.0 -> 75.0", "-75.0", "-100.0 to -50.0",
                                 "better")
    # one answer a cell: below k = 5, so no figure is printed
    assert rows["Confidence"][2:4] == ("<5 answers", "<5 answers")
    assert rows["Confidence"][6] == "too little data"
    # members per 100 households: targeted 10 -> 10, comparison 5 -> 10; draws span
    # (t2 t2: -10) - (c2 c2: +10) = -20 to (t1 t1: +10) - (c1 c1: 0) = +10
    assert rows["Membership"][2:] == ("10.0 -> 10.0", "5.0 -> 10.0", "-5.0", "-20.0 to 10.0",
                                      "no clear difference")
    assert section(ctx("beat:B3")) is None  # no set-up there
    tree = area_table(gpkg_store)
    assert section(ctx("npa:N", Scope.for_caller(tree, "partner", []))) is None
    assert section(ctx("npa:N", Scope.for_caller(tree, "beat_officer", ["beat:B3"]))) is None


def test_pre_trend_compares_the_two_halves_of_the_before_window_by_hand(store):
    build_streets_town(store)
    e = street_group_effect(store, ["t1", "t2"], "2026-03-10", matches=1)
    p = e.pre_trend.set_index("outcome")
    assert (p.loc["crimes", "before"], p.loc["crimes", "after"]) == ("2026-01", "2026-02")
    # January against February, 20 households a group: targeted 2 -> 2 crimes (100 -> 100
    # per 1,000 a month), comparison 1 -> 2 (50 -> 100): (0) - (+50) = -50
    assert p.loc["crimes", ["targeted_before", "targeted_after", "comparison_before",
                            "comparison_after", "did"]].tolist() == [100.0, 100.0, 50.0, 100.0,
                                                                     -50.0]
    # members on 31 January and 28 February: nobody joined or left: 10 -> 10, 5 -> 5
    assert p.loc["membership", "did"] == 0.0
    one = street_group_effect(store, ["t1", "t2"], "2026-03-10", matches=1, before_months=1)
    assert one.pre_trend.empty


def test_after_from_end_starts_the_after_window_when_the_setup_ended(demo):
    from spatial_core.api.evaluation import evaluate_setup

    campaign = json.loads(demo.get_meta("demo_history"))["evaluation_setup"]
    e = evaluate_setup(demo, campaign["setup_id"], after_from="end")
    end = pd.Period(campaign["archived_at"][:7], freq="M")
    newest = demo.read("crimes", ["month"])["month"].max()
    after = [str(p) for p in pd.period_range(end, newest, freq="M")]
    assert list(e.effect.windows.after) == after
    assert list(e.effect.windows.before) == [str(end - i) for i in range(len(after), 0, -1)]
    with pytest.raises(InputError, match="after_from must be one of"):
        evaluate_setup(demo, campaign["setup_id"], after_from="middle")


def test_after_from_end_of_a_live_setup_is_refused(gpkg_store):
    from spatial_core.api.evaluation import evaluate_setup

    build_streets_town(gpkg_store)
    _store_setup(gpkg_store, "town-live", ["t1", "t2"], "2026-03-10T09:00:00")
    with pytest.raises(InputError, match="still live: evaluate from its start, or archive"):
        evaluate_setup(gpkg_store, "town-live", after_from="end")
    with pytest.raises(InputError, match="a set-up id is needed"):
        evaluate_setup(gpkg_store, "  ")
