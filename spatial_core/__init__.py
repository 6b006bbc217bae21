# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priority targeting: the spatial core.

Importers for real police, postcode, boundary, geodemographic, street, member and survey
formats; H3 indexing; a GeoPackage or PostGIS store; the demo force; and (in later modules)
the targeting analytics. Nothing here imports QGIS, pygeoapi or a web framework.
"""
from __future__ import annotations

from spatial_core.errors import (
    Cancelled,
    InputError,
    NotFoundError,
    ReadOnlyError,
    SchemaVersionError,
    SpatialCoreError,
    StoreError,
)
from spatial_core.store import DEFAULT_STORE, Store, open_store

__version__ = "0.1.0"

# The public functions of every module are reachable from the package
# (``spatial_core.score_streets``), imported on first use so that ``import spatial_core``
# stays light for the fronts.
_PUBLIC_MODULES = (
    "io.imports", "store.status", "store.index", "geo.cells", "geo.crs", "io.sources",
    "io.crimes", "io.postcodes", "io.features", "io.boundaries", "io.classification",
    "io.streets", "io.addresses", "io.locations", "io.members",
    "io.surveys", "io.visits", "analytics.population", "analytics.harm", "targeting.profiles",
    "targeting.scoring", "analytics.priorities", "analytics.representation",
    "analytics.confidence", "analytics.hotspots", "analytics.change", "targeting.evaluation",
    "targeting.setups", "targeting.walklists", "targeting.fairness", "api.export",
    "analytics.disclosure", "analytics.cell_aggregates", "api.mainjob", "demo",
)


def __getattr__(name: str):
    import importlib

    for module_name in _PUBLIC_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        if name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
