# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.io.addresses import import_addresses
from spatial_core.io.streets import import_streets
from spatial_core.store.index import (
    assign_points_to_areas,
    assign_points_to_streets,
    current_areas,
    points_near_lines,
    refresh_index,
)

X0, Y0 = 430000.0, 433000.0


def insert_areas(store, level, codes, polygons, boundary_set="test", valid_from=None):
    geoms = np.array([shapely.MultiPolygon([p]) for p in polygons], dtype=object)
    b = shapely.bounds(geoms)
    frame = pd.DataFrame({
        "area_id": [f"{level}:{c}" for c in codes], "level": level, "code": list(codes),
        "name": list(codes), "boundary_set": boundary_set, "valid_from": valid_from,
        "minx": b[:, 0], "miny": b[:, 1], "maxx": b[:, 2], "maxy": b[:, 3], "geom": geoms,
    })
    with store.begin() as conn:
        assert store.insert_new(conn, "areas", frame) == len(frame)


def write_ways(path, ways):
    import geopandas as gpd

    gpd.GeoDataFrame({"osm_id": range(len(ways)), "name": [w[0] for w in ways],
                      "highway": "residential"},
                     geometry=[shapely.LineString(w[1]) for w in ways], crs=27700
                     ).to_file(path, driver="GeoJSON")
    return path


def test_assign_points_to_areas_gives_area_ids(store):
    insert_areas(store, "beat", ["W", "E"], [shapely.box(0, 0, 100, 100),
                                             shapely.box(100, 0, 200, 100)])
    got = assign_points_to_areas(store, [50, 150, 500, np.nan, 100], [50, 50, 50, 1, 50], "beat")
    # A point on the shared edge goes to the first area by area_id.
    assert got.tolist() == ["beat:W", "beat:E", None, None, "beat:E"]
    assert assign_points_to_areas(store, [50], [50], "ward").tolist() == [None]


def test_current_areas_uses_the_newest_boundary_set(store):
    insert_areas(store, "ward", ["OLD"], [shapely.box(0, 0, 100, 100)], "2017", "2017-05-01")
    insert_areas(store, "ward", ["NEW"], [shapely.box(0, 0, 100, 100)], "2018", "2018-05-03")
    assert current_areas(store, "ward")["area_id"].tolist() == ["ward:NEW"]
    assert assign_points_to_areas(store, [5], [5], "ward").tolist() == ["ward:NEW"]


def test_assign_points_to_streets_matches_shapely_nearest():
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 2000, (300, 2))
    ends = starts + rng.uniform(-150, 150, (300, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    ids = np.array([f"s{i}" for i in range(300)], dtype=object)
    x, y = rng.uniform(-100, 2100, 5000), rng.uniform(-100, 2100, 5000)
    got = assign_points_to_streets(x, y, ids, lines)
    pts = shapely.points(x, y)
    i, j = shapely.STRtree(lines).query_nearest(pts, max_distance=100, all_matches=False)
    want = np.full(len(x), None, dtype=object)
    want[i] = ids[j]
    differ = got != want
    if differ.any():  # only exact ties may differ
        d_got = shapely.distance(pts[differ], lines[[int(s[1:]) for s in got[differ]]])
        d_want = shapely.distance(pts[differ], lines[[int(s[1:]) for s in want[differ]]])
        np.testing.assert_allclose(d_got, d_want)
    assert pd.isna(got).sum() == pd.isna(want).sum() > 0


def test_streets_imported_after_addresses_get_households(store, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("uprn,easting,northing\n"
                   f"1,{X0 + 10},{Y0 + 5}\n2,{X0 + 90},{Y0 - 20}\n3,{X0 + 50},{Y0 + 500}\n")
    import_addresses(store, [csv])
    assert store.read("addresses", ["street_id"])["street_id"].isna().all()
    import_streets(store, [write_ways(tmp_path / "w.geojson",
                                      [("Mill Lane", [(X0, Y0), (X0 + 100, Y0)])])])
    got = store.read("addresses", ["uprn", "street_id"], order_by=["uprn"])
    assert got["street_id"].tolist() == ["all/mill-lane", "all/mill-lane", None]
    assert store.read("streets", ["households"])["households"].tolist() == [2]


def test_refresh_index_assigns_beats_wards_and_output_areas(store, tmp_path):
    import_streets(store, [write_ways(tmp_path / "w.geojson",
                                      [("Mill Lane", [(X0, Y0), (X0 + 100, Y0)])])])
    csv = tmp_path / "a.csv"
    csv.write_text("uprn,easting,northing,oa_code\n"
                   f"1,{X0 + 10},{Y0 + 5},E00000001\n2,{X0 + 90},{Y0 + 5},\n")
    import_addresses(store, [csv])
    insert_areas(store, "beat", ["B1", "B2"], [shapely.box(X0 - 500, Y0 - 500, X0 + 80, Y0 + 500),
                                               shapely.box(X0 + 80, Y0 - 500, X0 + 500, Y0 + 500)])
    insert_areas(store, "ward", ["W1"], [shapely.box(X0 - 900, Y0 - 900, X0 + 900, Y0 + 900)])
    insert_areas(store, "oa", ["E00000009"], [shapely.box(X0 + 50, Y0 - 50, X0 + 150, Y0 + 50)])
    result = refresh_index(store)
    assert result["addresses_updated"] == 2 and result["streets_updated"] == 1
    got = store.read("addresses", ["uprn", "oa_code", "beat_id", "ward_id"], order_by=["uprn"])
    assert got["beat_id"].tolist() == ["beat:B1", "beat:B2"]
    assert got["ward_id"].tolist() == ["ward:W1", "ward:W1"]
    # The OA polygon wins where it holds the point; elsewhere the file's own code stays.
    assert got["oa_code"].tolist() == ["E00000001", "E00000009"]
    street = store.read("streets", ["beat_id", "ward_id", "households"])
    assert street.iloc[0].tolist() == ["beat:B1", "ward:W1", 2]  # 80 m of 100 m in B1
    again = refresh_index(store)
    assert again["addresses_updated"] == again["streets_updated"] == 0


def test_refresh_index_rejects_unknown_tables(gpkg_store):
    with pytest.raises(ValueError, match="expected addresses or streets"):
        refresh_index(gpkg_store, tables=("crimes",))


@pytest.mark.slow
def test_refresh_index_speed_on_a_city_of_addresses(gpkg_store, real, tmp_path):
    import time

    import_streets(gpkg_store, [real / "leeds/streets/leeds_central_osm_2022.gpkg"])
    rng = np.random.default_rng(3)
    streets = gpkg_store.read("streets")
    # 100k households placed 5-40 m off random points of the streets.
    pick = rng.integers(0, len(streets), 100_000)
    pts = shapely.line_interpolate_point(streets.geometry.to_numpy()[pick],
                                         rng.uniform(0, 1, 100_000), normalized=True)
    x = shapely.get_x(pts) + rng.choice([-1, 1], 100_000) * rng.uniform(5, 40, 100_000)
    y = shapely.get_y(pts)
    pd.DataFrame({"UPRN": np.arange(1, 100_001), "X_COORDINATE": x.round(2),
                  "Y_COORDINATE": y.round(2)}).to_csv(tmp_path / "u.csv", index=False)
    started = time.process_time()
    report = import_addresses(gpkg_store, [tmp_path / "u.csv"])
    cpu = time.process_time() - started
    assert report.imported == 100_000
    assert cpu < 15, f"import took {cpu:.1f} s of CPU"
    households = gpkg_store.read("streets", ["households"])["households"].sum()
    assert households == gpkg_store.count("addresses") - int(
        gpkg_store.read("addresses", ["street_id"])["street_id"].isna().sum())


def test_points_near_lines_equal_strtree_dwithin_and_shapely_distance_to_the_bit():
    """The grid join gives the pairs and distances of ``STRtree.query(dwithin)`` and
    ``shapely.distance`` exactly: multi-part lines, a zero-length segment, a line longer
    than the grid, points on a vertex, far away and without coordinates."""
    rng = np.random.default_rng(7)
    lines = [shapely.MultiLineString([rng.uniform(0, 3000, (int(rng.integers(2, 6)), 2)),
                                      rng.uniform(0, 3000, (2, 2))]) for _ in range(150)]
    lines += [shapely.linestrings([(10, 10), (10, 10), (20, 30)]),
              shapely.linestrings([(-5000, 1500), (8000, 1501)]), None]
    geoms = np.array(lines, dtype=object)
    x = np.r_[rng.uniform(-300, 3300, 2000), 10.0, 20.0, 9000.0, np.nan]
    y = np.r_[rng.uniform(-300, 3300, 2000), 10.0, 30.0, 9000.0, 5.0]
    pr, ps, dist = points_near_lines(geoms, x, y, 250.0)
    assert len(x) - 1 not in set(pr)  # no coordinates: no pairs (GEOS raises on NaN)
    rp = shapely.points(x, y)
    rp[-1] = None
    wr, ws = shapely.STRtree(geoms).query(rp, predicate="dwithin", distance=250.0)
    order = np.lexsort((wr, ws))
    wr, ws = wr[order], ws[order]
    assert len(wr) > 10_000
    assert np.array_equal(pr, wr) and np.array_equal(ps, ws)
    with np.errstate(invalid="ignore"):  # GEOS flags the zero-length segment
        want = shapely.distance(rp[wr], geoms[ws])
    assert np.array_equal(dist, want)


def test_assign_points_to_streets_matches_the_brute_force_nearest_street():
    """The grid join finds, for every point, the street ``shapely.distance`` says is nearest
    (within 100 m; ties to the street listed first), on streets crossing in a grid (many
    ties), random lines and points on, near and far from them."""
    rng = np.random.default_rng(3)
    lines = [shapely.linestrings([(0, i * 50.0), (1500, i * 50.0)]) for i in range(30)]
    lines += [shapely.linestrings([(i * 50.0, 0), (i * 50.0, 1500)]) for i in range(30)]
    lines += [shapely.linestrings(rng.uniform(0, 1500, (4, 2))) for _ in range(100)]
    geoms = np.array(lines, dtype=object)
    ids = np.array([f"s{i:03d}" for i in range(len(geoms))], dtype=object)
    x = np.r_[rng.uniform(-300, 1800, 3000), np.round(rng.uniform(0, 1500, 1000) / 25) * 25]
    y = np.r_[rng.uniform(-300, 1800, 3000), np.round(rng.uniform(0, 1500, 1000) / 25) * 25]
    got = assign_points_to_streets(x, y, ids, geoms)
    d = shapely.distance(shapely.points(x, y)[:, None], geoms[None, :])
    nearest = np.argmin(d, axis=1)  # the first of equal distances
    want = np.where(d[np.arange(len(x)), nearest] <= 100.0, ids[nearest], None)
    assert (got == want).all()
    assert 0 < int(pd.isna(got).sum()) < len(x) // 2  # some points are on no street
