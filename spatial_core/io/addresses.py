# SPDX-License-Identifier: GPL-3.0-or-later
"""Addresses (households): OS Open UPRN points or a generic CSV.

Each row is one address keyed by its UPRN (digits only). Coordinates come from, in order:
easting/northing columns (British National Grid unless ``crs`` says otherwise), then
latitude/longitude columns, then, for a row with neither, the centroid of its postcode when
the postcode is stored (reported as a note). A row with none of these is stored without a
location (cell 0) and reported.

After the rows are stored, :func:`spatial_core.store.index.refresh_index` gives each address its
output area, nearest street unit, beat and ward, and recounts households per street, in
the same transaction. See ``docs/formats/addresses.md``.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import STORE_SRID, WGS84, bng_to_lnglat
from spatial_core.io.imports import (
    ImportReport,
    Progress,
    no_progress,
    note_rows,
    run_import,
    skip_rows,
    skip_stored,
)
from spatial_core.io.locations import parse_points, parse_uprns
from spatial_core.io.sources import CsvTable, normalise_postcodes, read_csv_table
from spatial_core.store.index import assign_addresses, assignment_context, refresh_index

__all__ = ["import_addresses", "UPRN_COLUMNS"]

log = logging.getLogger(__name__)

UPRN_COLUMNS: dict[str, Sequence[str]] = {
    "uprn": ("UPRN", "uprn_id", "property_reference"),
}
_OPTIONAL: dict[str, Sequence[str]] = {
    "x": ("X_COORDINATE", "easting", "eastings", "x", "bng_e", "oseast1m"),
    "y": ("Y_COORDINATE", "northing", "northings", "y", "bng_n", "osnrth1m"),
    "lat": ("LATITUDE", "latitude", "lat"),
    "lng": ("LONGITUDE", "longitude", "lng", "lon", "long"),
    "postcode": ("postcode", "post_code", "pcds", "pcd", "postcode_locator"),
    "oa_code": ("oa_code", "oa", "oa11cd", "oa21cd", "oa11", "oa21", "output_area"),
}

def _uprns(table: CsvTable) -> np.ndarray:
    """The UPRN column (:func:`~spatial_core.io.locations.parse_uprns`, every row needs one);
    an address listed twice in a file is an error naming both rows."""
    uprn = parse_uprns(table, "uprn", required=True)
    dup = pd.Series(uprn).duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(uprn == uprn[pos])[0])
        more = int(dup.sum()) - 1
        extra = f"; {more} more duplicate row(s)" if more else ""
        raise table.error(f"UPRN {uprn[pos]} appears twice, at rows {int(table.lines[first])} "
                          f"and {int(table.lines[pos])}: each address must be listed once{extra}",
                          position=pos, column="uprn", value=table.column("uprn").iloc[pos])
    return uprn


def _coordinates(table: CsvTable, crs: int | None) -> tuple[np.ndarray, np.ndarray]:
    """BNG x, y per row (NaN where the row gives no coordinates): easting/northing (in
    ``crs``), else latitude/longitude; 0, 0 is a point outside Great Britain."""
    _, _, x, y = parse_points(table, [("x", "y", STORE_SRID), ("lng", "lat", WGS84)], crs=crs,
                              zero_is_missing=False)
    return x, y


def _fast_table(path: Path, encoding: str | None) -> CsvTable | None:
    """The same table as :func:`read_csv_table` through pandas' C parser, coordinates parsed
    to floats on the way, for plain files whose line numbers are certain (no quotes, no blank
    lines, no compression, every line as many fields as the header); None when the file needs
    the strict reader, which then also says what is wrong with it."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b" or b'"' in raw or b"\x00" in raw:
        return None
    body = raw.replace(b"\r\n", b"\n").rstrip(b"\n")
    if b"\n\n" in body or body.startswith(b"\n") or not body:
        return None
    try:
        header = body.split(b"\n", 1)[0].decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError):
        return None
    columns = [c.strip() for c in next(csv.reader([header]))]
    lines = body.count(b"\n") + 1
    if len(set(columns)) != len(columns) or body.count(b",") != (len(columns) - 1) * lines:
        return None
    probe = CsvTable(str(path), columns, pd.DataFrame(columns=columns), np.array([], "int64"))
    try:
        mapping = probe.require(UPRN_COLUMNS, _OPTIONAL)
    except InputError:
        return None
    floats = {mapping[c] for c in ("x", "y", "lat", "lng") if c in mapping}
    dtypes = {c: ("float64" if c in floats else str) for c in columns}
    try:
        frame = pd.read_csv(io.BytesIO(raw), names=columns, header=0, dtype=dtypes,
                            keep_default_na=False, na_values={c: [""] for c in floats},
                            encoding=encoding or "utf-8-sig", engine="c")
    except Exception:  # noqa: BLE001 - the strict reader gives the message
        return None
    text = [c for c in columns if c not in floats]
    if len(frame) != lines - 1 or frame[text].isna().to_numpy().any():
        return None
    for c in {mapping[k] for k in ("postcode", "oa_code") if k in mapping}:
        frame[c] = frame[c].str.strip()
    return CsvTable(str(path), columns, frame, np.arange(2, len(frame) + 2, dtype="int64"))


def _read(path: Path, encoding: str | None, crs: int | None) -> pd.DataFrame:
    table = _fast_table(path, encoding)
    if table is None:
        return _parse(read_csv_table(path, encoding=encoding), crs)
    try:
        return _parse(table, crs)
    except InputError:
        # Messages quote the file's own text, so let the strict reader say what is wrong.
        return _parse(read_csv_table(path, encoding=encoding), crs)


def _parse(table: CsvTable, crs: int | None) -> pd.DataFrame:
    path = table.file
    table.require(UPRN_COLUMNS, _OPTIONAL)
    have_xy = table.has("x") and table.has("y")
    have_ll = table.has("lat") and table.has("lng")
    if not (have_xy or have_ll or table.has("postcode")):
        found = ", ".join(repr(c) for c in table.columns)
        raise InputError("expected easting/northing (X_COORDINATE/Y_COORDINATE), "
                         f"latitude/longitude or postcode columns; the header has {found}",
                         file=str(path), row=1)
    uprn = _uprns(table)
    x, y = _coordinates(table, crs)
    postcode = np.full(len(table), None, dtype=object)
    if table.has("postcode"):
        raw = table.column("postcode")
        postcode = normalise_postcodes(raw.to_numpy(dtype=object))
        bad = (raw != "").to_numpy() & pd.isna(postcode)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise table.error("expected a UK postcode such as LS1 1AZ", position=pos,
                              column="postcode", value=raw.iloc[pos])
    oa = np.full(len(table), None, dtype=object)
    if table.has("oa_code"):
        s = table.column("oa_code")
        oa = s.where(s != "", None).to_numpy(dtype=object)
    return pd.DataFrame({"_file": str(path), "_line": table.lines, "uprn": uprn,
                         "postcode": postcode, "x": x, "y": y, "oa_code": oa})


def import_addresses(store, paths: Sequence[str | Path], *, crs: int | None = None,
                     encoding: str | None = None,
                     progress: Progress | None = None) -> ImportReport:
    """Import addresses from OS Open UPRN or a generic CSV (see the module docstring).

    Parameters
    ----------
    store, paths, encoding, progress
        As every importer (:mod:`spatial_core.io.imports`).
    crs : int, optional
        EPSG code of the easting/northing (x/y) columns; default 27700. ``4326`` reads them as
        longitude/latitude.

    Returns
    -------
    ImportReport

    Raises
    ------
    InputError
        A UPRN that is not digits, a UPRN listed twice in one file, a coordinate that is not a
        number or not in Great Britain, a malformed postcode, a missing column.
    """
    say = progress or no_progress

    def read(path: Path, report: ImportReport) -> pd.DataFrame:
        return _read(path, encoding, crs)

    def validate(frames: list[pd.DataFrame], report: ImportReport) -> pd.DataFrame:
        rows = pd.concat(frames, ignore_index=True)
        report.read = len(rows)
        earlier = rows["uprn"].duplicated(keep="first").to_numpy()
        skip_rows(report, "UPRN already in an earlier file of this import", rows, earlier)
        return rows[~earlier]

    def locate(conn, rows: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
        rows = rows[skip_stored(store, conn, report, rows, "addresses", "uprn")]
        rows = rows.reset_index(drop=True)
        x = rows["x"].to_numpy(dtype="float64").copy()
        y = rows["y"].to_numpy(dtype="float64").copy()
        missing = np.isnan(x)
        if missing.any():
            pcs = store.read("postcodes", ["postcode", "x", "y"], conn=conn).dropna()
            pcs = pcs.set_index("postcode")
            pc = rows["postcode"].where(missing)
            px = pc.map(pcs["x"]).to_numpy(dtype="float64")
            py = pc.map(pcs["y"]).to_numpy(dtype="float64")
            found = missing & np.isfinite(px)
            x[found], y[found] = px[found], py[found]
            note_rows(report, "no coordinates: placed at the postcode centroid", rows, found)
            note_rows(report, "no coordinates: stored without a location", rows,
                      missing & ~found)
        return rows.assign(x=x, y=y)

    def write(conn, rows: pd.DataFrame, report: ImportReport) -> None:
        x = rows["x"].to_numpy(dtype="float64")
        y = rows["y"].to_numpy(dtype="float64")
        say(0.55, "indexing cells")
        lng, lat = bng_to_lnglat(x, y)
        located = np.isfinite(x)
        geom = np.full(len(rows), None, dtype=object)
        geom[located] = shapely.points(x[located], y[located])
        say(0.65, "assigning streets and areas")
        derived = assign_addresses(store, conn, x, y, rows["postcode"].to_numpy(dtype=object),
                                   rows["oa_code"].to_numpy(dtype=object),
                                   **assignment_context(store, conn))
        frame = pd.DataFrame({
            "uprn": rows["uprn"].to_numpy(dtype=object),
            "postcode": rows["postcode"].to_numpy(dtype=object),
            "lat": lat, "lng": lng, "x": x, "y": y,
            "cell": points_to_cells(lat, lng, store.h3_resolution),
            **derived,
            "geom": geom,
        })
        # Columns that are empty in every row are left to their NULL default: less to convert.
        frame = frame[[c for c in frame.columns if c == "uprn" or frame[c].notna().any()]]
        say(0.75, "writing addresses")
        report.imported = store.insert_new(conn, "addresses", frame)
        say(0.9, "refreshing the index")
        refresh_index(store, conn, tables=("streets",))

    return run_import(store, "addresses", paths, read=read, validate=validate, locate=locate,
                      write=write, once=False, progress=progress, reading=0.4,
                      writing="checking what is stored")
