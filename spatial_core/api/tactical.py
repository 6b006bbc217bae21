# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document's content: what a two-page briefing on one area shows.

For a beat, npa, ward or the force: its street scores and the recommended streets, its local
priorities, representation and the under-represented households without a member, members
per H3 cell over the area, and the attribution lines of the data used. The QGIS plugin lays
it out (``qgis_plugin.tactical``); any other front gets the same content from
:func:`tactical_content`.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from spatial_core.analytics.population import AREA_LEVELS
from spatial_core.api import FORCE, Scope
from spatial_core.api.attribution import attribution_lines, imported_kinds, is_demo_store
from spatial_core.errors import InputError, NotFoundError

__all__ = ["TacticalContent", "TacticalSection", "SectionContext", "tactical_content",
           "tactical_sections", "cell_polygons", "LEVELS"]

LEVELS = AREA_LEVELS
"""The levels a document is made for."""


@dataclass(frozen=True)
class TacticalSection:
    """One further table of the document (after the map and the priorities page): a title,
    column headings, rows of text and a note under the table. Made by a module of
    :mod:`spatial_core.api.tactical_sections`; every front lays it out the same way."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    order: int = 100


@dataclass(frozen=True)
class SectionContext:
    """What a section module is given: the area and the document's settings."""

    store: object
    area_id: str
    level: str
    scope: Scope
    profile: object
    period: str | None
    min_n: int
    target: float


def tactical_sections(ctx: SectionContext) -> tuple[TacticalSection, ...]:
    """The further sections of the document on ``ctx.area_id``: each module of
    :mod:`spatial_core.api.tactical_sections` with a ``section(ctx)`` function gives one
    section or ``None`` (nothing to show for the area), ordered by ``order`` then key."""
    import importlib
    import pkgutil

    from spatial_core.api import tactical_sections as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        make = getattr(module, "section", None)
        if make is None:
            continue
        made = make(ctx)
        if made is not None:
            found.append(made)
    return tuple(sorted(found, key=lambda t: (t.order, t.key)))


@dataclass
class TacticalContent:
    """What the document shows, as spatial_core gives it (geometries in EPSG:27700)."""

    area_id: str
    area_name: str
    level: str
    area: object  # GeoDataFrame: the area polygon
    streets: object  # GeoDataFrame: every scored street of the area
    recommended: object  # GeoDataFrame: the recommended streets, best first
    households: object  # GeoDataFrame: under-represented households without a member
    members: object  # GeoDataFrame: members per H3 cell
    priorities: object  # DataFrame: local_priorities rows of the area
    representation: object  # DataFrame: representation rows of the area
    profile: object  # spatial_core.targeting.profiles.Profile
    as_of: str
    target: float
    demo: bool
    kinds: tuple[str, ...] = ("crimes", "postcodes", "boundaries", "classification", "streets")
    sections: tuple[TacticalSection, ...] = ()
    prepared: str = field(default_factory=lambda: _dt.date.today().isoformat())

    @property
    def attributions(self) -> tuple[str, ...]:
        """The document's attribution lines (:mod:`spatial_core.api.attribution`)."""
        return tuple(attribution_lines(self.kinds, self.demo, "document"))


def cell_polygons(cells) -> gpd.GeoSeries:
    """H3 cells (int64) as hexagons in EPSG:27700 (a GeoSeries in the order given)."""
    from spatial_core.geo.cells import cells_to_boundaries

    hexes = cells_to_boundaries(np.asarray(cells, dtype="int64"))
    return gpd.GeoSeries(hexes, crs=4326).to_crs(27700)


def tactical_content(store, area_id: str, profile, *, scope: Scope = FORCE, top: int = 10,
                     period: str | None = None, min_n: int = 10, target: float = 0.7,
                     data: str = "detect",
                     progress: Callable[[float, str], None] | None = None) -> TacticalContent:
    """The content of the tactical document on ``area_id`` with ``profile`` (a Profile).

    ``data`` is ``"detect"`` (the demo force is recognised by its area), ``"demo"`` or
    ``"real"``: it chooses the attribution lines. An area outside ``scope`` is "not found".
    """
    from spatial_core.analytics.population import area_table
    from spatial_core.analytics.priorities import local_priorities
    from spatial_core.analytics.representation import (
        member_locations,
        representation,
        underrepresented_households,
    )
    from spatial_core.api.export import area_geometries, street_geometries
    from spatial_core.api.scores import score_streets_for

    say = progress or (lambda f, m: None)
    areas = area_table(store)
    row = areas[areas["area_id"] == area_id]
    if not len(row) or (scope.areas is not None and area_id not in scope.areas):
        raise NotFoundError(f"no area {area_id!r} in the store; beats look like "
                            + ", ".join(areas.loc[areas["level"] == "beat", "area_id"].head(3)))
    level = str(row["level"].iloc[0])
    if level not in LEVELS:
        raise InputError(f"a tactical document is made for a beat, npa, ward or force, not a "
                         f"{level} ({area_id})")
    name = str(row["name"].iloc[0] or area_id)
    say(0.05, "scoring the area's streets")
    run = score_streets_for(store, scope, profile, area=area_id)
    scores = run.scores
    geoms = street_geometries(store, scores["street_id"]).reindex(scores["street_id"])
    streets = gpd.GeoDataFrame(scores.reset_index(drop=True), geometry=geoms.to_numpy(),
                               crs=27700)
    recommended = streets[streets["score"] > 0].sort_values(
        ["score", "street_id"], ascending=[False, True]).head(top).reset_index(drop=True)
    recommended.insert(0, "rank", range(1, len(recommended) + 1))
    say(0.5, "local priorities")
    pri = local_priorities(store, level=level, period=period, min_n=min_n)
    pri = pri[pri["area_id"] == area_id].reset_index(drop=True)
    say(0.65, "representation")
    rep = representation(store, scheme=profile.scheme, level=profile.level, area_level=level,
                         target=target, period=period)
    under = underrepresented_households(store, scheme=profile.scheme, level=profile.level,
                                        area_level=level, target=target, areas=[area_id],
                                        table=rep)
    rep = rep[rep["area_id"] == area_id].reset_index(drop=True)
    members = member_locations(store, by="cell", scheme=profile.scheme, level=profile.level)
    area_geom = area_geometries(store, [area_id])
    area = gpd.GeoDataFrame({"area_id": [area_id], "name": [name]},
                            geometry=area_geom.reindex([area_id]).to_numpy(), crs=27700)
    cells = gpd.GeoDataFrame(members.assign(cell=members["cell"].astype("int64")),
                             geometry=cell_polygons(members["cell"]).to_numpy(), crs=27700)
    cells = cells[cells.intersects(area.geometry.iloc[0])].reset_index(drop=True)
    demo = data == "demo" or (data == "detect" and is_demo_store(store))
    kinds = imported_kinds(store)
    say(0.8, "further sections")
    sections = tactical_sections(SectionContext(store=store, area_id=area_id, level=level,
                                                scope=scope, profile=profile, period=period,
                                                min_n=min_n, target=target))
    say(0.9, "laying out")
    return TacticalContent(area_id=area_id, area_name=name, level=level, area=area,
                           streets=streets, recommended=recommended, households=under,
                           members=cells, priorities=pri, representation=rep, profile=profile,
                           as_of=str(run.as_of), target=target, demo=demo, kinds=kinds,
                           sections=sections)
