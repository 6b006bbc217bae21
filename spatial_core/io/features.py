# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading vector files (GeoJSON, GeoPackage, Shapefile, KML, OSM …) feature by feature.

pyogrio reads a whole layer and hands the geometries to shapely in one call, so one
malformed geometry (a ring that is not closed, a line of one point) fails the whole read
with a GEOS message and no feature number. :func:`read_features` reads the layer the fast
way and, only when that fails, decodes the geometries one by one to name the feature: its
row (the 1-based feature number in the layer, as in QGIS's attribute table), its id or name
attribute when it has one, the column (``geometry``) and what was expected.

:func:`check_geometries` then refuses empty geometries, geometries of the wrong kind and
coordinates that are not finite numbers; :func:`check_store_bounds` refuses geometries that
fall outside British National Grid once transformed. Features whose geometry is null are
left to the importer (they are skipped as "no geometry").
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.errors import GEOSException

from spatial_core.errors import InputError
from spatial_core.geo.crs import (
    GB_GRID_BOUNDS,
    STORE_SRID,
    WGS84,
    looks_like_bng,
    looks_like_lnglat,
)

__all__ = [
    "POLYGON_KINDS",
    "LINE_KINDS",
    "EXPECTED_POLYGON",
    "EXPECTED_LINE",
    "read_features",
    "check_geometries",
    "check_store_bounds",
    "feature_label",
    "layer_crs",
]

POLYGON_KINDS = (3, 6, 7)
"""shapely type ids of boundary geometries: Polygon, MultiPolygon and a GeometryCollection
(accepted when it holds polygons)."""

LINE_KINDS = (1, 2, 5)
"""shapely type ids of street geometries: LineString, LinearRing, MultiLineString."""

EXPECTED_POLYGON = ("a polygon with at least 4 points in each ring, the last point repeating "
                    "the first")
EXPECTED_LINE = "a line of at least 2 points"


_TYPE_NAMES = {0: "point", 1: "line", 2: "linear ring", 3: "polygon", 4: "multi-point",
               5: "multi-line", 6: "multi-polygon", 7: "geometry collection"}

# Attributes that identify a feature, best first (compared without case or punctuation).
_ONS_CODE = re.compile(r"^[a-z]{2,5}\d{2}cd$")
_LABELS = ("code", "areacode", "id", "osmid", "identifier", "usrn", "toid", "ref", "name",
           "name1", "roadname1", "objectid", "fid")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def feature_label(frame: pd.DataFrame, position: int) -> str | None:
    """The id or name attribute of feature ``position`` as ``"code 'B2'"``, if it has one.

    Examples
    --------
    >>> feature_label(pd.DataFrame({"area": [3.5], "wd17cd": ["E05001411"]}), 0)
    "wd17cd 'E05001411'"
    >>> feature_label(pd.DataFrame({"oa_code": ["E00000002"], "grp": ["7a1"]}), 0)
    "oa_code 'E00000002'"
    >>> feature_label(pd.DataFrame({"area": [3.5]}), 0) is None
    True
    """
    columns = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)
               and c != "geometry"]
    norm = {_norm(c): c for c in columns}
    ordered = [c for c in columns if _ONS_CODE.match(str(c).lower())]
    ordered += [norm[k] for k in _LABELS if k in norm]
    for ends in (("code", "cd"), ("id", "ref"), ("name", "nm")):
        ordered += [c for c in columns if _norm(c).endswith(ends)]
    for column in ordered:
        value = frame[column].iloc[position]
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            continue
        if isinstance(value, float) and value == int(value):
            value = int(value)
        text = str(value).strip()
        if text:
            return f"{column} {text!r}"
    return None


def _cause(message: str) -> str:
    """A GEOS error in words."""
    text = str(message).strip().splitlines()[0]
    if "closed linestring" in text:
        return "a ring is not closed (its last point is not its first)"
    m = re.search(r"Invalid number of points in LinearRing found (\d+)", text)
    if m:
        return f"a ring has {m[1]} points"
    if "point array must contain 0 or >1 elements" in text:
        return "the line has only 1 point"
    return f"it cannot be read ({text})"


def read_features(path: str | Path, *, expected: str, layer: str | None = None,
                  encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer with pyogrio; a geometry GEOS cannot build is an error naming its feature.

    Parameters
    ----------
    path : str or Path
        Any file GDAL reads.
    expected : str
        What a geometry should be, for the message (:data:`EXPECTED_POLYGON` …).
    layer, encoding : str, optional
        Passed to :func:`pyogrio.read_dataframe`.

    Raises
    ------
    InputError
        A malformed geometry, naming the file, the feature's row and id, ``geometry`` and
        what was expected. Other read errors (a damaged file) propagate as pyogrio raises them.
    """
    import pyogrio

    kwargs: dict = {}
    if layer is not None:
        kwargs["layer"] = layer
    if encoding:
        kwargs["encoding"] = encoding
    try:
        return pyogrio.read_dataframe(path, **kwargs)
    except GEOSException as exc:
        _raise_malformed(path, kwargs, expected, exc)
        raise  # pragma: no cover - _raise_malformed always raises


def _raise_malformed(path, kwargs: dict, expected: str, exc: GEOSException) -> None:
    """Decode the geometries one by one to name the first one GEOS refuses."""
    import pyogrio
    from pyogrio.raw import read as raw_read

    _meta, _fids, wkb, _fields = raw_read(path, columns=[], **kwargs)
    wkb = np.asarray(wkb, dtype=object)
    decoded = shapely.from_wkb(wkb, on_invalid="ignore")
    bad = np.flatnonzero(pd.notna(wkb) & pd.isna(decoded))
    if not len(bad):
        raise InputError(f"expected {expected}; {_cause(str(exc))}", file=str(path),
                         column="geometry") from None
    i = int(bad[0])
    try:
        shapely.from_wkb(wkb[i])
        cause = _cause(str(exc))
    except GEOSException as one:
        cause = _cause(str(one))
    attrs = pyogrio.read_dataframe(path, read_geometry=False, **kwargs)
    more = len(bad) - 1
    extra = f" ({more} more feature(s) like this)" if more else ""
    raise InputError(f"expected {expected}; {cause}{extra}", file=str(path), row=i + 1,
                     feature=feature_label(attrs, i), column="geometry") from None


def check_geometries(frame: gpd.GeoDataFrame, file: str, *, kinds: Sequence[int],
                     expected: str, wrong_kind: tuple[str, str] | None = None) -> None:
    """Refuse empty geometries, non-finite coordinates and (with ``wrong_kind``) other kinds.

    Null geometries pass (the importers skip them as "no geometry"). ``wrong_kind`` is
    ``(what, why)`` for a geometry that is not one of ``kinds`` ("expected *what*, found a
    point; *why*"); without it other kinds pass (the street importer skips them).
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = pd.notna(geoms)
    if not present.any():
        return
    empty = present & shapely.is_empty(geoms)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"expected {expected}; the geometry is empty (it has no points)",
                         file=file, row=i + 1, feature=feature_label(frame, i),
                         column="geometry")
    if wrong_kind is not None:
        wrong = present & ~np.isin(shapely.get_type_id(geoms), list(kinds))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            found = _TYPE_NAMES.get(int(shapely.get_type_id(geoms[i])), geoms[i].geom_type)
            what, why = wrong_kind
            raise InputError(f"expected {what}, found a {found}; {why}", file=file,
                             row=i + 1, feature=feature_label(frame, i), column="geometry")
    coords, index = shapely.get_coordinates(geoms[present], return_index=True)
    nonfinite = ~np.isfinite(coords).all(axis=1)
    if nonfinite.any():
        i = int(np.flatnonzero(present)[index[np.flatnonzero(nonfinite)[0]]])
        raise InputError("expected coordinates within the CRS's bounds; a coordinate is "
                         "not a finite number (NaN or infinity)", file=file, row=i + 1,
                         feature=feature_label(frame, i), column="geometry")


def check_store_bounds(geoms: np.ndarray, frame: pd.DataFrame, file: str, *,
                       crs_name: str) -> None:
    """Refuse geometries (already in EPSG:27700) outside British National Grid's extent."""
    geoms = np.asarray(geoms, dtype=object)
    present = pd.notna(geoms) & ~shapely.is_empty(geoms)
    if not present.any():
        return
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[present] = shapely.bounds(geoms[present])
    x0, y0, x1, y1 = GB_GRID_BOUNDS
    with np.errstate(invalid="ignore"):
        bad = present & ~((bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) & (bounds[:, 1] >= y0)
                          & (bounds[:, 3] <= y1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = ", ".join(f"{v:.0f}" for v in bounds[i])
        raise InputError(f"expected coordinates within the CRS's bounds: the geometry lies "
                         f"outside Great Britain in British National Grid ({shown}); is the "
                         f"CRS {crs_name} right? Pass --crs EPSG otherwise", file=file,
                         row=i + 1, feature=feature_label(frame, i), column="geometry")


def layer_crs(file: str, file_crs, geoms, crs: int | None = None, *, guess: bool = False
              ) -> tuple[int | CRS, str | None]:
    """The CRS of a layer's coordinates: the ``crs`` option, else the file's, each checked
    against the coordinates (degrees labelled metres, or the reverse, is an error telling
    which ``--crs`` to pass); the one rule of every vector importer.

    A file without a CRS is an error, or with ``guess`` read as British National Grid or
    WGS84 when its coordinates say so. Returns the EPSG code (a :class:`pyproj.CRS` when it
    has none) and, when guessed, a note for the report.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms):
        b = shapely.bounds(geoms)
        xs = np.concatenate([b[:, 0], b[:, 2]])
        ys = np.concatenate([b[:, 1], b[:, 3]])
    else:
        xs = ys = np.array([], dtype="float64")
    if crs is not None:
        try:
            given = CRS.from_user_input(crs)
        except Exception:  # noqa: BLE001
            raise InputError(f"unknown CRS {crs!r}; give an EPSG code such as 27700") from None
        _check_label(given, xs, ys, f"--crs {crs} is", file)
        epsg = given.to_epsg()
        return (epsg if epsg is not None else given), None
    if file_crs is None:
        if guess and looks_like_bng(xs, ys):
            return STORE_SRID, "no CRS in the file: coordinates read as British National Grid"
        if guess and looks_like_lnglat(xs, ys):
            return WGS84, "no CRS in the file: coordinates read as WGS84 longitude/latitude"
        if looks_like_bng(xs, ys):
            raise InputError("the file has no coordinate reference system and its coordinates "
                             "look like British National Grid metres; pass --crs 27700", file=file)
        raise InputError("the file has no coordinate reference system (a Shapefile without "
                         "its .prj?); pass --crs with the EPSG code, e.g. --crs 27700 or "
                         "--crs 4326", file=file)
    file_crs = CRS.from_user_input(file_crs)
    _check_label(file_crs, xs, ys, "the file says", file)
    epsg = file_crs.to_epsg()
    if epsg == WGS84 or (epsg is None and file_crs.is_geographic and "84" in file_crs.name):
        return WGS84, None
    return (epsg if epsg is not None else file_crs), None


def _check_label(label: CRS, xs: np.ndarray, ys: np.ndarray, said: str, file: str) -> None:
    """Refuse a CRS that contradicts the coordinates (``said``: who gave it)."""
    if label.is_geographic and looks_like_bng(xs, ys):
        raise InputError(f"{said} geographic (longitude/latitude degrees; WGS84 is the GeoJSON "
                         "default when there is no 'crs' member) but the coordinates are "
                         "metres, as in British National Grid; pass --crs 27700", file=file)
    if label.is_projected and looks_like_lnglat(xs, ys):
        raise InputError(f"{said} {label.name} (metres) but the coordinates look like "
                         "longitude/latitude degrees: expected metres; pass --crs 4326",
                         file=file)
