# SPDX-License-Identifier: GPL-3.0-or-later
"""spatial_core.disclosure: primary and secondary suppression of small counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spatial_core import InputError
from spatial_core.disclosure import area_counts, disclosed_area_counts, suppress_counts


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


def test_area_counts_on_the_demo_add_up(gpkg_store, tmp_path):
    from spatial_core.demo import build_demo

    build_demo(gpkg_store, tmp_path / "demo", households=1_500, months=2)
    c = area_counts(gpkg_store).set_index("area_id")
    assert c.loc["force:DEMO", "households"] == gpkg_store.count("addresses")
    for col in ("households", "members", "crimes"):
        npas = c[c["level"] == "npa"]
        beats = c[c["level"] == "beat"]
        assert npas[col].sum() == beats[col].sum()
        assert c.loc[npas.index, col].to_dict() == beats.groupby("parent_id")[col].sum().to_dict()
    safe = disclosed_area_counts(gpkg_store, k=50)
    shown = pd.concat([safe[c] for c in ("households", "members", "crimes")]).dropna()
    assert not ((shown.astype(int) >= 1) & (shown.astype(int) < 50)).any()
