# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.io.members import (
    import_members,
    normalise_age_bands,
    normalise_ethnicities,
    normalise_genders,
)
from spatial_core.io.sources import normalise_postcodes, read_csv_table

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
    ("member_id,latitude,longitude\nM1,433500,430000\n", 2, "pass --crs 27700"),
    ("member_id,latitude,longitude\nM1,53.8,\n", 2, "expected both coordinates or neither"),
    ("member_id,latitude,longitude\nM1,95.0,-1.5\n", 2,
     "expected a latitude in degrees between -90 and 90"),
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


# -- re-importing a newer export ---------------------------------------------------------------

NEWER = HEADER + (
    # M1 moved house (postcode, no UPRN) and withdrew fire and council consent
    "M1,Alice Smith,alice.smith@example.com,07700 900123,,LS2 2BB,,,Female,18-24,White British,"
    "Key Individual Network;Neighbourhood Watch,police,2024-01-02,\n"
    # M2 had left; rejoined (no left date), is now 75+, and joined a watch scheme
    "M2,Bob Jones,bob.jones@example.org,07700900456,,ls11aa,,,M,75+,W9,IAG;NHW,police,"
    "02/03/2023,\n"
    "M3,Carol King,,,,LS2 2BB,,,,,,Farm Watch,,,\n"
    "M4,Dan Lee,,,,,53.79,-1.54,Prefer not to say,,,,,,\n"
    "M7,Gil Ray,gil@example.com,,,LS1 1AA,,,Man,25-34,,,police,2025-03-01,\n"
)
MEMBER_FIELDS = ["member_id", "name", "uprn", "postcode", "lat", "lng", "x", "y", "cell",
                 "location_source", "gender", "age_band", "ethnicity", "joined", "left_on"]


def _members(store):
    return store.read("members", MEMBER_FIELDS, order_by=["member_id"]).set_index("member_id")


def _pairs(store, table, column):
    got = store.read(table).sort_values(["member_id", column])
    return list(got[["member_id", column]].itertuples(index=False, name=None))


def test_reimport_of_a_newer_export_updates_changed_members_only(store, tmp_path):
    from spatial_core.store.data_version import data_version

    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL, "january.csv")])
    before = _members(store)
    version = data_version(store)
    report = import_members(store, [_write(tmp_path, NEWER, "march.csv")])
    assert (report.read, report.imported, report.updated, report.unchanged) == (5, 1, 2, 2)
    assert report.skipped == 2
    assert report.reasons == {"already in the store": {"count": 2, "rows": [4, 5]}}
    assert report.notes["updated: changed since the stored export"]["rows"] == [2, 3]
    assert report.summary().splitlines()[0] == (
        "members: read 5, imported 1, updated 2, unchanged 2, skipped 2")
    got = _members(store)
    assert got.index.tolist() == ["M1", "M2", "M3", "M4", "M7"]
    m1 = got.loc["M1"]
    assert (m1["uprn"], m1["postcode"], m1["location_source"]) == (None, "LS2 2BB", "postcode")
    assert (m1["x"], m1["y"]) == (429000.0, 434500.0)
    ls2_2bb = _points([429000.0], [434500.0], store)
    assert got["cell"].loc["M1"] == ls2_2bb["cell"][0] != before["cell"].loc["M1"]
    assert (m1["lat"], m1["lng"]) == (ls2_2bb["lat"][0], ls2_2bb["lng"][0])
    assert (got.loc["M2", "left_on"], got.loc["M2", "age_band"]) == (None, "75+")
    assert got.loc["M2", "joined"] == "2023-03-02"
    pd.testing.assert_frame_equal(got.loc[["M3", "M4"]], before.loc[["M3", "M4"]])
    assert _pairs(store, "member_consents", "organisation") == [
        ("M1", "police"), ("M2", "police"), ("M7", "police")]
    assert _pairs(store, "member_groups", "grp") == [
        ("M1", "key_individual"), ("M1", "neighbourhood_watch"), ("M2", "iag"),
        ("M2", "neighbourhood_watch"), ("M3", "farm_watch")]
    assert data_version(store) != version  # caches see the change
    for table in ("members", "member_groups", "member_consents", "lpt_imports"):
        text = store.read(table).astype(str).to_csv()
        assert "@example" not in text and "900123" not in text


def test_reimporting_the_same_newer_export_twice_changes_nothing(store, tmp_path):
    from spatial_core.store.data_version import data_version

    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL, "january.csv")])
    march = _write(tmp_path, NEWER, "march.csv")
    import_members(store, [march])
    tables = {t: store.read(t).drop(columns=["fid"], errors="ignore").astype(str)
              for t in ("members", "member_groups", "member_consents")}
    version = data_version(store)
    again = import_members(store, [march])
    assert (again.imported, again.updated, again.unchanged, again.skipped) == (0, 0, 5, 5)
    assert again.reasons["already in the store"]["rows"] == [2, 3, 4, 5, 6]
    assert "updated: changed since the stored export" not in again.notes
    for t, frame in tables.items():
        pd.testing.assert_frame_equal(
            store.read(t).drop(columns=["fid"], errors="ignore").astype(str), frame)
    assert data_version(store) == version


def test_reimport_updates_only_the_fields_the_file_has(store, tmp_path):
    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    before = _members(store)
    report = import_members(store, [_write(tmp_path, "member_id,postcode\nM1,LS2 2BB\n"
                                                     "M3,LS2 2BB\n", "postcodes_only.csv")])
    assert (report.updated, report.unchanged) == (1, 1)
    got = _members(store)
    assert (got.loc["M1", "postcode"], got.loc["M1", "x"]) == ("LS2 2BB", 429000.0)
    kept = ["name", "gender", "age_band", "ethnicity", "joined", "left_on"]
    assert got.loc["M1", kept].tolist() == before.loc["M1", kept].tolist()
    assert got.loc["M1", "name"] == "Alice Smith" and got.loc["M1", "gender"] == "female"
    assert ("M1", "fire") in _pairs(store, "member_consents", "organisation")
    assert ("M1", "key_individual") in _pairs(store, "member_groups", "grp")
    pd.testing.assert_frame_equal(got.drop(index="M1"), before.drop(index="M1"))


def test_reimport_keeps_a_stored_member_whose_new_row_cannot_be_located(store, tmp_path):
    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    before = _members(store)
    report = import_members(store, [_write(tmp_path, "member_id,postcode,gender\n"
                                                     "M1,ZZ9 9ZZ,Male\n", "lost.csv")])
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 0)
    assert [r for r in report.reasons if r.startswith("location not found")]
    pd.testing.assert_frame_equal(_members(store), before)


def test_full_snapshot_marks_missing_members_as_left_and_default_leaves_them(store, tmp_path):
    from datetime import UTC, datetime

    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    snapshot = _write(tmp_path, HEADER + (
        "M1,Alice Smith,,,1001,,,,Female,18-24,White British,"
        "Key Individual Network;Neighbourhood Watch,police;fire;council,2024-01-02,\n"), "all.csv")
    plain = import_members(store, [snapshot])
    assert (plain.updated, plain.unchanged) == (0, 1)
    assert _members(store)["left_on"].tolist() == [None, "2024-01-01", None, None]
    today = datetime.now(UTC).date().isoformat()
    full = import_members(store, [snapshot], full_snapshot=True)
    assert (full.imported, full.updated, full.unchanged) == (0, 2, 1)
    assert full.notes[f"not in the full snapshot: marked as left on {today}"] == {
        "count": 2, "rows": []}
    assert f"note 2: not in the full snapshot: marked as left on {today}\n" in (
        full.summary() + "\n")
    # M2 had already left: its date stays; M3 and M4 leave today; M1 is in the snapshot
    assert _members(store)["left_on"].tolist() == [None, "2024-01-01", today, today]
    again = import_members(store, [snapshot], full_snapshot=True)
    assert (again.updated, again.unchanged) == (0, 1)
    assert store.count("members") == 4  # nobody is deleted


def test_failed_reimport_leaves_members_as_they_were(store, tmp_path, monkeypatch):
    from spatial_core.io import members as members_module
    from spatial_core.store.data_version import data_version

    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    tables = {t: store.read(t).astype(str) for t in ("members", "member_groups",
                                                     "member_consents")}
    before, version = store.fingerprint(), data_version(store)
    bad = _write(tmp_path, "member_id,postcode,joined\nM9,LS1 1AA,31/31/2024\n", "bad.csv")
    with pytest.raises(InputError, match="bad.csv, row 2"):  # the newer file is fine
        import_members(store, [_write(tmp_path, NEWER, "march.csv"), bad])

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(members_module, "bump_data_version", fail)  # after every write
    with pytest.raises(RuntimeError):
        import_members(store, [_write(tmp_path, NEWER, "march.csv")], full_snapshot=True)
    assert store.fingerprint() == before and data_version(store) == version
    for t, frame in tables.items():
        pd.testing.assert_frame_equal(store.read(t).astype(str), frame)


def test_cli_import_members_reports_updates_and_takes_full_snapshot(tmp_path):
    import subprocess
    import sys

    store = tmp_path / "cli.gpkg"
    first = _write(tmp_path, "member_id,latitude,longitude,gender\nA1,53.79,-1.54,F\n"
                             "A2,53.80,-1.55,M\n", "first.csv")
    second = _write(tmp_path, "member_id,latitude,longitude,gender\nA1,53.79,-1.54,Male\n",
                    "second.csv")

    def lpt(*args):
        return subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(store),
                               "import", "members", *map(str, args)],
                              capture_output=True, text=True, check=True).stdout

    assert lpt(first).splitlines()[0] == ("members: read 2, imported 2, updated 0, unchanged 0, "
                                          "skipped 0")
    out = lpt(second, "--full-snapshot")
    assert out.splitlines()[0] == "members: read 1, imported 0, updated 2, unchanged 0, skipped 0"
    assert "marked as left on" in out
    report = json.loads(lpt(second, "--full-snapshot", "--json"))
    assert (report["imported"], report["updated"], report["unchanged"]) == (0, 0, 1)


def test_members_located_by_lookup_keep_the_exact_64_bit_cell(store, tmp_path):
    """A row not found must not turn the looked-up cells into floats (which rounds them to
    another, invalid, H3 index)."""
    seed(store)
    import_members(store, [_write(tmp_path, CANONICAL)])
    stored = dict(zip(*store.read("postcodes", ["postcode", "cell"]).to_dict("list").values(),
                      strict=True))
    address = store.read("addresses", ["cell"])["cell"].iloc[0]
    got = store.read("members", ["member_id", "cell"]).set_index("member_id")["cell"]
    assert got.loc["M1"] == address  # by UPRN
    assert (got.loc["M2"], got.loc["M3"]) == (stored["LS1 1AA"], stored["LS2 2BB"])
