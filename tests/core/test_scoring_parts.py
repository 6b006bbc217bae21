# SPDX-License-Identifier: GPL-3.0-or-later
"""A force's scoring inputs prepared in parts cut by H3 parent cell, each with its halo, and
merged (:func:`prepare_part`, :func:`merge_parts`): the same inputs as the whole force at
once, array for array, and so the same scores."""
from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from spatial_core.errors import InputError
from spatial_core.geo.cells import descendant_ranges, grid_rings, hex_to_cells
from spatial_core.store import open_store
from spatial_core.targeting.profiles import load_profile
from spatial_core.targeting.scoring import (
    InputsPart,
    default_as_of,
    halo_rings,
    merge_parts,
    part_plan,
    prepare_inputs,
    prepare_part,
    score_streets,
)


def _assert_same_inputs(a, b) -> None:
    assert a.fingerprint == b.fingerprint
    for name in a.__dataclass_fields__:
        if name == "_cache":
            continue
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.shape == y.shape, name
            if x.dtype == object:
                assert (x == y).all(), name
            else:
                np.testing.assert_array_equal(x, y, err_msg=name)
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
        else:
            assert x == y, name


@pytest.fixture(scope="module")
def store(demo_builds, tmp_path_factory):
    s = open_store(demo_builds.copy(tmp_path_factory.mktemp("parts"), households=12_000,
                                    months=6, history=True))
    yield s
    s.close()


@pytest.mark.parametrize("res", [6, 7, 8])
@pytest.mark.parametrize("area", [None, "npa:DM01"])
def test_parts_merge_to_the_whole_forces_inputs(store, res, area):
    whole = prepare_inputs(store, area=area)
    day = default_as_of(store)
    plan = part_plan(store, res)
    parts = [prepare_part(store, p, day=day, area=area) for p in plan]
    # each part scores streets of its own: together every street once
    own = [set(p.streets["street_id"]) for p in parts]
    assert sum(map(len, own)) == whole.n_streets == len(set().union(*own))
    merged = merge_parts(store, parts, day=day, area=area)
    _assert_same_inputs(whole, merged)
    prof = load_profile(None)
    pd.testing.assert_frame_equal(score_streets(merged, prof), score_streets(whole, prof),
                                  check_exact=True)


def test_a_part_reads_less_than_the_force(store):
    plan = part_plan(store, 8)
    assert len(plan) > 4
    day = default_as_of(store)
    whole = prepare_part(store, None, day=day)
    sizes = [len(prepare_part(store, p, day=day).crimes) for p in plan]
    assert max(sizes) < len(whole.crimes) and sum(sizes) == len(whole.crimes)


def test_part_plan_groups_home_cells_and_refuses_a_bad_resolution(store):
    one_each = part_plan(store, 8)
    grouped = part_plan(store, 8, parts=3)
    assert len(grouped) == 3
    assert sorted(c for p in grouped for c in p.parents) == sorted(
        c for p in one_each for c in p.parents)
    with pytest.raises(InputError, match="resolution"):
        part_plan(store, 10)
    with pytest.raises(InputError, match="resolution"):
        prepare_part(store, InputsPart((1,), 11), day=default_as_of(store))


def test_halo_rings_by_hand():
    # res 8: average edge 531.4 m; the narrowest ring counted sqrt(3) x 0.6 x 531.4 = 552 m
    width = np.sqrt(3) * 0.6 * h3.average_hexagon_edge_length(8, unit="m")
    assert round(width) == 552
    assert halo_rings(8, 50, 250) == 1  # 250 m
    assert halo_rings(8, 500, 2000) == 4  # 2,000 m / 552 m -> 3.6 -> 4
    assert halo_rings(8, 400, 250) == 2  # two crime distances: 800 m -> 1.45 -> 2
    assert halo_rings(6, 500, 2000) == 1  # res 6: 3,866 m a ring


def test_descendant_ranges_and_rings_by_hand():
    parent = "88195da49bfffff"  # resolution 8
    lo, hi = descendant_ranges(hex_to_cells([parent]), 10)
    kids = hex_to_cells(sorted(h3.cell_to_children(parent, 10)))
    assert len(kids) == 49 and ((kids >= lo[0]) & (kids <= hi[0])).all()
    # the first and last possible children (digits 9, 10 = 0 and 6)
    assert lo[0] == kids.min() and hi[0] == kids.max()
    others = hex_to_cells(sorted(h3.cell_to_children(h3.grid_ring(parent, 1)[0], 10)))
    assert not ((others >= lo[0]) & (others <= hi[0])).any()
    ring = grid_rings(hex_to_cells([parent]), 1)
    assert len(ring) == 7 and hex_to_cells([parent])[0] in ring
