# SPDX-License-Identifier: GPL-3.0-or-later
"""Store tables as QGIS layers, and the plugin's styles (``styles/*.qml``).

The analytics algorithms use :func:`apply_style` on their result layers; "Load store layers"
uses :func:`store_layer` for the tables themselves.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from qgis.core import (
    QgsClassificationQuantile,
    QgsDataSourceUri,
    QgsGraduatedSymbolRenderer,
    QgsVectorLayer,
)

from .paths import PLUGIN_DIR

__all__ = ["STYLES_DIR", "StoreLayer", "STORE_LAYERS", "style_path", "apply_style",
           "store_layer", "is_postgis"]

STYLES_DIR = os.path.join(PLUGIN_DIR, "styles")


@dataclass(frozen=True)
class StoreLayer:
    """A table of the store shown as a layer: its name in QGIS and its style."""

    table: str
    title: str
    style: str


# Bottom to top: polygons, lines, then points.
STORE_LAYERS: tuple[StoreLayer, ...] = (
    StoreLayer("areas", "Areas", "areas"),
    StoreLayer("streets", "Streets", "streets"),
    StoreLayer("addresses", "Households", "households"),
    StoreLayer("postcodes", "Postcodes", "postcodes"),
    StoreLayer("crimes", "Crimes", "crimes"),
    StoreLayer("surveys", "Survey responses", "surveys"),
    StoreLayer("visits", "Visits", "visits"),
    StoreLayer("members", "Members", "members"),
)


def style_path(name: str) -> str:
    return os.path.join(STYLES_DIR, f"{name}.qml")


def apply_style(layer: QgsVectorLayer, name: str, classes: int = 5) -> None:
    """Load ``styles/<name>.qml``; a graduated renderer gets quantile classes of this layer's data.

    Shipped graduated styles carry the field, colour ramp and symbol but no class breaks, so
    the same style reads well whatever the range of the scores.
    """
    msg, ok = layer.loadNamedStyle(style_path(name))
    if not ok:
        raise RuntimeError(f"style {name} not loaded: {msg}")
    renderer = layer.renderer()
    if isinstance(renderer, QgsGraduatedSymbolRenderer) and layer.featureCount() > 0:
        renderer.setClassificationMethod(QgsClassificationQuantile())
        renderer.updateClasses(layer, classes)
    layer.triggerRepaint()


def is_postgis(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def _postgis_uri(location: str, table: str, subset: str) -> QgsDataSourceUri:
    url = urlsplit(location)
    uri = QgsDataSourceUri()
    uri.setConnection(url.hostname or "localhost", str(url.port or 5432),
                      unquote(url.path.lstrip("/")), unquote(url.username or ""),
                      unquote(url.password or ""))
    uri.setDataSource("public", table, "geom", subset, "fid")
    uri.setSrid("27700")
    return uri


def store_layer(location: str, table: str, title: str, subset: str = "") -> QgsVectorLayer:
    """The store table ``table`` as a layer (GeoPackage through OGR, PostGIS natively)."""
    if is_postgis(location):
        layer = QgsVectorLayer(_postgis_uri(location, table, subset).uri(False), title, "postgres")
    else:
        layer = QgsVectorLayer(f"{location}|layername={table}", title, "ogr")
        if subset:
            # A full SELECT: QGIS 3.22's OGR provider counts a plain WHERE subset on a
            # GeoPackage as the whole table (the features are right, the count is not).
            layer.setSubsetString(f"SELECT * FROM {table} WHERE {subset}")
    return layer
