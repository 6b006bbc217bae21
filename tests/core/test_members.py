# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.cells import points_to_cells
from spatial_core.crs import bng_to_lnglat
from spatial_core.members import (
    import_members,
    normalise_age_bands,
    normalise_ethnicities,
    normalise_genders,
)
from spatial_core.sources import normalise_postcodes, read_csv_table

HEADER = ("member_id,name,email,phone,uprn,postcode,latitude,longitude,gender,age_band,"
          "ethnicity,groups,consents,joined,left\n")


def _points(x, y, store):
    lng, lat = bng_to_lnglat(np.asarray(x, float), np.asarray(y, float))
    return {"lat": lat, "lng": lng, "x": np.asarray(x, float), "y": np.asarray(y, float),
            "cell": points_to_cells(lat, lng, store.h3_resolution), "geom": shapely.points(x, y)}


def seed(store):
    """Two postcodes (one terminated) and one address, inserted directly."""
    pcs = pd.DataFrame({"postcode": ["LS1 1AA", "LS2 2BB"], "terminated": [None, "2019-06"],
                        **_points([430000.0, 429000.0], [433500.0, 434500.0], store)})
    adr = pd.DataFrame({"uprn": ["1001"], "postcode": ["LS1 1AA"],
                        **_points([430010.0], [433510.0], store)})
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", pcs)
        store.insert_new(conn, "addresses", adr)


CANONICAL = HEADER + (
    "M1,Alice Smith,alice.smith@example.com,07700 900123,1001,,,,Female,18-24,White British,"
    "Key Individual Network;Neighbourhood Watch,police;fire;council,2024-01-02,\n"
    "M2,Bob Jones,bob.jones@example.org,07700900456,,ls11aa,,,M,65+,W9,IAG,police,"
    "02/03/2023,01/01/2024\n"
    "M3,Carol King,,,,LS2 2BB,,,,,,Farm Watch,,,\n"
    "M4,Dan Lee,,,,,53.79,-1.54,Prefer not to say,,,,,,\n"
    "M5,Eve Hill,,,,XX9 9XX,,,,,,,,,\n"
    "M6,Fay Ward,,,,,,,,,,,,,\n"
)


def _write(tmp_path, text, name="members.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_members_canonical_file_stores_members_groups_and_consents(store, tmp_path):
    seed(store)
    report = import_members(store, [_write(tmp_path, CANONICAL)])
    assert (report.read, report.imported, report.skipped) == (6, 4, 2)
    got = store.read("members", order_by=["member_id"]).set_index("member_id")
    assert got.index.tolist() == ["M1", "M2", "M3", "M4"]
    assert got.loc["M1", "name"] == "Alice Smith"
    assert got["location_source"].tolist() == ["uprn", "postcode", "postcode", "coordinates"]
    assert (got.loc["M1", "x"], got.loc["M1", "y"]) == (430010.0, 433510.0)
    assert got.loc["M1", "postcode"] == "LS1 1AA"  # from the address
    assert (got.loc["M2", "x"], got.loc["M2", "postcode"]) == (430000.0, "LS1 1AA")
    assert got.loc["M4", "lat"] == pytest.approx(53.79)
    assert got.loc["M4", "x"] == pytest.approx(430402.7, abs=0.5)
    assert (got["cell"] != 0).all()
    assert got["gender"].tolist() == ["female", "male", None, "not_stated"]
    assert got["age_band"].tolist() == ["18-24", "65+", None, None]
    assert got["ethnicity"].tolist() == ["white_british", "white_other", None, None]
    assert got["joined"].tolist() == ["2024-01-02", "2023-03-02", None, None]
    assert got["left_on"].tolist() == [None, "2024-01-01", None, None]
    assert got.geometry.x.tolist() == got["x"].tolist()
    groups = store.read("member_groups").sort_values(["member_id", "grp"])
    assert list(groups.itertuples(index=False, name=None)) == [
        ("M1", "key_individual"), ("M1", "neighbourhood_watch"), ("M2", "iag"),
        ("M3", "farm_watch")]
    consents = store.read("member_consents").sort_values(["member_id", "organisation"])
    assert list(consents.itertuples(index=False, name=None)) == [
        ("M1", "council"), ("M1", "fire"), ("M1", "police"), ("M2", "police")]
    assert report.reasons["no location (UPRN, postcode or coordinates)"]["rows"] == [7]
    assert [r for r, e in report.reasons.items() if e["rows"] == [6]][0].startswith(
        "location not found")
    assert report.notes["located at a terminated postcode's last centroid"]["rows"] == [4]
    assert "groups 'Farm Watch' is not in the vocabulary; stored as 'farm_watch'" in report.notes


def test_import_members_twice_adds_nothing(store, tmp_path):
    seed(store)
    path = _write(tmp_path, CANONICAL)
    import_members(store, [path])
    before = store.fingerprint()
    report = import_members(store, [path])
    after = store.fingerprint()
    assert report.imported == 0
    assert report.reasons["already in the store"]["rows"] == [2, 3, 4, 5]
    assert {k: v for k, v in after.items() if k != "lpt_imports"} == {
        k: v for k, v in before.items() if k != "lpt_imports"}
    assert after["members"] == 4 and after["member_groups"] == 4


def test_import_members_real_export_headers_map_to_canonical_names(store, tmp_path):
    seed(store)
    text = (
        "Member ID,Forename,Surname,Email Address,Mobile Number,Post Code,Date Joined,"
        "Date Left,Gender,Age Group,Ethnic Group,Group Memberships,Data Sharing\n"
        "NA-0001,Gwen,Price,gwen@example.net,+44 7700 900999,LS1 1AA,14/02/2025,,Woman,"
        "35 to 44,\"Asian or Asian British: Pakistani\",Neighbourhood Watch,"
        "Police; Fire and Rescue\n"
        "NA-0002,Huw,Evans,,,ls2 2bb,2024-11-30,,Man,75 and over,Mixed - White and Asian,,\n"
    )
    report = import_members(store, [_write(tmp_path, text, encoding="cp1252")],
                            encoding="cp1252")
    assert report.imported == 2
    got = store.read("members", order_by=["member_id"])
    assert got["member_id"].tolist() == ["NA-0001", "NA-0002"]
    assert got["name"].tolist() == ["Gwen Price", "Huw Evans"]
    assert got["postcode"].tolist() == ["LS1 1AA", "LS2 2BB"]
    assert got["joined"].tolist() == ["2025-02-14", "2024-11-30"]
    assert got["gender"].tolist() == ["female", "male"]
    assert got["age_band"].tolist() == ["35-44", "75+"]
    assert got["ethnicity"].tolist() == ["asian_pakistani", "mixed_white_asian"]
    assert store.read("member_groups")["grp"].tolist() == ["neighbourhood_watch"]
    assert sorted(store.read("member_consents")["organisation"]) == ["fire", "police"]


def test_import_members_never_stores_email_or_phone(gpkg_store, tmp_path):
    seed(gpkg_store)
    import_members(gpkg_store, [_write(tmp_path, CANONICAL)])
    gpkg_store.close()
    data = open(gpkg_store.location, "rb").read()
    assert b"Alice Smith" in data  # the name is stored, so the search itself works
    for secret in (b"alice.smith@example.com", b"bob.jones@example.org", b"07700 900123",
                   b"07700900456", b"example.com", b"900456"):
        assert secret not in data


def test_import_members_report_and_tables_hold_no_contact_details(store, tmp_path):
    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    for table in ("members", "member_groups", "member_consents", "lpt_imports"):
        text = store.read(table).astype(str).to_csv()
        assert "@example" not in text and "900123" not in text
    report = json.loads(store.read("lpt_imports")["report"].iloc[0])
    assert report["imported"] == 4


def test_import_members_reads_eastings_northings_with_crs_27700(store, tmp_path):
    seed(store)
    text = "member_id,latitude,longitude\nE1,433600,430100\n"
    report = import_members(store, [_write(tmp_path, text)], crs=27700)
    assert report.imported == 1
    got = store.read("members")
    assert got["x"].iloc[0] == pytest.approx(430100, abs=0.01)
    assert got["y"].iloc[0] == pytest.approx(433600, abs=0.01)


CORRUPT = [
    ("name,postcode\nAnn,LS1 1AA\n", 1, "missing column 'member_id' or 'Member ID'"),
    ("member_id,name\nM1,Ann\n", 1, "no location column"),
    ("member_id,postcode\nM1,LS1 1AA\nM2,LS1 1AA\nM1,LS2 2BB\n", 4,
     "column 'member_id': value 'M1': duplicate member id: the same as row 2"),
    ("member_id,postcode,joined\nM1,LS1 1AA,2024-01-01\nM2,LS1 1AA,31/31/2024\n", 3,
     "column 'joined': value '31/31/2024': expected a date"),
    ("member_id,postcode\nM1,LS1 1AA\n,LS2 2BB\n", 3, "expected a member id; it is empty"),
    ("member_id,latitude,longitude\nM1,433500,430000\n", None, "pass --crs 27700"),
    ("member_id,latitude,longitude\nM1,53.8,\n", 2, "expected both coordinates or neither"),
    ("member_id,latitude,longitude\nM1,95.0,-1.5\n", 2, "expected degrees between -90 and 90"),
    ("member_id,uprn\nM1,1.00023E+11\n", 2, "scientific notation"),
    ("member_id,postcode\n" + "M" * 41 + ",LS1 1AA\n", 2, "at most 40 characters"),
    ("member_id,postcode,left\nM1,LS1 1AA\nM2,LS1 1AA,\n", 2, "fields, expected 3"),
]


@pytest.mark.parametrize("text,row,message", CORRUPT,
                         ids=["no-id-column", "no-location-column", "duplicate-id", "bad-date",
                              "empty-id", "metres-as-degrees", "half-coordinates",
                              "latitude-range", "uprn-scientific", "id-too-long", "truncated"])
def test_import_members_rejects_corrupt_files_and_leaves_store_unchanged(gpkg_store, tmp_path,
                                                                         text, row, message):
    seed(gpkg_store)
    import_members(gpkg_store, [_write(tmp_path, CANONICAL, "good.csv")])
    before = gpkg_store.fingerprint()
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        import_members(gpkg_store, [path])
    assert message in str(info.value)
    assert info.value.file == str(path)
    assert info.value.row == row
    assert gpkg_store.fingerprint() == before


def test_import_members_duplicate_across_files_is_an_error_on_both_backends(store, tmp_path):
    seed(store)
    a = _write(tmp_path, "member_id,postcode\nM1,LS1 1AA\n", "a.csv")
    b = _write(tmp_path, "member_id,postcode\nM9,LS1 1AA\nM1,LS2 2BB\n", "b.csv")
    before = store.fingerprint()
    with pytest.raises(InputError, match=r"b.csv, row 3, .*duplicate member id: the same as "
                                         r"row 2 of .*a.csv"):
        import_members(store, [a, b])
    assert store.fingerprint() == before


@pytest.mark.real_data
def test_import_members_locates_by_real_leeds_code_point_postcodes(store, real, tmp_path):
    path = real / "leeds" / "postcodes" / "codepoint_open_2014_ls.csv"
    cp = read_csv_table(path, header=False, names=[
        "postcode", "pq", "e", "n", "country", "nhs_r", "nhs_ha", "county", "district", "ward"])
    sample = cp.frame.iloc[::1000].reset_index(drop=True)  # 22 postcodes across the file
    x = sample["e"].astype(float).to_numpy()
    y = sample["n"].astype(float).to_numpy()
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", pd.DataFrame({
            "postcode": normalise_postcodes(sample["postcode"]),
            "ward_code": sample["ward"], **_points(x, y, store)}))
    # members type their postcodes untidily: lower case, no space
    raw = sample["postcode"].str.replace(" ", "").str.lower()
    rows = "".join(f"R{i},{pc}\n" for i, pc in enumerate(raw))
    report = import_members(store, [_write(tmp_path, "member_id,postcode\n" + rows)])
    assert (report.read, report.imported, report.skipped) == (len(sample), len(sample), 0)
    got = store.read("members", order_by=["fid"])
    assert got["x"].tolist() == x.tolist() and got["y"].tolist() == y.tolist()
    assert (got["location_source"] == "postcode").all()
    assert got["lat"].between(53.6, 54.1).all()


@pytest.mark.parametrize("raw,expected", [
    ("White: English, Welsh, Scottish, Northern Irish or British", "white_british"),
    ("White - Irish", "white_irish"), ("Gypsy or Irish Traveller", "white_gypsy_traveller"),
    ("Any other White background", "white_other"), ("Black African", "black_african"),
    ("Black, Black British, Caribbean or African: Caribbean", "black_caribbean"),
    ("Mixed or Multiple ethnic groups: White and Black African", "mixed_white_black_african"),
    ("Other ethnic group: Arab", "other_arab"), ("Chinese", "asian_chinese"),
    ("A3", "asian_bangladeshi"), ("asian_other", "asian_other"), ("Not stated", "not_stated"),
])
def test_normalise_ethnicities_reads_census_and_police_wordings(raw, expected):
    values, unknown = normalise_ethnicities([raw])
    assert values.tolist() == [expected] and unknown.tolist() == [False]


def test_normalisers_slug_unknown_values_and_flag_them():
    g, gu = normalise_genders(["Non-binary", "Agender", ""])
    assert g.tolist() == ["non_binary", "agender", None] and gu.tolist() == [False, True, False]
    a, au = normalise_age_bands(["16", "Over 65", "18-24 years", "teen"])
    assert a.tolist() == ["0-17", "65+", "18-24", "teen"] and au.tolist() == [False] * 3 + [True]
    e, eu = normalise_ethnicities(["Martian"])
    assert e.tolist() == ["martian"] and eu.tolist() == [True]
