# SPDX-License-Identifier: GPL-3.0-or-later
"""spatial_core.geo.cells checked value by value against h3-py, the reference implementation."""
from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely

from spatial_core import InputError
from spatial_core.geo import cells
from spatial_core.geo.crs import bng_to_lnglat, lnglat_to_bng

LEEDS_BNG = (429931.0, 433466.0)  # central Leeds (near the station), BNG metres


def _h3_cells(lat, lng, res):
    pairs = zip(lat, lng, strict=True)
    return np.array([h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in pairs], dtype="int64")


def _random_points(n, seed=7):
    rng = np.random.default_rng(seed)
    world_lat = rng.uniform(-89.99, 89.99, n)
    world_lng = rng.uniform(-180.0, 180.0, n)
    uk_lat = rng.uniform(49.9, 60.9, n)
    uk_lng = rng.uniform(-8.2, 1.8, n)
    edge_lat = np.array([90.0, -90.0, 0.0, 0.0, 53.8])
    edge_lng = np.array([0.0, 0.0, 180.0, -180.0, -1.55])
    return (np.concatenate([world_lat, uk_lat, edge_lat]),
            np.concatenate([world_lng, uk_lng, edge_lng]))


def _random_cells(n, res, seed=11):
    lat, lng = _random_points(n, seed)
    return _h3_cells(lat, lng, res)


def test_h3ronpy_binding_is_used():
    # h3ronpy is a dependency; a silent fall back to the loop would cost 20x in speed.
    assert cells._h3v is not None


@pytest.mark.parametrize("res", [0, 5, 9, 10, 11, 15])
def test_points_to_cells_equals_h3_latlng_to_cell(res):
    lat, lng = _random_points(2000)
    assert np.array_equal(cells.points_to_cells(lat, lng, res), _h3_cells(lat, lng, res))


@pytest.mark.parametrize("res", [0, 10, 15])
def test_points_to_cells_loop_fallback_equals_h3(monkeypatch, res):
    lat, lng = _random_points(500)
    monkeypatch.setattr(cells, "_h3v", None)
    got = cells._points_to_cells(lat, lng, res)
    assert got.dtype == np.int64
    assert np.array_equal(got, _h3_cells(lat, lng, res))
    assert np.array_equal(cells.points_to_cells(lat, lng, res), got)


def test_points_to_cells_h3ronpy_and_fallback_agree(monkeypatch):
    lat, lng = _random_points(3000, seed=3)
    fast = cells._points_to_cells(lat, lng, 10)
    monkeypatch.setattr(cells, "_h3v", None)
    assert np.array_equal(cells._points_to_cells(lat, lng, 10), fast)


def test_points_to_cells_known_leeds_cell():
    got = cells.points_to_cells([53.7996], [-1.5491], 10)
    assert got.dtype == np.int64
    assert cells.cells_to_hex(got).tolist() == ["8a1942c58b4ffff"]


def test_points_to_cells_nan_gives_cell_zero():
    lat = np.array([53.8, np.nan, 53.8, np.nan])
    lng = np.array([-1.55, -1.55, np.nan, np.nan])
    got = cells.points_to_cells(lat, lng)
    assert got[0] == h3.str_to_int(h3.latlng_to_cell(53.8, -1.55, 10))
    assert got[1:].tolist() == [0, 0, 0]


def test_points_to_cells_all_nan_and_empty():
    assert cells.points_to_cells([np.nan] * 3, [np.nan] * 3).tolist() == [0, 0, 0]
    empty = cells.points_to_cells([], [])
    assert empty.dtype == np.int64 and empty.size == 0


@pytest.mark.parametrize(
    ("lat", "lng", "column", "value"),
    [
        ([53.8, 91.0], [-1.5, -1.5], "lat", "91.0"),
        ([53.8, -90.5], [-1.5, -1.5], "lat", "-90.5"),
        ([53.8, 433466.0], [-1.5, 429931.0], "lat", "433466.0"),
        ([53.8, 53.8], [-1.5, 180.01], "lng", "180.01"),
    ],
)
def test_points_to_cells_out_of_range_raises_input_error(lat, lng, column, value):
    with pytest.raises(InputError) as err:
        cells.points_to_cells(lat, lng)
    assert err.value.column == column
    assert str(err.value.value) == value
    assert "point 1 of 2" in str(err.value)


def test_points_to_cells_rejects_length_mismatch_and_bad_resolution():
    with pytest.raises(InputError, match="differ in length"):
        cells.points_to_cells([53.8, 53.9], [-1.5])
    with pytest.raises(InputError, match="between 0 and 15, got 16"):
        cells.points_to_cells([53.8], [-1.5], 16)


@pytest.mark.parametrize("res", range(0, 10))
def test_cells_to_parents_equals_h3_cell_to_parent(res):
    child = _random_cells(1000, 10)
    want = np.array([h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in child],
                    dtype="int64")
    got = cells.cells_to_parents(child, res)
    assert got.dtype == np.int64
    assert np.array_equal(got, want)


def test_cells_to_parents_of_mixed_resolutions_and_zero():
    fine = _random_cells(200, 15, seed=5)
    mid = _random_cells(200, 8, seed=6)
    c = np.concatenate([fine, mid, [0]])
    want = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(x)), 8)) for x in c[:-1]] + [0]
    assert cells.cells_to_parents(c, 8).tolist() == want
    # a cell's parent at its own resolution is itself
    assert np.array_equal(cells.cells_to_parents(mid, 8), mid)


def test_cells_to_parents_rejects_coarser_cells():
    c = _random_cells(10, 7)
    with pytest.raises(InputError, match="parent at resolution 9 of a coarser cell"):
        cells.cells_to_parents(c, 9)


def test_cell_resolutions_equals_h3_get_resolution():
    c = np.concatenate([_random_cells(50, r, seed=r) for r in range(16)])
    want = [h3.get_resolution(h3.int_to_str(int(x))) for x in c]
    assert cells.cell_resolutions(c).tolist() == want
    assert cells.cell_resolutions([0]).tolist() == [0]


def test_hex_round_trip_matches_h3_strings():
    c = _random_cells(300, 10)
    hexes = cells.cells_to_hex(c)
    assert hexes.tolist() == [h3.int_to_str(int(x)) for x in c]
    assert np.array_equal(cells.hex_to_cells(hexes), c)
    assert cells.hex_to_cells(["8a1942c58b4ffff"]).tolist() == [h3.str_to_int("8a1942c58b4ffff")]


def test_is_valid_cells():
    c = _random_cells(5, 10)
    got = cells.is_valid_cells(np.concatenate([c, [0, 12345, -1]]))
    assert got.tolist() == [True] * len(c) + [False] * 3


def test_cells_to_points_and_boundaries():
    c = np.array([cells.hex_to_cells(["8a1942c58b4ffff"])[0], 0])
    lat, lng = cells.cells_to_points(c)
    want = h3.cell_to_latlng("8a1942c58b4ffff")
    assert (lat[0], lng[0]) == pytest.approx(want)
    assert np.isnan(lat[1]) and np.isnan(lng[1])
    polys = cells.cells_to_boundaries(c)
    assert polys[1] is None
    assert polys[0].contains(shapely.Point(lng[0], lat[0]))
    assert len(shapely.get_coordinates(polys[0])) == 7  # a closed hexagon


def _straight_leeds_line(length_m=1000.0, angle_deg=30.0):
    """A straight line in Leeds: BNG and lng/lat versions, plus 1 m samples along it."""
    x0, y0 = LEEDS_BNG
    a = np.radians(angle_deg)
    x1, y1 = x0 + length_m * np.cos(a), y0 + length_m * np.sin(a)
    line_bng = shapely.LineString([(x0, y0), (x1, y1)])
    lng, lat = bng_to_lnglat([x0, x1], [y0, y1])
    line_ll = shapely.LineString(np.column_stack([lng, lat]))
    t = np.linspace(0.0, 1.0, int(length_m) + 1)
    slng, slat = bng_to_lnglat(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    return line_ll, line_bng, slat, slng


@pytest.mark.parametrize("angle", [0.0, 30.0, 77.0, 135.0])
def test_lines_to_cells_straight_1km_line_is_a_contiguous_chain(angle):
    line_ll, _, slat, slng = _straight_leeds_line(angle_deg=angle)
    idx, got = cells.lines_to_cells(np.array([line_ll], dtype=object), 10)
    assert idx.tolist() == [0] * len(got)
    assert len(set(got.tolist())) == len(got)
    # The cells the line really crosses, in order, from 1 m samples.
    sampled = cells.points_to_cells(slat, slng, 10)
    assert got[0] != 0
    assert {int(sampled[0]), int(sampled[-1])} <= set(got.tolist())  # both ends
    first_seen = {}
    for i, c in enumerate(sampled.tolist()):
        first_seen.setdefault(c, i)
    assert set(got.tolist()) <= set(first_seen)
    chain = sorted(got.tolist(), key=first_seen.__getitem__)
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        assert h3.are_neighbor_cells(h3.int_to_str(a), h3.int_to_str(b)), (a, b)
        assert h3.grid_distance(h3.int_to_str(a), h3.int_to_str(b)) == 1
    # Only corners clipped for less than the densification step (~25 m) may be missed.
    step = h3.average_hexagon_edge_length(10, unit="m") / 3
    counts = {c: int((sampled == c).sum()) for c in first_seen}
    missed = {c: n for c, n in counts.items() if c not in set(got.tolist())}
    assert all(n <= step + 1 for n in missed.values()), missed
    # 1 km across cells about 130 m wide: between 7 and 16 cells
    assert 7 <= len(got) <= 16


def test_lines_to_cells_metric_input_gives_the_same_cells():
    line_ll, line_bng, _, _ = _straight_leeds_line(angle_deg=50.0)
    _, from_ll = cells.lines_to_cells(np.array([line_ll], dtype=object))
    _, from_bng = cells.lines_to_cells(None, geoms_metric=np.array([line_bng], dtype=object))
    assert sorted(from_ll.tolist()) == sorted(from_bng.tolist())


def test_lines_to_cells_keeps_positions_with_missing_and_multipart_lines():
    a, _, _, _ = _straight_leeds_line(500.0, 0.0)
    b, _, _, _ = _straight_leeds_line(500.0, 90.0)
    far = shapely.affinity.translate(a, xoff=0.1)  # about 6.6 km east
    multi = shapely.MultiLineString([b, far])
    idx, got = cells.lines_to_cells(np.array([a, None, multi], dtype=object))
    assert sorted(set(idx.tolist())) == [0, 2]
    _, only_a = cells.lines_to_cells(np.array([a], dtype=object))
    _, only_b = cells.lines_to_cells(np.array([b], dtype=object))
    _, only_far = cells.lines_to_cells(np.array([far], dtype=object))
    assert sorted(got[idx == 0].tolist()) == sorted(only_a.tolist())
    # the two parts are indexed separately: no cells on a made-up join between them
    assert sorted(got[idx == 2].tolist()) == sorted(set(only_b.tolist()) | set(only_far.tolist()))


def test_lines_to_cells_empty_input():
    idx, got = cells.lines_to_cells(np.array([], dtype=object))
    assert idx.size == 0 and got.size == 0


def test_polygons_to_cells_covers_a_ward(real):
    import geopandas as gpd

    wards = gpd.read_file(real / "leeds/boundaries/leeds_wards_2017.geojson")
    wards = wards.set_crs(27700, allow_override=True)
    ward = wards[wards["wd17nm"] == "Headingley"]
    area_km2 = float(ward.geometry.area.iloc[0]) / 1e6
    geom_ll = ward.to_crs(4326).geometry.iloc[0]
    idx, got = cells.polygons_to_cells(np.array([geom_ll], dtype=object), 10)
    assert idx.tolist() == [0] * len(got)
    assert len(set(got.tolist())) == len(got)
    # Cells whose centre is inside: their total area is the ward's area within a few per cent.
    cell_km2 = sum(h3.cell_area(h3.int_to_str(int(c)), unit="km^2") for c in got)
    assert cell_km2 == pytest.approx(area_km2, rel=0.05)
    lat, lng = cells.cells_to_points(got)
    assert shapely.contains_xy(geom_ll, lng, lat).all()
    # every crime-sized spot inside the ward has its cell in the list (centre test aside, the
    # ward's representative point is well inside)
    rp = shapely.point_on_surface(geom_ll)
    assert int(cells.points_to_cells([rp.y], [rp.x])[0]) in set(got.tolist())


def test_polygons_to_cells_tiny_polygon_gets_its_cell():
    x, y = LEEDS_BNG
    sq = shapely.box(x, y, x + 10, y + 10)  # 10 m square, much smaller than a cell
    lng, lat = bng_to_lnglat(*shapely.get_coordinates(sq).T)
    tiny = shapely.Polygon(np.column_stack([lng, lat]))
    idx, got = cells.polygons_to_cells(np.array([None, tiny], dtype=object), 10)
    rp = shapely.point_on_surface(tiny)
    assert idx.tolist() == [1]
    assert got.tolist() == cells.points_to_cells([rp.y], [rp.x], 10).tolist()


def test_polygons_to_cells_multipolygon_and_empty():
    x, y = LEEDS_BNG
    parts = []
    for dx in (0.0, 3000.0):
        sq = shapely.box(x + dx, y, x + dx + 1000, y + 1000)
        lng, lat = bng_to_lnglat(*shapely.get_coordinates(sq).T)
        parts.append(shapely.Polygon(np.column_stack([lng, lat])))
    multi = shapely.MultiPolygon(parts)
    idx, got = cells.polygons_to_cells(np.array([multi, shapely.Polygon()], dtype=object))
    _, a = cells.polygons_to_cells(np.array(parts[:1], dtype=object))
    _, b = cells.polygons_to_cells(np.array(parts[1:], dtype=object))
    assert set(idx.tolist()) == {0}
    assert sorted(got.tolist()) == sorted(a.tolist() + b.tolist())
    assert 50 <= len(a) <= 85  # 1 km² over cells of ~0.015 km²


def test_lnglat_bng_helpers_round_trip_for_test_geometry():
    lng, lat = bng_to_lnglat([LEEDS_BNG[0]], [LEEDS_BNG[1]])
    x, y = lnglat_to_bng(lng, lat)
    assert (float(x[0]), float(y[0])) == pytest.approx(LEEDS_BNG, abs=1e-3)
