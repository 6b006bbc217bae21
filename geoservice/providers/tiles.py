# SPDX-License-Identifier: GPL-3.0-or-later
"""Mapbox vector tiles (OGC API Tiles, WebMercatorQuad) of a feature collection, on the fly.

A :class:`VectorTileProvider` is the ``type: tile`` provider of a collection (registered by
dotted path in :func:`geoservice.config.pygeoapi_config`). It builds the collection's
*feature* provider (``options.features``, e.g. ``geoservice.providers.scores.ScoreProvider``)
and asks it for the rows the caller may see, through the same code the items use:

- a frame provider (``_frame.FrameProvider``: scores, cells): its cached frame and its scope
  mask (``_checked``), then ``_present`` (fields withheld for the role);
- a store provider (``_store.StoreProvider``: streets): its SQL ``_conditions`` (the scope plus
  a bounding box of the tile in EPSG:27700).

So there is no second access rule: a beat officer's tile holds their beats' rows, a partner's
``crime_cells`` tile the disclosure-controlled frame. A role that may not read the collection
at all gets **404** for its tiles (the feature provider raised 401/403), as for a tile that
does not exist. Personal collections have no tile provider.

A tile: rows whose geometry meets the tile plus a buffer (``buffer`` tile units of the 4096
extent), projected to EPSG:3857, moved to tile units (y down), clipped to the buffered tile,
simplified (``simplify`` units below the maximum zoom, a quarter of a 256-pixel screen pixel
by default; none at the maximum zoom, where clients overzoom), snapped to the integer grid
(a line or polygon that collapses is dropped) and encoded with ``mapbox-vector-tile``. One
layer, named after the collection. Below ``detail_zoom`` a feature carries the compact
``properties``; from it on, ``detail_properties`` too. A tile with no feature is an empty
layer (a valid MVT of a few bytes, ``200``), never ``204``, so that every answer is cacheable
and every client can parse it.
"""
from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pygeoapi.models.provider.base import TileMatrixSetEnum
from pygeoapi.plugin import load_plugin
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderItemNotFoundError
from pygeoapi.provider.base_mvt import BaseMVTProvider
from pygeoapi.util import url_join

from spatial_core.geo.crs import transform_xy

from ..access import Forbidden, Unauthorised
from ..context import RequestContext, current
from ..errors import core_errors
from ._frame import FrameProvider
from ._store import StoreProvider

__all__ = ["VectorTileProvider", "TileNotFound", "tile_bounds", "EXTENT"]

log = logging.getLogger(__name__)

EXTENT = 4096
"""Tile units per tile side (the MVT default)."""

HALF = 20037508.342789244
"""Half the side of the WebMercatorQuad square, metres."""

WEBMERCATOR = 3857
WEBMERCATORQUAD = TileMatrixSetEnum.WEBMERCATORQUAD.value


class TileNotFound(ProviderItemNotFoundError):
    """No such tile for this caller (out of the matrix, the zooms, or the caller's rights)."""

    default_msg = "no such tile"


def tile_bounds(z: int, y: int, x: int) -> tuple[float, float, float, float]:
    """The EPSG:3857 bounds (minx, miny, maxx, maxy) of WebMercatorQuad tile z/y/x.

    Examples
    --------
    >>> tile_bounds(0, 0, 0) == (-HALF, -HALF, HALF, HALF)
    True
    >>> [round(v) for v in tile_bounds(1, 0, 1)]
    [0, 0, 20037508, 20037508]
    """
    size = 2 * HALF / (1 << z)
    minx = -HALF + x * size
    maxy = HALF - y * size
    return minx, maxy - size, minx + size, maxy


def _to_mercator(geoms: np.ndarray) -> np.ndarray:
    def project(c: np.ndarray) -> np.ndarray:
        x, y = transform_xy(c[:, 0], c[:, 1], 27700, WEBMERCATOR)
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def _box_to_bng(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A bounding box in EPSG:27700 holding an EPSG:3857 box (edges densified)."""
    minx, miny, maxx, maxy = box
    t = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full(9, maxx),
                         maxx - (maxx - minx) * t, np.full(9, minx)])
    ys = np.concatenate([np.full(9, miny), miny + (maxy - miny) * t,
                         np.full(9, maxy), maxy - (maxy - miny) * t])
    bx, by = transform_xy(xs, ys, WEBMERCATOR, 27700)
    ok = np.isfinite(bx) & np.isfinite(by)
    if not ok.any():
        return (0.0, 0.0, -1.0, -1.0)  # nothing in British National Grid's reach
    return float(bx[ok].min()), float(by[ok].min()), float(bx[ok].max()), float(by[ok].max())


def _value(v: Any) -> Any:
    """A property value MVT can hold (None: leave the key out)."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


class VectorTileProvider(BaseMVTProvider):
    """Vector tiles of one collection, generated from the store for the caller."""

    def __init__(self, provider_def: dict) -> None:
        super().__init__(provider_def)
        opts: dict[str, Any] = provider_def.get("options") or {}
        self.options = opts
        self.layer = str(opts["layer"])
        zoom = opts.get("zoom") or {}
        self.zoom_min = int(zoom.get("min", 0))
        self.zoom_max = int(zoom.get("max", 16))
        self.detail_zoom = int(opts.get("detail_zoom", self.zoom_min))
        self.properties = list(opts.get("properties") or [])
        self.detail_properties = list(opts.get("detail_properties") or [])
        self.buffer = float(opts.get("buffer", 64))
        self.simplify = float(opts.get("simplify", 4))
        self.id_property = opts.get("id_property")  # an H3 cell id: the MVT feature id
        self.bounds = opts.get("bounds")
        self.features = load_plugin("provider", {
            "type": "feature", "name": opts["features"], "data": self.data,
            "id_field": opts.get("id_field"), "options": opts})
        self._service_url = ""
        self._service_metadata_url = ""

    def __repr__(self) -> str:
        return f"<VectorTileProvider> {self.layer}"

    # -- description ----------------------------------------------------------------------
    def get_layer(self) -> str:
        return self.layer

    def get_fields(self) -> dict:
        names = [*self.properties, *self.detail_properties]
        fields = self.features.fields
        return {n: fields.get(n, {"type": "string"}) for n in names}

    def get_tiling_schemes(self) -> list:
        return [WEBMERCATORQUAD]

    def get_tiles_service(self, baseurl=None, servicepath=None, dirpath=None,
                          tile_type=None) -> dict:
        """Links of the tiles list (``/collections/{id}/tiles``)."""
        base = servicepath.split("/tiles/")[0] if servicepath else ""
        tms = WEBMERCATORQUAD.tileMatrixSet
        self._service_url = f"{base}/tiles/{tms}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt"
        self._service_metadata_url = f"{base}/tiles/{tms}/metadata"
        return {"links": [
            {"type": self.mimetype, "rel": "item",
             "title": f"{self.layer} vector tiles ({tms})", "href": self._service_url,
             "templated": True},
            {"type": "application/json", "rel": "describedby",
             "title": f"{self.layer} tile set metadata ({tms})",
             "href": f"{base}/tiles/{tms}?f=json"},
            {"type": "application/vnd.mapbox.tile+json", "rel": "describedby",
             "title": f"{self.layer} TileJSON ({tms})",
             "href": f"{self._service_metadata_url}?f=tilejson"},
        ]}

    def get_metadata(self, dataset, server_url, layer=None, tileset=None,
                     metadata_format=None, title=None, description=None, keywords=None,
                     **kwargs) -> dict:
        self._tileset(tileset)
        return super().get_metadata(dataset, server_url, layer, tileset,
                                    metadata_format or "json", title, description,
                                    keywords, **kwargs)

    def _urls(self, server_url: str, dataset: str, tileset: str) -> tuple[str, str]:
        base = url_join(server_url, f"collections/{dataset}/tiles/{tileset}")
        return f"{base}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt", base

    def get_html_metadata(self, dataset, server_url, layer, tileset, title, description,
                          keywords, **kwargs) -> dict:
        tiles, base = self._urls(server_url, dataset, tileset)
        return {"id": dataset, "title": title, "tileset": tileset,
                "collections_path": tiles, "json_url": f"{base}?f=json",
                "tilejson_url": f"{base}/metadata?f=tilejson",
                "metadata": {"minzoom": self.zoom_min, "maxzoom": self.zoom_max,
                             "detail_zoom": self.detail_zoom, "layer": self.layer}}

    def get_default_metadata(self, dataset, server_url, layer, tileset, title, description,
                             keywords, **kwargs) -> dict:
        """OGC API Tiles tile set metadata (JSON)."""
        tiles, base = self._urls(server_url, dataset, tileset)
        tms = WEBMERCATORQUAD
        out: dict[str, Any] = {
            "title": title, "description": description, "dataType": "vector",
            "crs": tms.crs, "tileMatrixSetURI": tms.tileMatrixSetURI,
            "mediaTypes": [self.mimetype],
            "layers": [{
                "id": self.layer, "dataType": "vector",
                "geometryDimension": self.options.get("geometry_dimension"),
                "minTileMatrix": str(self.zoom_min), "maxTileMatrix": str(self.zoom_max),
                "propertiesSchema": {"type": "object", "properties": self.get_fields()},
            }],
            "links": [
                {"href": f"{base}?f=json", "rel": "self", "type": "application/json",
                 "title": "this tile set metadata"},
                {"href": url_join(server_url, "TileMatrixSets", tms.tileMatrixSet),
                 "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                 "type": "application/json",
                 "title": f"{tms.tileMatrixSet} tile matrix set definition"},
                {"href": tiles, "rel": "item", "type": self.mimetype, "templated": True,
                 "title": f"{tms.tileMatrixSet} vector tiles for {layer}"},
                {"href": f"{base}/metadata?f=tilejson", "rel": "describedby",
                 "type": "application/vnd.mapbox.tile+json", "title": "TileJSON"},
            ],
        }
        if keywords:
            out["keywords"] = list(keywords)
        if self.bounds:
            w, s, e, n = self.bounds
            out["boundingBox"] = {"lowerLeft": [w, s], "upperRight": [e, n],
                                  "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
        return out

    def get_vendor_metadata(self, dataset, server_url, layer, tileset, title, description,
                            keywords, **kwargs) -> dict:
        """TileJSON 3.0.0 (MapLibre, QGIS, GDAL read it)."""
        tiles, _ = self._urls(server_url, dataset, tileset)
        kinds = {"integer": "Number", "number": "Number", "boolean": "Boolean"}
        out: dict[str, Any] = {
            "tilejson": "3.0.0", "name": title, "description": description,
            "scheme": "xyz",
            "tiles": [tiles.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                      .replace("{tileCol}", "{x}")],
            "minzoom": self.zoom_min, "maxzoom": self.zoom_max,
            "vector_layers": [{
                "id": self.layer, "description": description,
                "minzoom": self.zoom_min, "maxzoom": self.zoom_max,
                "fields": {n: kinds.get(f.get("type"), "String")
                           for n, f in self.get_fields().items()}}],
        }
        if self.bounds:
            w, s, e, n = self.bounds
            out["bounds"] = [w, s, e, n]
            out["center"] = [round((w + e) / 2, 5), round((s + n) / 2, 5),
                             max(self.zoom_min, min(self.zoom_max, 13))]
        return out

    # -- tiles ----------------------------------------------------------------------------
    def _tileset(self, tileset: str | None) -> None:
        if tileset != WEBMERCATORQUAD.tileMatrixSet:
            raise TileNotFound(user_msg=f"tile matrix set {tileset!r} is not offered; "
                                        f"use {WEBMERCATORQUAD.tileMatrixSet}")

    @core_errors
    def get_tiles(self, layer=None, tileset=None, z=None, y=None, x=None,
                  format_=None) -> bytes:
        self._tileset(tileset)
        try:
            z, y, x = int(z), int(y), int(x)
        except (TypeError, ValueError):
            raise ProviderInvalidQueryError(
                user_msg=f"tile {z}/{y}/{x}: tileMatrix, tileRow and tileCol are "
                         "integers") from None
        if not self.zoom_min <= z <= self.zoom_max:
            raise TileNotFound(user_msg=f"zoom {z} is not served for {self.layer}: "
                                        f"zooms are {self.zoom_min} .. {self.zoom_max}")
        if not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
            raise TileNotFound(user_msg=f"tile {z}/{y}/{x} is outside the tile matrix")
        return self.tile(current(), z, y, x)

    def tile(self, ctx: RequestContext, z: int, y: int, x: int) -> bytes:
        """The encoded tile z/y/x as ``ctx``'s caller may see it."""
        import mapbox_vector_tile

        minx, miny, maxx, maxy = tile_bounds(z, y, x)
        pad = (maxx - minx) * self.buffer / EXTENT
        box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        try:
            rows, geoms = self._rows(ctx, box)
        except (Unauthorised, Forbidden):
            raise TileNotFound() from None  # as a tile that does not exist: see module doc
        features: list[dict] = []
        if len(rows):
            scale = EXTENT / (maxx - minx)

            def to_tile(c: np.ndarray) -> np.ndarray:
                return np.column_stack([(c[:, 0] - minx) * scale, (maxy - c[:, 1]) * scale])

            g = shapely.transform(geoms, to_tile)
            b = self.buffer
            g = shapely.clip_by_rect(g, -b, -b, EXTENT + b, EXTENT + b)
            if z < self.zoom_max and self.simplify > 0:
                g = shapely.simplify(g, self.simplify, preserve_topology=True)
            g = shapely.set_precision(g, 1.0)
            kinds = shapely.get_type_id(g)
            keep = ~shapely.is_empty(g) & (kinds != 7)  # 7: a collection MVT cannot hold
            names = [n for n in (self.properties if z < self.detail_zoom else
                                 [*self.properties, *self.detail_properties])
                     if n in rows.columns]
            recs = rows[names].to_dict("records")
            ids = (rows[self.id_property].to_numpy(object) if self.id_property else None)
            for i in np.flatnonzero(keep):
                props = {k: v for k, v in ((k, _value(v)) for k, v in recs[i].items())
                         if v is not None}
                f: dict[str, Any] = {"geometry": g[i], "properties": props}
                if ids is not None and isinstance(ids[i], str):
                    f["id"] = int(ids[i], 16)
                features.append(f)
        return mapbox_vector_tile.encode(
            [{"name": self.layer, "features": features}],
            default_options={"extents": EXTENT, "y_coord_down": True, "quantize_bounds": None,
                             # rings are oriented (MVT 2) for polygons only; lines need none
                             "check_winding_order": self.options.get("geometry_dimension") != 1})

    def _rows(self, ctx: RequestContext, box: tuple) -> tuple[pd.DataFrame, np.ndarray]:
        """The caller's rows meeting the EPSG:3857 ``box``, and their EPSG:3857 geometry."""
        fp = self.features
        if isinstance(fp, FrameProvider):
            full, derived, keep = fp.visible(ctx)
            merc = derived.get("tiles:mercator")
            if merc is None or len(merc[0]) != len(full):
                g = _to_mercator(full["geometry"].to_numpy(dtype=object))
                merc = derived["tiles:mercator"] = (g, shapely.STRtree(g))
            geoms, tree = merc
            idx = tree.query(shapely.box(*box), predicate="intersects")
            idx = np.sort(idx[keep[idx]])
            return fp.present(full.iloc[idx], ctx).reset_index(drop=True), geoms[idx]
        if isinstance(fp, StoreProvider):
            rows = fp.rows_in_box(ctx, _box_to_bng(box))
            if not len(rows):
                cols = ["fid", *dict.fromkeys([fp.id_column, *fp.columns])]
                return pd.DataFrame(columns=cols), np.array([], dtype=object)
            geoms = _to_mercator(rows.geometry.to_numpy(dtype=object))
            props = pd.DataFrame({c: rows[c].to_numpy() for c in rows.columns
                                  if c != "geom" and c != rows.geometry.name})
            order = np.argsort(props["fid"].to_numpy(), kind="stable")
            order = order[shapely.intersects(geoms[order], shapely.box(*box))]
            return props.iloc[order].reset_index(drop=True), geoms[order]
        raise TypeError(f"{type(fp).__name__} is neither a frame nor a store provider")
