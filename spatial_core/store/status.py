# SPDX-License-Identifier: GPL-3.0-or-later
"""What a store holds: counts per entity, date ranges, areas per level, resolution."""
from __future__ import annotations

from sqlalchemy import func, select

from spatial_core.store import schema

__all__ = ["store_status"]

_ENTITIES = ("areas", "postcodes", "classifications", "streets", "addresses", "members",
             "surveys", "crimes", "visits")
_DATES = {"crimes": "month", "surveys": "responded", "visits": "visited_at", "members": "joined"}


def store_status(store) -> dict:
    """A summary of the store, as plain data (the CLI prints it, ``--json`` dumps it).

    Examples
    --------
    >>> import tempfile, os
    >>> from spatial_core import open_store
    >>> s = open_store(os.path.join(tempfile.mkdtemp(), "s.gpkg"))
    >>> status = store_status(s)
    >>> status["counts"]["crimes"], status["h3_resolution"], status["backend"]
    (0, 10, 'geopackage')
    """
    out: dict = {
        "store": store.location,
        "backend": store.backend,
        "schema_version": store.schema_version,
        "h3_resolution": store.h3_resolution,
        "counts": {},
        "date_ranges": {},
        "areas_by_level": {},
        "classification_schemes": {},
        "imports": 0,
    }
    with store.connect() as conn:
        for name in _ENTITIES:
            out["counts"][name] = store.count(name, conn=conn)
        for name, col in _DATES.items():
            t = schema.table(name)
            lo, hi = conn.execute(select(func.min(t.c[col]), func.max(t.c[col]))).one()
            out["date_ranges"][name] = {"from": lo, "to": hi} if lo else None
        a = schema.areas
        for level, n in conn.execute(select(a.c.level, func.count()).group_by(a.c.level)):
            out["areas_by_level"][level] = n
        c = schema.classifications
        for scheme, n in conn.execute(select(c.c.scheme, func.count()).group_by(c.c.scheme)):
            out["classification_schemes"][scheme] = n
        cr = schema.crimes
        out["crimes_without_location"] = store.count("crimes", cr.c.cell == 0, conn=conn)
        out["crimes_flagged_outside_force"] = store.count("crimes", cr.c.is_outlier == 1, conn=conn)
        out["imports"] = store.count("lpt_imports", conn=conn)
    return out
