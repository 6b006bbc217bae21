# SPDX-License-Identifier: GPL-3.0-or-later
"""A SQLAlchemy column type that stores geometry as GeoPackage blobs or PostGIS geometry.

The store speaks WKB in both directions. On SQLite the column holds the GeoPackage binary
encoding (a small header, then the WKB) so QGIS and GDAL open the file as a GeoPackage; on
PostgreSQL it is a PostGIS ``geometry`` with the store's SRID, written with
``ST_GeomFromWKB`` and read with ``ST_AsBinary``. Encoding and decoding are array
operations, so the bulk paths never build one shapely object per row in Python.
"""
from __future__ import annotations

import struct

import numpy as np
import shapely
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import LargeBinary, UserDefinedType

from spatial_core.geo.crs import STORE_SRID

__all__ = ["Geometry", "to_gpkg_blobs", "from_gpkg_blobs", "gpkg_blob_to_wkb", "wkb_to_gpkg_blob"]

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def wkb_to_gpkg_blob(wkb: bytes | None, srid: int = STORE_SRID) -> bytes | None:
    """Wrap ISO WKB in a GeoPackage header (little-endian, no envelope)."""
    if wkb is None:
        return None
    return b"GP\x00\x01" + struct.pack("<i", srid) + bytes(wkb)


def gpkg_blob_to_wkb(blob: bytes | memoryview | None) -> bytes | None:
    """Strip the GeoPackage header; accepts any envelope the GeoPackage standard allows."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP":  # already plain WKB (spatialite-free writers sometimes do this)
        return blob
    flags = blob[3]
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0x7, 0)
    return blob[8 + envelope:]


def to_gpkg_blobs(geoms, srid: int = STORE_SRID) -> list[bytes | None]:
    """GeoPackage blobs for an array of shapely geometries (None stays None)."""
    wkbs = shapely.to_wkb(np.asarray(geoms, dtype=object), flavor="iso")
    return [wkb_to_gpkg_blob(w, srid) for w in wkbs]


def from_gpkg_blobs(blobs) -> np.ndarray:
    """Shapely geometries from GeoPackage blobs or WKB (None stays None)."""
    wkbs = np.array([gpkg_blob_to_wkb(b) for b in blobs], dtype=object)
    return shapely.from_wkb(wkbs)


class Geometry(UserDefinedType):
    """Geometry column; ``geometry_type`` is the GeoPackage name (POINT, MULTIPOLYGON …)."""

    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = STORE_SRID) -> None:
        self.geometry_type = geometry_type.upper()
        self.srid = srid

    def get_col_spec(self, **kw) -> str:  # used by dialects without their own rule
        return self.geometry_type

    def bind_expression(self, bindvalue):
        return _FromWKB(bindvalue, self.srid)

    def column_expression(self, col):
        return _AsWKB(col)

    def bind_processor(self, dialect):
        if dialect.name == "sqlite":
            srid = self.srid
            return lambda value: wkb_to_gpkg_blob(value, srid) if value is not None else None
        return lambda value: bytes(value) if value is not None else None

    def result_processor(self, dialect, coltype):
        if dialect.name == "sqlite":
            return gpkg_blob_to_wkb
        return lambda value: bytes(value) if value is not None else None


@compiles(Geometry, "postgresql")
def _pg_type(element: Geometry, compiler, **kw) -> str:
    kind = "Geometry" if element.geometry_type == "GEOMETRY" else element.geometry_type.title()
    kind = kind.replace("string", "String").replace("polygon", "Polygon")
    return f"geometry({kind}, {element.srid})"


@compiles(Geometry, "sqlite")
def _sqlite_type(element: Geometry, compiler, **kw) -> str:
    return element.geometry_type


class _FromWKB(FunctionElement):
    inherit_cache = True

    def __init__(self, value: ColumnElement, srid: int) -> None:
        self.srid = srid
        super().__init__(value)


@compiles(_FromWKB)
def _from_wkb_default(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_FromWKB, "postgresql")
def _from_wkb_pg(element, compiler, **kw) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {int(element.srid)})"


class _AsWKB(FunctionElement):
    type = LargeBinary()
    inherit_cache = True


@compiles(_AsWKB)
def _as_wkb_default(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_AsWKB, "postgresql")
def _as_wkb_pg(element, compiler, **kw) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"
