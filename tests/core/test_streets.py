# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.io.streets import import_streets, normalise_street_names

X0, Y0 = 430000.0, 433000.0  # central Leeds, British National Grid


def insert_areas(store, level, codes, polygons, boundary_set="test"):
    geoms = np.array([shapely.MultiPolygon([p]) for p in polygons], dtype=object)
    b = shapely.bounds(geoms)
    frame = pd.DataFrame({
        "area_id": [f"{level}:{c}" for c in codes], "level": level, "code": list(codes),
        "name": list(codes), "boundary_set": boundary_set,
        "minx": b[:, 0], "miny": b[:, 1], "maxx": b[:, 2], "maxy": b[:, 3], "geom": geoms,
    })
    with store.begin() as conn:
        assert store.insert_new(conn, "areas", frame) == len(frame)


def insert_leeds_wards(store, real):
    wards = gpd.read_file(real / "leeds/boundaries/leeds_wards_2017.geojson").set_crs(
        27700, allow_override=True)
    parts, idx = shapely.get_parts(wards.geometry.to_numpy(), return_index=True)
    geoms = shapely.multipolygons(parts, indices=idx)
    b = shapely.bounds(geoms)
    frame = pd.DataFrame({
        "area_id": "ward:" + wards["wd17cd"], "level": "ward", "code": wards["wd17cd"],
        "name": wards["wd17nm"], "boundary_set": "wd17",
        "minx": b[:, 0], "miny": b[:, 1], "maxx": b[:, 2], "maxy": b[:, 3], "geom": geoms,
    })
    with store.begin() as conn:
        assert store.insert_new(conn, "areas", frame) == 33


def write_osm_geojson(path, ways):
    """ways: list of (osm_id, name, highway, [(x, y), ...]) in BNG; written with a crs member."""
    frame = gpd.GeoDataFrame(
        {"osm_id": [w[0] for w in ways], "name": [w[1] for w in ways],
         "highway": [w[2] for w in ways]},
        geometry=[shapely.LineString(w[3]) for w in ways], crs=27700)
    frame.to_file(path, driver="GeoJSON")
    return path


def test_import_streets_leeds_osm_makes_street_units_with_cells(store, real):
    path = real / "leeds/streets/leeds_central_osm_2022.gpkg"
    report = import_streets(store, [path])
    assert report.read == 11705
    assert report.imported == 3721
    assert report.reasons["no name"]["count"] == 2804
    assert report.reasons["road type highway=footway not kept"]["count"] == 3353
    assert report.reasons["road type highway=motorway not kept"]["count"] == 53
    assert report.imported + report.skipped == report.read
    streets = store.read("streets")
    assert len(streets) == 2017 < 4241  # fewer units than named ways
    assert streets["street_id"].is_unique
    assert streets["street_id"].str.startswith("all/").all()  # no beats or wards stored
    assert (streets["length_m"] > 0).all()
    assert streets["name"].str.strip().str.len().gt(0).all()
    assert set(streets["highway"]) <= {"residential", "living_street", "unclassified", "tertiary",
                                       "secondary", "primary", "trunk", "service", "pedestrian"}
    np.testing.assert_allclose(streets["length_m"], streets.geometry.length)
    np.testing.assert_allclose(streets["minx"], streets.geometry.bounds["minx"])
    cells = store.read("street_cells")
    assert len(cells) == 5388
    assert set(cells["street_id"]) == set(streets["street_id"])
    row = streets.set_index("street_id").loc["all/aire-street"]
    assert row["name"] == "Aire Street" and row["highway"] == "tertiary"
    assert round(row["length_m"]) == 203


def test_import_streets_leeds_splits_units_by_ward(store, real):
    insert_leeds_wards(store, real)
    report = import_streets(store, [real / "leeds/streets/leeds_central_osm_2022.gpkg"])
    assert report.imported == 3721
    streets = store.read("streets")
    assert len(streets) == 2136  # more than 2017: streets crossing wards are split
    assert streets["ward_id"].notna().all()
    assert (streets["street_id"].str.split("/").str[0] == streets["ward_id"]).all()
    assert streets["ward_id"].nunique() == 10
    assert streets["ward_id"].value_counts()["ward:E05001420"] == 519  # City and Hunslet
    assert (streets["length_m"] > 0).all()
    cells = store.read("street_cells", ["street_id"])
    assert set(cells["street_id"]) == set(streets["street_id"])


def test_import_streets_twice_adds_nothing(gpkg_store, real):
    path = real / "leeds/streets/leeds_central_osm_2022.gpkg"
    import_streets(gpkg_store, [path])
    before = gpkg_store.fingerprint()
    again = import_streets(gpkg_store, [path])
    assert again.imported == 0
    assert again.reasons["street unit already in the store"]["count"] == 3721
    after = gpkg_store.fingerprint()
    assert after["streets"] == before["streets"] == 2017
    assert after["street_cells"] == before["street_cells"]


def test_import_streets_reads_osm_pbf_lines(store, real):
    report = import_streets(store, [real / "leeds/streets/its-example.osm.pbf"])
    assert report.read == 189
    assert report.reasons["road type highway=footway not kept"]["count"] == 70
    streets = store.read("streets")
    assert report.imported > 0 and 0 < len(streets) <= report.imported
    assert (streets["length_m"] > 0).all()
    assert streets.geometry.total_bounds[0] > 420000  # in British National Grid
    assert store.count("street_cells") >= len(streets)


def test_parallel_streets_get_their_own_households(store, tmp_path):
    from spatial_core.io.addresses import import_addresses

    path = write_osm_geojson(tmp_path / "ways.geojson", [
        (1, "Oak Road", "residential", [(X0, Y0), (X0 + 200, Y0)]),
        (2, "Elm Road", "residential", [(X0, Y0 + 50), (X0 + 200, Y0 + 50)]),
        (3, None, "residential", [(X0, Y0 + 25), (X0, Y0 + 60)]),
        (4, "Oak Path", "footway", [(X0, Y0 - 5), (X0 + 100, Y0 - 5)]),
    ])
    report = import_streets(store, [path])
    assert (report.read, report.imported, report.skipped) == (4, 2, 2)
    assert report.reasons["no name"]["rows"] == [3]
    assert report.reasons["road type highway=footway not kept"]["rows"] == [4]
    csv = tmp_path / "addresses.csv"
    csv.write_text("uprn,easting,northing\n"
                   f"1,{X0 + 50},{Y0 + 10}\n2,{X0 + 150},{Y0 + 8}\n"
                   f"3,{X0 + 60},{Y0 + 40}\n"
                   f"4,{X0 + 100},{Y0 + 350}\n")
    import_addresses(store, [csv])
    got = store.read("addresses", ["uprn", "street_id"], order_by=["uprn"])
    assert got["street_id"].tolist() == ["all/oak-road", "all/oak-road", "all/elm-road", None]
    streets = store.read("streets", ["street_id", "households"], order_by=["street_id"])
    assert dict(zip(streets["street_id"], streets["households"], strict=True)) == {
        "all/elm-road": 1, "all/oak-road": 2}


def test_street_crossing_two_beats_becomes_two_units(store, tmp_path):
    insert_areas(store, "beat", ["B1", "B2"], [
        shapely.box(X0 - 1000, Y0 - 1000, X0 + 500, Y0 + 1000),
        shapely.box(X0 + 500, Y0 - 1000, X0 + 2000, Y0 + 1000)])
    path = write_osm_geojson(tmp_path / "ways.geojson", [
        (1, "Long Lane", "residential", [(X0, Y0), (X0 + 1000, Y0)]),
        (2, "Long Lane", "residential", [(X0 + 1000, Y0), (X0 + 1200, Y0)]),
    ])
    import_streets(store, [path])
    streets = store.read("streets", order_by=["street_id"])
    assert streets["street_id"].tolist() == ["beat:B1/long-lane", "beat:B2/long-lane"]
    assert streets["beat_id"].tolist() == ["beat:B1", "beat:B2"]
    assert streets["length_m"].round(6).tolist() == [500.0, 700.0]


def test_far_apart_parts_of_one_name_become_separate_units(store, tmp_path):
    path = write_osm_geojson(tmp_path / "ways.geojson", [
        (1, "Church Street", "residential", [(X0, Y0), (X0 + 100, Y0)]),
        (2, "Church St", "residential", [(X0 + 100, Y0), (X0 + 150, Y0 + 50)]),
        (3, "Church Street", "residential", [(X0 + 1000, Y0), (X0 + 1100, Y0)]),
    ])
    report = import_streets(store, [path])
    assert report.imported == 3
    streets = store.read("streets", order_by=["street_id"])
    assert streets["street_id"].tolist() == ["all/church-street", "all/church-street-2"]
    first = streets.geometry.iloc[0]
    assert len(first.geoms) == 1  # the two touching ways were merged into one line
    assert streets["length_m"].round(1).tolist() == [170.7, 100.0]


def test_import_streets_reads_os_open_roads_style_lines(store, tmp_path):
    frame = gpd.GeoDataFrame({
        "identifier": ["A1", "A2", "A3", "A4", "A5"],
        "name1": ["Park Road", "Park Road", "", "M621", "High Street"],
        "roadFunction": ["Local Road", "Local Road", "Local Road", "Motorway", "A Road"],
        "formOfWay": ["Single Carriageway"] * 4 + ["Slip Road"],
    }, geometry=[shapely.LineString([(X0, Y0), (X0 + 80, Y0)]),
                 shapely.LineString([(X0 + 80, Y0), (X0 + 160, Y0)]),
                 shapely.LineString([(X0, Y0 + 90), (X0 + 80, Y0 + 90)]),
                 shapely.LineString([(X0, Y0 + 500), (X0 + 900, Y0 + 500)]),
                 shapely.LineString([(X0, Y0 + 300), (X0 + 80, Y0 + 300)])], crs=27700)
    path = tmp_path / "open_roads.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = import_streets(store, [path])
    assert (report.read, report.imported) == (5, 2)
    assert report.reasons["no name"]["rows"] == [3]
    assert report.reasons["road type highway=motorway not kept"]["rows"] == [4]
    assert report.reasons["road type highway=primary_link not kept"]["rows"] == [5]
    streets = store.read("streets")
    assert streets["street_id"].tolist() == ["all/park-road"]
    assert streets["highway"].tolist() == ["residential"]
    assert streets["length_m"].tolist() == [160.0]
    assert streets["source"].tolist() == ["os_open_roads:open_roads.geojson"]


def test_bng_geojson_without_crs_needs_the_crs_option(store, tmp_path):
    path = tmp_path / "bng.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Kirkgate", "highway": "tertiary"},
        "geometry": {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 120, Y0]]}}]}))
    before = store.fingerprint()
    with pytest.raises(InputError, match="pass --crs 27700") as err:
        import_streets(store, [path])
    assert err.value.file == str(path)
    assert store.fingerprint() == before
    report = import_streets(store, [path], crs=27700)
    assert report.imported == 1
    assert store.read("streets")["length_m"].tolist() == [120.0]


def test_highways_option_replaces_the_default_road_types(store, tmp_path):
    path = write_osm_geojson(tmp_path / "ways.geojson", [
        (1, "Canal Towpath", "footway", [(X0, Y0), (X0 + 100, Y0)]),
        (2, "Oak Road", "residential", [(X0, Y0 + 300), (X0 + 100, Y0 + 300)]),
    ])
    report = import_streets(store, [path], highways=["footway"])
    assert report.imported == 1
    assert report.reasons["road type highway=residential not kept"]["rows"] == [2]
    assert store.read("streets")["street_id"].tolist() == ["all/canal-towpath"]


def test_unreadable_street_file_is_an_input_error(store, tmp_path):
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"not a geopackage")
    before = store.fingerprint()
    with pytest.raises(InputError, match="cannot read as a vector file"):
        import_streets(store, [path])
    assert store.fingerprint() == before


def test_normalise_street_names_matches_spellings():
    got = normalise_street_names(["St. Mark's Rd", "ST MARKS ROAD", "Bath & Wells Ave", ""])
    assert got.tolist() == ["st marks road", "st marks road", "bath and wells avenue", None]


def test_sources_join_each_groups_distinct_kind_and_file_names_sorted():
    from spatial_core.io.streets import _sources

    pieces = pd.DataFrame({
        "group": [0, 0, 0, 1, 1, 2],
        "kind": ["osm", "osm", "usrn", "osm", "osm", "usrn"],
        "file": ["/a/x.gpkg", "/a/x.gpkg", "/b/r.csv", "/a/x.gpkg", "/c/x.gpkg", "/b/r.csv"],
    })
    got = _sources(pieces)
    # Same name in two folders: listed twice, as the files differ.
    assert got.to_dict() == {0: "osm:x.gpkg; usrn:r.csv", 1: "osm:x.gpkg; osm:x.gpkg",
                             2: "usrn:r.csv"}


def _raw_ways(path, geometries):
    """OSM-style ways written as GeoJSON text, so a coordinate can be a NaN or Infinity token."""
    crs = '{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}'
    feats = ", ".join(
        f'{{"type": "Feature", "properties": {{"osm_id": {100 + i}, "name": "Road {i + 1}", '
        f'"highway": "residential"}}, "geometry": {g}}}' for i, g in enumerate(geometries))
    path.write_text(f'{{"type": "FeatureCollection", "crs": {crs}, "features": [{feats}]}}')
    return path


GOOD_WAY = f'{{"type": "LineString", "coordinates": [[{X0}, {Y0}], [{X0 + 100}, {Y0}]]}}'
LINE_FINITE = "expected coordinates within the CRS's bounds; a coordinate is not a finite number"


@pytest.mark.parametrize("geometry, cause", [
    (f'{{"type": "LineString", "coordinates": [[{X0}, {Y0 + 50}]]}}',
     "expected a line of at least 2 points; the line has only 1 point"),
    ('{"type": "LineString", "coordinates": []}',
     "expected a line of at least 2 points; the geometry is empty (it has no points)"),
    ('{"type": "MultiLineString", "coordinates": []}',
     "expected a line of at least 2 points; the geometry is empty"),
    (f'{{"type": "LineString", "coordinates": [[{X0}, {Y0 + 50}], [NaN, {Y0 + 50}]]}}',
     LINE_FINITE),
    (f'{{"type": "LineString", "coordinates": [[{X0}, {Y0 + 50}], [{X0}, -Infinity]]}}',
     LINE_FINITE),
    (f'{{"type": "LineString", "coordinates": [[{X0}, 9000000], [{X0 + 100}, 9000000]]}}',
     "expected coordinates within the CRS's bounds: the geometry lies outside Great Britain"),
], ids=["one-point", "empty-line", "empty-multiline", "nan", "minus-infinity", "off-the-grid"])
def test_malformed_way_names_file_feature_and_expectation_store_unchanged(store, tmp_path,
                                                                          geometry, cause):
    import_streets(store, [write_osm_geojson(tmp_path / "first.geojson", [
        (1, "Kirkgate", "residential", [(X0, Y0 + 900), (X0 + 120, Y0 + 900)])])])
    before = store.fingerprint()
    path = _raw_ways(tmp_path / "ways.geojson", [GOOD_WAY, geometry, GOOD_WAY])
    with pytest.raises(InputError) as info:
        import_streets(store, [path])
    err = info.value
    assert (err.file, err.row, err.column, err.feature) == (str(path), 2, "geometry",
                                                            "osm_id '101'")
    assert str(err).startswith(f"{path}, row 2 (osm_id '101'), column 'geometry': {cause}")
    assert store.fingerprint() == before
    assert store.read("streets")["street_id"].tolist() == ["all/kirkgate"]


def test_points_and_polygons_in_a_street_file_are_skipped_as_not_a_line(store, tmp_path):
    path = _raw_ways(tmp_path / "ways.geojson", [
        GOOD_WAY, f'{{"type": "Point", "coordinates": [{X0}, {Y0}]}}',
        f'{{"type": "Polygon", "coordinates": [[[{X0}, {Y0}], [{X0 + 9}, {Y0}], '
        f'[{X0 + 9}, {Y0 + 9}], [{X0}, {Y0}]]]}}'])
    report = import_streets(store, [path])
    assert (report.read, report.imported) == (3, 1)
    assert report.reasons["not a line"] == {"count": 2, "rows": [2, 3]}
    assert store.read("streets")["street_id"].tolist() == ["all/road-1"]


def test_one_point_line_in_a_geopackage_names_its_feature(store, tmp_path):
    import sqlite3
    import struct

    path = tmp_path / "ways.gpkg"
    gpd.GeoDataFrame({"osm_id": [7, 8], "name": ["Oak Road", "Elm Road"],
                      "highway": ["residential", "residential"]},
                     geometry=[shapely.LineString([(X0, Y0), (X0 + 100, Y0)]),
                               shapely.LineString([(X0, Y0 + 90), (X0 + 100, Y0 + 90)])],
                     crs=27700).to_file(path, driver="GPKG", layer="lines", SPATIAL_INDEX="NO")
    one_point = b"\x01" + struct.pack("<II", 2, 1) + struct.pack("<dd", X0, Y0 + 90)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE lines SET geom = ? WHERE osm_id = 8",
                     (b"GP\x00\x01" + struct.pack("<i", 27700) + one_point,))
    before = store.fingerprint()
    with pytest.raises(InputError) as info:
        import_streets(store, [path])
    assert str(info.value) == (f"{path}, row 2 (osm_id '8'), column 'geometry': expected a line "
                               "of at least 2 points; the line has only 1 point")
    assert store.fingerprint() == before
