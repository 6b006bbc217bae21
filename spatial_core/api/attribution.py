# SPDX-License-Identifier: GPL-3.0-or-later
"""The attribution lines the licences of the data shown ask for (``shared/data/real/
SOURCES.md``), from the kinds of file imported into the store.

One rule for every front: the demo force (area ``force:DEMO``) is synthetic, so one line says
so and nothing else is claimed (its "OSM-like" streets are generated); otherwise each kind of
imported file (crimes, boundaries, classification, postcodes, streets) brings its licence's
lines. Addresses and members are the force's own data and need none. Two forms of the same
lines: ``"map"`` (short lines under a map: the officer page, the service's HTML maps) and
``"document"`` (a sentence per source: the tactical document's footer).
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MAP_LINES", "DOCUMENT_LINES", "DEMO_MAP_LINE", "DEMO_DOCUMENT_LINE",
           "attribution_lines", "data_attributions", "imported_kinds", "is_demo_store"]

MAP_LINES = {
    "ogl": "Contains public sector information licensed under the Open Government Licence v3.0",
    "os": "Contains OS data © Crown copyright and database right",
    "royal_mail": "Contains Royal Mail data © Royal Mail copyright and database right",
    "ons": "Contains National Statistics data © Crown copyright and database right",
    "osm": "© OpenStreetMap contributors (ODbL)",
    "demo": "Synthetic demo data: no real people, places or crimes",
}
"""Short lines, by licence, in the order they are shown."""

_MAP_BY_KIND = {
    "crimes": ("ogl",),
    "boundaries": ("ogl", "os", "ons"),
    "classification": ("ogl", "ons", "os"),
    "postcodes": ("ogl", "os", "royal_mail", "ons"),
    "streets": ("osm",),
}

DOCUMENT_LINES = {
    "crimes": "Crime: police.uk, contains public sector information licensed under the Open "
              "Government Licence v3.0.",
    "postcodes": "Postcodes: Code-Point Open, contains OS data © Crown copyright and database "
                 "right; contains Royal Mail data © Royal Mail copyright and database right; "
                 "contains National Statistics data © Crown copyright and database right.",
    "boundaries": "Boundaries: Office for National Statistics / Ordnance Survey, contains "
                  "National Statistics and OS data © Crown copyright and database right "
                  "(OGL v3.0).",
    "classification": "Output area classification: Office for National Statistics, contains "
                      "National Statistics data © Crown copyright and database right (OGL "
                      "v3.0).",
    "streets": "Streets: © OpenStreetMap contributors, Open Database Licence (ODbL).",
}
"""A sentence per kind of imported file, in the order they are shown."""

DEMO_MAP_LINE = MAP_LINES["demo"]
DEMO_DOCUMENT_LINE = ("Synthetic demo data: a generated force; no real people, places or "
                      "crimes (spatial_core.demo).")


def attribution_lines(kinds: Iterable[str], demo: bool, form: str = "map") -> list[str]:
    """The attribution lines for data imported from files of ``kinds``.

    >>> attribution_lines(["streets", "crimes"], False)
    ['Contains public sector information licensed under the Open Government Licence v3.0', \
'© OpenStreetMap contributors (ODbL)']
    >>> attribution_lines(["streets"], True, "document") == [DEMO_DOCUMENT_LINE]
    True
    """
    if form not in ("map", "document"):
        raise ValueError(f"form must be 'map' or 'document', not {form!r}")
    kinds = set(kinds)
    if demo:
        return [DEMO_MAP_LINE if form == "map" else DEMO_DOCUMENT_LINE]
    if form == "document":
        return [text for kind, text in DOCUMENT_LINES.items() if kind in kinds]
    keys = {k for kind in kinds for k in _MAP_BY_KIND.get(kind, ())}
    return [line for k, line in MAP_LINES.items() if k in keys]


def is_demo_store(store) -> bool:
    """Whether the store holds the synthetic demo force (a force area ``force:DEMO``)."""
    from sqlalchemy import and_

    from spatial_core.store import schema

    a = schema.table("areas")
    return bool(len(store.read("areas", ["area_id"],
                               where=and_(a.c.area_id == "force:DEMO", a.c.level == "force"))))


def imported_kinds(store) -> tuple[str, ...]:
    """The kinds of file imported into the store, sorted."""
    return tuple(sorted(set(store.read("lpt_imports", ["kind"])["kind"])))


def data_attributions(store, form: str = "map", *, demo: bool | None = None) -> list[str]:
    """The attribution lines for the data in ``store`` (``demo`` None: detected from the
    store, :func:`is_demo_store`)."""
    if demo is None:
        demo = is_demo_store(store)
    return attribution_lines(() if demo else imported_kinds(store), demo, form)
