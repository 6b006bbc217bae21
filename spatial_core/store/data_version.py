# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's data version: a token in ``lpt_meta`` that changes whenever data that a
reader may have cached change.

Every writer of data that a reader may have cached calls :func:`bump_data_version`, in its
own transaction when it has one: every import (:func:`spatial_core.io.imports.import_files`,
after the import; a member import also inside its transaction), the index refresh, set-up
creation, change and archiving, and every saved score run. A new writer of such data must
do the same: readers trust the version, not the file. Recording a visit does **not** bump:
nothing a reader caches is computed from visits, and officers record them all day.

Readers that cache derived results (the geoservice's response cache and computed frames,
one per worker process) call :func:`data_version` and drop what they cached when it differs
from the version they cached it under; writes that bump nothing (a GeoPackage edited in
QGIS, SQL by hand) are caught only by their time bound (the geoservice's
``counts_ttl_s``). The value is an opaque token (time and a random part), not a counter, so
two writers bumping at the same moment cannot lose an update by both writing ``n + 1``.
"""
from __future__ import annotations

import time
import uuid

from sqlalchemy.engine import Connection

__all__ = ["DATA_VERSION_KEY", "data_version", "bump_data_version"]

DATA_VERSION_KEY = "data_version"
"""The ``lpt_meta`` key holding the data version."""


def data_version(store) -> str:
    """The store's current data version (``"0"`` when nothing has bumped it yet).

    Parameters
    ----------
    store : spatial_core.Store
        An open store (GeoPackage or PostGIS).

    Returns
    -------
    str
        An opaque token; compare it for equality only.
    """
    return store.get_meta(DATA_VERSION_KEY) or "0"


def bump_data_version(store, conn: Connection | None = None) -> str:
    """Give the store a new data version and return it.

    Parameters
    ----------
    store : spatial_core.Store
        The store that was written.
    conn : sqlalchemy.engine.Connection, optional
        The writer's open transaction: the new version commits (or rolls back) with the
        data. Without it the version is written in a transaction of its own, which the
        caller should do *after* its data are committed.

    Returns
    -------
    str
        The new version token.
    """
    token = f"{time.time_ns():x}-{uuid.uuid4().hex[:8]}"
    store.set_meta(DATA_VERSION_KEY, token, conn=conn)
    return token
