# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.io.addresses import import_addresses

OS_OPEN_UPRN = (
    "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n"
    "72001234,429931.00,433466.00,53.7966461,-1.5470885\n"
    "72001235,430010.50,433500.25,53.7969493,-1.5458783\n"
    "72001236,431500.00,434200.00,53.8031507,-1.5231950\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_os_open_uprn_points(store, tmp_path):
    path = write(tmp_path, "osopenuprn_202501.csv", OS_OPEN_UPRN)
    report = import_addresses(store, [path])
    assert (report.read, report.imported, report.skipped) == (3, 3, 0)
    got = store.read("addresses", order_by=["uprn"])
    assert got["uprn"].tolist() == ["72001234", "72001235", "72001236"]
    assert got["x"].tolist() == [429931.0, 430010.5, 431500.0]
    assert got["y"].tolist() == [433466.0, 433500.25, 434200.0]
    np.testing.assert_allclose(got["lat"], [53.7966461, 53.7969493, 53.8031507], atol=1e-6)
    np.testing.assert_allclose(got["lng"], [-1.5470885, -1.5458783, -1.5231950], atol=1e-6)
    assert got["postcode"].isna().all()
    assert (got["cell"] != 0).all()
    assert got.geometry.x.tolist() == got["x"].tolist()
    assert store.count("lpt_imports") == 1


def test_import_generic_csv_with_latlng_postcode_and_output_area(store, tmp_path):
    path = write(tmp_path, "households.csv",
                 "uprn,postcode,lat,lng,oa_code\n"
                 "100,ls11az,53.7996,-1.5491,E00057001\n"
                 "101,LS6 2AB,53.8200,-1.5700,\n")
    report = import_addresses(store, [path])
    assert report.imported == 2
    got = store.read("addresses", order_by=["uprn"])
    assert got["postcode"].tolist() == ["LS1 1AZ", "LS6 2AB"]
    assert got["oa_code"].tolist() == ["E00057001", None]
    assert got["x"].round().tolist() == [429796.0, 428406.0]
    assert got["y"].round().tolist() == [433794.0, 436055.0]


def test_import_generic_csv_with_easting_northing_aliases(store, tmp_path):
    path = write(tmp_path, "a.csv", "UPRN,Easting,Northing,Postcode\n5,430000,433000,LS1 4AP\n")
    import_addresses(store, [path])
    got = store.read("addresses")
    assert (got["x"].tolist(), got["y"].tolist()) == ([430000.0], [433000.0])


def test_import_addresses_twice_adds_nothing(store, tmp_path):
    path = write(tmp_path, "u.csv", OS_OPEN_UPRN)
    import_addresses(store, [path])
    before = store.fingerprint()
    again = import_addresses(store, [path])
    assert (again.imported, again.skipped) == (0, 3)
    assert again.reasons["already in the store"]["rows"] == [2, 3, 4]
    after = store.fingerprint()
    assert after["addresses"] == before["addresses"] == 3


def test_address_without_coordinates_takes_its_postcode_centroid(store, tmp_path):
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", pd.DataFrame({
            "postcode": ["LS1 1AZ"], "lat": [53.7996], "lng": [-1.5491], "x": [429931.0],
            "y": [433466.0], "cell": [1], "oa_code": ["E00057001"],
            "geom": shapely.points([429931.0], [433466.0])}))
    path = write(tmp_path, "a.csv", "uprn,postcode,easting,northing\n1,LS1 1AZ,,\n2,LS9 9ZZ,,\n")
    report = import_addresses(store, [path])
    assert report.notes["no coordinates: placed at the postcode centroid"]["rows"] == [2]
    assert report.notes["no coordinates: stored without a location"]["rows"] == [3]
    got = store.read("addresses", order_by=["uprn"])
    assert got["x"].tolist()[0] == 429931.0 and np.isnan(got["x"].tolist()[1])
    assert got["cell"].tolist()[1] == 0
    assert got["oa_code"].tolist() == ["E00057001", None]  # the postcode's output area


@pytest.mark.parametrize("text, row, column, message", [
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,430000,433000\n12A4,430000,433000\n",
     3, "UPRN", "expected a UPRN"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n,430000,433000\n", 2, "UPRN", "expected a UPRN"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n7,430000,433000\n8,430001,433001\n7,430002,433002\n",
     4, "UPRN", "UPRN 7 appears twice, at rows 2 and 4"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,430000,433000\n2,43O000,433000\n",
     3, "X_COORDINATE", "expected an easting in metres"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,430000,433000\n2,9430000,433000\n",
     3, "X_COORDINATE", "not in Great Britain"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,430000,\n", 2, "Y_COORDINATE", "both coordinates"),
    ("uprn,lat,lng\n1,53.8,-1.5\n2,153.8,-1.5\n", 3, "lat", "a latitude in degrees between"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,-1.5491,53.7996\n2,,\n", 2, "X_COORDINATE",
     "pass --crs 4326"),
    ("UPRN,X_COORDINATE,Y_COORDINATE\n1,430000,433000\n2,430000\n", 3, None, "truncated"),
    ("uprn,postcode,easting,northing\n1,NOT A CODE,430000,433000\n", 2, "postcode",
     "expected a UK postcode"),
    ("uprn,name\n1,x\n", 1, None, "expected easting/northing"),
])
def test_bad_address_rows_are_rejected_and_the_store_is_unchanged(store, tmp_path, text, row,
                                                                   column, message):
    import_addresses(store, [write(tmp_path, "good.csv", OS_OPEN_UPRN)])
    before = store.fingerprint()
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=message) as err:
        import_addresses(store, [path])
    assert (err.value.file, err.value.row) == (str(path), row)
    if column:
        assert err.value.column == column
    assert store.fingerprint() == before


def test_duplicate_uprn_in_a_quoted_file_names_both_rows(gpkg_store, tmp_path):
    # Quotes take the strict reader; the message is the same.
    path = write(tmp_path, "q.csv", '"UPRN","X_COORDINATE","Y_COORDINATE"\n'
                 '"9","430000","433000"\n"9","430001","433001"\n')
    with pytest.raises(InputError, match="UPRN 9 appears twice, at rows 2 and 3"):
        import_addresses(gpkg_store, [path])


def test_import_addresses_reads_gzip_and_cp1252(gpkg_store, tmp_path):
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(OS_OPEN_UPRN.encode()))
    cp = tmp_path / "b.csv"
    cp.write_bytes("uprn,postcode,easting,northing,note\n9,LS1 1AZ,430000,433000,café\n"
                   .encode("cp1252"))
    with pytest.raises(InputError, match="--encoding cp1252"):
        import_addresses(gpkg_store, [cp])
    report = import_addresses(gpkg_store, [gz])
    assert report.imported == 3
    assert import_addresses(gpkg_store, [cp], encoding="cp1252").imported == 1


def test_same_uprn_in_two_files_is_imported_once(gpkg_store, tmp_path):
    a = write(tmp_path, "a.csv", OS_OPEN_UPRN)
    b = write(tmp_path, "b.csv", "UPRN,X_COORDINATE,Y_COORDINATE\n72001234,429931,433466\n"
              "99,430000,433000\n")
    report = import_addresses(gpkg_store, [a, b])
    assert (report.read, report.imported) == (5, 4)
    assert report.reasons["UPRN already in an earlier file of this import"]["rows"] == ["b.csv:2"]
