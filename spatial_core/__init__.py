# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priority targeting: the spatial core.

Importers for real police, postcode, boundary, geodemographic, street, member and survey
formats; H3 indexing; a GeoPackage or PostGIS store; the demo force; and (in later modules)
the targeting analytics. Nothing here imports QGIS, pygeoapi or a web framework.
"""
from __future__ import annotations

from .errors import (
    Cancelled,
    InputError,
    NotFoundError,
    ReadOnlyError,
    SchemaVersionError,
    SpatialCoreError,
    StoreError,
)
from .store import DEFAULT_STORE, Store, open_store

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "DEFAULT_STORE",
    "InputError",
    "NotFoundError",
    "ReadOnlyError",
    "SchemaVersionError",
    "SpatialCoreError",
    "Store",
    "StoreError",
    "open_store",
]
