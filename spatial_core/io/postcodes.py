# SPDX-License-Identifier: GPL-3.0-or-later
"""Import postcode centroids: ONS Postcode Directory style files and OS Code-Point Open.

Two layouts are recognised from the first line of each file:

- **Code-Point Open** has no header: ``Postcode, Positional_quality_indicator, Eastings,
  Northings, Country_code, NHS_regional_HA_code, NHS_HA_code, Admin_county_code,
  Admin_district_code, Admin_ward_code`` in British National Grid. A Code-Point file with
  that header is read too.
- **ONS Postcode Directory** (ONSPD, NSPL and similar extracts) has a header: ``pcds`` (or
  ``pcd``, ``pcd2``, ``postcode``), ``oseast1m``/``osnrth1m`` and/or ``lat``/``long``,
  ``oa21``/``oa11``, ``lsoa21``/``lsoa11``, ``osward``, ``oslaua``, ``doterm``, ``osgrdind``.

Postcodes are normalised (``ls11az`` → ``LS1 1AZ``); a value that is not a postcode is an
error naming its row. Rows without coordinates (Code-Point easting 0, ONSPD latitude 99.999999
or empty grid references) are skipped and reported, since a postcode centroid is only useful
with a location. ``docs/formats/postcodes.md`` lists every accepted column name.
"""
from __future__ import annotations

import gzip
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import STORE_SRID, WGS84
from spatial_core.io.imports import (
    ImportReport,
    Progress,
    run_import,
    skip_rows,
    skip_stored,
)
from spatial_core.io.locations import parse_points
from spatial_core.io.sources import (
    CsvTable,
    normalise_postcodes,
    parse_int,
    read_csv_table,
)

__all__ = ["CODEPOINT_COLUMNS", "import_postcodes"]

log = logging.getLogger(__name__)

CODEPOINT_COLUMNS = (
    "Postcode", "Positional_quality_indicator", "Eastings", "Northings", "Country_code",
    "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code", "Admin_district_code",
    "Admin_ward_code",
)
"""Code-Point Open's columns, in file order (the files have no header line)."""

_POSTCODE = ("pcds", "pcd", "pcd2", "pcd7", "pcd8", "postcode", "post_code", "postcode_unit")
_OPTIONAL: dict[str, Sequence[str]] = {
    "x": ("oseast1m", "eastings", "easting", "east", "x"),
    "y": ("osnrth1m", "northings", "northing", "north", "y"),
    "lat": ("lat", "latitude"),
    "lng": ("long", "lng", "lon", "longitude"),
    "quality": ("positional_quality_indicator", "osgrdind", "pqi", "quality"),
    "oa_code": ("oa21", "oa21cd", "oa11", "oa11cd", "oa01", "oa_code", "output_area"),
    "lsoa_code": ("lsoa21", "lsoa21cd", "lsoa11", "lsoa11cd", "lsoa01", "lsoa_code", "lsoa"),
    "ward_code": ("osward", "admin_ward_code", "ward_code", "wd_code", "ward"),
    "district_code": ("oslaua", "admin_district_code", "laua", "district_code", "lad_code",
                      "local_authority_code"),
    "terminated": ("doterm", "date_of_termination", "terminated"),
}


def _first_line(path: Path, encoding: str | None) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:  # type: ignore[operator]
            raw = fh.readline(4096)
    except (OSError, EOFError):
        return ""  # read_csv_table reports the damage with its own message
    return raw.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff")


def _is_codepoint_row(line: str) -> bool:
    first = line.split(",", 1)[0].strip().strip('"')
    return bool(pd.notna(normalise_postcodes([first])[0]))


def read_postcode_table(path: Path, encoding: str | None) -> tuple[CsvTable, str]:
    """Read a postcode file and map its columns; returns the table and its layout name."""
    if _is_codepoint_row(_first_line(path, encoding)):
        table = read_csv_table(path, encoding=encoding, header=False)
        width = len(table.columns)
        if width < 4:
            raise InputError(f"a Code-Point Open file has at least 4 fields per line "
                             f"(postcode, quality, eastings, northings); found {width}",
                             file=str(path), row=1)
        names = list(CODEPOINT_COLUMNS[:width]) + [f"column{i + 1}" for i in
                                                   range(len(CODEPOINT_COLUMNS), width)]
        table.frame.columns = names
        table.columns = names
        layout = "codepoint"
    else:
        table = read_csv_table(path, encoding=encoding, header=True)
        layout = "codepoint" if "positionalqualityindicator" in {
            c.lower().replace("_", "") for c in table.columns} else "onspd"
    table.require({"postcode": _POSTCODE}, _OPTIONAL)
    has_xy = table.has("x") and table.has("y")
    has_ll = table.has("lat") and table.has("lng")
    if not (has_xy or has_ll):
        found = ", ".join(repr(c) for c in table.columns)
        raise InputError("missing coordinates: expected 'oseast1m' and 'osnrth1m' (or "
                         "'Eastings'/'Northings') or 'lat' and 'long'; the header has " + found,
                         file=str(path), row=1 if table.has_header else None)
    return table, layout


def _coordinates(table: CsvTable, crs: int | None) -> tuple[np.ndarray, ...]:
    """lat, lng, x, y and a mask of rows with a location: grid references (in ``crs``) win,
    latitude/longitude fill the gaps (:func:`~spatial_core.io.locations.parse_points`)."""
    lng, lat, x, y = parse_points(table, [("x", "y", STORE_SRID), ("lng", "lat", WGS84)],
                                  crs=crs)
    return lat, lng, x, y, np.isfinite(x)


def _optional_text(table: CsvTable, name: str) -> np.ndarray:
    n = len(table)
    if not table.has(name):
        return np.full(n, None, dtype=object)
    s = table.column(name).to_numpy(dtype=object).copy()
    s[s == ""] = None
    return s


def _terminated(table: CsvTable) -> np.ndarray:
    """``doterm`` (``202106``) or a date, as ``YYYY-MM``; empty while live."""
    raw = _optional_text(table, "terminated")
    s = pd.Series(raw, dtype=object).fillna("").astype(str).str.strip()
    ym = s.str.extract(r"^(\d{4})-?(\d{2})(?:-?\d{2})?$")
    out = (ym[0] + "-" + ym[1]).where(ym[0].notna(), None).to_numpy(dtype=object)
    bad = (s != "").to_numpy() & pd.isna(out)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error("expected a termination month such as 202106 or 2021-06",
                          position=i, column="terminated", value=raw[i])
    return out


def _frame(table: CsvTable, crs: int | None, res: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows for ``postcodes`` (located rows only) and the mask of located rows."""
    raw = table.column("postcode").to_numpy(dtype=object)
    codes = normalise_postcodes(raw)
    bad = pd.isna(codes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = int(bad.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        raise table.error(f"expected a UK postcode such as LS1 1AZ{extra}", position=i,
                          column="postcode", value=raw[i])
    lat, lng, x, y, located = _coordinates(table, crs)
    quality = (parse_int(table, "quality", what="a positional quality number")
               if table.has("quality") else np.full(len(table), np.nan))
    frame = pd.DataFrame({
        "postcode": codes,
        "lat": lat, "lng": lng, "x": x, "y": y,
        "quality": pd.array(np.where(np.isfinite(quality), quality, np.nan), dtype="Int64"),
        "oa_code": _optional_text(table, "oa_code"),
        "lsoa_code": _optional_text(table, "lsoa_code"),
        "ward_code": _optional_text(table, "ward_code"),
        "district_code": _optional_text(table, "district_code"),
        "terminated": _terminated(table),
    })
    frame = frame[located].reset_index(drop=True)
    frame["cell"] = points_to_cells(frame["lat"].to_numpy(), frame["lng"].to_numpy(), res)
    frame["geom"] = shapely.points(frame["x"].to_numpy(), frame["y"].to_numpy())
    return frame, located


def import_postcodes(store, paths: Sequence[str | Path], *, crs: int | None = None,
                     encoding: str | None = None, progress: Progress | None = None
                     ) -> ImportReport:
    """Import postcode centroids into ``postcodes``.

    Parameters
    ----------
    store, paths, encoding, progress
        As every importer (:mod:`spatial_core.io.imports`); the files are Code-Point Open
        CSVs (no header) or ONS Postcode Directory style CSVs (with a header), plain or
        ``.gz``.
    crs : int, optional
        EPSG code of the easting/northing (or, without those, the lat/long) columns; by
        default British National Grid for eastings and WGS84 for latitudes.

    Returns
    -------
    ImportReport
        Rows without coordinates are skipped ("no coordinates"); a postcode listed twice is
        skipped after its first row; stored postcodes are skipped ("already in the store").

    Examples
    --------
    >>> import_postcodes(store, ["codepoint_open_2014_ls.csv"]).imported  # doctest: +SKIP
    21290
    """
    res = store.h3_resolution

    def read(path: Path, report: ImportReport) -> pd.DataFrame:
        table, layout = read_postcode_table(path, encoding)
        log.debug("%s: %s layout, %d rows", path, layout, len(table))
        report.read += len(table)
        frame, located = _frame(table, crs, res)
        if (~located).any():
            report.skip("no coordinates", table.lines[~located], str(path))
        return frame.assign(_file=str(path), _line=table.lines[located])

    def validate(frames: list[pd.DataFrame], report: ImportReport) -> pd.DataFrame:
        rows = pd.concat(frames, ignore_index=True)
        dup = rows["postcode"].duplicated().to_numpy()
        skip_rows(report, "postcode listed more than once (first row kept)", rows, dup)
        return rows[~dup].reset_index(drop=True)

    def write(conn, rows: pd.DataFrame, report: ImportReport) -> None:
        new = rows[skip_stored(store, conn, report, rows, "postcodes", "postcode")]
        new = new.drop(columns=["_file", "_line"])
        report.imported = store.insert_new(conn, "postcodes", new)

    return run_import(store, "postcodes", paths, read=read, validate=validate, write=write,
                      once=False, progress=progress, reading=0.8, writing="writing postcodes")
