# SPDX-License-Identifier: GPL-3.0-or-later
"""Adversarial inputs for every importer, through ``imports.import_files`` and the CLI.

Each case is derived from one small valid file per kind. The standard: a corrupt file is
either read correctly (and the stored values are checked) or rejected with an InputError
naming the file, the row (file line, header = 1), the column and what was expected; a
rejection leaves ``store.fingerprint()`` unchanged, also when a valid file precedes the bad
one in the same call; re-importing a valid file adds nothing; the CLI exits 2 with one
line on stderr and no traceback.
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.io.imports import import_files

ROOT = Path(__file__).resolve().parents[2]
LPT = ROOT / ".venv" / "bin" / "lpt"


# -- the valid files ------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvKind:
    """A small valid CSV for one import kind and what it should store."""

    kind: str
    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    other: tuple[tuple[str, ...], ...]  # a second valid file with other keys
    table: str
    key: str  # stored key column
    keys: tuple[str, ...]  # stored keys of ``rows``
    key_col: str  # the file column holding the key
    required: str  # a required file column
    bad: tuple[str, str, str]  # (file column, bad value, message fragment)
    text: tuple[str, str, str] | None  # (file column, table, stored column) of free text
    latlng: tuple[str, str] | None = None  # (lat, lng) file columns
    options: dict = field(default_factory=dict)
    seed: Callable | None = None  # seed(store): what must be stored first

    def line(self, values) -> str:
        return ",".join(values)

    def text_(self, rows=None) -> str:
        rows = self.rows if rows is None else rows
        return "\n".join([self.line(self.header), *(self.line(r) for r in rows)]) + "\n"

    def col(self, name: str) -> int:
        return self.header.index(name)

    def with_value(self, row: int, column: str, value: str, rows=None):
        """Rows with the value of ``column`` replaced in data row ``row`` (0-based)."""
        rows = [list(r) for r in (self.rows if rows is None else rows)]
        rows[row][self.col(column)] = value
        return [tuple(r) for r in rows]


WYP = ("West Yorkshire Police", "West Yorkshire Police")
CRIMES = CsvKind(
    kind="crimes", file="2025-02-west-yorkshire-street.csv",
    header=("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
            "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
            "Context"),
    rows=(("c1", "2025-02", *WYP, "-1.549100", "53.799600", "On or near Park Row", "E01033010",
           "Leeds 111B", "Burglary", "Under investigation", ""),
          ("c2", "2025-02", *WYP, "-1.550626", "53.797400", "On or near Swinegate", "E01033010",
           "Leeds 111B", "Drugs", "Local resolution", ""),
          ("c3", "2025-02", *WYP, "-1.545000", "53.801000", "On or near Briggate", "E01033010",
           "Leeds 111B", "Shoplifting", "Under investigation", "")),
    other=(("c9", "2025-03", *WYP, "-1.548000", "53.798000", "On or near Boar Lane",
            "E01033010", "Leeds 111B", "Robbery", "Under investigation", ""),),
    table="crimes", key="crime_id", keys=("c1", "c2", "c3"), key_col="Crime ID",
    required="Month", bad=("Longitude", "east", "expected"),
    text=("Location", "crimes", "location"), latlng=("Latitude", "Longitude"),
)
POSTCODES = CsvKind(
    kind="postcodes", file="onspd_ls.csv",
    header=("pcds", "doterm", "oa21", "lat", "long", "remarks"),
    rows=(("LS1 1AZ", "", "E00187542", "53.796305", "-1.564126", ""),
          ("LS1 1BA", "", "E00187542", "53.797000", "-1.556300", ""),
          ("LS2 7EY", "", "E00187543", "53.806000", "-1.555000", "")),
    other=(("LS6 2AB", "", "E00187544", "53.820000", "-1.575000", ""),),
    table="postcodes", key="postcode", keys=("LS1 1AZ", "LS1 1BA", "LS2 7EY"), key_col="pcds",
    required="pcds", bad=("lat", "north", "expected"), text=None, latlng=("lat", "long"),
)
CLASSIFICATION = CsvKind(
    kind="classification", file="mosaic_postcodes.csv",
    header=("postcode", "mosaic_group", "mosaic_type", "mosaic_type_name"),
    rows=(("LS1 1AZ", "B", "B05", "Premium Fortunes"),
          ("LS1 1BA", "O", "O62", "Central Pulse"),
          ("LS2 7EY", "O", "O63", "Flexible Workforce")),
    other=(("LS6 2AB", "B", "B05", "Premium Fortunes"),),
    table="classifications", key="key", keys=("LS1 1AZ", "LS1 1BA", "LS2 7EY"),
    key_col="postcode", required="postcode", bad=("postcode", "not a postcode", "postcode"),
    text=("mosaic_type_name", "class_codes", "name"),
)
ADDRESSES = CsvKind(
    kind="addresses", file="osopenuprn_202501.csv",
    header=("UPRN", "X_COORDINATE", "Y_COORDINATE", "LATITUDE", "LONGITUDE", "remarks"),
    rows=(("72001234", "429931.00", "433466.00", "53.7966461", "-1.5470885", ""),
          ("72001235", "430010.50", "433500.25", "53.7969493", "-1.5458783", ""),
          ("72001236", "431500.00", "434200.00", "53.8031507", "-1.5231950", "")),
    other=(("72001299", "430500.00", "433900.00", "53.8003000", "-1.5390000", ""),),
    table="addresses", key="uprn", keys=("72001234", "72001235", "72001236"), key_col="UPRN",
    required="UPRN", bad=("X_COORDINATE", "east", "expected"), text=None,
    latlng=("LATITUDE", "LONGITUDE"),
)
MEMBERS = CsvKind(
    kind="members", file="members.csv",
    header=("member_id", "name", "uprn", "postcode", "latitude", "longitude", "joined"),
    rows=(("M1", "Alice Smith", "", "LS1 1AA", "53.7966", "-1.5470", "2024-01-02"),
          ("M2", "Bob Jones", "", "LS1 1AA", "53.7970", "-1.5460", "2024-02-03"),
          ("M3", "Carol King", "", "LS2 2BB", "53.8030", "-1.5230", "2024-03-04")),
    other=(("M9", "Zed Ward", "", "LS6 2AB", "53.8200", "-1.5750", "2024-05-06"),),
    table="members", key="member_id", keys=("M1", "M2", "M3"), key_col="member_id",
    required="member_id", bad=("joined", "yesterday", "expected"),
    text=("name", "members", "name"), latlng=("latitude", "longitude"),
)
SURVEYS = CsvKind(
    kind="surveys", file="surveys.csv",
    header=("response_id", "date", "channel", "postcode", "latitude", "longitude", "priorities",
            "confidence", "comments"),
    rows=(("R1", "2025-01-15", "online", "LS1 1AA", "53.7966", "-1.5470", "Speeding;Drugs",
           "Strongly agree", "Cars race"),
          ("R2", "2025-01-16", "Door knock", "LS2 2BB", "53.8030", "-1.5230", "Burglary", "2",
           ""),
          ("R3", "2025-01-17", "Staff", "LS1 1AA", "53.7970", "-1.5460", "Other", "", "")),
    other=(("R9", "2025-01-20", "online", "LS6 2AB", "53.8200", "-1.5750", "Drugs", "3", ""),),
    table="surveys", key="response_id", keys=("R1", "R2", "R3"), key_col="response_id",
    required="date", bad=("date", "yesterday", "expected"),
    text=("comments", "surveys", "free_text"), latlng=("latitude", "longitude"),
)
VISITS = CsvKind(
    kind="visits", file="visits.csv",
    header=("visit_id", "uprn", "visited_at", "officer", "outcome", "notes"),
    rows=(("V1", "1001", "2025-02-14T10:30:00", "PC Smith", "registered", "Keen on NHW"),
          ("V2", "1002", "2025-02-14T10:45:00", "PCSO Jones", "not in", "card left"),
          ("V3", "1003", "2025-02-14T11:00:00", "PCSO Jones", "declined", "")),
    other=(("V9", "1009", "2025-02-15T09:00:00", "PC Smith", "spoke", ""),),
    table="visits", key="visit_id", keys=("V1", "V2", "V3"), key_col="visit_id",
    required="uprn", bad=("visited_at", "yesterday", "expected"),
    text=("notes", "visits", "notes"),
    seed=lambda store: _seed_addresses(store, ["1001", "1002", "1003", "1009"]),
)


def _seed_addresses(store, uprns) -> None:
    x = 430000.0 + 10.0 * np.arange(len(uprns))
    y = np.full(len(uprns), 433500.0)
    lng, lat = bng_to_lnglat(x, y)
    frame = pd.DataFrame({"uprn": uprns, "postcode": "LS1 1AA", "lat": lat, "lng": lng, "x": x,
                          "y": y, "cell": points_to_cells(lat, lng, store.h3_resolution),
                          "geom": shapely.points(x, y)})
    with store.begin() as conn:
        store.insert_new(conn, "addresses", frame)
CSV_KINDS = [CRIMES, POSTCODES, CLASSIFICATION, ADDRESSES, MEMBERS, SURVEYS, VISITS]
ALL_KINDS = [k.kind for k in CSV_KINDS] + ["boundaries", "streets"]


# -- cases ----------------------------------------------------------------------------------

@dataclass
class Case:
    """One corrupt input: the bytes to write and what must happen."""

    data: bytes | None = None  # None: a special case built by ``make``
    ok: bool = False
    row: int | None = None  # expected row in the message (rejections)
    column: str | None = None  # expected column in the message (rejections)
    fragments: tuple[str, ...] = ("expected",)
    check: Callable | None = None  # check(store, report) when read correctly
    options: dict = field(default_factory=dict)
    name: str | None = None  # file name (default the kind's)
    make: Callable | None = None  # make(tmp_path) -> list of paths (special cases)
    allow_skip: bool = False  # a duplicate may be skipped with a reason instead


def _enc(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _stored(store, spec: CsvKind, column: str | None = None) -> list:
    frame = store.read(spec.table)
    if spec.table == "classifications":
        frame = frame[frame["key_type"] == "postcode"]
    return sorted(frame[column or spec.key].tolist(), key=str)


def _keys_are(expected):
    def check(store, report, spec):
        assert tuple(_stored(store, spec)) == tuple(expected)
    return check


def _value_is(column: str, expected: list):
    def check(store, report, spec):
        frame = store.read(spec.table).sort_values(spec.key)
        assert frame[column].tolist() == expected
    return check


def _text_stored(value: str):
    def check(store, report, spec):
        assert tuple(_stored(store, spec)) == spec.keys
        if spec.text:
            _, table, column = spec.text
            assert value in store.read(table)[column].tolist()
    return check


def _no_location_at_zero(store, report, spec):
    """0,0 must not be stored as a point at Null Island: no location (noted) or rejected."""
    frame = store.read(spec.table)
    assert len(frame) + report.skipped == len(spec.rows)
    assert not ((frame["lat"].fillna(99).abs() < 1) & (frame["lng"].fillna(99).abs() < 1)).any()
    assert report.notes or report.reasons, "0,0 coordinates must be reported"


def csv_cases(spec: CsvKind) -> dict[str, Case]:
    h = spec.line(spec.header)
    valid = spec.text_()
    lines = valid.splitlines()
    n = len(spec.rows)
    cases: dict[str, Case] = {
        "empty file": Case(b"", row=None),
        "header only": Case(_enc(h + "\n"), ok=True, check=_keys_are(())),
        "byte-order mark": Case(b"\xef\xbb\xbf" + _enc(valid), ok=True,
                                check=_keys_are(spec.keys)),
        "CRLF line endings": Case(_enc(valid.replace("\n", "\r\n")), ok=True,
                                  check=_keys_are(spec.keys)),
        "trailing blank line": Case(_enc(valid + "\n"), ok=True, check=_keys_are(spec.keys)),
        "missing column": Case(_enc("\n".join(
            ",".join(v for i, v in enumerate(line.split(",")) if i != spec.col(spec.required))
            for line in lines) + "\n"), row=1, fragments=("missing", "expected")),
        "extra column at the end of one row": Case(
            _enc("\n".join([lines[0], lines[1] + ",surplus", *lines[2:]]) + "\n"), row=2,
            fragments=("expected",)),
        "extra column at the end of a middle row": Case(
            _enc("\n".join([*lines[:2], lines[2] + ",surplus", *lines[3:]]) + "\n"), row=3,
            fragments=("expected",)),
        "truncated last line": Case(
            _enc("\n".join([*lines[:-1], ",".join(lines[-1].split(",")[:2])[:-1]])),
            row=n + 1, fragments=("expected", "truncated")),
        "NUL byte": Case(_enc(valid.replace(lines[2], lines[2][:3] + "\x00" + lines[2][3:])),
                         row=3, fragments=("NUL",)),
        "bad value": Case(_enc(spec.text_(spec.with_value(n - 1, spec.bad[0], spec.bad[1]))),
                          row=n + 1, column=spec.bad[0], fragments=(spec.bad[2],)),
        "gzip truncated": Case(gzip.compress(_enc(valid * 200))[:-40],
                               name=spec.file + ".gz", fragments=("truncated",)),
        "folder without files": Case(make=lambda tmp: [_mkdir(tmp / "empty_folder")],
                                     fragments=("no files",)),
        "missing file": Case(make=lambda tmp: [tmp / "no_such_file.csv"],
                             fragments=("not found",)),
        "same file given twice in one call": Case(
            make=lambda tmp, s=spec: [_write(tmp / s.file, _enc(s.text_())), tmp / s.file],
            ok=True, check=_keys_are(spec.keys)),
    }
    text_col = spec.text[0] if spec.text else "remarks"
    quoted = spec.with_value(0, text_col, '"Line one, and\nline two"')
    cases["quoted field with newline and comma"] = Case(
        _enc(spec.text_(quoted)), ok=True, check=_text_stored("Line one, and\nline two"))
    cases["quoted newline then a bad value (line numbers)"] = Case(
        _enc(spec.text_(spec.with_value(n - 1, spec.bad[0], spec.bad[1], rows=quoted))),
        row=n + 2, column=spec.bad[0], fragments=(spec.bad[2],))
    cp = spec.with_value(1, text_col, "Café £5")
    cases["cp1252 bytes"] = Case(_enc(spec.text_(cp), "cp1252"), row=3,
                                 fragments=("--encoding", "cp1252", "expected"))
    cases["cp1252 bytes with encoding=cp1252"] = Case(
        _enc(spec.text_(cp), "cp1252"), ok=True, options={"encoding": "cp1252"},
        check=_text_stored("Café £5"))
    # duplicate key within the file: the last row takes the first row's key
    dup = spec.with_value(n - 1, spec.key_col, spec.rows[0][spec.col(spec.key_col)])
    cases["duplicate key within a file"] = Case(
        _enc(spec.text_(dup)), row=n + 1, column=spec.key_col, allow_skip=True,
        fragments=("2",))
    cases["duplicate key across two files"] = Case(
        make=lambda tmp, s=spec: [
            _write(tmp / ("a_" + s.file), _enc(s.text_())),
            _write(tmp / ("b_" + s.file), _enc(s.text_(s.with_value(
                0, s.bad[0] if s.bad[0] != s.key_col else s.header[-1],
                s.rows[1][s.col(s.bad[0])] if s.bad[0] != s.key_col else "x",
                rows=[s.rows[0]]))))],
        row=2, column=spec.key_col, allow_skip=True, fragments=("a_" + spec.file,))
    if spec.latlng:
        lat, lng = spec.latlng
        swapped = [list(r) for r in spec.rows]
        for r in swapped:
            r[spec.col(lat)], r[spec.col(lng)] = r[spec.col(lng)], r[spec.col(lat)]
        cases["coordinates swapped"] = Case(_enc(spec.text_(swapped)), row=2,
                                            fragments=("expected",))
        bng = [list(r) for r in spec.rows]
        for r in bng:
            r[spec.col(lat)], r[spec.col(lng)] = "433466", "429931"
        cases["BNG metres in lat/lng"] = Case(_enc(spec.text_(bng)), fragments=("--crs 27700",))
        zero = spec.with_value(1, lat, "0", rows=spec.with_value(1, lng, "0"))
        cases["0,0 coordinates"] = Case(_enc(spec.text_(zero)), ok=True,
                                        check=_no_location_at_zero, row=3)
        for text in ("NaN", "#VALUE!", "inf"):
            cases[f"{text} as a latitude"] = Case(
                _enc(spec.text_(spec.with_value(1, lat, text))), row=3, column=lat)
    if spec.kind == "addresses":  # X/Y columns win; lat/lng are range-checked per cell
        cases["coordinates swapped"] = Case(cases["coordinates swapped"].data, ok=True,
                                            check=_keys_are(spec.keys))
        cases["BNG metres in lat/lng"] = Case(cases["BNG metres in lat/lng"].data, row=2,
                                              column="LATITUDE")
        cases["0,0 coordinates"] = Case(cases["0,0 coordinates"].data, ok=True,
                                        check=_keys_are(spec.keys))
    cases.update(EXCEL.get(spec.kind, lambda s: {})(spec))
    return cases


def _excel_crimes(spec):
    def month(value):
        rows = spec.rows
        for i in range(len(rows)):
            rows = spec.with_value(i, "Month", value, rows=rows)
        return _enc(spec.text_(rows))
    return {
        "Excel month Feb-25": Case(month("Feb-25"), ok=True,
                                   check=_value_is("month", ["2025-02"] * 3)),
        "Excel month 01/02/2025": Case(month("01/02/2025"), ok=True,
                                       check=_value_is("month", ["2025-02"] * 3)),
        "month 2025-13": Case(month("2025-13"), row=2, column="Month"),
    }


def _excel_postcodes(spec):
    return {"Excel postcode ls11az": Case(_enc(spec.text_(spec.with_value(0, "pcds", "ls11az"))),
                                          ok=True, check=_keys_are(spec.keys))}


def _excel_classification(spec):
    return {"Excel postcode ls11az": Case(
        _enc(spec.text_(spec.with_value(0, "postcode", " ls11az"))), ok=True,
        check=_keys_are(spec.keys))}


def _excel_addresses(spec):
    return {
        "Excel UPRN 1.00023E+11": Case(
            _enc(spec.text_(spec.with_value(1, "UPRN", "1.00023E+11"))), row=3, column="UPRN"),
        "Excel UPRN lost leading zeros kept as number": Case(
            _enc(spec.text_(spec.with_value(0, "UPRN", "0072001234"))), ok=True,
            check=_keys_are(spec.keys)),
    }


def _excel_members(spec):
    return {
        "Excel UPRN 1.00023E+11": Case(
            _enc(spec.text_(spec.with_value(1, "uprn", "1.00023E+11"))), row=3, column="uprn"),
        "Excel postcode ls11aa": Case(
            _enc(spec.text_(spec.with_value(0, "postcode", "ls11aa"))), ok=True,
            check=_value_is("postcode", ["LS1 1AA", "LS1 1AA", "LS2 2BB"])),
        "Excel date 01/02/2025": Case(
            _enc(spec.text_(spec.with_value(0, "joined", "01/02/2025"))), ok=True,
            check=_value_is("joined", ["2025-02-01", "2024-02-03", "2024-03-04"])),
        "Excel month Feb-25 as a date": Case(
            _enc(spec.text_(spec.with_value(1, "joined", "Feb-25"))), row=3, column="joined"),
    }


def _excel_surveys(spec):
    return {
        "Excel date 01/02/2025": Case(
            _enc(spec.text_(spec.with_value(0, "date", "01/02/2025"))), ok=True,
            check=_value_is("responded", ["2025-02-01", "2025-01-16", "2025-01-17"])),
        "Excel month Feb-25 as a date": Case(
            _enc(spec.text_(spec.with_value(1, "date", "Feb-25"))), row=3, column="date"),
        "Excel postcode ls22bb": Case(
            _enc(spec.text_(spec.with_value(1, "postcode", "ls22bb"))), ok=True,
            check=_value_is("postcode", ["LS1 1AA", "LS2 2BB", "LS1 1AA"])),
    }


def _excel_visits(spec):
    return {
        "Excel UPRN 1.001E+03": Case(
            _enc(spec.text_(spec.with_value(1, "uprn", "1.001E+03"))), row=3, column="uprn"),
        "Excel UPRN with lost leading zeros": Case(
            _enc(spec.text_(spec.with_value(1, "uprn", "0001002"))), ok=True,
            check=_value_is("uprn", ["1001", "1002", "1003"])),
        "Excel date-time 14/02/2025 10:30": Case(
            _enc(spec.text_(spec.with_value(0, "visited_at", "14/02/2025 10:30"))), ok=True,
            check=_value_is("visited_at", ["2025-02-14T10:30:00", "2025-02-14T10:45:00",
                                           "2025-02-14T11:00:00"])),
        "Excel month Feb-25 as a date": Case(
            _enc(spec.text_(spec.with_value(1, "visited_at", "Feb-25"))), row=3,
            column="visited_at"),
    }


EXCEL = {"crimes": _excel_crimes, "postcodes": _excel_postcodes,
         "classification": _excel_classification, "addresses": _excel_addresses,
         "members": _excel_members, "surveys": _excel_surveys, "visits": _excel_visits}


def _mkdir(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    (path / "readme.txt").write_text("nothing to import here\n")
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- geo files ------------------------------------------------------------------------------

X0, Y0 = 430000.0, 433000.0


def _square(x0, y0, size=1000.0):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def _feature_collection(features, crs: int | None = 27700) -> bytes:
    doc: dict = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    return json.dumps(doc).encode()


def _polygon(ring):
    return {"type": "Polygon", "coordinates": [ring]}


def _line(coords):
    return {"type": "LineString", "coordinates": coords}


def _degrees(ring):
    xy = np.asarray(ring, float)
    lng, lat = bng_to_lnglat(xy[:, 0], xy[:, 1])
    return [[round(a, 7), round(b, 7)] for a, b in zip(lng, lat, strict=True)]


@dataclass(frozen=True)
class GeoKind:
    kind: str
    table: str
    key: str
    make_geom: Callable  # (i) -> BNG geometry dict for feature i
    props: Callable  # (i) -> properties for feature i
    keys: tuple[str, ...]
    to_degrees: Callable
    options: dict = field(default_factory=dict)


BOUNDARIES = GeoKind(
    kind="boundaries", table="areas", key="code",
    make_geom=lambda i: _polygon(_square(X0 + 1000 * i, Y0)),
    props=lambda i: {"code": f"B{i + 1}", "name": f"Beat {i + 1}"},
    keys=("B1", "B2", "B3"),
    to_degrees=lambda g: _polygon(_degrees(g["coordinates"][0])),
)
STREETS = GeoKind(
    kind="streets", table="streets", key="name",
    make_geom=lambda i: _line([[X0, Y0 + 300 * i], [X0 + 120, Y0 + 300 * i]]),
    props=lambda i: {"osm_id": i + 1, "name": ["Kirkgate", "Oak Road", "Elm Street"][i],
                     "highway": "residential"},
    keys=("Elm Street", "Kirkgate", "Oak Road"),
    to_degrees=lambda g: _line(_degrees(g["coordinates"])),
)
OA_CLASSES = GeoKind(
    kind="classification", table="classifications", key="key",
    make_geom=lambda i: _polygon(_square(X0 + 1000 * i, Y0)),
    props=lambda i: {"oa_code": f"E0000000{i + 1}", "subgrpcode": ["3c2", "7a1", "2b2"][i]},
    keys=("E00000001", "E00000002", "E00000003"),
    to_degrees=lambda g: _polygon(_degrees(g["coordinates"][0])),
    options={"scheme": "oac2011"},
)
GEO_KINDS = [BOUNDARIES, STREETS, OA_CLASSES]


def _features(spec: GeoKind, n=3, geoms=None, offset=0):
    return [(spec.props(i), (geoms or {}).get(i, spec.make_geom(i + offset) if offset else
                                             spec.make_geom(i))) for i in range(n)]


def _geo_stored(store, spec: GeoKind) -> tuple:
    return tuple(sorted(store.read(spec.table)[spec.key].tolist()))


def geo_cases(spec: GeoKind) -> dict[str, Case]:
    valid = _feature_collection(_features(spec))
    keys = _keys_geo(spec.keys)
    degrees = [(p, spec.to_degrees(g)) for p, g in _features(spec)]
    cases = {
        "empty file": Case(b"", name="x.geojson", fragments=("x.geojson",)),
        "truncated GeoJSON": Case(valid[: len(valid) // 2], name="x.geojson",
                                  fragments=("x.geojson", "cannot read")),
        "NUL bytes": Case(b"\x00" * 64, name="x.geojson", fragments=("x.geojson",)),
        "no CRS, BNG metres": Case(_feature_collection(_features(spec), crs=None),
                                   name="x.geojson", fragments=("--crs 27700",)),
        "no CRS, BNG metres with crs=27700": Case(
            _feature_collection(_features(spec), crs=None), name="x.geojson", ok=True,
            options={"crs": 27700}, check=keys),
        "no CRS, degrees (GeoJSON default WGS84)": Case(
            _feature_collection(degrees, crs=None), name="x.geojson", ok=True, check=keys),
        "labelled WGS84, BNG metres": Case(_feature_collection(_features(spec), crs=4326),
                                           name="x.geojson", fragments=("--crs 27700",)),
        "labelled BNG, degrees": Case(_feature_collection(degrees, crs=27700),
                                      name="x.geojson", fragments=("degrees",)),
        "folder without files": Case(make=lambda tmp: [_mkdir(tmp / "empty_folder")],
                                     fragments=("empty_folder",)),
        "BNG with a GeoJSON file given twice": Case(
            make=lambda tmp, v=valid: [_write(tmp / "x.geojson", v), tmp / "x.geojson"],
            ok=True, check=keys, allow_skip=True),
    }
    if spec.kind == "streets":
        cases["one-point line"] = Case(_feature_collection(_features(spec, geoms={
            1: _line([[X0, Y0 + 300]])})), name="x.geojson", row=2, column="geometry",
            fragments=("x.geojson", "row 2 (osm_id '2')", "expected a line of at least 2 "
                       "points; the line has only 1 point"))
        cases["line with NaN coordinate text"] = Case(valid.replace(
            f"[{X0 + 120}, {Y0 + 300}]".encode(), b'["NaN", "NaN"]'), name="x.geojson",
            fragments=("x.geojson",), allow_skip=True)
    else:
        bowtie = [[X0, Y0], [X0 + 1000, Y0 + 1000], [X0 + 1000, Y0], [X0, Y0 + 1000], [X0, Y0]]
        cases["self-intersecting polygon is repaired"] = Case(
            _feature_collection(_features(spec, geoms={0: _polygon(bowtie)})),
            name="x.geojson", ok=True, check=keys)
        cases["unclosed ring"] = Case(_feature_collection(_features(spec, geoms={
            1: _polygon(_square(X0 + 1000, Y0)[:-1])})), name="x.geojson", row=2,
            column="geometry", fragments=("x.geojson", "expected a polygon with at least 4 points",
                                          "a ring is not closed"))
        cases["ring of two points"] = Case(_feature_collection(_features(spec, geoms={
            1: _polygon([[X0, Y0], [X0 + 10, Y0]])})), name="x.geojson", row=2,
            column="geometry", fragments=("x.geojson", "expected a polygon with at least 4 points",
                                          "a ring is not closed"))
        cases["polygon at 0,0 labelled WGS84"] = Case(_feature_collection(_features(spec, geoms={
            1: _polygon([[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]])}),
            crs=4326), name="x.geojson", fragments=("x.geojson",))
        code = "code" if spec.kind == "boundaries" else "oa_code"
        dup = _features(spec)
        dup[2] = ({**dup[2][0], code: dup[0][0][code]}, dup[2][1])
        cases["duplicate key within a file"] = Case(
            _feature_collection(dup), name="x.geojson", row=1,
            fragments=("more than once", "x.geojson row 3"))
    cases["GPKG with several layers"] = Case(make=lambda tmp, s=spec: [_gpkg(tmp, s, 2)],
                                             fragments=("layer",))
    cases["GPKG with one layer"] = Case(make=lambda tmp, s=spec: [_gpkg(tmp, s, 1)], ok=True,
                                        check=keys)
    return cases


def _keys_geo(expected):
    def check(store, report, spec):
        assert _geo_stored(store, spec) == tuple(expected)
    return check


def _gpkg(tmp: Path, spec: GeoKind, layers: int) -> Path:
    path = tmp / "layers.gpkg"
    for j in range(layers):
        feats = _features(spec)
        frame = gpd.GeoDataFrame([p for p, _ in feats],
                                 geometry=[shapely.geometry.shape(g) for _, g in feats],
                                 crs=27700)
        frame.to_file(path, layer=f"layer{j + 1}", driver="GPKG")
    return path


# -- the harness ----------------------------------------------------------------------------

def _paths(tmp_path: Path, case: Case, default_name: str) -> list[Path]:
    if case.make is not None:
        return case.make(tmp_path)
    return [_write(tmp_path / (case.name or default_name), case.data)]


def _run_case(store, tmp_path, kind: str, spec, case: Case, default_name: str):
    if getattr(spec, "seed", None):
        spec.seed(store)
    paths = _paths(tmp_path, case, default_name)
    before = store.fingerprint()
    options = {**spec.options, **case.options}
    try:
        report = import_files(store, kind, paths, **options)
    except InputError as exc:
        assert not case.ok or case.check is _no_location_at_zero, (
            f"expected the file to be read, got: {exc}")
        _assert_message(exc, paths, case)
        assert store.fingerprint() == before
        return exc
    assert case.ok or case.allow_skip, f"expected an InputError, got {report.summary()}"
    if case.allow_skip and not case.ok:
        assert report.skipped >= 1 and report.reasons, report.summary()
        return report
    case.check(store, report, spec)
    after = store.fingerprint()
    again = import_files(store, kind, paths, **options)  # (c) a re-import adds nothing
    assert again.imported == 0
    assert store.fingerprint()[spec.table] == after[spec.table]
    return report


def _assert_message(exc: InputError, paths: list[Path], case: Case) -> None:
    text = str(exc)
    assert "\n" not in text.strip() or "Line one" in text, text
    assert any(p.name in text for p in paths), f"no file name in: {text}"
    if case.row is not None:
        assert exc.row == case.row, text
        assert f"row {case.row}" in text
    if case.column is not None:
        assert case.column in text, text
    for fragment in case.fragments:
        assert fragment in text, f"{fragment!r} not in: {text}"


CSV_PARAMS = [pytest.param(spec, name, id=f"{spec.kind}-{name}")
              for spec in CSV_KINDS for name in csv_cases(spec)]
GEO_PARAMS = [pytest.param(spec, name, id=f"{spec.kind}-{name}")
              for spec in GEO_KINDS for name in geo_cases(spec)]


@pytest.mark.parametrize("spec, name", CSV_PARAMS)
def test_csv_importer_corrupt_input_is_read_or_rejected_precisely(gpkg_store, tmp_path, spec,
                                                                  name):
    case = csv_cases(spec)[name]
    _run_case(gpkg_store, tmp_path, spec.kind, spec, case, spec.file)


@pytest.mark.parametrize("spec, name", GEO_PARAMS)
def test_geo_importer_corrupt_input_is_read_or_rejected_precisely(gpkg_store, tmp_path, spec,
                                                                  name):
    case = geo_cases(spec)[name]
    _run_case(gpkg_store, tmp_path, spec.kind, spec, case, "x.geojson")


REJECTIONS = ("extra column at the end of one row", "cp1252 bytes", "bad value")


@pytest.mark.parametrize("spec", CSV_KINDS, ids=lambda s: s.kind)
def test_rejection_after_a_valid_file_in_the_same_call_changes_nothing(store, tmp_path, spec):
    """A valid file first, a bad one second: nothing of the first is stored (both back ends)."""
    if spec.seed:
        spec.seed(store)
    first = _write(tmp_path / "first.csv", _enc(spec.text_()))
    import_files(store, spec.kind, [first], **spec.options)
    good = _write(tmp_path / "good.csv", _enc(spec.text_(spec.other)))
    cases = csv_cases(spec)
    for name in REJECTIONS:
        before = store.fingerprint()
        bad = _write(tmp_path / f"bad_{name.replace(' ', '_')}.csv", cases[name].data)
        with pytest.raises(InputError) as err:
            import_files(store, spec.kind, [good, bad], **spec.options)
        _assert_message(err.value, [bad], cases[name])
        assert store.fingerprint() == before, name
    again = import_files(store, spec.kind, [first], **spec.options)
    assert again.imported == 0 and again.skipped == len(spec.rows)
    assert tuple(_stored(store, spec)) == spec.keys


@pytest.mark.parametrize("spec", GEO_KINDS, ids=lambda s: s.kind)
def test_geo_rejection_after_a_valid_file_changes_nothing(store, tmp_path, spec):
    first = _write(tmp_path / "first.geojson", _feature_collection(_features(spec)))
    import_files(store, spec.kind, [first], **spec.options)
    before = store.fingerprint()
    good = _write(tmp_path / "good.geojson", _feature_collection(
        [({**p, **_other_key(spec)}, g) for p, g in _features(spec, n=1, offset=5)]))
    bad = _write(tmp_path / "bad.geojson", _feature_collection(_features(spec), crs=4326))
    with pytest.raises(InputError, match="bad.geojson"):
        import_files(store, spec.kind, [good, bad], **spec.options)
    assert store.fingerprint() == before
    again = import_files(store, spec.kind, [first], **spec.options)
    assert again.imported == 0
    # only the import log grows: a re-import is recorded, its rows are not stored again
    assert {k: v for k, v in store.fingerprint().items() if k != "lpt_imports"} == {
        k: v for k, v in before.items() if k != "lpt_imports"}


def _other_key(spec: GeoKind) -> dict:
    return {"boundaries": {"code": "B9"}, "streets": {"name": "Far Lane", "osm_id": 99},
            "classification": {"oa_code": "E00000099"}}[spec.kind]


# -- the command line -----------------------------------------------------------------------

CLI_CASES = [(spec, name) for spec in CSV_KINDS
             for name in ("empty file", "cp1252 bytes", "truncated last line")]
CLI_CASES += [(spec, name) for spec in GEO_KINDS if spec.kind != "classification"
              for name in ("truncated GeoJSON", "no CRS, BNG metres")]


@pytest.mark.parametrize("spec, name", [pytest.param(s, n, id=f"{s.kind}-{n}")
                                        for s, n in CLI_CASES])
def test_cli_import_bad_file_exits_2_with_one_line(tmp_path, spec, name):
    cases = csv_cases(spec) if isinstance(spec, CsvKind) else geo_cases(spec)
    case = cases[name]
    default = spec.file if isinstance(spec, CsvKind) else "x.geojson"
    paths = _paths(tmp_path, case, default)
    store = tmp_path / "cli.gpkg"
    options = [f"--{k.replace('_', '-')}={v}" for k, v in spec.options.items()]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([str(LPT), "--store", str(store), "import", spec.kind,
                             *map(str, paths), *options],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert len(err.splitlines()) == 1, result.stderr
    assert err.startswith("lpt: error: ") and paths[0].name in err, err


def test_cli_encoding_option_reads_cp1252(tmp_path):
    spec = CRIMES
    case = csv_cases(spec)["cp1252 bytes"]
    path = _write(tmp_path / spec.file, case.data)
    store = tmp_path / "cli.gpkg"
    result = subprocess.run([str(LPT), "--store", str(store), "import", "crimes", str(path),
                             "--encoding", "cp1252", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
