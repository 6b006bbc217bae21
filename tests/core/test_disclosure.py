# SPDX-License-Identifier: GPL-3.0-or-later
"""spatial_core.analytics.disclosure: primary and secondary suppression of small counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial_core import InputError
from spatial_core.analytics.disclosure import area_counts, disclosed_area_counts, suppress_counts


def _tree(force, npas, beats, wards=()):
    rows = [("f", "force", None, force)]
    rows += [(f"n{i}", "npa", "f", v) for i, v in enumerate(npas)]
    rows += [(f"b{i}", "beat", p, v) for i, (p, v) in enumerate(beats)]
    rows += [(f"w{i}", "ward", "f", v) for i, v in enumerate(wards)]
    return pd.DataFrame(rows, columns=["area_id", "level", "parent_id", "n"])


def _n(frame):
    return dict(zip(frame["area_id"], frame["n"], strict=True))


def test_small_counts_are_withheld_and_zero_and_k_are_published():
    f = _tree(30, [30], [("n0", 0), ("n0", 5), ("n0", 25)])
    assert _n(suppress_counts(f, ["n"], k=5)) == {"f": 30, "n0": 30, "b0": 0, "b1": 5, "b2": 25}


def test_a_lone_withheld_child_takes_the_smallest_non_zero_sibling_with_it():
    f = _tree(45, [45], [("n0", 3), ("n0", 0), ("n0", 12), ("n0", 30)])
    out = _n(suppress_counts(f, ["n"], k=5))
    assert out["b0"] is None and out["b2"] is None  # 12 hides 3; 0 would not protect it
    assert out["b1"] == 0 and out["b3"] == 30


def test_secondary_suppression_climbs_the_tree():
    # npa n1 = 4 is withheld, so a sibling npa goes too, then a beat under that npa.
    f = _tree(60, [56, 4], [("n0", 20), ("n0", 36), ("n1", 4)])
    frame = suppress_counts(f, ["n"], k=5)
    vals = _n(frame)
    assert vals["n1"] is None and vals["n0"] is None and vals["b2"] is None
    assert vals["b0"] is None and vals["b1"] == 36  # 20 is the smaller beat under n0
    # No equation parent = sum(children) has exactly one withheld term.
    for (parent, _), kids in frame[frame["parent_id"].notna()].groupby(["parent_id", "level"]):
        terms = [vals[parent], *kids["n"]]
        assert sum(v is None for v in terms) != 1


def test_levels_are_separate_equations():
    # The force's npas and wards each add up to it: a withheld ward needs a ward partner.
    f = _tree(40, [40], [("n0", 40)], wards=[2, 18, 20])
    out = _n(suppress_counts(f, ["n"], k=5))
    assert out["w0"] is None and out["w1"] is None and out["w2"] == 20
    assert out["n0"] == 40


@pytest.mark.parametrize("seed", range(20))
def test_random_trees_never_publish_1_to_k_minus_1_or_a_single_withheld_term(seed):
    rng = np.random.default_rng(seed)
    beats = [(f"n{i % 3}", int(rng.choice([0, 1, 2, 3, 6, 9, 20]))) for i in range(9)]
    npas = [sum(v for p, v in beats if p == f"n{i}") for i in range(3)]
    frame = suppress_counts(_tree(sum(npas), npas, beats), ["n"], k=5)
    shown = frame["n"].dropna().astype(int)
    assert not ((shown >= 1) & (shown < 5)).any()
    vals = _n(frame)
    for (parent, _), kids in frame[frame["parent_id"].notna()].groupby(["parent_id", "level"]):
        assert sum(v is None for v in [vals[parent], *kids["n"]]) != 1


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="k must be at least 2"):
        suppress_counts(_tree(1, [1], []), ["n"], k=1)
    with pytest.raises(InputError, match=r"no column\(s\) \['x'\]"):
        suppress_counts(_tree(1, [1], []), ["x"])


@pytest.fixture
def small_demo(demo_builds, tmp_path):
    """A copy of the 1,500-household demo force (built once per session)."""
    from spatial_core import open_store

    store = open_store(demo_builds.copy(tmp_path, households=1_500, months=2))
    yield store
    store.close()


def test_area_counts_on_the_demo_add_up(small_demo):
    c = area_counts(small_demo).set_index("area_id")
    assert c.loc["force:DEMO", "households"] == small_demo.count("addresses")
    for col in ("households", "members", "crimes"):
        npas = c[c["level"] == "npa"]
        beats = c[c["level"] == "beat"]
        assert npas[col].sum() == beats[col].sum()
        assert c.loc[npas.index, col].to_dict() == beats.groupby("parent_id")[col].sum().to_dict()
    safe = disclosed_area_counts(small_demo, k=50)
    shown = pd.concat([safe[c] for c in ("households", "members", "crimes")]).dropna()
    assert not ((shown.astype(int) >= 1) & (shown.astype(int) < 50)).any()


def test_a_small_residual_is_protected_like_a_child():
    # Wards cover 38 of the force's 40: the 2 outside any ward are force - (20 + 18).
    f = _tree(40, [40], [("n0", 40)], wards=[20, 18])
    out = _n(suppress_counts(f, ["n"], k=5))
    assert out["w1"] is None and out["w0"] == 20  # 18 is the smaller term beside the 2
    # A residual of k or more gives nothing away: nothing withheld.
    out = _n(suppress_counts(_tree(45, [45], [("n0", 45)], wards=[20, 18]), ["n"], k=5))
    assert out == {"f": 45, "n0": 45, "b0": 45, "w0": 20, "w1": 18}


def _pairs(rows):
    return pd.DataFrame(rows, columns=["area_a", "area_b", "n"])


def test_a_ward_nested_in_a_beat_does_not_give_away_the_rest_of_the_beat():
    # b0 = 12 holds all of w0 = 10 and 2 more: published together, b0 - w0 = 2; and w1 = 30
    # holds all of b1 = 28 and 2 more.
    f = _tree(40, [40], [("n0", 12), ("n0", 28)], wards=[10, 30])
    pairs = _pairs([("b0", "w0", 10), ("b0", "w1", 2), ("b1", "w1", 28),
                    ("n0", "w0", 10), ("n0", "w1", 30)])
    plain = _n(suppress_counts(f, ["n"], k=5))
    assert plain["b0"] == 12 and plain["w0"] == 10  # the leak without overlaps
    out = _n(suppress_counts(f, ["n"], k=5, overlaps=pairs))
    assert out["w0"] is None and out["w1"] is None  # the wards give way (both pairs) ...
    assert out["b0"] == 12 and out["b1"] == 28 and out["f"] == 40  # ... the beats stay


def test_overlaps_that_only_cut_across_each_other_withhold_nothing():
    # b0 and w0 share 8 and each has 6 of its own: b0 - w0 = 0 says nothing about a part.
    f = _tree(40, [40], [("n0", 14), ("n0", 26)], wards=[14, 26])
    pairs = _pairs([("b0", "w0", 8), ("b0", "w1", 6), ("b1", "w0", 6), ("b1", "w1", 20),
                    ("n0", "w0", 14), ("n0", "w1", 26)])
    out = _n(suppress_counts(f, ["n"], k=5, overlaps=pairs))
    assert None not in out.values()


@pytest.mark.parametrize("seed", range(20))
def test_random_overlapping_geographies_leave_no_part_to_difference(seed):
    # Points on a 6 x 6 grid of blocks; beats are 2 x 3 blocks, wards 3 x 2: they cut
    # across each other, and every count comes from the same points.
    rng = np.random.default_rng(seed)
    pts = rng.choice([0, 0, 1, 2, 3, 4, 7], size=(6, 6))
    beat = lambda r, c: f"b{(r // 2) * 2 + c // 3}"  # noqa: E731
    ward = lambda r, c: f"w{(r // 3) * 3 + c // 2}"  # noqa: E731
    cells = [(beat(r, c), ward(r, c), int(pts[r, c])) for r in range(6) for c in range(6)]
    b = pd.DataFrame(cells, columns=["b", "w", "n"])
    beats = b.groupby("b")["n"].sum()
    wards = b.groupby("w")["n"].sum()
    rows = [("f", "force", None, int(pts.sum())), ("n0", "npa", "f", int(pts.sum()))]
    rows += [(i, "beat", "n0", int(v)) for i, v in beats.items()]
    rows += [(i, "ward", "f", int(v)) for i, v in wards.items()]
    frame = pd.DataFrame(rows, columns=["area_id", "level", "parent_id", "n"])
    pairs = (b.groupby(["b", "w"])["n"].sum().rename_axis(["area_a", "area_b"])
             .reset_index())
    vals = _n(suppress_counts(frame, ["n"], k=5, overlaps=pairs))
    assert not any(v is not None and 1 <= v < 5 for v in vals.values())
    for a, w, both in pairs.itertuples(index=False):
        if vals[a] is None or vals[w] is None:
            continue
        a_only, w_only = vals[a] - both, vals[w] - both
        assert not (w_only == 0 and 1 <= a_only < 5), (a, w)
        assert not (a_only == 0 and 1 <= w_only < 5), (a, w)


def test_overlap_counts_on_the_demo_match_the_points(small_demo):
    from spatial_core.analytics.disclosure import overlap_counts
    counts = area_counts(small_demo).set_index("area_id")
    pairs = overlap_counts(small_demo)
    h = small_demo.read("addresses", ["beat_id", "ward_id"]).dropna()
    expected = h.groupby(["beat_id", "ward_id"]).size()
    got = pairs[pairs["area_a"].str.startswith("beat")].set_index(["area_a", "area_b"])
    got = got.loc[got["households"] > 0, "households"]
    assert got.to_dict() == expected.to_dict()
    # Each ward's overlaps with the npas add up to the ward's own count.
    npa = pairs[pairs["area_a"].isin(counts.index[counts["level"] == "npa"])]
    for col in ("households", "members", "crimes"):
        by_ward = npa.groupby("area_b")[col].sum()
        assert (by_ward == counts.loc[by_ward.index, col]).all()
    # Published: no part of a nested pair is 1..k-1.
    safe = disclosed_area_counts(small_demo, k=10).set_index("area_id")
    for col in ("households", "members", "crimes"):
        for a, w, both in pairs[["area_a", "area_b", col]].itertuples(index=False):
            va, vw = safe.loc[a, col], safe.loc[w, col]
            if va is None or vw is None or pd.isna(va) or pd.isna(vw):
                continue
            assert not (va - both > 0 and va - both < 10 and vw == both), (col, a, w)
            assert not (vw - both > 0 and vw - both < 10 and va == both), (col, a, w)
