# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priorities: vote counts, Wilson intervals, the top-N and share rules, minimum n, the
summary sentence."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.analytics.priorities import (
    count_votes,
    local_priorities,
    priority_summary,
    wilson_interval,
)

X0, Y0 = 430000.0, 290000.0


def _box(x0, x1):
    return shapely.MultiPolygon([shapely.box(X0 + x0, Y0, X0 + x1, Y0 + 1000)])


def build_store(store) -> None:
    """Beat A (west) has 12 respondents in 2026Q1: ASB named by 9, drugs by 6, theft by 3,
    environmental by 2, burglary by 1 (and a May response without any priority, which is not a
    respondent to the question). Beat B (east) has 5 respondents, all naming ASB."""
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N", "beat:A", "beat:B"],
        "level": ["force", "npa", "beat", "beat"], "code": ["F", "N", "A", "B"],
        "name": ["Force", "Npa", "Beat A", "Beat B"],
        "parent_id": [None, "force:F", "npa:N", "npa:N"], "boundary_set": ["default"] * 4,
        "geom": [_box(0, 2000), _box(0, 2000), _box(0, 1000), _box(1000, 2000)],
    })
    ids_a = [f"A{i:02d}" for i in range(13)]
    ids_b = [f"B{i:02d}" for i in range(5)]
    ids = ids_a + ids_b
    surveys = pd.DataFrame({
        "response_id": ids, "responded": ["2026-02-01"] * 12 + ["2026-05-01"] + ["2026-02-01"] * 5,
        "channel": ["online"] * len(ids),
        "x": [X0 + 500] * 13 + [X0 + 1500] * 5, "y": [Y0 + 500] * 18, "cell": [0] * 18,
    })
    pri = []
    for i, rid in enumerate(ids_a[:12]):
        if i < 9:
            pri.append((rid, "asb"))
        if i < 6:
            pri.append((rid, "drugs"))
        if 6 <= i < 9:
            pri.append((rid, "theft"))
        if i in (9, 10):
            pri.append((rid, "environmental"))
        if i == 11:
            pri.append((rid, "burglary"))
    pri += [(rid, "asb") for rid in ids_b]
    priorities = pd.DataFrame(pri, columns=["response_id", "priority"])
    with store.begin() as conn:
        store.insert_new(conn, "areas", areas)
        store.insert_new(conn, "surveys", surveys)
        store.insert_new(conn, "survey_priorities", priorities)


def test_wilson_interval_matches_a_hand_computed_case():
    # 6 of 10, z = 1.96: centre (0.6 + 0.19207) / 1.38415 = 0.57225,
    # half 1.96 * sqrt(0.024 + 0.0096037) / 1.38415 = 0.25957.
    lo, hi = wilson_interval([6], [10])
    assert lo[0] == pytest.approx(0.31267, abs=1e-5)
    assert hi[0] == pytest.approx(0.83182, abs=1e-5)


def test_wilson_interval_edges():
    lo, hi = wilson_interval([0, 5, 0], [5, 5, 0])
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.43448, abs=1e-5)
    assert hi[1] == 1.0 and lo[1] == pytest.approx(0.56552, abs=1e-5)
    assert np.isnan(lo[2]) and np.isnan(hi[2])


def test_count_votes_counts_respondents_per_beat(store):
    build_store(store)
    v = count_votes(store, level="beat", period="2026Q1").set_index(["area_id", "priority"])
    assert v.loc[("beat:A", "asb"), "votes"] == 9
    assert v.loc[("beat:A", "drugs"), "votes"] == 6
    assert v.loc[("beat:A", "robbery"), "votes"] == 0
    assert v.loc[("beat:A", "asb"), "n"] == 12
    assert v.loc[("beat:A", "asb"), "share"] == pytest.approx(0.75)
    lo, hi = wilson_interval([9], [12])
    assert v.loc[("beat:A", "asb"), "ci_low"] == pytest.approx(lo[0])
    assert v.loc[("beat:A", "asb"), "ci_high"] == pytest.approx(hi[0])
    assert v.loc[("beat:B", "asb"), "n"] == 5
    assert v.loc[("beat:A", "asb"), "area_name"] == "Beat A"


def test_count_votes_at_npa_and_force_add_up_the_beats(gpkg_store):
    build_store(gpkg_store)
    for level, area in (("npa", "npa:N"), ("force", "force:F")):
        v = count_votes(gpkg_store, level=level).set_index(["area_id", "priority"])
        assert v.loc[(area, "asb"), "votes"] == 14
        assert v.loc[(area, "asb"), "n"] == 17


def test_top_rule_marks_the_top_n_and_never_an_area_below_min_n(store):
    build_store(store)
    marked = local_priorities(store, level="beat", rule="top", top_n=2, min_n=10)
    a = marked[marked["area_id"] == "beat:A"]
    assert sorted(a.loc[a["is_priority"], "priority"]) == ["asb", "drugs"]
    b = marked[marked["area_id"] == "beat:B"]
    assert not b["is_priority"].any()
    assert (b["note"] == "too few respondents (n=5 < 10): no local priority").all()


def test_top_rule_includes_ties_at_the_last_place(gpkg_store):
    build_store(gpkg_store)
    # Beat A: asb 9, drugs 6, theft 3, environmental 2, burglary 1: top 3 = asb, drugs, theft.
    marked = local_priorities(gpkg_store, rule="top", top_n=3, min_n=5)
    assert sorted(marked.loc[marked["is_priority"] & (marked["area_id"] == "beat:A"),
                             "priority"]) == ["asb", "drugs", "theft"]
    # Beat B: only ASB was named; names nobody chose are never a priority.
    assert marked.loc[marked["is_priority"] & (marked["area_id"] == "beat:B"),
                      "priority"].tolist() == ["asb"]


def test_share_rule_uses_the_threshold(gpkg_store):
    build_store(gpkg_store)
    marked = local_priorities(gpkg_store, rule="share", threshold=0.5, min_n=10)
    assert sorted(marked.loc[marked["is_priority"], "priority"]) == ["asb", "drugs"]
    marked = local_priorities(gpkg_store, rule="share", threshold=0.25, min_n=10)
    assert sorted(marked.loc[marked["is_priority"], "priority"]) == ["asb", "drugs", "theft"]


def test_summary_sentence_counts_areas_with_enough_respondents(gpkg_store):
    build_store(gpkg_store)
    s = priority_summary(gpkg_store, level="beat", top_n=1, min_n=10).set_index("priority")
    assert s.loc["asb", "areas"] == 1
    assert s.loc["asb", "areas_enough"] == 1 and s.loc["asb", "areas_total"] == 2
    assert s.loc["asb", "sentence"] == (
        "Anti-social behaviour is a local priority on 1 of our 1 beat with at least 10 "
        "respondents (1 more beat had too few to say)")


def test_summary_says_62_of_our_66_beats():
    beats = [f"beat:{i:02d}" for i in range(66)]
    marked = pd.DataFrame({
        "area_id": beats, "priority": "asb", "label": "Anti-social behaviour",
        "votes": 10, "n": 20, "enough": True, "is_priority": [i < 62 for i in range(66)],
    })
    s = priority_summary(None, level="beat", priorities=marked)
    assert s.loc[0, "sentence"] == "Anti-social behaviour is a local priority on 62 of our 66 beats"
    assert s.loc[0, "share_of_areas"] == pytest.approx(62 / 66)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rule": "most"}, "rule 'most'"),
    ({"top_n": 0}, "top_n"),
    ({"threshold": 1.5}, "threshold"),
    ({"min_n": 0}, "min_n"),
    ({"level": "street"}, "level 'street'"),
])
def test_local_priorities_reject_bad_options(gpkg_store, kwargs, message):
    with pytest.raises(InputError, match=message):
        local_priorities(gpkg_store, **kwargs)


def test_cli_priorities_json(tmp_path, capsys):
    import json

    from lpt_cli.main import main
    from spatial_core import open_store

    path = tmp_path / "s.gpkg"
    s = open_store(path)
    build_store(s)
    s.close()
    assert main(["--store", str(path), "priorities", "--level", "beat", "--top", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    first = out["summary"][0]
    assert first["priority"] == "asb" and first["areas"] == 1
    assert main(["--store", str(path), "priorities"]) == 0
    text = capsys.readouterr().out
    assert "Anti-social behaviour 75% (47%-91%)" in text
    assert "too few respondents (n=5 < 10)" in text


def test_summary_says_not_a_local_priority_instead_of_on_0_beats():
    beats = [f"beat:{i}" for i in range(8)]
    marked = pd.DataFrame({
        "area_id": beats * 2, "priority": ["asb"] * 8 + ["robbery"] * 8,
        "label": ["Anti-social behaviour"] * 8 + ["Robbery"] * 8,
        "votes": [10] * 8 + [1] * 8, "n": 20, "enough": [True] * 6 + [False] * 2 + [True] * 6
        + [False] * 2, "is_priority": [True] * 4 + [False] * 4 + [False] * 8})
    s = priority_summary(None, level="beat", min_n=10, priorities=marked).set_index("priority")
    assert s.loc["asb", "sentence"] == (
        "Anti-social behaviour is a local priority on 4 of our 6 beats with at least 10 "
        "respondents (2 more beats had too few to say)")
    assert s.loc["robbery", "sentence"] == (
        "Robbery is not a local priority on any of our 6 beats with at least 10 respondents "
        "(2 more beats had too few to say)")
    assert s.loc["robbery", "areas"] == 0


def test_summary_when_no_area_has_enough_respondents():
    marked = pd.DataFrame({"area_id": ["beat:a", "beat:b"], "priority": "asb",
                           "label": "Anti-social behaviour", "votes": 3, "n": 4,
                           "enough": False, "is_priority": False})
    s = priority_summary(None, level="beat", min_n=10, priorities=marked)
    assert s.loc[0, "sentence"] == ("Anti-social behaviour: no beat has the 10 respondents "
                                    "needed to say (all 2 beats had too few)")
    assert pd.isna(s.loc[0, "share_of_areas"])
