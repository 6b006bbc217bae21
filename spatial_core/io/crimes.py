# SPDX-License-Identifier: GPL-3.0-or-later
"""Recorded crime: police.uk street-level CSV files and force extracts with Home Office codes.

Two formats are read, told apart by their header (``docs/formats/crimes.md`` lists every
column and alias):

- **police.uk street-level crime** (``Crime ID, Month, Reported by, Falls within, Longitude,
  Latitude, Location, LSOA code, LSOA name, Crime type, Last outcome category, Context``),
  one file, ``.csv.gz``, or a folder of monthly files;
- **a force extract**: a crime reference, the date/time committed, a Home Office offence
  code, easting/northing in British National Grid (or latitude/longitude) and an outcome.
  The police.uk category is derived from the offence code through the table shipped in
  ``spatial_core/data/ho_offence_codes.csv``.

Every row of a file is stored, so stored counts equal file rows: anti-social behaviour rows
(which have no Crime ID) get a stable hashed key, rows without coordinates are stored with
cell 0 and no geometry and reported, and points far outside the force area are stored with
``is_outlier = 1`` and reported.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError, NotFoundError
from spatial_core.geo import crs as _crs
from spatial_core.geo.cells import points_to_cells
from spatial_core.io.imports import ALREADY, ImportReport, Progress, run_import, skip_rows
from spatial_core.io.locations import parse_points
from spatial_core.io.sources import (
    CsvTable,
    parse_datetime,
    parse_month,
    read_csv_table,
)

__all__ = [
    "CATEGORIES",
    "FORMATS",
    "OUTLIER_BUFFER_M",
    "OUTLIER_MIN_M",
    "crime_frame",
    "crime_key",
    "detect_format",
    "offence_codes_to_categories",
    "read_crime_file",
    "read_police_uk",
    "read_force_extract",
    "import_crimes",
    "ho_code_candidates",
]

log = logging.getLogger(__name__)

CATEGORIES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}
"""The 14 police.uk crime categories: the police.uk API slug -> the display name stored in
``crimes.category`` (the name police.uk CSV files carry in ``Crime type``)."""

# Categories police.uk used before May 2013; files of that era still circulate.
_LEGACY_CATEGORIES = {
    "Violent crime": "Violence and sexual offences",
    "Public disorder and weapons": "Public order",
}

FORMATS = ("police.uk", "force extract")
"""The crime file formats :func:`read_crime_file` recognises from the header."""

OUTLIER_BUFFER_M = 2_000.0
"""Points further than this outside the stored force boundary are flagged as outliers."""

OUTLIER_MIN_M = 25_000.0
"""Without a force boundary, points beyond max(this, 3 x the 95th percentile distance from
the median centre of the file's points) are flagged as outliers."""

_OTHER_CRIME = "Other crime"
_ASB = "Anti-social behaviour"
_KEY_MAX = 80

_POLICE_UK_REQUIRED: dict[str, Sequence[str]] = {
    "Crime ID": ("crime_id", "crimeid", "persistent_id"),
    "Month": (),
    "Longitude": ("lng", "lon", "long"),
    "Latitude": ("lat",),
    "Crime type": ("category", "crime_type"),
}
_POLICE_UK_OPTIONAL: dict[str, Sequence[str]] = {
    "Reported by": (),
    "Falls within": (),
    "Location": ("location_name", "street_name"),
    "LSOA code": ("lsoa_code",),
    "LSOA name": ("lsoa_name",),
    "Last outcome category": ("outcome_status", "outcome"),
}

_FORCE_REQUIRED: dict[str, Sequence[str]] = {
    "crime reference": ("crime_reference", "crime ref", "crime_ref", "reference", "crime number",
                        "crime_no", "crime_number", "occurrence number", "occurrence_id", "urn"),
    "offence code": ("ho_code", "ho offence code", "home office code", "home office offence code",
                     "ho_offence_code", "offence_code", "hoc", "ho class"),
}
_FORCE_OPTIONAL: dict[str, Sequence[str]] = {
    "committed_from": ("occurred_at", "committed from", "offence date", "offence datetime",
                       "date committed", "committed_on", "date_from", "start_date", "datetime",
                       "date"),
    "month": (),
    "offence description": ("offence_description", "offence", "description", "offence_desc",
                            "offence name"),
    "easting": ("eastings", "x", "grid_x", "x_coordinate", "map_x"),
    "northing": ("northings", "y", "grid_y", "y_coordinate", "map_y"),
    "longitude": ("lng", "lon", "long"),
    "latitude": ("lat",),
    "outcome": ("outcome_category", "last outcome category", "outcome description", "disposal"),
    "location": ("street", "street name", "location description", "address"),
    "lsoa code": ("lsoa_code", "lsoa"),
    "lsoa name": ("lsoa_name",),
    "force": ("force name", "reported by"),
}

_OUT_COLUMNS = ["crime_key", "crime_id", "month", "occurred_at", "category", "offence_code",
                "force", "location", "lsoa_code", "lsoa_name", "outcome", "lat", "lng", "x", "y",
                "source_file", "line"]


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# -- formats --------------------------------------------------------------------------------

def detect_format(columns: Sequence[str]) -> str:
    """The crime file format a header belongs to: ``"police.uk"`` or ``"force extract"``.

    Examples
    --------
    >>> detect_format(["Crime ID", "Month", "Longitude", "Latitude", "Crime type"])
    'police.uk'
    >>> detect_format(["crime_reference", "committed_from", "ho_code", "easting", "northing"])
    'force extract'
    """
    have = {_norm(c) for c in columns}
    police = {"crimetype", "fallswithin", "reportedby", "lastoutcomecategory", "crimeid"}
    force_code = {_norm(a) for a in ("offence code", *_FORCE_REQUIRED["offence code"])}
    if have & force_code or {"easting", "northing"} <= have:
        return "force extract"
    if have & police or "month" in have:
        return "police.uk"
    raise InputError(
        "not a recognised crime file: expected a police.uk header (Crime ID, Month, Longitude, "
        "Latitude, Crime type, ...) or a force extract header (crime reference, committed_from, "
        f"offence code, easting, northing, ...); the header has {', '.join(map(repr, columns))}"
    )


def read_crime_file(path: str | Path, *, crs: int | None = None,
                    encoding: str | None = None) -> pd.DataFrame:
    """Read one crime file in either format (see :func:`detect_format`), validated.

    Returns the frame of :func:`read_police_uk` or :func:`read_force_extract`.
    """
    return crime_frame(read_csv_table(path, encoding=encoding), crs=crs)


def crime_frame(table: CsvTable, *, crs: int | None = None) -> pd.DataFrame:
    """:func:`read_crime_file` of a table already read (its raw rows stay in ``table``)."""
    if detect_format(table.columns) == "police.uk":
        return _police_uk(table, crs)
    return _force_extract(table, crs)


def read_police_uk(path: str | Path, *, crs: int | None = None,
                   encoding: str | None = None) -> pd.DataFrame:
    """Read a police.uk street-level crime file (``.csv`` or ``.csv.gz``), validated.

    Parameters
    ----------
    path : path of the file.
    crs : int, optional
        EPSG code of the ``Longitude``/``Latitude`` columns when they are not WGS84 degrees
        (e.g. 27700 for an export that holds eastings and northings there).
    encoding : str, optional
        Text encoding (default UTF-8; a byte-order mark is dropped).

    Returns
    -------
    pandas.DataFrame
        One row per file row, in file order, with the columns of the ``crimes`` table
        (``crime_key``, ``crime_id``, ``month``, ``category`` ... ``lat``, ``lng``, ``x``,
        ``y``, ``source_file``) plus ``line``, the file line number. Rows without
        coordinates have NaN coordinates. ``frame.attrs["notes"]`` maps what is worth
        reporting (e.g. ``"no coordinates"``) to line numbers.

    Raises
    ------
    InputError
        A missing column, a value that is not a number, month or category, coordinates
        out of range, a truncated line or bytes not in ``encoding``; the message names the
        file, row, column and value.
    """
    return _police_uk(read_csv_table(path, encoding=encoding), crs)


def read_force_extract(path: str | Path, *, crs: int | None = None,
                       encoding: str | None = None) -> pd.DataFrame:
    """Read a force crime extract (see ``docs/formats/crimes.md``), validated.

    Coordinates are ``easting``/``northing`` in British National Grid (EPSG:27700) unless
    ``crs`` says otherwise, or ``latitude``/``longitude`` in WGS84. An easting and northing
    both 0 means "no location". The category is derived from the Home Office offence code
    (:func:`offence_codes_to_categories`); unknown codes become "Other crime" and are listed
    in ``frame.attrs["notes"]``. Returns a frame as :func:`read_police_uk`.
    """
    return _force_extract(read_csv_table(path, encoding=encoding), crs)


# -- keys -----------------------------------------------------------------------------------

def crime_key(frame: pd.DataFrame) -> np.ndarray:
    """The stable unique key of each crime row of one file, in file order.

    - police.uk rows with a Crime ID: ``"id:<month>:<Crime ID>"``. The month is part of the
      key because police.uk occasionally publishes the same Crime ID in several monthly
      files, and each file row is kept.
    - force extract rows (``frame["reference"]`` is True): ``"ref:<crime reference>"``.
    - rows without an ID (anti-social behaviour): ``"asb:<hash>:<n>"``, where ``<hash>``
      is the first 32 hex digits of the SHA-256 of month, category, force, longitude and
      latitude (6 decimals), location, LSOA code and outcome, and ``<n>`` counts identical
      rows before this one in the file (police.uk files hold identical ASB rows that are
      distinct incidents). Other rows without an ID get ``"row:"`` instead of ``"asb:"``.

    Re-reading the same file gives the same keys, so importing it again adds nothing.

    Examples
    --------
    >>> asb = "Anti-social behaviour"
    >>> f = pd.DataFrame({"crime_id": ["abc", None, None], "month": ["2025-02"] * 3,
    ...                   "category": ["Burglary", asb, asb],
    ...                   "lng": [-1.5, -1.5, -1.5], "lat": [53.8] * 3})
    >>> keys = crime_key(f)
    >>> keys[0], keys[1][:4], keys[1][-2:], keys[2][-2:], keys[1][:-2] == keys[2][:-2]
    ('id:2025-02:abc', 'asb:', ':0', ':1', True)
    """
    n = len(frame)
    ids = _text(frame, "crime_id")
    month = _text(frame, "month")
    has_id = ids != ""
    out = np.empty(n, dtype=object)
    if "reference" in frame.columns:
        is_ref = frame["reference"].fillna(False).to_numpy(dtype=bool)
    else:
        is_ref = np.zeros(n, dtype=bool)
    out[has_id & is_ref] = "ref:" + ids[has_id & is_ref]
    pu = has_id & ~is_ref
    out[pu] = "id:" + month[pu] + ":" + ids[pu]
    anon = ~has_id
    if anon.any():
        sub = frame.loc[anon]
        parts = [_text(sub, "month"), _text(sub, "category"), _text(sub, "force"),
                 _coord_text(sub, "lng"), _coord_text(sub, "lat"), _text(sub, "location"),
                 _text(sub, "lsoa_code"), _text(sub, "outcome")]
        joined = parts[0]
        for p in parts[1:]:
            joined = joined + "|" + p
        digests = np.array([hashlib.sha256(s.encode("utf-8")).hexdigest()[:32] for s in joined],
                           dtype=object)
        ordinal = pd.Series(digests).groupby(digests, sort=False).cumcount().to_numpy()
        prefix = np.where(parts[1] == _ASB, "asb:", "row:")
        out[anon] = prefix + digests + ":" + ordinal.astype(str).astype(object)
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).to_numpy(dtype=object)


def _coord_text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    v = frame[column].to_numpy(dtype="float64")
    out = np.char.mod("%.6f", np.where(np.isfinite(v), v, 0.0)).astype(object)
    out[~np.isfinite(v)] = ""
    return out


# -- Home Office offence codes --------------------------------------------------------------

_HO_CODE = re.compile(r"^0*(\d{1,3})([A-Z]?)(?:\.0*(\d{1,2}))?(?:/0*(\d{1,3}))?$")


@lru_cache(maxsize=1)
def _ho_table() -> dict[str, str]:
    text = resources.files("spatial_core").joinpath("data/ho_offence_codes.csv").read_text("utf-8")
    frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    bad = sorted(set(frame["category"]) - set(CATEGORIES.values()))
    if bad:  # pragma: no cover - guards the shipped table
        raise RuntimeError(f"ho_offence_codes.csv has unknown categories {bad}")
    return dict(zip(frame["code"].str.upper(), frame["category"], strict=True))


def ho_code_candidates(code: str) -> list[str]:
    """Lookup keys for one code, most specific first: 28E/01 -> 28E/1, 28E, 28."""
    m = _HO_CODE.match(code.strip().upper().replace(" ", ""))
    if not m:
        return []
    cls, letter, dot, sub = m.groups()
    head = f"{cls}{letter}" + (f".{dot}" if dot else "")
    out = []
    if sub is not None:
        out.append(f"{head}/{int(sub)}")
    out.append(head)
    out.append(cls)
    return list(dict.fromkeys(out))


def offence_codes_to_categories(codes) -> tuple[np.ndarray, np.ndarray]:
    """police.uk categories for Home Office offence codes.

    A code is looked up most specific first: ``"028E/01"`` tries ``28E/1``, then ``28E``,
    then the class number ``28``; leading zeros and spaces do not matter. The table is
    ``spatial_core/data/ho_offence_codes.csv``.

    Returns
    -------
    (categories, known) : arrays; unknown or empty codes give "Other crime" and
        ``known = False``.

    Examples
    --------
    >>> cats, known = offence_codes_to_categories(["028E/01", "46", "8M", "105A", "4.1", "999Z"])
    >>> cats.tolist()
    ['Burglary', 'Shoplifting', 'Violence and sexual offences', 'Violence and sexual offences', \
'Violence and sexual offences', 'Other crime']
    >>> known.tolist()
    [True, True, True, True, True, False]
    """
    table = _ho_table()
    values = pd.Series(codes, dtype=object).fillna("").astype(str)
    lookup: dict[str, str | None] = {}
    for code in values.unique():  # a force uses a few hundred distinct codes at most
        lookup[code] = next((table[c] for c in ho_code_candidates(code) if c in table), None)
    found = values.map(lookup).to_numpy(dtype=object)
    known = pd.notna(found)
    found[~known] = _OTHER_CRIME
    return found, np.asarray(known, dtype=bool)


# -- reading --------------------------------------------------------------------------------

def _police_uk(table: CsvTable, crs: int | None) -> pd.DataFrame:
    table.require(_POLICE_UK_REQUIRED, _POLICE_UK_OPTIONAL)
    notes: dict[str, np.ndarray] = {}
    n = len(table)
    month = parse_month(table, "Month")
    category = _categories(table, "Crime type")
    legacy = table.column("Crime type").isin(list(_LEGACY_CATEGORIES)).to_numpy()
    if legacy.any():
        notes["pre-2013 police.uk category mapped to today's"] = table.lines[legacy]
    ids = table.column("Crime ID").to_numpy(dtype=object)
    _check_length(table, "Crime ID", ids, _KEY_MAX - len("id:2025-02:"))
    points = parse_points(table, [("Longitude", "Latitude", _crs.WGS84)], crs=crs)
    return _finish(table, points, notes, {
        "force": "Reported by", "location": "Location", "lsoa_code": "LSOA code",
        "lsoa_name": "LSOA name", "outcome": "Last outcome category"},
        crime_id=ids, month=month, occurred_at=np.full(n, None, dtype=object),
        category=category, offence_code=np.full(n, None, dtype=object))


def _force_extract(table: CsvTable, crs: int | None) -> pd.DataFrame:
    mapping = table.require(_FORCE_REQUIRED, _FORCE_OPTIONAL)
    notes: dict[str, np.ndarray] = {}
    n = len(table)
    if "committed_from" in mapping:
        occurred = parse_datetime(table, "committed_from", required="month" not in mapping)
        month = np.array([v[:7] if v else None for v in occurred], dtype=object)
        if "month" in mapping:
            given = parse_month(table, "month", required=False)
            month = np.where(pd.isna(month), given, month)
    elif "month" in mapping:
        occurred = np.full(n, None, dtype=object)
        month = parse_month(table, "month")
    else:
        raise InputError("missing column 'committed_from' (or 'occurred_at', 'offence date', "
                         "'month'): a force extract needs the date the offence was committed",
                         file=table.file, row=1)
    ref = table.column("crime reference").to_numpy(dtype=object)
    empty = ref == ""
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise table.error("expected a crime reference (every row needs one)", position=pos,
                          column="crime reference", value="")
    _check_length(table, "crime reference", ref, _KEY_MAX - len("ref:"))
    codes = table.column("offence code").str.upper().str.replace(" ", "", regex=False)
    _check_length(table, "offence code", codes.to_numpy(dtype=object), 16)
    category, known = offence_codes_to_categories(codes)
    no_code = (codes == "").to_numpy()
    if no_code.any():
        notes["no Home Office offence code (stored as Other crime)"] = table.lines[no_code]
    unknown = ~known & ~no_code
    if unknown.any():
        notes["unknown Home Office offence code (stored as Other crime)"] = table.lines[unknown]
    if "easting" in mapping and "northing" in mapping:
        points = parse_points(table, [("easting", "northing", _crs.STORE_SRID)], crs=crs)
    elif "longitude" in mapping and "latitude" in mapping:
        points = parse_points(table, [("longitude", "latitude", _crs.WGS84)], crs=crs)
    else:
        raise InputError("missing columns 'easting' and 'northing' (or 'latitude' and "
                         f"'longitude'); the header has {', '.join(map(repr, table.columns))}",
                         file=table.file, row=1)
    return _finish(table, points, notes, {
        "force": "force", "location": "location", "lsoa_code": "lsoa code",
        "lsoa_name": "lsoa name", "outcome": "outcome"},
        crime_id=ref, month=month, occurred_at=occurred, category=category,
        offence_code=codes.to_numpy(dtype=object), reference=True)


def _categories(table: CsvTable, column: str) -> np.ndarray:
    """police.uk display names from names, API slugs or pre-2013 names (any case)."""
    choices = {name: name for name in CATEGORIES.values()}
    choices.update({slug: name for slug, name in CATEGORIES.items()})
    choices.update(_LEGACY_CATEGORIES)
    lookup = {_norm(k): v for k, v in choices.items()}
    s = table.column(column)
    found = s.map({v: lookup.get(_norm(v)) for v in s.unique()}).to_numpy(dtype=object)
    bad = pd.isna(found)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise table.error("expected a police.uk crime type: " + ", ".join(CATEGORIES.values()),
                          position=pos, column=column, value=s.iloc[pos])
    return found


def _finish(table: CsvTable, points, notes: dict[str, np.ndarray], optional: dict[str, str],
            **columns) -> pd.DataFrame:
    """The rows of one file in the crime table's columns: ``columns`` as given, ``optional``
    canonical columns from the file's (None when it lacks them), the points (lng, lat, x, y),
    the file name and line; keyed by :func:`crime_key` and with what is worth noting."""
    lng, lat, x, y = points
    frame = pd.DataFrame({**columns,
                          **{name: _optional(table, given) for name, given in optional.items()},
                          "lat": lat, "lng": lng, "x": x, "y": y,
                          "source_file": Path(table.file).name, "line": table.lines})
    frame["crime_key"] = crime_key(frame)
    missing = ~np.isfinite(frame["lat"].to_numpy())
    if missing.any():
        notes = {"no coordinates": table.lines[missing], **notes}
    out = frame[_OUT_COLUMNS].copy()
    out.attrs["notes"] = notes
    out.attrs["file"] = table.file
    return out


def _optional(table: CsvTable, name: str) -> np.ndarray:
    if not table.has(name) or name not in table.mapping:
        return np.full(len(table), None, dtype=object)
    return table.column(name).to_numpy(dtype=object)


def _check_length(table: CsvTable, column: str, values: np.ndarray, limit: int) -> None:
    lengths = pd.Series(values, dtype=object).str.len().fillna(0).to_numpy()
    long = lengths > limit
    if long.any():
        pos = int(np.flatnonzero(long)[0])
        raise table.error(f"expected at most {limit} characters", position=pos, column=column,
                          value=values[pos])


# -- outliers -------------------------------------------------------------------------------

def _force_boundary(store, force_area) -> object | None:
    """The force area (BNG, buffered by OUTLIER_BUFFER_M) to test points against, or None."""
    from spatial_core.store import schema

    if force_area is not None and not isinstance(force_area, str):
        geom = force_area
        if not isinstance(geom, shapely.Geometry) or geom.is_empty:
            raise InputError("force_area must be a shapely geometry in EPSG:27700 or the id "
                             "or code of a stored area of level 'force'")
        return shapely.buffer(geom, OUTLIER_BUFFER_M)
    t = schema.table("areas")
    where = t.c.level == "force"
    if isinstance(force_area, str):
        where = where & ((t.c.area_id == force_area) | (t.c.code == force_area))
    areas = store.read("areas", ["area_id", "geom"], where=where)
    geoms = [g for g in areas.geometry if g is not None and not g.is_empty] if len(areas) else []
    if not geoms:
        if isinstance(force_area, str):
            raise NotFoundError(f"no stored area of level 'force' has id or code {force_area!r}; "
                                "import the force boundary first")
        return None
    boundary = shapely.buffer(shapely.union_all(geoms), OUTLIER_BUFFER_M)
    shapely.prepare(boundary)
    return boundary


def _outliers(x: np.ndarray, y: np.ndarray, boundary) -> np.ndarray:
    """Which located points are outliers (see OUTLIER_BUFFER_M and OUTLIER_MIN_M)."""
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x), dtype=bool)
    if not ok.any():
        return out
    if boundary is not None:
        out[ok] = ~shapely.contains_xy(boundary, x[ok], y[ok])
        return out
    cx, cy = np.median(x[ok]), np.median(y[ok])
    d = np.hypot(x[ok] - cx, y[ok] - cy)
    limit = max(OUTLIER_MIN_M, 3.0 * float(np.percentile(d, 95)))
    out[ok] = d > limit
    return out


# -- importing ------------------------------------------------------------------------------

def import_crimes(store, paths: Sequence[str | Path], *, crs: int | None = None,
                  encoding: str | None = None, progress: Progress | None = None,
                  force_area=None) -> ImportReport:
    """Import police.uk street-level crime files and force extracts into ``crimes``.

    Parameters
    ----------
    store, paths, encoding, progress
        As every importer (:mod:`spatial_core.io.imports`).
    crs : int, optional
        EPSG code of the coordinates when they are not the format's default (WGS84 for
        police.uk, British National Grid for a force extract's easting/northing).
    force_area : shapely geometry (EPSG:27700) or str, optional
        The force area for outlier flagging: a geometry, or the ``area_id``/``code`` of a
        stored area of level ``force``. By default every stored ``force`` area is used;
        when there is none, each file's own points are used (see ``OUTLIER_MIN_M``).

    Returns
    -------
    ImportReport
        ``read`` = file rows, ``imported`` = rows newly stored; rows already stored are
        skipped ("already in the store"); notes list rows without coordinates and outliers.

    Raises
    ------
    InputError
        Any bad file; nothing is written (all files are read before anything is stored).
    """
    boundary = _force_boundary(store, force_area)
    rule = ("outside the force area" if boundary is not None
            else "far from the file's other points")

    def read(path: Path, report: ImportReport) -> pd.DataFrame:
        frame = read_crime_file(path, crs=crs, encoding=encoding)
        report.read += len(frame)
        notes = dict(frame.attrs.get("notes", {}))
        frame.attrs = {}  # pd.concat compares attrs; the notes are reported here instead
        flagged = _outliers(frame["x"].to_numpy(), frame["y"].to_numpy(), boundary)
        frame["is_outlier"] = flagged.astype("int64")
        if flagged.any():
            notes[f"{rule} (stored with is_outlier = 1)"] = frame["line"].to_numpy()[flagged]
        for what, lines in notes.items():
            report.note(what, lines, str(path))
        return frame.assign(_file=str(path), _line=frame["line"].to_numpy())

    def validate(frames: list[pd.DataFrame], report: ImportReport) -> pd.DataFrame:
        batch = pd.concat(frames, ignore_index=True)
        repeat = batch["crime_key"].duplicated().to_numpy()
        skip_rows(report, "the same crime as an earlier row of this import", batch, repeat)
        batch = batch.loc[~repeat].reset_index(drop=True)
        batch["cell"] = points_to_cells(batch["lat"].to_numpy(), batch["lng"].to_numpy(),
                                        store.h3_resolution)
        located = np.isfinite(batch["x"].to_numpy())
        geom = np.full(len(batch), None, dtype=object)
        geom[located] = shapely.points(batch["x"].to_numpy()[located],
                                       batch["y"].to_numpy()[located])
        batch["geom"] = geom
        return batch

    def write(conn, batch: pd.DataFrame, report: ImportReport) -> None:
        old = batch["crime_key"].isin(_stored_keys(conn, batch)).to_numpy()
        skip_rows(report, ALREADY, batch, old)
        new = batch.loc[~old].drop(columns=["line", "_file", "_line"])
        report.imported = store.insert_new(conn, "crimes", new)

    return run_import(store, "crimes", paths, read=read, validate=validate, write=write,
                      once=False, progress=progress, reading=0.7, writing="writing crimes")


def _stored_keys(conn, batch: pd.DataFrame) -> set[str]:
    """Keys of ``batch`` already stored.

    police.uk keys contain their month, so one indexed query per import reads the stored keys
    of the batch's months; force references are looked up directly, in chunks.
    """
    from sqlalchemy import select

    from spatial_core.store import schema

    t = schema.table("crimes")
    keys = batch["crime_key"]
    is_ref = keys.str.startswith("ref:").to_numpy()
    found: set[str] = set()
    months = sorted(set(batch.loc[~is_ref, "month"].dropna()))
    if months:
        found.update(conn.execute(select(t.c.crime_key).where(t.c.month.in_(months))).scalars())
    refs = keys[is_ref].tolist()
    for start in range(0, len(refs), 500):
        chunk = refs[start:start + 500]
        found.update(conn.execute(select(t.c.crime_key).where(t.c.crime_key.in_(chunk))).scalars())
    return found
