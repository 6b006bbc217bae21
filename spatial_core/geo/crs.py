# SPDX-License-Identifier: GPL-3.0-or-later
"""Coordinate reference systems: the store keeps British National Grid, the world speaks WGS84.

Geometry is stored in EPSG:27700 (metres) because every measure the analytics take — street
length, distance to a street, households per metre — wants metres, and most UK sources
(Code-Point Open, OS Open UPRN, force extracts, ONS boundaries) are published in it. Points
also keep ``lat``/``lng`` (WGS84), which H3 needs. Fronts transform on output.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer

__all__ = ["STORE_SRID", "WGS84", "GB_GRID_BOUNDS", "GB_LNG", "GB_LAT", "lnglat_to_bng",
           "bng_to_lnglat", "transform_xy", "in_gb_grid", "looks_like_bng", "looks_like_lnglat",
           "lnglat_swapped"]

STORE_SRID = 27700
WGS84 = 4326

GB_GRID_BOUNDS = (-100_000.0, -100_000.0, 800_000.0, 1_300_000.0)
"""Great Britain in British National Grid metres (minx, miny, maxx, maxy), with a margin:
every point of Great Britain, the Scilly Isles and Shetland included, lies inside. The one
definition of "in Great Britain" for every importer and check."""

GB_LNG = (-9.0, 3.0)
"""Great Britain's longitudes in degrees (WGS84), with a margin."""

GB_LAT = (49.0, 61.0)
"""Great Britain's latitudes in degrees (WGS84), with a margin."""


@lru_cache(maxsize=16)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform_xy(x, y, src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (x/lng first) between two EPSG codes."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if src == dst:
        return x.copy(), y.copy()
    return _transformer(src, dst).transform(x, y)


def lnglat_to_bng(lng, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude to British National Grid easting/northing.

    Examples
    --------
    >>> x, y = lnglat_to_bng([-1.5491], [53.7996])
    >>> round(float(x[0])), round(float(y[0]))
    (429796, 433794)
    """
    return transform_xy(lng, lat, WGS84, STORE_SRID)


def bng_to_lnglat(x, y) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid easting/northing to WGS84 longitude/latitude."""
    return transform_xy(x, y, STORE_SRID, WGS84)


def in_gb_grid(x, y) -> np.ndarray:
    """Which points (British National Grid metres) are in Great Britain (:data:`GB_GRID_BOUNDS`).

    NaN (no location) is not in it, and neither is (0, 0): spreadsheets and exports write
    it for "no location", and it is in the sea off the Scilly Isles.

    Examples
    --------
    >>> in_gb_grid([429796, 9_430_000, 0, np.nan], [433794, 433000, 0, 5]).tolist()
    [True, False, False, False]
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    x0, y0, x1, y1 = GB_GRID_BOUNDS
    with np.errstate(invalid="ignore"):
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return inside & ~((x == 0) & (y == 0))


def looks_like_bng(x, y) -> bool:
    """True when every finite coordinate is inside Great Britain's grid and some exceed degrees."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return False
    x, y = x[ok], y[ok]
    x0, y0, x1, y1 = GB_GRID_BOUNDS
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    return bool(inside.all() and (np.abs(x) > 180).any())


def lnglat_swapped(lng, lat) -> np.ndarray:
    """Rows whose longitude and latitude look swapped for Great Britain.

    True where the latitude is within Great Britain's longitudes (-9 to 3) and the longitude
    within its latitudes (49 to 61): a point in the Indian Ocean that was meant for Britain.
    """
    lng = np.asarray(lng, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    with np.errstate(invalid="ignore"):
        return ((lat >= GB_LNG[0]) & (lat <= GB_LNG[1]) & (lng >= GB_LAT[0])
                & (lng <= GB_LAT[1]))


def looks_like_lnglat(x, y) -> bool:
    """True when every finite coordinate is a valid longitude/latitude pair."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    return bool(ok.any() and (np.abs(x[ok]) <= 180).all() and (np.abs(y[ok]) <= 90).all())
