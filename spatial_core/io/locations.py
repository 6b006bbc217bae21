# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a person or a visit is: exact coordinates, an address point, or a postcode centroid.

Members, survey responses and visits rarely carry coordinates of their own. They carry a UPRN
(an address already in the store), a postcode (a centroid in the store) or both.
:func:`locate` resolves a whole column of them at once, in order of precision:

1. exact coordinates given in the file (``location_source = "coordinates"``);
2. the address point of the UPRN (``"uprn"``, from the ``addresses`` table);
3. the centroid of the postcode (``"postcode"``, from the ``postcodes`` table; a terminated
   postcode still has its last centroid, and the ``postcode_terminated`` flag says so);
4. optionally the stored point of a member (``"member"``, for survey responses that give
   only a member id);
5. nothing (``location_source`` is None, cell 0).

The lookups are a handful of ``IN (…)`` queries on the unique keys, joined back in numpy, so
sixty thousand members locate in well under a second.
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.geo import crs as _crs
from spatial_core.geo.cells import DEFAULT_RESOLUTION, points_to_cells
from spatial_core.geo.crs import lnglat_to_bng
from spatial_core.io.sources import CsvTable, normalise_postcodes, parse_float
from spatial_core.store import schema

__all__ = ["locate", "normalise_uprns", "uprn_values", "parse_uprns", "parse_points",
           "LOCATION_SOURCES"]

log = logging.getLogger(__name__)

LOCATION_SOURCES = ("coordinates", "uprn", "postcode", "member")
"""The values of ``location_source``, most precise first."""

_CHUNK = 5000
_NUMERIC_UPRN = re.compile(r"^0*(\d+?)(?:\.0+)?$")
_SCIENTIFIC = r"^\d+(\.\d+)?[eE][+-]?\d+$"


def normalise_uprns(values) -> np.ndarray:
    """UPRNs as text without the leading zeros or ``.0`` that spreadsheets add; '' becomes None.

    Non-numeric identifiers (synthetic address ids) are kept as they are, stripped.

    Examples
    --------
    >>> normalise_uprns(['100050432123', '00012', '77.0', ' A-9 ', '']).tolist()
    ['100050432123', '12', '77', 'A-9', None]
    """
    s = pd.Series(values, dtype=object).fillna("").astype(str)
    digits = s.str.isdigit().to_numpy(dtype=bool)
    out = s.to_numpy(dtype=object).copy()
    if digits.any():
        stripped = s[digits].str.lstrip("0")
        out[digits] = stripped.where(stripped != "", "0").to_numpy(dtype=object)
    other = ~digits
    if other.any():  # the rare forms: spaces, '77.0', synthetic ids
        t = s[other].str.strip()
        num = t.str.extract(_NUMERIC_UPRN, expand=False)
        out[other] = num.where(num.notna(), t).to_numpy(dtype=object)
    out[out == ""] = None
    return out


def uprn_values(values) -> tuple[np.ndarray, np.ndarray]:
    """The one UPRN rule: 1 to 12 digits, not zero, as text without leading zeros (or the
    ``.0`` a spreadsheet adds). Returns ``(uprns, bad)``: None where empty or bad, and the
    mask of values that are not UPRNs (a UPRN a spreadsheet wrote in scientific notation
    has lost digits, so it is bad too).

    Examples
    --------
    >>> uprns, bad = uprn_values(['100050432123', '00012', '77.0', '', '0', '1.00023E+11', 'A9'])
    >>> uprns.tolist(), bad.tolist()
    (['100050432123', '12', '77', None, None, None, None], [False, False, False, False, \
True, True, True])
    """
    raw = pd.Series(values, dtype=object).fillna("").astype(str).str.strip()
    out = normalise_uprns(raw.to_numpy(dtype=object))
    text = pd.Series(out, dtype=object).fillna("")
    ok = text.str.fullmatch(r"[1-9]\d{0,11}").to_numpy(dtype=bool)
    bad = (raw != "").to_numpy() & ~ok
    out[~ok] = None
    return out, bad


def parse_uprns(table: CsvTable, column: str = "uprn", *, required: bool = False,
                what: str = "a UPRN") -> np.ndarray:
    """A column of UPRNs (:func:`uprn_values`); a value that is not one is an error naming
    its row, and so is an empty one when ``required``. All None without the column."""
    if not table.has(column):
        return np.full(len(table), None, dtype=object)
    raw = table.column(column).to_numpy(dtype=object)
    uprns, bad = uprn_values(raw)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        more = int(bad.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        if re.match(_SCIENTIFIC, str(raw[pos]).strip()):
            message = ("expected a UPRN of digits; a spreadsheet wrote it in scientific "
                       "notation and lost digits: format the column as text and export again")
        else:
            message = f"expected a UPRN: 1 to 12 digits, not zero{extra}"
        raise table.error(message, position=pos, column=column, value=raw[pos])
    empty = pd.isna(uprns)
    if required and empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise table.error(f"expected {what}; it is empty", position=pos, column=column,
                          value="")
    return uprns


def parse_points(table: CsvTable, pairs, *, crs: int | None = None,
                 zero_is_missing: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one coordinates parser: ``(lng, lat, x, y)`` of every row from pairs of columns.

    Parameters
    ----------
    table : CsvTable
        The file, its columns mapped (:meth:`CsvTable.require`).
    pairs : sequence of (x column, y column, EPSG)
        Pairs of columns in order of precedence, each with the CRS its values are in by
        default (``("easting", "northing", 27700)``, ``("lng", "lat", 4326)``); the first
        pair present places a row, the next ones fill the rows it leaves empty. A pair
        absent from the file is passed over; half a pair is an error.
    crs : int, optional
        EPSG code of the first pair present, overriding its default. Without it that pair's
        values are checked against its default: metres where degrees are expected (or the
        reverse) are an error telling which ``--crs`` to pass. Later pairs are always in
        their own CRS.
    zero_is_missing : bool
        ``0, 0`` means "no location" (spreadsheets, police.uk, Code-Point Open); otherwise it
        is an error, as any point outside Great Britain.

    Returns
    -------
    lng, lat, x, y : numpy.ndarray
        WGS84 degrees and British National Grid metres; NaN where the row has no location.

    Raises
    ------
    InputError
        Naming the row and column: a value that is not a number, one coordinate without the
        other, degrees out of range, longitude and latitude swapped, a point outside Great
        Britain (:func:`~spatial_core.geo.crs.in_gb_grid`), metres given as degrees or the
        reverse. Numbers and ranges are checked in every row; the place (swapped, in Great
        Britain) where a pair places the row.
    """
    n = len(table)
    lng, lat, x, y = (np.full(n, np.nan) for _ in range(4))
    first = True
    for xcol, ycol, default in pairs:
        if not (table.has(xcol) or table.has(ycol)):
            continue
        if not (table.has(xcol) and table.has(ycol)):
            have, missing = (xcol, ycol) if table.has(xcol) else (ycol, xcol)
            raise InputError(f"column {table.mapping.get(have, have)!r} needs a {missing!r} "
                             "column too", file=table.file, row=1 if table.has_header else None)
        explicit = not first or crs is not None
        src = int(crs) if first and crs is not None else int(default)
        xs, ys = _read_pair(table, xcol, ycol, src, explicit, zero_is_missing)
        use = np.isfinite(xs) & ~np.isfinite(x)
        if use.any():
            got = _place(table, xcol, ycol, xs[use], ys[use], src, np.flatnonzero(use))
            for out, values in zip((lng, lat, x, y), got, strict=True):
                out[use] = values
        first = False
    return lng, lat, x, y


def _read_pair(table: CsvTable, xcol: str, ycol: str, src: int, explicit: bool,
               zero_is_missing: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a pair of columns, NaN for no location, with the checks that need no
    transformation: both or neither, metres or degrees as expected, degrees in range."""
    geographic = src == _crs.WGS84
    kind = (("a longitude in degrees", "a latitude in degrees") if geographic else
            ("an easting in metres", "a northing in metres") if src == _crs.STORE_SRID else
            ("a coordinate", "a coordinate"))
    xs = parse_float(table, xcol, what=kind[0])
    ys = parse_float(table, ycol, what=kind[1])
    none = np.zeros(len(xs), dtype=bool)
    if zero_is_missing:
        none |= (xs == 0) & (ys == 0)
    if geographic:  # ONSPD's latitude 99.999999: a postcode without a grid reference
        none |= (ys > 99.99) & (ys < 100.0)
    xs[none] = np.nan
    ys[none] = np.nan
    half = np.isnan(xs) != np.isnan(ys)
    if half.any():
        pos = int(np.flatnonzero(half)[0])
        empty, other = (xcol, ycol) if np.isnan(xs[pos]) else (ycol, xcol)
        raise table.error(f"expected both coordinates or neither: this one is empty but "
                          f"{table.mapping.get(other, other)!r} has a value", position=pos,
                          column=empty, value="")
    ok = np.isfinite(xs)
    if not explicit and geographic and _crs.looks_like_bng(xs, ys):
        pos = int(np.flatnonzero(ok & (np.abs(xs) > 180))[0])
        raise table.error("the coordinates are metres (British National Grid eastings and "
                          "northings), not degrees: pass --crs 27700 (crs=27700) to read them "
                          "as such", position=pos, column=xcol,
                          value=table.column(xcol).iloc[pos])
    if not explicit and src == _crs.STORE_SRID and ok.any() and _crs.looks_like_lnglat(xs, ys):
        pos = int(np.flatnonzero(ok)[0])
        raise table.error("the eastings and northings look like degrees (longitude/latitude): "
                          "pass --crs 4326 (crs=4326) to read them as such", position=pos,
                          column=xcol, value=table.column(xcol).iloc[pos])
    if geographic:
        for col, values, limit, what in ((ycol, ys, 90, kind[1]), (xcol, xs, 180, kind[0])):
            with np.errstate(invalid="ignore"):
                bad = np.abs(values) > limit
            if bad.any():
                pos = int(np.flatnonzero(bad)[0])
                more = int(bad.sum()) - 1
                extra = f" ({more} more row(s) like this)" if more else ""
                raise table.error(f"expected {what} between -{limit} and {limit}{extra}",
                                  position=pos, column=col, value=table.column(col).iloc[pos])
    return xs, ys


def _place(table: CsvTable, xcol: str, ycol: str, xs: np.ndarray, ys: np.ndarray, src: int,
           rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """(lng, lat, x, y) of located values in EPSG ``src``; ``rows`` are their positions."""
    if src == _crs.WGS84:
        swapped = _crs.lnglat_swapped(xs, ys)
        if swapped.any():
            pos = int(rows[np.flatnonzero(swapped)[0]])
            raise table.error(f"expected a latitude in Great Britain ({_crs.GB_LAT[0]:g} to "
                              f"{_crs.GB_LAT[1]:g}); the longitude and latitude look swapped "
                              f"({int(swapped.sum())} row(s))", position=pos, column=ycol,
                              value=table.column(ycol).iloc[pos])
        lng, lat = xs, ys
        x, y = _crs.lnglat_to_bng(lng, lat)
    elif src == _crs.STORE_SRID:
        x, y = xs, ys
        lng, lat = _crs.bng_to_lnglat(x, y)
    else:
        try:
            lng, lat = _crs.transform_xy(xs, ys, src, _crs.WGS84)
        except Exception as exc:  # noqa: BLE001 - pyproj raises several types for a bad EPSG
            raise InputError(f"cannot use EPSG:{src}: {exc}", file=table.file) from None
        x, y = _crs.lnglat_to_bng(lng, lat)
    outside = ~_crs.in_gb_grid(x, y)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        more = int(outside.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        raise table.error(f"expected a point in Great Britain; ({xs[i]:g}, {ys[i]:g}) in "
                          f"EPSG:{src} is not in Great Britain{extra}: is the CRS right? Leave "
                          "both cells empty for no location", position=int(rows[i]),
                          column=xcol, value=table.column(xcol).iloc[int(rows[i])])
    return (np.asarray(lng, dtype="float64"), np.asarray(lat, dtype="float64"),
            np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))


def locate(store, conn: Connection, uprn=None, postcode=None, lat=None, lng=None, *,
           member_id=None) -> pd.DataFrame:
    """Locate rows by coordinates, else UPRN, else postcode (else member), all at once.

    Parameters
    ----------
    store : Store
        The store holding ``addresses``, ``postcodes`` (and ``members``).
    conn : Connection
        An open connection or transaction of ``store``.
    uprn, postcode : array_like of str, optional
        Raw values (normalised here: :func:`normalise_uprns`, ``sources.normalise_postcodes``).
    lat, lng : array_like of float, optional
        WGS84 coordinates; NaN where absent.
    member_id : array_like of str, optional
        Member ids whose stored point is the last resort (survey responses).

    Returns
    -------
    pandas.DataFrame
        One row per input row, in order, with ``lat``, ``lng``, ``x``, ``y`` (BNG), ``cell``
        (H3 int64 at the store's resolution, 0 when unlocated), ``location_source`` (one of
        :data:`LOCATION_SOURCES` or None), ``uprn`` and ``postcode`` (normalised; the postcode
        is taken from the address when only the UPRN was given), ``uprn_found``,
        ``postcode_found``, ``postcode_valid`` and ``postcode_terminated`` (booleans).
    """
    n = _length(uprn, postcode, lat, lng, member_id)
    res = _resolution(conn)
    out = pd.DataFrame({
        "lat": np.full(n, np.nan), "lng": np.full(n, np.nan),
        "x": np.full(n, np.nan), "y": np.full(n, np.nan),
        "cell": np.zeros(n, dtype="int64"),
        "location_source": np.full(n, None, dtype=object),
    })
    given_pc = (pd.Series(postcode, dtype=object).fillna("").astype(str).str.strip().to_numpy()
                if postcode is not None else np.full(n, "", dtype=object))
    codes, uniq = pd.factorize(pd.Series(given_pc, dtype=object))
    pcs = normalise_postcodes(np.asarray(uniq, dtype=object))[codes] if n else np.array(
        [], dtype=object)
    uprns = normalise_uprns(uprn) if uprn is not None else np.full(n, None, dtype=object)
    out["uprn"] = uprns
    out["postcode"] = pcs
    out["postcode_valid"] = pd.notna(pcs) | (given_pc == "")
    out["uprn_found"] = False
    out["postcode_found"] = False
    out["postcode_terminated"] = False

    todo = np.ones(n, dtype=bool)
    if lat is not None and lng is not None:
        la = np.asarray(lat, dtype="float64")
        ln = np.asarray(lng, dtype="float64")
        have = np.isfinite(la) & np.isfinite(ln)
        if have.any():
            x, y = lnglat_to_bng(ln[have], la[have])
            _fill(out, have, la[have], ln[have], x, y,
                  points_to_cells(la[have], ln[have], res), "coordinates")
            todo &= ~have

    if uprn is not None:
        found = _lookup(store, conn, "addresses", "uprn", uprns, ["postcode"])
        hit = found["_hit"].to_numpy()
        out["uprn_found"] = hit
        todo = _take(out, todo, found, "uprn")
        no_pc = hit & pd.isna(pcs)
        out.loc[no_pc, "postcode"] = found.loc[no_pc, "postcode"].to_numpy()

    if postcode is not None:
        found = _lookup(store, conn, "postcodes", "postcode", pcs, ["terminated"])
        hit = found["_hit"].to_numpy()
        out["postcode_found"] = hit
        out["postcode_terminated"] = hit & found["terminated"].notna().to_numpy()
        todo = _take(out, todo, found, "postcode")

    if member_id is not None and todo.any():
        ids = pd.Series(member_id, dtype=object).fillna("").astype(str).str.strip()
        ids = ids.where(todo & (ids != ""), None).to_numpy(dtype=object)
        todo = _take(out, todo, _lookup(store, conn, "members", "member_id", ids), "member")
    return out


def _take(out: pd.DataFrame, todo: np.ndarray, found: pd.DataFrame, source: str) -> np.ndarray:
    """Place the rows still to do that ``found`` has a point for; the rows left to do."""
    use = todo & found["_hit"].to_numpy()
    _fill_from(out, use, found, source)
    return todo & ~use


def _length(*columns) -> int:
    lengths = {len(c) for c in columns if c is not None}
    if len(lengths) > 1:
        raise ValueError(f"locate() columns differ in length: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _resolution(conn: Connection) -> int:
    t = schema.meta
    value = conn.execute(select(t.c.value).where(t.c.key == "h3_resolution")).scalar_one_or_none()
    return int(value) if value else DEFAULT_RESOLUTION


def _fill(out: pd.DataFrame, mask: np.ndarray, lat, lng, x, y, cell, source: str) -> None:
    out.loc[mask, "lat"] = lat
    out.loc[mask, "lng"] = lng
    out.loc[mask, "x"] = x
    out.loc[mask, "y"] = y
    out.loc[mask, "cell"] = np.asarray(cell, dtype="int64")
    out.loc[mask, "location_source"] = source


def _fill_from(out: pd.DataFrame, mask: np.ndarray, found: pd.DataFrame, source: str) -> None:
    if mask.any():
        f = found.loc[mask]
        cells = f["cell"].to_numpy(dtype=object)  # exact 64-bit ints, never through float
        cells[pd.isna(cells)] = 0
        _fill(out, mask, f["lat"].to_numpy(float), f["lng"].to_numpy(float),
              f["x"].to_numpy(float), f["y"].to_numpy(float), cells.astype("int64"), source)


def _lookup(store, conn: Connection, table: str, key: str, values: np.ndarray,
            extra: list[str] = ()) -> pd.DataFrame:
    """The stored point (``lat``, ``lng``, ``x``, ``y``, ``cell``) and ``extra`` columns of
    each of ``values`` (None where absent); ``_hit`` marks rows found with usable
    coordinates."""
    columns = ["lat", "lng", "x", "y", "cell", *extra]
    t = schema.table(table)
    wanted = pd.unique(pd.Series(values, dtype=object).dropna())
    parts = []
    stored_rows = store.count(table, conn=conn) if len(wanted) else 0
    if 0 < stored_rows <= 4 * len(wanted):  # one scan beats many IN (…) queries
        parts.append(store.read(table, [key, *columns], conn=conn))
        wanted = wanted[:0]
    for i in range(0, len(wanted) if stored_rows else 0, _CHUNK):
        chunk = [str(v) for v in wanted[i:i + _CHUNK]]
        parts.append(store.read(table, [key, *columns], where=t.c[key].in_(chunk), conn=conn))
    stored = (pd.concat(parts, ignore_index=True) if parts
              else pd.DataFrame({c: pd.Series([], dtype=object) for c in [key, *columns]}))
    stored = stored.drop_duplicates(key)
    pos = pd.Index(stored[key]).get_indexer(pd.Series(values, dtype=object))
    ok = pos >= 0
    result = stored.iloc[np.where(ok, pos, 0)].reset_index(drop=True) if len(stored) else (
        pd.DataFrame({c: np.full(len(values), None, dtype=object) for c in columns}))
    # Object columns, so that None for the rows not found does not turn the 64-bit cells into
    # floats (which round them to another, invalid, H3 index).
    result = result[columns].astype(object)
    result.loc[~ok, :] = None
    for c in ("lat", "lng", "x", "y"):
        if c in result:
            result[c] = pd.to_numeric(result[c], errors="coerce")
    result["_hit"] = ok & np.isfinite(result["x"].to_numpy(float)) & np.isfinite(
        result["y"].to_numpy(float))
    return result
