# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import select

from spatial_core import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import bng_to_lnglat, lnglat_to_bng
from spatial_core.io.crimes import (
    CATEGORIES,
    crime_key,
    detect_format,
    import_crimes,
    offence_codes_to_categories,
    read_crime_file,
    read_police_uk,
)
from spatial_core.store import schema

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
WYP = "West Yorkshire Police,West Yorkshire Police"
ROWS = [
    f"c1,2025-02,{WYP},-1.549100,53.799600,On or near Park Row,E01033010,Leeds 111B,"
    "Burglary,Under investigation,",
    f",2025-02,{WYP},-1.550626,53.797400,On or near Swinegate,E01033010,Leeds 111B,"
    "Anti-social behaviour,,",
    f",2025-02,{WYP},-1.550626,53.797400,On or near Swinegate,E01033010,Leeds 111B,"
    "Anti-social behaviour,,",
    f"c2,2025-02,{WYP},,,No location,,,Drugs,Local resolution,",
]


def _write(path, lines, encoding="utf-8"):
    data = "\n".join(lines) + "\n"
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def _counts(store):
    t = schema.table("crimes")
    with store.engine.connect() as conn:
        asb = conn.execute(select(t.c.crime_key).where(t.c.crime_id.is_(None))).scalars().all()
        nogeom = conn.execute(select(t.c.fid).where(t.c.geom.is_(None))).scalars().all()
    return store.count("crimes"), len(asb), len(nogeom)


# -- real files ---------------------------------------------------------------------------

@pytest.mark.real_data
@pytest.mark.parametrize("month, rows, asb, unlocated", [
    ("2016-07", 27_176, 7_429, 1_347),
    ("2017-07", 28_537, 5_955, 1_541),
])
def test_import_police_uk_west_yorkshire_month_stores_every_row(store, real, month, rows, asb,
                                                                 unlocated):
    path = real / "leeds" / "crime" / f"{month}-west-yorkshire-street.csv"
    report = import_crimes(store, [path])
    assert (report.read, report.imported, report.skipped) == (rows, rows, 0)
    assert report.notes["no coordinates"]["count"] == unlocated
    assert _counts(store) == (rows, asb, unlocated)
    got = store.read("crimes", ["crime_key", "month", "category", "cell", "lat", "lng", "x",
                                "is_outlier", "geom"])
    assert set(got["month"]) == {month}
    assert set(got["category"]) == set(CATEGORIES.values())
    assert (got["category"] == "Anti-social behaviour").sum() == asb
    assert got["crime_key"].str.startswith("asb:").sum() == asb
    located = got["lat"].notna()
    assert (got.loc[~located, "cell"] == 0).all() and got.loc[~located, "x"].isna().all()
    assert (got.loc[located, "cell"].to_numpy()
            == points_to_cells(got.loc[located, "lat"], got.loc[located, "lng"], 10)).all()
    assert got.geometry.notna().sum() == rows - unlocated


@pytest.mark.real_data
def test_import_police_uk_leeds_2025_reads_bom_and_spreadsheet_months(store, real):
    report = import_crimes(store, [real / "leeds" / "crime" / "crimedataleeds_2025-02.csv"])
    assert (report.read, report.imported) == (8_009, 8_009)
    got = store.read("crimes", ["month", "crime_id", "force"])
    assert len(got) == 8_009
    assert set(got["month"]) == {"2025-02"}
    assert set(got["force"]) == {"West Yorkshire Police"}


@pytest.mark.real_data
def test_import_police_uk_twice_adds_nothing_and_keeps_asb_keys(gpkg_store, real):
    path = real / "leeds" / "crime" / "2016-07-west-yorkshire-street.csv"
    first = read_police_uk(path)["crime_key"].tolist()
    import_crimes(gpkg_store, [path])
    before = gpkg_store.fingerprint()
    report = import_crimes(gpkg_store, [path])
    assert (report.imported, report.skipped) == (0, 27_176)
    assert report.reasons["already in the store"]["count"] == 27_176
    after = gpkg_store.fingerprint()
    assert after["crimes"] == before["crimes"] == 27_176
    assert after["lpt_imports"] == before["lpt_imports"] + 1
    assert read_police_uk(path)["crime_key"].tolist() == first
    stored = gpkg_store.read("crimes", ["crime_key"], order_by=["fid"])["crime_key"].tolist()
    assert stored == first


@pytest.mark.real_data
@pytest.mark.slow
def test_import_police_uk_leicestershire_folder_of_gz_months(gpkg_store, real):
    report = import_crimes(gpkg_store, [real / "leicester" / "crime"])
    assert len(report.files) == 35
    assert (report.read, report.imported, report.skipped) == (301_838, 301_838, 0)
    assert report.notes["no coordinates"]["count"] == 7_463
    assert _counts(gpkg_store) == (301_838, 33_364, 7_463)
    outlier = schema.table("crimes").c.is_outlier == 1
    flagged = gpkg_store.read("crimes", ["lsoa_name"], where=outlier)
    # SOURCES.md: 156 located rows are well outside the county; the file-centre rule (no
    # force boundary stored) flags the 114 furthest, e.g. all 37 in Wandsworth
    assert len(flagged) == 114
    assert flagged["lsoa_name"].str.startswith("Wandsworth").sum() == 37
    assert not flagged["lsoa_name"].str.startswith(("Leicester ", "Blaby ", "Charnwood ")).any()


# -- keys -----------------------------------------------------------------------------------

def test_crime_key_hashes_asb_rows_and_counts_identical_ones(tmp_path):
    frame = read_police_uk(_write(tmp_path / "c.csv", [HEADER, *ROWS]))
    text = "|".join(["2025-02", "Anti-social behaviour", "West Yorkshire Police", "-1.550626",
                     "53.797400", "On or near Swinegate", "E01033010", ""])
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    assert frame["crime_key"].tolist() == [
        "id:2025-02:c1", f"asb:{digest}:0", f"asb:{digest}:1", "id:2025-02:c2"]
    assert crime_key(frame).tolist() == frame["crime_key"].tolist()
    assert frame["line"].tolist() == [2, 3, 4, 5]


def test_crime_key_ignores_coordinate_formatting(tmp_path):
    a = read_police_uk(_write(tmp_path / "a.csv", [HEADER, ROWS[1]]))
    row = ROWS[1].replace("-1.550626", "-1.5506260").replace("2025-02", "Feb-25")
    b = read_police_uk(_write(tmp_path / "b.csv", [HEADER, row]))
    assert a["crime_key"].tolist() == b["crime_key"].tolist()


def test_import_police_uk_same_crime_id_in_two_months_keeps_both(store, tmp_path):
    a = _write(tmp_path / "a.csv", [HEADER, ROWS[0]])
    b = _write(tmp_path / "b.csv", [HEADER, ROWS[0].replace("2025-02", "2025-03")])
    report = import_crimes(store, [a, b])
    assert report.imported == 2
    keys = store.read("crimes", ["crime_key"], order_by=["crime_key"])["crime_key"].tolist()
    assert keys == ["id:2025-02:c1", "id:2025-03:c1"]


def test_import_police_uk_skips_a_file_given_twice_in_one_call(store, tmp_path):
    path = _write(tmp_path / "c.csv", [HEADER, *ROWS])
    report = import_crimes(store, [path, path])
    assert (report.read, report.imported, report.skipped) == (8, 4, 4)
    assert report.reasons["the same crime as an earlier row of this import"]["count"] == 4
    assert store.count("crimes") == 4


# -- small files: values, gz, folders, encodings ---------------------------------------------

def test_import_police_uk_small_file_values(store, tmp_path):
    path = _write(tmp_path / "c.csv", [HEADER, *ROWS])
    calls = []
    report = import_crimes(store, [path], progress=lambda f, m: calls.append(f))
    assert (report.read, report.imported) == (4, 4)
    assert report.notes["no coordinates"] == {"count": 1, "rows": [5]}
    assert calls[0] == 0.0 and calls[-1] == 1.0
    got = store.read("crimes", order_by=["fid"])
    first = got.iloc[0]
    assert (first.crime_id, first.month, first.category, first.outcome, first.lsoa_code) == (
        "c1", "2025-02", "Burglary", "Under investigation", "E01033010")
    assert (first.lat, first.lng) == (53.7996, -1.5491)
    x, y = lnglat_to_bng([-1.5491], [53.7996])
    assert (first.x, first.y) == pytest.approx((x[0], y[0]))
    assert first.cell == points_to_cells([53.7996], [-1.5491], 10)[0]
    assert first.geom.x == pytest.approx(first.x)
    assert got["outcome"].tolist()[1] is None  # empty text is stored as NULL
    assert got["source_file"].tolist() == ["c.csv"] * 4
    last = got.iloc[3]
    assert last.cell == 0 and pd.isna(last.lat) and pd.isna(last.x) and last.geom is None


def test_import_police_uk_reads_gz_and_folders_recursively(gpkg_store, tmp_path):
    sub = tmp_path / "crime" / "2025-02"
    sub.mkdir(parents=True)
    (sub / "2025-02-west-yorkshire-street.csv.gz").write_bytes(
        gzip.compress(("\n".join([HEADER, *ROWS]) + "\n").encode()))
    _write(tmp_path / "crime" / "2025-03.csv", [HEADER, ROWS[0].replace("2025-02", "2025-03")])
    report = import_crimes(gpkg_store, [tmp_path / "crime"])
    assert len(report.files) == 2
    assert report.imported == 5
    assert sorted(set(gpkg_store.read("crimes", ["month"])["month"])) == ["2025-02", "2025-03"]


def test_import_police_uk_reads_cp1252_with_encoding_option(store, tmp_path):
    path = _write(tmp_path / "c.csv", [HEADER, ROWS[0].replace("Park Row", "Café Row")], "cp1252")
    with pytest.raises(InputError, match=r"row 2: .*--encoding cp1252"):
        import_crimes(store, [path])
    import_crimes(store, [path], encoding="cp1252")
    assert store.read("crimes", ["location"])["location"].tolist() == ["On or near Café Row"]


def test_import_police_uk_metres_need_crs_27700(store, tmp_path):
    row = ROWS[0].replace("-1.549100,53.799600", "429931,433466")
    lng, lat = bng_to_lnglat([429931], [433466])
    path = _write(tmp_path / "c.csv", [HEADER, row])
    with pytest.raises(InputError, match=r"row 2, column 'Longitude'.*--crs 27700"):
        import_crimes(store, [path])
    import_crimes(store, [path], crs=27700)
    got = store.read("crimes", ["x", "y", "lat", "lng"])
    assert (got.x[0], got.y[0]) == (429931.0, 433466.0)
    assert (got.lng[0], got.lat[0]) == pytest.approx((lng[0], lat[0]))


def test_police_uk_accepts_category_slugs():
    assert CATEGORIES["criminal-damage-arson"] == "Criminal damage and arson"
    assert len(CATEGORIES) == 14


# -- corrupt input: precise errors, store unchanged -------------------------------------------

CORRUPT = {
    "non-numeric latitude": (
        lambda ls: [ls[0], ls[1], ls[2], ls[3].replace("53.797400", "53.79x"), ls[4]],
        r"c\.csv, row 4, column 'Latitude': value '53.79x': expected a latitude in degrees"),
    "latitude out of range": (
        lambda ls: [ls[0], ls[1].replace("53.799600", "95.1"), *ls[2:]],
        r"row 2, column 'Latitude': value '95.1': expected a latitude in degrees between -90"),
    "one coordinate missing": (
        lambda ls: [ls[0], ls[1].replace("53.799600", ""), *ls[2:]],
        r"row 2, column 'Latitude'.*expected both coordinates or neither"),
    "missing column": (
        lambda ls: [",".join(c for c in line.split(",")[:5] + line.split(",")[6:]) for line in ls],
        r"row 1: missing column 'Latitude'"),
    "truncated last line": (
        lambda ls: [*ls[:-1], ls[-1][:30]],
        r"row 5: \d+ fields, expected 12 \(a truncated line\?\)"),
    "unparseable month": (
        lambda ls: [ls[0], ls[1], ls[2].replace("2025-02", "2025-13"), *ls[3:]],
        r"row 3, column 'Month': value '2025-13': expected a month such as 2025-02"),
    "unknown crime type": (
        lambda ls: [ls[0], ls[1].replace("Burglary", "Burglery"), *ls[2:]],
        r"row 2, column 'Crime type': value 'Burglery': expected a police.uk crime type"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_import_police_uk_corrupt_file_raises_and_leaves_store_unchanged(store, tmp_path, case):
    edit, message = CORRUPT[case]
    good = _write(tmp_path / "a_good.csv", [HEADER, ROWS[0]])
    import_crimes(store, [_write(tmp_path / "earlier.csv", [HEADER, ROWS[3]])])
    before = store.fingerprint()
    bad = _write(tmp_path / "c.csv", edit([HEADER, *ROWS]))
    with pytest.raises(InputError, match=message):
        import_crimes(store, [good, bad])
    assert store.fingerprint() == before


def test_import_police_uk_cp1252_bytes_raise_with_row(store, tmp_path):
    good = _write(tmp_path / "a_good.csv", [HEADER, ROWS[0]])
    lines = [HEADER, *ROWS]
    lines[3] = lines[3].replace("Swinegate", "Swinegäte")
    bad = _write(tmp_path / "c.csv", lines, "cp1252")
    before = store.fingerprint()
    with pytest.raises(InputError, match=r"c\.csv, row 4: byte .* is not valid utf-8"):
        import_crimes(store, [good, bad])
    assert store.fingerprint() == before


def test_detect_format_rejects_an_unknown_header():
    with pytest.raises(InputError, match="not a recognised crime file"):
        detect_format(["foo", "bar"])


# -- outliers -------------------------------------------------------------------------------

def _scatter(n=40, seed=1):
    rng = np.random.default_rng(seed)
    lng = -1.55 + rng.uniform(-0.05, 0.05, n)
    lat = 53.80 + rng.uniform(-0.03, 0.03, n)
    return [f"k{i},2025-02,{WYP},{a:.6f},{b:.6f},On or near X,,,Drugs,,"
            for i, (a, b) in enumerate(zip(lng, lat, strict=True))]


def test_import_police_uk_flags_points_far_from_the_files_centre(store, tmp_path):
    rows = _scatter()
    rows.insert(10, f"far,2025-02,{WYP},-0.190000,51.460000,On or near Wandsworth,,,Drugs,,")
    report = import_crimes(store, [_write(tmp_path / "c.csv", [HEADER, *rows])])
    note = report.notes["far from the file's other points (stored with is_outlier = 1)"]
    assert note == {"count": 1, "rows": [12]}
    got = store.read("crimes", ["crime_id", "is_outlier"])
    assert got.loc[got.is_outlier == 1, "crime_id"].tolist() == ["far"]
    assert store.count("crimes") == 41


def test_import_police_uk_flags_points_outside_the_stored_force_area(store, tmp_path):
    # a 20 km square around Leeds centre (429931, 433466) as the force boundary
    square = shapely.box(419931, 423466, 439931, 443466)
    with store.begin() as conn:
        assert store.insert_new(conn, "areas", pd.DataFrame({
            "area_id": ["force:E23000010"], "level": ["force"], "code": ["E23000010"],
            "name": ["West Yorkshire"], "boundary_set": ["2024"],
            "geom": [shapely.MultiPolygon([square])]})) == 1
    lng, lat = bng_to_lnglat([429931, 440931, 444931], [433466, 433466, 433466])
    rows = [f"p{i},2025-02,{WYP},{a:.6f},{b:.6f},On or near X,,,Drugs,,"
            for i, (a, b) in enumerate(zip(lng, lat, strict=True))]
    report = import_crimes(store, [_write(tmp_path / "c.csv", [HEADER, *rows])])
    # p1 is 1 km outside (inside the 2 km buffer); p2 is 5 km outside
    assert report.notes["outside the force area (stored with is_outlier = 1)"]["rows"] == [4]
    got = store.read("crimes", ["crime_id", "is_outlier"], order_by=["crime_id"])
    assert got["is_outlier"].tolist() == [0, 0, 1]


def test_import_crimes_force_area_geometry_overrides(gpkg_store, tmp_path):
    rows = _scatter(5)
    report = import_crimes(gpkg_store, [_write(tmp_path / "c.csv", [HEADER, *rows])],
                           force_area=shapely.box(0, 0, 1000, 1000))
    assert report.notes["outside the force area (stored with is_outlier = 1)"]["count"] == 5


# -- force extract --------------------------------------------------------------------------

FORCE_HEADER = ("crime_reference,committed_from,ho_code,offence_description,easting,northing,"
                "outcome")
FORCE_ROWS = [
    "13/123456/24,2024-03-05 22:15,028E/01,Burglary - residential,429931,433466,No further action",
    "13/123457/24,05/03/2024 09:00,46,Shoplifting,430100,433500,Charged",
    "13/123458/24,2024-03-06T01:30:00,8M,Racially aggravated harassment,430200,433600,",
    "13/123459/24,2024-03-07,105A,Assault without injury,430300,433700,",
    "13/123460/24,2024-03-08 12:00,092D,Possession of cannabis,0,0,Community resolution",
    "13/123461/24,2024-03-09 12:00,999Z,Something new,430400,433800,",
]


def test_import_force_extract_maps_home_office_codes(store, tmp_path):
    path = _write(tmp_path / "extract.csv", [FORCE_HEADER, *FORCE_ROWS])
    assert detect_format(FORCE_HEADER.split(",")) == "force extract"
    report = import_crimes(store, [path])
    assert (report.read, report.imported) == (6, 6)
    assert report.notes["no coordinates"]["rows"] == [6]
    assert report.notes["unknown Home Office offence code (stored as Other crime)"]["rows"] == [7]
    got = store.read("crimes", order_by=["crime_id"])
    assert got["category"].tolist() == ["Burglary", "Shoplifting", "Violence and sexual offences",
                                        "Violence and sexual offences", "Drugs", "Other crime"]
    assert got["offence_code"].tolist() == ["028E/01", "46", "8M", "105A", "092D", "999Z"]
    assert got["crime_key"].tolist()[0] == "ref:13/123456/24"
    assert got["occurred_at"].tolist()[:4] == ["2024-03-05T22:15:00", "2024-03-05T09:00:00",
                                               "2024-03-06T01:30:00", "2024-03-07T00:00:00"]
    assert got["month"].tolist() == ["2024-03"] * 6
    assert (got.x[0], got.y[0]) == (429931.0, 433466.0)
    lng, lat = bng_to_lnglat([429931], [433466])
    assert (got.lng[0], got.lat[0]) == pytest.approx((lng[0], lat[0]))
    assert got.cell[4] == 0 and got.geom[4] is None
    again = import_crimes(store, [path])
    assert (again.imported, again.skipped) == (0, 6)


def test_force_extract_degrees_in_easting_columns_need_crs(tmp_path):
    path = _write(tmp_path / "e.csv", [FORCE_HEADER,
                                       FORCE_ROWS[0].replace("429931,433466", "-1.5491,53.7996")])
    with pytest.raises(InputError, match=r"row 2, column 'easting'.*--crs 4326"):
        read_crime_file(path)
    x, _ = lnglat_to_bng([-1.5491], [53.7996])
    assert read_crime_file(path, crs=4326)["x"].tolist() == pytest.approx([x[0]])


def test_force_extract_bad_date_names_row_and_column(tmp_path):
    path = _write(tmp_path / "e.csv", [FORCE_HEADER,
                                       FORCE_ROWS[1].replace("05/03/2024 09:00", "yesterday")])
    with pytest.raises(InputError, match=r"row 2, column 'committed_from': value 'yesterday'"):
        read_crime_file(path)


def test_offence_codes_to_categories_covers_the_main_classes():
    codes = ["1", "4.1", "5A", "8N", "105B", "19C", "34B", "28A", "30C", "45", "48", "39", "44",
             "46", "49", "58C", "56B", "92A", "10D", "9A", "62A", "33", "", "ABC"]
    cats, known = offence_codes_to_categories(codes)
    assert cats.tolist() == [
        *["Violence and sexual offences"] * 6, "Robbery", "Burglary", "Burglary",
        "Vehicle crime", "Vehicle crime", "Theft from the person", "Bicycle theft", "Shoplifting",
        "Other theft", "Criminal damage and arson", "Criminal damage and arson", "Drugs",
        "Possession of weapons", "Public order", "Public order", "Other crime", "Other crime",
        "Other crime"]
    assert known.tolist() == [True] * 22 + [False, False]


def test_every_import_gives_the_store_a_new_data_version(store, tmp_path):
    from spatial_core.io.imports import import_files
    from spatial_core.store.data_version import data_version

    path = _write(tmp_path / "d.csv", [HEADER, *ROWS])
    first = data_version(store)
    assert import_files(store, "crimes", [path]).imported == 4
    second = data_version(store)
    assert second != first  # the geoservice's caches drop what they hold
    assert import_files(store, "crimes", [path]).imported == 0
    assert data_version(store) not in (first, second)  # bumped all the same (see imports.py)
    bad = _write(tmp_path / "bad.csv", ["no,header,here", "1,2,3"])
    third = data_version(store)
    with pytest.raises(InputError):
        import_files(store, "crimes", [bad])
    assert data_version(store) == third  # a refused import changed nothing
