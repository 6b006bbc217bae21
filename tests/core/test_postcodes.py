# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import gzip

import numpy as np
import pytest
import shapely

from spatial_core import InputError
from spatial_core.io.boundaries import import_boundaries
from spatial_core.io.postcodes import import_postcodes

CODEPOINT = (
    '"LS1 1AZ",10,428809,433421,"E92000001","E19000001","E18000003","","E08000035","E05001420"\n'
    '"LS1 1BA",10,429323,433510,"E92000001","E19000001","E18000003","","E08000035","E05001420"\n'
    '"LS99 9ZZ",90,0,0,"E92000001","E19000001","E18000003","","E08000035",""\n'
)
ONSPD_HEADER = "pcd,pcds,doterm,oseast1m,osnrth1m,osgrdind,oslaua,osward,oa21,lsoa21,lat,long\n"
ONSPD = ONSPD_HEADER + (
    "LS1 1AZ,LS1 1AZ,,428809,433421,1,E08000035,E05011414,E00187542,E01033015,53.796305,-1.564126\n"
    "LS1 1BA,LS1 1BA,201906,429323,433510,1,E08000035,E05011414,E00187542,E01033015,53.797,"
    "-1.5563\n"
    "LS1 9XX,LS1 9XX,199001,,,9,,,,,99.999999,0.000000\n"
)


@pytest.mark.real_data
def test_import_codepoint_open_ls_file_loads_every_row(store, real):
    path = real / "leeds/postcodes/codepoint_open_2014_ls.csv"
    report = import_postcodes(store, [path])
    assert (report.read, report.imported, report.skipped) == (21290, 21290, 0)
    got = store.read("postcodes")
    assert len(got) == 21290
    assert (got["district_code"] == "E08000035").sum() == 19069
    assert got["quality"].value_counts().to_dict() == {10: 21247, 50: 38, 30: 5}
    first = got.set_index("postcode").loc["LS1 1AZ"]
    assert (first["x"], first["y"], first["ward_code"]) == (428809.0, 433421.0, "E05001420")
    assert first["lat"] == pytest.approx(53.7963, abs=1e-4)
    assert first["lng"] == pytest.approx(-1.5641, abs=1e-4)
    assert first["cell"] != 0 and first["geom"].x == 428809.0
    assert (got["cell"] != 0).all()
    before = store.fingerprint()
    again = import_postcodes(store, [path])
    assert (again.imported, again.skipped) == (0, 21290)
    assert again.reasons["already in the store"]["count"] == 21290
    assert {k: v for k, v in store.fingerprint().items() if k != "lpt_imports"} == {
        k: v for k, v in before.items() if k != "lpt_imports"}


@pytest.mark.real_data
def test_leeds_postcodes_join_to_the_2017_wards_by_code_and_location(gpkg_store, real):
    import_postcodes(gpkg_store, [real / "leeds/postcodes/codepoint_open_2014_ls.csv"])
    import_boundaries(gpkg_store, [real / "leeds/boundaries/leeds_wards_2017.geojson"],
                      level="ward", crs=27700)
    pcs = gpkg_store.read("postcodes")
    wards = gpkg_store.read("areas")
    leeds = pcs[pcs["district_code"] == "E08000035"]
    assert len(leeds) == 19069
    assert leeds["ward_code"].isin(set(wards["code"])).all()
    assert leeds["ward_code"].nunique() == 33
    tree = shapely.STRtree(wards.geometry.values)
    i_pt, i_ward = tree.query(leeds.geometry.values, predicate="within")
    assert len(np.unique(i_pt)) == 19063  # 6 coastal-edge centroids fall just outside
    own = wards["code"].to_numpy()[i_ward] == leeds["ward_code"].to_numpy()[i_pt]
    assert own.sum() == 18642  # the rest sit in a neighbouring ward near a boundary


def test_codepoint_row_without_coordinates_is_skipped_with_its_row(store, tmp_path):
    path = tmp_path / "ls.csv"
    path.write_text(CODEPOINT)
    report = import_postcodes(store, [path])
    assert (report.read, report.imported, report.skipped) == (3, 2, 1)
    assert report.reasons["no coordinates"] == {"count": 1, "rows": [3]}
    assert sorted(store.read("postcodes")["postcode"]) == ["LS1 1AZ", "LS1 1BA"]


def test_onspd_style_file_with_header_keeps_areas_and_termination(store, tmp_path):
    path = tmp_path / "onspd.csv.gz"
    path.write_bytes(gzip.compress(ONSPD.encode()))
    report = import_postcodes(store, [path])
    assert (report.read, report.imported, report.skipped) == (3, 2, 1)
    assert report.reasons["no coordinates"]["rows"] == [4]
    got = store.read("postcodes", order_by=["postcode"]).set_index("postcode")
    assert got.loc["LS1 1BA", "terminated"] == "2019-06"
    assert got.loc["LS1 1AZ", "terminated"] is None
    assert got.loc["LS1 1AZ", "oa_code"] == "E00187542"
    assert got.loc["LS1 1AZ", "lsoa_code"] == "E01033015"
    assert got.loc["LS1 1AZ", "ward_code"] == "E05011414"
    assert got.loc["LS1 1AZ", "quality"] == 1


def test_postcodes_are_normalised_and_lat_long_only_files_get_grid_references(store, tmp_path):
    path = tmp_path / "pc.csv"
    path.write_text("postcode,latitude,longitude\nls11az,53.796305,-1.564126\n")
    import_postcodes(store, [path])
    got = store.read("postcodes")
    assert got["postcode"].tolist() == ["LS1 1AZ"]
    assert got["x"].iloc[0] == pytest.approx(428809, abs=2)
    assert got["y"].iloc[0] == pytest.approx(433421, abs=2)


def test_postcode_listed_twice_keeps_the_first_row(store, tmp_path):
    path = tmp_path / "ls.csv"
    path.write_text(CODEPOINT + CODEPOINT.splitlines(keepends=True)[0])
    report = import_postcodes(store, [path])
    assert report.imported == 2
    assert report.reasons["postcode listed more than once (first row kept)"]["rows"] == [4]


@pytest.mark.parametrize("text, message", [
    (CODEPOINT.replace('"LS1 1BA"', '"LS1 XBA"'), r"row 2, column 'Postcode'.*'LS1 XBA'.*postcode"),
    (ONSPD_HEADER.replace("oseast1m,osnrth1m,", "").replace(",lat,long", "") + "LS1 1AZ,LS1 1AZ,,1,"
     "E08000035,E05011414,E00187542,E01033015\n", r"missing coordinates.*oseast1m"),
    ("pcds,lat,long\nLS1 1AZ,53.79,-1.56\n,53.8,-1.5\n", r"row 3, column 'pcds'.*postcode"),
    (CODEPOINT.replace("429323", "42x323"), r"row 2, column 'Eastings'.*'42x323'.*easting"),
    (CODEPOINT + '"LS1 1BB",10,429323\n', r"row 4.*3 fields, expected 10"),
    ("postcode,lat,long\nLS1 1AZ,433421,428809\n", r"metres.*--crs 27700"),
])
def test_corrupt_postcode_file_is_rejected_and_store_unchanged(store, tmp_path, text, message):
    import_postcodes(store, [_write(tmp_path / "good.csv", CODEPOINT)])
    before = store.fingerprint()
    with pytest.raises(InputError, match=message):
        import_postcodes(store, [_write(tmp_path / "bad.csv", text)])
    assert store.fingerprint() == before


def _write(path, text):
    path.write_text(text)
    return path
