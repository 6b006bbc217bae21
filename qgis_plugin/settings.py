# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin's settings: the default store (a GeoPackage path or a PostGIS URL)."""
from __future__ import annotations

from qgis.core import QgsSettings

__all__ = ["STORE_KEY", "default_store", "set_default_store"]

STORE_KEY = "local_priority_targeting/store"


def default_store() -> str:
    """The store used when an algorithm is not given one ("" when none is set)."""
    return str(QgsSettings().value(STORE_KEY, "") or "")


def set_default_store(location: str) -> None:
    QgsSettings().setValue(STORE_KEY, str(location))
