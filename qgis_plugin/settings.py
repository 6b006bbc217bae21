# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin's settings: the default store (a GeoPackage path or a PostGIS URL) and the
geoservice connections to restore when QGIS starts (never a secret: only the id of the
authentication configuration that holds it)."""
from __future__ import annotations

import json

from qgis.core import QgsSettings

__all__ = ["STORE_KEY", "CONNECTIONS_KEY", "default_store", "set_default_store",
           "saved_connections", "save_connection", "forget_connection"]

STORE_KEY = "local_priority_targeting/store"
CONNECTIONS_KEY = "local_priority_targeting/geoservice_connections"


def default_store() -> str:
    """The store used when an algorithm is not given one ("" when none is set)."""
    return str(QgsSettings().value(STORE_KEY, "") or "")


def set_default_store(location: str) -> None:
    QgsSettings().setValue(STORE_KEY, str(location))


def saved_connections() -> dict[str, dict]:
    """The saved geoservice connections by base URL: ``{"kind", "authcfg", "purpose"}``."""
    try:
        got = json.loads(str(QgsSettings().value(CONNECTIONS_KEY, "") or "{}"))
    except ValueError:
        return {}
    return {str(url): dict(c) for url, c in got.items() if isinstance(c, dict)} \
        if isinstance(got, dict) else {}


def save_connection(url: str, kind: str, authcfg: str | None, purpose: str | None) -> None:
    """Remember a connection (replacing the one saved for ``url``)."""
    got = saved_connections()
    got[url] = {"kind": kind, "authcfg": authcfg or "", "purpose": purpose or ""}
    QgsSettings().setValue(CONNECTIONS_KEY, json.dumps(got, sort_keys=True))


def forget_connection(url: str) -> None:
    got = saved_connections()
    if got.pop(url, None) is not None:
        QgsSettings().setValue(CONNECTIONS_KEY, json.dumps(got, sort_keys=True))
