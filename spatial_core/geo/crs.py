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

__all__ = ["STORE_SRID", "WGS84", "lnglat_to_bng", "bng_to_lnglat", "transform_xy",
           "looks_like_bng", "looks_like_lnglat", "lnglat_swapped"]

STORE_SRID = 27700
WGS84 = 4326

# Great Britain's extent in British National Grid metres, with room for the Scilly Isles,
# Shetland and Northern Ireland's neighbours of the grid.
_BNG_X = (-100_000.0, 800_000.0)
_BNG_Y = (-100_000.0, 1_300_000.0)


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


def looks_like_bng(x, y) -> bool:
    """True when every finite coordinate is inside Great Britain's grid and some exceed degrees."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return False
    x, y = x[ok], y[ok]
    inside = (x >= _BNG_X[0]) & (x <= _BNG_X[1]) & (y >= _BNG_Y[0]) & (y <= _BNG_Y[1])
    return bool(inside.all() and (np.abs(x) > 180).any())


def lnglat_swapped(lng, lat) -> np.ndarray:
    """Rows whose longitude and latitude look swapped for Great Britain.

    True where the latitude is within Great Britain's longitudes (-9 to 3) and the longitude
    within its latitudes (49 to 61): a point in the Indian Ocean that was meant for Britain.
    """
    lng = np.asarray(lng, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    with np.errstate(invalid="ignore"):
        return (lat >= -9.0) & (lat <= 3.0) & (lng >= 49.0) & (lng <= 61.0)


def looks_like_lnglat(x, y) -> bool:
    """True when every finite coordinate is a valid longitude/latitude pair."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    return bool(ok.any() and (np.abs(x[ok]) <= 180).all() and (np.abs(y[ok]) <= 90).all())
