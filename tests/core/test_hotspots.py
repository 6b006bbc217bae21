# SPDX-License-Identifier: GPL-3.0-or-later
"""Gi* hot spots, Benjamini-Hochberg, Mann-Kendall and the classification over months."""
from __future__ import annotations

import math

import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.analytics.hotspots import (
    benjamini_hochberg,
    cells_to_neighbour_pairs,
    classify_trends,
    find_hotspots,
    gi_star,
    mann_kendall,
    monthly_hotspots,
    study_area_cells,
)
from spatial_core.errors import InputError
from spatial_core.geo.cells import cells_to_parents
from spatial_core.geo.crs import lnglat_to_bng

CENTRE_HEX = "8a1942c58b4ffff"  # Leeds city centre, resolution 10
CENTRE = h3.str_to_int(CENTRE_HEX)


def _disk(k: int, centre: str = CENTRE_HEX) -> np.ndarray:
    return np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, k)), dtype="int64")


def _direct_gi_star(cells: np.ndarray, x: np.ndarray, k: int = 1) -> np.ndarray:
    """Gi* by the textbook formula, one cell at a time with h3-py neighbours."""
    index = {int(c): i for i, c in enumerate(cells)}
    n = len(cells)
    xbar = x.sum() / n
    s = math.sqrt((x * x).sum() / n - xbar ** 2)
    out = np.empty(n)
    for i, c in enumerate(cells):
        nb = [index[h3.str_to_int(d)] for d in h3.grid_disk(h3.int_to_str(int(c)), k)
              if h3.str_to_int(d) in index]
        w = np.zeros(n)
        w[nb] = 1.0
        num = (w * x).sum() - xbar * w.sum()
        den = s * math.sqrt((n * (w * w).sum() - w.sum() ** 2) / (n - 1))
        out[i] = num / den
    return out


def test_gi_star_cluster_of_high_counts_makes_the_centre_hot_and_far_cells_not():
    study = _disk(5)
    cluster = _disk(1)
    out = gi_star(cluster, np.full(len(cluster), 10.0), study_cells=study).set_index("cell")
    assert len(out) == 91  # 1 + 3 * 5 * 6 cells
    assert out.loc[CENTRE, "hot"]
    assert out.loc[CENTRE, "neighbours"] == 7
    assert out.loc[CENTRE, "local_sum"] == 70.0
    ring5 = np.setdiff1d(study, _disk(4))
    assert not out.loc[ring5, "hot"].any()
    assert not out["cold"].any()
    # The hot cells are the cluster and the cells touching it, nothing farther out.
    hot = set(out.index[out["hot"]])
    assert CENTRE in hot and hot <= set(_disk(2).tolist())


def test_gi_star_z_equals_the_direct_formula():
    study = _disk(3)
    rng = np.random.default_rng(7)
    values = rng.poisson(2.0, len(study)).astype(float)
    out = gi_star(study, values, study_cells=study)
    expected = _direct_gi_star(study, values)
    np.testing.assert_allclose(out["z"].to_numpy(), expected, rtol=1e-10)


def test_gi_star_single_cell_z_by_hand():
    # 37 cells (disk of 3), 10 in the centre: xbar = 10/37, S^2 = 100/37 - (10/37)^2,
    # the centre has W = 7 neighbours: z = (10 - 7 xbar) / (S sqrt((37*7 - 49) / 36)).
    out = gi_star([CENTRE], [10.0], study_cells=_disk(3)).set_index("cell")
    xbar = 10 / 37
    s = math.sqrt(100 / 37 - xbar ** 2)
    z = (10 - 7 * xbar) / (s * math.sqrt((37 * 7 - 49) / 36))
    assert out.loc[CENTRE, "z"] == pytest.approx(z)
    assert out.loc[CENTRE, "p"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert not out.loc[CENTRE, "hot"]  # p = 0.038, but 37 tests at q = 0.05


def test_gi_star_default_study_area_is_the_k_ring_hull_of_observed_cells():
    out = gi_star([CENTRE], [3.0])
    assert sorted(out["cell"]) == _disk(1).tolist()
    out2 = gi_star([CENTRE], [3.0], k=2)
    assert len(out2) == 19


def test_gi_star_drops_and_counts_cells_outside_the_study_area():
    far = h3.str_to_int(h3.grid_disk(CENTRE_HEX, 10)[-1])
    out = gi_star([CENTRE, far], [1.0, 4.0], study_cells=_disk(2))
    assert out.attrs["cells_outside"] == 1
    assert out.attrs["value_outside"] == 4.0
    assert out["value"].sum() == 1.0


def test_gi_star_no_variation_gives_nan_and_no_hot_spot():
    study = _disk(2)
    out = gi_star(study, np.ones(len(study)), study_cells=study)
    assert out["z"].isna().all()
    assert not out["hot"].any()


@pytest.mark.parametrize("cells, values, study, message", [
    ([CENTRE], [1.0, 2.0], None, "differ in length"),
    ([CENTRE], [math.nan], None, "finite"),
    ([CENTRE, h3.str_to_int(h3.cell_to_parent(CENTRE_HEX, 9))], [1.0, 1.0], None,
     "mix H3 resolutions"),
    ([CENTRE], [1.0], [h3.str_to_int(h3.cell_to_parent(CENTRE_HEX, 9))], "resolution"),
])
def test_gi_star_rejects_bad_input(cells, values, study, message):
    with pytest.raises(InputError, match=message):
        gi_star(cells, values, study_cells=study)


def test_neighbour_pairs_are_the_k_ring_within_the_cells():
    cells = _disk(2)
    i, j = cells_to_neighbour_pairs(cells, 1)
    counts = np.bincount(i, minlength=len(cells))
    centre = np.searchsorted(cells, CENTRE)
    assert counts[centre] == 7
    assert counts.min() == 3 + 1  # corner cells of the outer ring: itself, 2 on the ring, 1 inside
    for a, b in zip(i[:50], j[:50], strict=True):
        assert h3.grid_distance(h3.int_to_str(int(cells[a])), h3.int_to_str(int(cells[b]))) <= 1


def test_benjamini_hochberg_on_the_1995_paper_example():
    # Benjamini & Hochberg (1995), section 4: 15 p-values, q = 0.05 rejects the 4 smallest.
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]
    order = np.random.default_rng(1).permutation(15)
    rejected, adjusted = benjamini_hochberg(np.array(p)[order], 0.05)
    assert rejected.sum() == 4
    assert set(np.array(p)[order][rejected]) == {0.0001, 0.0004, 0.0019, 0.0095}
    assert adjusted[np.argmin(np.array(p)[order])] == pytest.approx(0.0015)


def test_benjamini_hochberg_step_up_rejects_below_a_larger_passing_rank():
    # 0.04 > 1/4 * 0.05 alone, but rank 4 passes (0.05 <= 0.05), so all four are rejected.
    rejected, adjusted = benjamini_hochberg([0.04, 0.045, 0.048, 0.05], 0.05)
    assert rejected.tolist() == [True, True, True, True]
    assert adjusted.tolist() == pytest.approx([0.05, 0.05, 0.05, 0.05])


def test_benjamini_hochberg_ignores_nan_and_rejects_bad_q():
    rejected, adjusted = benjamini_hochberg([0.001, math.nan, 0.9], 0.05)
    assert rejected.tolist() == [True, False, False]
    assert math.isnan(adjusted[1])
    assert adjusted[0] == pytest.approx(0.002)
    with pytest.raises(InputError, match="between 0 and 1"):
        benjamini_hochberg([0.1], 1.5)


def test_mann_kendall_known_values():
    s, z, p = mann_kendall(np.array([[1.0, 2, 3, 4, 5, 6], [1.0, 1, 2, 2, 3, 3]]))
    # No ties: var = 6*5*17/18; z = (15 - 1) / sqrt(var).
    assert s[0] == 15
    assert z[0] == pytest.approx(14 / math.sqrt(6 * 5 * 17 / 18))
    # Three pairs of ties: var = (510 - 3 * 2*1*9) / 18; S = 12.
    assert s[1] == 12
    assert z[1] == pytest.approx(11 / math.sqrt((510 - 54) / 18))
    assert p[0] == pytest.approx(math.erfc(z[0] / math.sqrt(2)))


def _series(cell, z, hot):
    return pd.DataFrame({"month": [f"2024-{m:02d}" for m in range(1, len(z) + 1)],
                         "cell": cell, "z": z, "hot": hot})


def test_classify_trends_on_a_synthetic_monthly_series():
    t = 10
    up = np.linspace(3, 8, t)
    frames = [
        _series(1, up, [True] * t),  # intensifying
        _series(2, up[::-1], [True] * t),  # diminishing
        _series(3, [3.1, 2.9, 3.3, 3.0, 3.2, 2.8, 3.1, 3.0, 2.9, 3.2], [True] * t),  # persistent
        _series(4, [0.0] * (t - 1) + [4.0], [False] * (t - 1) + [True]),  # new
        _series(5, [0.1, 3.0, 0.2, 0.1, 3.2, 0.0, 0.1, 0.2, 0.1, 0.0],
                [False, True, False, False, True] + [False] * 5),  # sporadic
        _series(6, [0.1] * t, [False] * t),  # never
        _series(7, up, [True] * 8 + [False, True]),  # 90% hot, rising: intensifying
        _series(8, up, [True] * 7 + [False, False, True]),  # 80% hot: sporadic
    ]
    out = classify_trends(pd.concat(frames)).set_index("cell")
    assert out["category"].to_dict() == {
        1: "intensifying", 2: "diminishing", 3: "persistent", 4: "new", 5: "sporadic",
        6: "never", 7: "intensifying", 8: "sporadic"}
    assert out.loc[1, "z_slope"] == pytest.approx(5 / 9)
    assert out.loc[1, "trend_s"] == 45
    assert out.loc[4, "hot_periods"] == 1 and out.loc[3, "hot_share"] == 1.0


def test_classify_trends_needs_its_columns():
    with pytest.raises(InputError, match="lack column"):
        classify_trends(pd.DataFrame({"month": ["a"], "cell": [1]}))


# -- on a store ------------------------------------------------------------------------------

def _crimes(cells_by_month: dict[str, list[int]]) -> pd.DataFrame:
    rows = []
    for month, cells in cells_by_month.items():
        for n, c in enumerate(cells):
            lat, lng = h3.cell_to_latlng(h3.int_to_str(int(c)))
            rows.append({"crime_key": f"{month}-{n}", "month": month, "category": "Burglary",
                         "lat": lat, "lng": lng, "cell": int(c), "is_outlier": 0})
    frame = pd.DataFrame(rows)
    frame["x"], frame["y"] = lnglat_to_bng(frame["lng"].to_numpy(), frame["lat"].to_numpy())
    frame["geom"] = shapely.points(frame["x"], frame["y"])
    return frame


def _put(store, table, frame):
    with store.begin() as conn:
        store.insert_new(conn, table, frame)


def test_find_hotspots_on_a_store_uses_area_cells_as_the_study_area(store):
    study = _disk(4)
    _put(store, "area_cells", pd.DataFrame({"area_id": "beat:B1", "boundary_set": "2024",
                                            "cell": study}))
    cluster = _disk(1).tolist()
    crimes = {"2024-01": cluster * 5 + [CENTRE] * 5, "2024-02": cluster * 4}
    _put(store, "crimes", _crimes(crimes))
    # One crime without location and one flagged outside the force are left out.
    odd = _crimes({"2024-01": [CENTRE, CENTRE]}).assign(crime_key=["x1", "x2"])
    odd.loc[0, "cell"] = 0
    odd.loc[1, "is_outlier"] = 1
    _put(store, "crimes", odd)
    out = find_hotspots(store).set_index("cell")
    assert len(out) == len(study) == 61
    assert out["value"].sum() == 7 * 9 + 5
    assert out.loc[CENTRE, "value"] == 14
    assert out.loc[CENTRE, "hot"]
    assert out.attrs["run"].study == "areas"
    assert out.attrs["run"].months == ("2024-01", "2024-02")
    only_feb = find_hotspots(store, months=["2024-02"])
    assert only_feb["value"].sum() == 28
    parents = find_hotspots(store, resolution=9)
    assert set(parents["cell"]) == set(np.unique(cells_to_parents(study, 9)).tolist())
    assert parents["value"].sum() == 68
    hull = find_hotspots(store, study="hull")
    assert len(hull) == 19  # the disk of 1 grown by one ring
    assert hull.attrs["run"].study == "hull"


def test_study_area_cells_rejects_an_unknown_area(gpkg_store):
    with pytest.raises(InputError, match="no stored area 'beat:NOPE'"):
        study_area_cells(gpkg_store, area_ids=["beat:NOPE"])


def test_find_hotspots_rejects_a_finer_resolution(gpkg_store):
    with pytest.raises(InputError, match="store's resolution 10"):
        find_hotspots(gpkg_store, resolution=11)


def test_monthly_hotspots_and_classification_on_a_store(gpkg_store):
    study = _disk(5)
    _put(gpkg_store, "area_cells", pd.DataFrame({"area_id": "beat:B1", "boundary_set": "2024",
                                                 "cell": study}))
    cluster = _disk(1).tolist()
    far_hex = h3.grid_ring(CENTRE_HEX, 4)[0]
    far = _disk(1, far_hex).tolist()
    months = {f"2024-{m:02d}": cluster * 6 for m in range(1, 7)}
    months["2024-06"] = months["2024-06"] + far * 6  # a cluster that appears in the last month
    _put(gpkg_store, "crimes", _crimes(months))
    monthly = monthly_hotspots(gpkg_store)
    assert sorted(set(monthly["month"])) == [f"2024-{m:02d}" for m in range(1, 7)]
    assert len(monthly) == 6 * len(study)
    classes = classify_trends(monthly).set_index("cell")["category"]
    assert classes[CENTRE] == "persistent"
    assert classes[h3.str_to_int(far_hex)] == "new"
    assert classes[np.setdiff1d(study, np.r_[_disk(2), _disk(2, far_hex)])].eq("never").all()



def test_gi_star_equals_esda_on_an_irregular_study_area():
    """Our vectorised Gi* equals PySAL's esda.G_Local (binary k-ring weights, star) cell for
    cell, on a study area whose edge cells have fewer neighbours."""
    import esda
    from libpysal.weights import W

    study = [h3.str_to_int(c) for c in h3.grid_disk("891942c58b7ffff", 5)][:80]
    rng = np.random.default_rng(3)
    values = rng.poisson(2.0, len(study)).astype(float)
    values[:7] += 10
    out = gi_star(study, values, study_cells=study, k=1).set_index("cell").loc[study]
    position = {c: i for i, c in enumerate(study)}
    neighbours = {position[c]: [position[h3.str_to_int(n)]
                                for n in h3.grid_disk(h3.int_to_str(c), 1)
                                if h3.str_to_int(n) in position and h3.str_to_int(n) != c]
                  for c in study}
    g = esda.G_Local(values, W(neighbours, silence_warnings=True), transform="B", star=True,
                     permutations=0)
    np.testing.assert_allclose(out["z"].to_numpy(), g.Zs, rtol=0, atol=1e-9)
    assert out["hot"].sum() > 0
