# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json
import struct

import geopandas as gpd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.io.boundaries import import_boundaries


def _square(x0, y0, size=1000.0):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def _geojson(path, features, crs=27700):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": None if ring is None else {"type": "Polygon", "coordinates": [ring]}}
        for props, ring in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    path.write_text(json.dumps(doc))
    return path


def _kml_placemark(name, lnglat_ring):
    coords = " ".join(f"{x},{y},0" for x, y in lnglat_ring)
    return (f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing>"
            f"<coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
            "</Placemark>")


def _kml(path, placemarks):
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                    + "".join(placemarks) + "</Document></kml>")
    return path


LEEDS_A = [(-1.56, 53.79), (-1.54, 53.79), (-1.54, 53.80), (-1.56, 53.80), (-1.56, 53.79)]
LEEDS_B = [(-1.54, 53.79), (-1.52, 53.79), (-1.52, 53.80), (-1.54, 53.80), (-1.54, 53.79)]


@pytest.mark.real_data
def test_leeds_wards_without_crs_ask_for_27700_then_load_with_it(store, real):
    path = real / "leeds/boundaries/leeds_wards_2017.geojson"
    before = store.fingerprint()
    with pytest.raises(InputError, match=r"coordinates are metres.*--crs 27700"):
        import_boundaries(store, [path], level="ward")
    assert store.fingerprint() == before
    report = import_boundaries(store, [path], level="ward", crs=27700)
    assert (report.read, report.imported, report.skipped) == (33, 33, 0)
    wards = store.read("areas", order_by=["code"])
    assert wards["code"].tolist() == [f"E0500{n}" for n in range(1411, 1444)]
    assert wards["area_id"].iloc[0] == "ward:E05001411"
    assert wards["name"].iloc[0] == "Adel and Wharfedale"
    assert wards["name"].notna().all() and (wards["level"] == "ward").all()
    assert wards.geometry.geom_type.eq("MultiPolygon").all() and wards.geometry.is_valid.all()
    # The Leeds district is about 552 km²
    assert wards.geometry.area.sum() / 1e6 == pytest.approx(552, rel=0.01)
    first = wards.iloc[0]
    assert (first["minx"], first["maxy"]) == pytest.approx(first["geom"].bounds[0::3])
    cells = store.read("area_cells")
    assert set(cells["area_id"]) == set(wards["area_id"])
    assert 35000 < len(cells) < 45000  # resolution 10 cells are about 0.015 km²
    again = import_boundaries(store, [path], level="ward", crs=27700)
    assert (again.imported, again.skipped) == (0, 33)
    assert store.count("areas") == 33 and store.count("area_cells") == len(cells)


@pytest.mark.real_data
def test_leicestershire_wards_with_a_crs_member_load(store, real):
    report = import_boundaries(
        store, [real / "leicester/boundaries/leicestershire_wards_simplified.geojson"],
        level="ward")
    assert report.imported == 151
    got = store.read("areas").set_index("code")
    assert got.loc["E05005408", "name"] == "Blaby South"


def test_kml_neighbourhoods_load_as_beats_with_placemark_names_as_codes(store, tmp_path):
    path = _kml(tmp_path / "neighbourhoods.kml",
                [_kml_placemark("LS01", LEEDS_A), _kml_placemark("LS02", LEEDS_B)])
    report = import_boundaries(store, [path])
    assert report.imported == 2
    got = store.read("areas", order_by=["code"])
    assert got["area_id"].tolist() == ["beat:LS01", "beat:LS02"]
    x, y = got.geometry.iloc[0].centroid.coords[0]
    assert 428000 < x < 431000 and 432000 < y < 434000  # stored in British National Grid


def test_police_uk_kml_folder_uses_file_names_as_codes(store, tmp_path):
    folder = tmp_path / "west-yorkshire"
    folder.mkdir()
    _kml(folder / "LDS_NPT1.kml", [_kml_placemark("Leeds City Centre", LEEDS_A)])
    _kml(folder / "LDS_NPT2.kml", [_kml_placemark("Holbeck", LEEDS_B)])
    import_boundaries(store, [folder], level="npa")
    got = store.read("areas", order_by=["code"])
    assert got["code"].tolist() == ["LDS_NPT1", "LDS_NPT2"]
    assert got["name"].tolist() == ["Leeds City Centre", "Holbeck"]


def test_shapefile_loads_and_one_without_prj_asks_for_a_crs(store, tmp_path):
    import pyogrio

    frame = gpd.GeoDataFrame(
        {"beat_code": ["B1", "B2"], "beat_name": ["North", "South"]},
        geometry=[shapely.Polygon(_square(430000, 433000)),
                  shapely.Polygon(_square(430000, 434000))],
        crs=27700)
    path = tmp_path / "beats.shp"
    pyogrio.write_dataframe(frame, path)
    report = import_boundaries(store, [path], level="beat")
    assert report.imported == 2
    assert store.read("areas", order_by=["code"])["name"].tolist() == ["North", "South"]
    (tmp_path / "beats.prj").unlink()
    with pytest.raises(InputError, match=r"no coordinate reference system.*--crs 27700"):
        import_boundaries(store, [path], level="beat", boundary_set="2024")


def test_beats_get_their_neighbourhood_as_parent_by_location(store, tmp_path):
    npa = _geojson(tmp_path / "npa.geojson", [({"code": "N1", "name": "North"},
                                               _square(430000, 433000, 2000))])
    import_boundaries(store, [npa], level="npa")
    beats = _geojson(tmp_path / "beats.geojson", [
        ({"code": "B1"}, _square(430000, 433000)), ({"code": "B2"}, _square(440000, 433000))])
    import_boundaries(store, [beats], level="beat")
    got = store.read("areas", ["area_id", "parent_id"], order_by=["area_id"])
    assert dict(zip(got["area_id"], got["parent_id"], strict=True)) == {
        "beat:B1": "npa:N1", "beat:B2": None, "npa:N1": None}


def test_parent_field_and_fields_given_by_name(store, tmp_path):
    path = _geojson(tmp_path / "beats.geojson", [
        ({"BEAT": "B1", "LABEL": "One", "NPT": "N7"}, _square(430000, 433000))])
    import_boundaries(store, [path], level="beat", id_field="BEAT", name_field="LABEL",
                      parent_field="NPT", boundary_set="2024", valid_from="2024-04-01")
    row = store.read("areas").iloc[0]
    assert (row["area_id"], row["name"], row["parent_id"]) == ("beat:B1", "One", "npa:N7")
    assert (row["boundary_set"], row["valid_from"]) == ("2024", "2024-04-01")


def test_feature_without_geometry_is_skipped_with_its_row(store, tmp_path):
    path = _geojson(tmp_path / "w.geojson", [
        ({"ward_code": "W1", "ward_name": "A"}, _square(430000, 433000)),
        ({"ward_code": "W2", "ward_name": "B"}, None)])
    report = import_boundaries(store, [path], level="ward")
    assert (report.read, report.imported, report.skipped) == (2, 1, 1)
    assert report.reasons["no geometry"] == {"count": 1, "rows": [2]}


def test_self_intersecting_polygon_is_repaired(store, tmp_path):
    bow = [[430000, 433000], [431000, 434000], [431000, 433000], [430000, 434000], [430000, 433000]]
    import_boundaries(store, [_geojson(tmp_path / "b.geojson", [({"code": "B1"}, bow)])])
    geom = store.read("areas").geometry.iloc[0]
    assert geom.is_valid and geom.area == pytest.approx(500000)


@pytest.mark.parametrize("features, options, message", [
    ([({"code": "B1"}, _square(430000, 433000)), ({"code": "B1"}, _square(431000, 433000))], {},
     r"row 1: value 'B1': the area code appears more than once "
     r"\(b.geojson row 1, b.geojson row 2\)"),
    ([({"fid_x": 1, "area": 3.5}, _square(430000, 433000))], {},
     r"cannot tell which field holds the area code; pass --id-field .* 'fid_x', 'area'"),
    ([({"code": "B1"}, [[430000, 433000], [430000, 433000], [430000, 433000], [430000, 433000]])],
     {}, r"row 1 \(code 'B1'\), column 'geometry': expected a polygon .*; the polygon has no "
         r"area"),
    ([({"code": "B1"}, _square(430000, 433000))], {"level": "district"}, r"unknown area level"),
    ([({"code": "B1"}, _square(430000, 433000))], {"id_field": "beat"}, r"no field 'beat'"),
    ([({"code": "B1"}, _square(430000, 433000))], {"crs": 4326}, r"--crs 4326 is geographic"),
])
def test_bad_boundary_file_is_rejected_and_store_unchanged(store, tmp_path, features, options,
                                                          message):
    import_boundaries(store, [_geojson(tmp_path / "good.geojson",
                                       [({"code": "G1"}, _square(420000, 433000))])])
    before = store.fingerprint()
    with pytest.raises(InputError, match=message):
        import_boundaries(store, [_geojson(tmp_path / "b.geojson", features)], **options)
    assert store.fingerprint() == before


@pytest.mark.parametrize("text, message", [
    ('{"type": "FeatureCollection", "features": [', r"cannot read the file"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "P"},'
     ' "geometry": {"type": "Point", "coordinates": [430000, 433000]}}]}',
     r"row 1 \(code 'P'\), column 'geometry': expected a polygon, found a point; a boundary "
     r"file holds polygons only"),
])
def test_damaged_or_non_polygon_file_is_rejected(store, tmp_path, text, message):
    path = tmp_path / "bad.geojson"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        import_boundaries(store, [path], crs=27700)
    assert store.count("areas") == 0


def test_import_boundaries_integer_code_field_is_read_as_text(store, tmp_path):
    """GeoJSON with whole-number codes (e.g. objectid) gives areas coded '1', '2'."""
    import json

    def square(x0):
        return [[[x0, 430000], [x0 + 500, 430000], [x0 + 500, 430500], [x0, 430500], [x0, 430000]]]

    fc = {"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
          "features": [{"type": "Feature", "properties": {"code": i, "name": f"Beat {i}"},
                        "geometry": {"type": "Polygon", "coordinates": square(430000 + 600 * i)}}
                       for i in (1, 2)]}
    path = tmp_path / "beats.geojson"
    path.write_text(json.dumps(fc))
    from spatial_core.io.boundaries import import_boundaries

    report = import_boundaries(store, [path], level="beat")
    assert report.imported == 2
    assert sorted(store.read("areas", ["area_id"])["area_id"]) == ["beat:1", "beat:2"]


EXPECTED_POLYGON = ("expected a polygon with at least 4 points in each ring, the last point "
                    "repeating")
NOT_FINITE = "expected coordinates within the CRS's bounds; a coordinate is not a finite number"


def _raw_collection(path, geometries):
    """A GeoJSON FeatureCollection written as text, so it can hold NaN and Infinity tokens."""
    crs = '{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}'
    feats = ", ".join(
        f'{{"type": "Feature", "properties": {{"code": "B{i + 1}", "name": "Beat {i + 1}"}}, '
        f'"geometry": {g}}}' for i, g in enumerate(geometries))
    path.write_text(f'{{"type": "FeatureCollection", "crs": {crs}, "features": [{feats}]}}')
    return path


def _ring_text(ring):
    return "[" + ", ".join(f"[{x}, {y}]" for x, y in ring) + "]"


GOOD = '{"type": "Polygon", "coordinates": [' + _ring_text(_square(431000, 433000)) + ']}'


@pytest.mark.parametrize("geometry, cause", [
    ('{"type": "Polygon", "coordinates": [' + _ring_text(_square(433000, 433000)[:-1]) + ']}',
     EXPECTED_POLYGON + " the first; a ring is not closed (its last point is not its first)"),
    ('{"type": "Polygon", "coordinates": [[[433000, 433000], [433010, 433000]]]}',
     EXPECTED_POLYGON + " the first; a ring is not closed"),
    ('{"type": "Polygon", "coordinates": []}',
     EXPECTED_POLYGON + " the first; the geometry is empty (it has no points)"),
    ('{"type": "MultiPolygon", "coordinates": [[[]]]}',
     EXPECTED_POLYGON + " the first; the geometry is empty"),
    ('{"type": "Point", "coordinates": [433000, 433000]}',
     "expected a polygon, found a point; a boundary file holds polygons only"),
    ('{"type": "LineString", "coordinates": [[433000, 433000], [433100, 433000]]}',
     "expected a polygon, found a line; a boundary file holds polygons only"),
    ('{"type": "Polygon", "coordinates": [[[433000, 433000], [NaN, 433000], [433010, 433010], '
     '[433000, 433000]]]}', NOT_FINITE),
    ('{"type": "Polygon", "coordinates": [[[433000, 433000], [Infinity, 433000], '
     '[433010, 433010], [433000, 433000]]]}', NOT_FINITE),
    ('{"type": "Polygon", "coordinates": [' + _ring_text(_square(9e6, 433000)) + ']}',
     "expected coordinates within the CRS's bounds: the geometry lies outside Great Britain"),
], ids=["unclosed-ring", "ring-of-two-points", "empty-polygon", "empty-multipolygon", "point",
        "line", "nan", "infinity", "off-the-grid"])
def test_malformed_geometry_names_file_feature_and_expectation_store_unchanged(
        store, tmp_path, geometry, cause):
    import_boundaries(store, [_geojson(tmp_path / "good.geojson",
                                       [({"code": "G1"}, _square(420000, 433000))])])
    before = store.fingerprint()
    path = _raw_collection(tmp_path / "beats.geojson", [GOOD, geometry, GOOD])
    with pytest.raises(InputError) as info:
        import_boundaries(store, [path])
    err = info.value
    assert (err.file, err.row, err.column, err.feature) == (str(path), 2, "geometry", "code 'B2'")
    assert str(err).startswith(f"{path}, row 2 (code 'B2'), column 'geometry': {cause}")
    assert store.fingerprint() == before
    assert store.read("areas")["area_id"].tolist() == ["beat:G1"]


def _gpkg_with_blob(path, wkb):
    """A three-beat GeoPackage written by GDAL whose second feature holds ``wkb``."""
    import sqlite3

    frame = gpd.GeoDataFrame({"beat_code": ["B1", "B2", "B3"]},
                             geometry=[shapely.Polygon(_square(430000 + 2000 * i, 433000))
                                       for i in range(3)], crs=27700)
    frame.to_file(path, driver="GPKG", layer="beats", SPATIAL_INDEX="NO")
    blob = b"GP\x00\x01" + struct.pack("<i", 27700) + wkb  # GeoPackage header, no envelope
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE beats SET geom = ? WHERE beat_code = 'B2'", (blob,))
    return path


def _polygon_wkb(ring):
    return (b"\x01" + struct.pack("<III", 3, 1, len(ring))
            + b"".join(struct.pack("<dd", x, y) for x, y in ring))


@pytest.mark.parametrize("wkb, cause", [
    (_polygon_wkb(_square(432000, 433000)[:-1]),
     EXPECTED_POLYGON + " the first; a ring is not closed"),
    (struct.pack("<BII", 1, 3, 0), EXPECTED_POLYGON + " the first; the geometry is empty"),
    (b"\x01\x01\x00\x00\x00" + struct.pack("<dd", 432000, 433000),
     "expected a polygon, found a point"),
    (_polygon_wkb([(432000, 433000), (float("nan"), 433000), (432010, 433010),
                   (432000, 433000)]), NOT_FINITE),
], ids=["unclosed-ring", "empty", "point", "nan"])
def test_malformed_geometry_in_a_geopackage_names_its_feature(store, tmp_path, wkb, cause):
    path = _gpkg_with_blob(tmp_path / "beats.gpkg", wkb)
    before = store.fingerprint()
    with pytest.raises(InputError) as info:
        import_boundaries(store, [path])
    err = info.value
    assert (err.file, err.row, err.column, err.feature) == (str(path), 2, "geometry",
                                                            "beat_code 'B2'")
    assert cause in str(err)
    assert store.fingerprint() == before
    assert store.count("areas") == 0
