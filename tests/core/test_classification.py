# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import time

import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.io.classification import (
    builtin_codes,
    class_names,
    classify_households,
    import_classification,
)

LEEDS_SUPERGROUPS = {
    "Suburbanites": 541, "Urbanites": 531, "Hard-Pressed Living": 422,
    "Multicultural Metropolitans": 421, "Constrained City Dwellers": 278, "Cosmopolitans": 212,
    "Ethnicity Central": 94, "Rural Residents": 44,
}


def test_builtin_oac_code_lists_are_complete_and_nested():
    c11 = builtin_codes("oac2011")
    assert c11.groupby("level").size().to_dict() == {1: 8, 2: 26, 3: 76}
    assert c11["name"].notna().all()
    named = c11.set_index("code")["name"]
    assert (named["1"], named["2b"], named["7d4"]) == (
        "Rural Residents", "Inner-City Students", "Retired City Hardship")
    c21 = builtin_codes("oac2021")
    assert c21.groupby("level").size().to_dict() == {1: 8, 2: 21, 3: 52}
    assert c21.set_index("code").loc["6", "name"] == "Baseline UK"
    for codes in (c11, c21):
        child = codes[codes["level"] > 1]
        pairs = zip(child["code"], child["parent_code"], strict=True)
        assert all(c.startswith(p) for c, p in pairs)


@pytest.mark.real_data
@pytest.mark.slow
def test_leeds_oac2011_polygons_create_output_areas_and_classes(store, real):
    path = real / "leeds/geodemographics/leeds_oa_oac2011.geojson"
    with pytest.raises(InputError, match="--crs 27700"):
        import_classification(store, [path])
    report = import_classification(store, [path], crs=27700)
    assert (report.read, report.imported, report.skipped) == (2543, 2543, 0)
    assert report.notes["oa areas created"]["count"] == 2543
    areas = store.read("areas", ["area_id", "level", "code"])
    assert len(areas) == 2543 and (areas["level"] == "oa").all()
    assert "oa:E00056780" in set(areas["area_id"])
    cls = store.read("classifications")
    assert set(cls["scheme"]) == {"oac2011"} and set(cls["key_type"]) == {"oa"}
    got = cls.set_index("key").loc["E00056780"]
    assert (got["l1"], got["l2"], got["l3"]) == ("1", "1a", "1a2")
    names = class_names(store, "oac2011", "supergroup")
    assert cls["l1"].map(names).value_counts().to_dict() == LEEDS_SUPERGROUPS
    assert class_names(store, "oac2011", 3)["2b2"] == "Multicultural Student Neighbourhoods"
    assert store.count("area_cells") > 2543  # every OA has at least one cell
    before = store.fingerprint()
    again = import_classification(store, [path], crs=27700)
    assert (again.imported, again.skipped) == (0, 2543)
    after = store.fingerprint()
    assert {k: v for k, v in after.items() if k != "lpt_imports"} == {
        k: v for k, v in before.items() if k != "lpt_imports"}


@pytest.mark.real_data
@pytest.mark.slow
def test_uk_oac2021_parquet_loads_every_output_area(gpkg_store, real):
    start = time.perf_counter()
    report = import_classification(gpkg_store, [real / "uk/oac2021/UK_OAC_Final.parquet"])
    elapsed = time.perf_counter() - start
    assert (report.read, report.imported, report.skipped) == (239023, 239023, 0)
    cls = gpkg_store.read("classifications", ["scheme", "key_type", "key", "l3"])
    assert set(cls["scheme"]) == {"oac2021"} and set(cls["key_type"]) == {"oa"}
    assert cls.set_index("key").loc["E00000001", "l3"] == "3c2"
    assert class_names(gpkg_store, "oac2021", 1)["8"] == "Legacy Communities"
    assert elapsed < 30


@pytest.mark.real_data
def test_uk_oac2021_lsoa_lookup_is_keyed_by_lsoa(gpkg_store, real):
    report = import_classification(gpkg_store, [real / "uk/oac2021/LSOA_DZ_SDZ_Lookup.csv"])
    assert report.imported == 43914
    cls = gpkg_store.read("classifications").set_index("key")
    assert set(cls["key_type"]) == {"lsoa"} and set(cls["scheme"]) == {"oac2021"}
    assert tuple(cls.loc["E01000001", ["l1", "l2", "l3"]]) == ("3", "3c", "3c1")


def test_lsoa_lookup_csv_loads_on_both_back_ends(store, tmp_path):
    path = tmp_path / "lsoa.csv"
    path.write_text("LSOA21CD,Supergroup,Group,Subgroup\nE01011663,7,7b,7b1\n"
                    "E01033008,3,3a,3a1\nE01011329,,,\n")
    report = import_classification(store, [path], scheme="oac2021")
    assert (report.imported, report.skipped) == (2, 1)
    assert report.reasons["no class"]["rows"] == [4]
    cls = store.read("classifications", order_by=["key"])
    assert cls["key"].tolist() == ["E01011663", "E01033008"]
    assert set(cls["key_type"]) == {"lsoa"}
    assert store.count("class_codes") == 81  # the built-in 2021 list, loaded on first use


def test_single_finest_code_gives_every_level(store, tmp_path):
    path = tmp_path / "postcode_oac11.csv"
    path.write_text("pcds,oac11\nls1 1az,7A1\nLS1 1BA,2B2\n")
    import_classification(store, [path])
    cls = store.read("classifications", order_by=["key"])
    assert cls[["scheme", "key_type", "key", "l1", "l2", "l3"]].values.tolist() == [
        ["oac2011", "postcode", "LS1 1AZ", "7", "7a", "7a1"],
        ["oac2011", "postcode", "LS1 1BA", "2", "2b", "2b2"]]


def test_mosaic_by_household_accepts_any_code_and_keeps_names(store, tmp_path):
    path = tmp_path / "mosaic.csv"
    path.write_text("UPRN,mosaic_group,mosaic_group_name,mosaic_type,mosaic_type_name\n"
                    "72001234,B,Prestige Positions,B05,Premium Fortunes\n"
                    "72001235,O,Rental Hubs,O62,Central Pulse\n")
    report = import_classification(store, [path])
    assert report.imported == 2
    cls = store.read("classifications", order_by=["key"])
    assert cls[["scheme", "key_type", "l1", "l2"]].values.tolist()[0] == [
        "mosaic", "uprn", "B", "B05"]
    assert class_names(store, "mosaic", "type") == {"B05": "Premium Fortunes",
                                                   "O62": "Central Pulse"}
    assert class_names(store, "mosaic", 1)["O"] == "Rental Hubs"


def test_classify_households_prefers_uprn_then_postcode_then_output_area(store, tmp_path):
    square = shapely.Polygon([(430000, 433000), (431000, 433000), (431000, 434000),
                              (430000, 434000)])
    (tmp_path / "oa.csv").write_text("oa_code,subgrpcode\nE00000001,6b2\nE00000002,7a1\n")
    (tmp_path / "pc.csv").write_text("postcode,subgrpcode\nLS1 1AZ,2a1\n")
    (tmp_path / "hh.csv").write_text("uprn,subgrpcode\n1,1a1\n")
    for name in ("oa.csv", "pc.csv", "hh.csv"):
        import_classification(store, [tmp_path / name], scheme="oac2011")
    with store.begin() as conn:
        store.insert_new(conn, "areas", pd.DataFrame({
            "area_id": ["oa:E00000002"], "level": ["oa"], "code": ["E00000002"],
            "boundary_set": ["default"], "geom": [shapely.MultiPolygon([square])]}))
        xs = [430500.0, 430500.0, 430500.0, 430500.0, 480000.0]
        store.insert_new(conn, "addresses", pd.DataFrame({
            "uprn": ["1", "2", "3", "4", "5"],
            "postcode": ["LS1 1AZ", "LS1 1AZ", "LS2 2BB", None, None],
            "oa_code": [None, None, "E00000001", None, None],
            "x": xs, "y": [433500.0] * 5, "cell": [0] * 5,
            "geom": shapely.points(xs, [433500.0] * 5)}))
    got = classify_households(store, "oac2011", "group").set_index("uprn")
    assert got["code"].to_dict() == {"1": "1a", "2": "2a", "3": "6b", "4": "7a", "5": None}
    assert got["source"].to_dict() == {"1": "uprn", "2": "postcode", "3": "oa", "4": "oa",
                                       "5": None}


def test_classify_households_without_addresses_is_empty(store):
    got = classify_households(store, "oac2021", 1)
    assert list(got.columns) == ["uprn", "code", "source"] and len(got) == 0


@pytest.mark.parametrize("text, options, message", [
    ("oa_code,subgrpcode\nE00000001,3c2\nE00000002,9x9\n", {"scheme": "oac2011"},
     r"row 3, column 'subgrpcode': value '9x9': not an OAC 2011 subgroup code: expected a "
     r"subgroup such as 3c2"),
    ("oa_code,supgrpcode,subgrpcode\nE00000001,4,3c2\n", {"scheme": "oac2011"},
     r"row 2, column 'subgrpcode'.*subgroup 3c2 does not belong to supergroup 4"),
    ("area,subgrpcode\nE00000001,3c2\n", {}, r"row 1: missing key column.*'oa_code'"),
    ("oa_code,colour\nE00000001,red\n", {"scheme": "oac2011"}, r"missing class columns"),
    ("postcode,oac11\nLS1 1AZ,3c2\nnot a postcode,3c2\n", {},
     r"row 3, column 'postcode'.*'not a postcode'.*postcode"),
    ("uprn,mosaic_type\n12x4,B05\n", {}, r"row 2, column 'uprn'.*UPRN"),
    ("oa_code,oac11\nE00000001,1a1\nE00000001,2a1\n", {}, r"row 3.*listed twice with different"),
    ("oa_code,subgrpcode\nE00000001,6c1\n", {"scheme": "oac2011"}, r"not an OAC 2011"),
    ("oa_code,subgrpcode\nE00000001,3c1\n", {"scheme": "census"}, r"unknown classification"),
])
def test_bad_classification_file_is_rejected_and_store_unchanged(store, tmp_path, text, options,
                                                                 message):
    good = tmp_path / "good.csv"
    good.write_text("oa_code,subgrpcode\nE00000009,3c1\n")
    import_classification(store, [good], scheme="oac2011")
    before = store.fingerprint()
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(InputError, match=message):
        import_classification(store, [bad], **options)
    assert store.fingerprint() == before


def test_polygons_with_a_broken_geometry_are_rejected(store, tmp_path):
    path = tmp_path / "oa.geojson"
    path.write_text('{"type": "FeatureCollection", "crs": {"type": "name", "properties": '
                    '{"name": "urn:ogc:def:crs:EPSG::27700"}}, "features": [{"type": "Feature", '
                    '"properties": {"oa_code": "E00000001", "subgrpcode": "3c2"}, "geometry": '
                    '{"type": "Polygon", "coordinates": [[[430000, 433000], [430000, 433000], '
                    '[430000, 433000], [430000, 433000]]]}}]}')
    before = store.fingerprint()
    with pytest.raises(InputError, match=r"row 1 \(code 'E00000001'\), column 'geometry': "
                                         r"expected a polygon .*; the polygon has no area"):
        import_classification(store, [path], scheme="oac2011")
    assert store.fingerprint() == before
