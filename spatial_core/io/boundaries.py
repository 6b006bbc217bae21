# SPDX-License-Identifier: GPL-3.0-or-later
"""Import area boundaries (force, neighbourhood policing area, beat, ward, LSOA, OA).

Reads GeoJSON, GeoPackage, Shapefile and KML (police.uk neighbourhood boundaries come as one
KML file per neighbourhood) through pyogrio, and stores each polygon as a MultiPolygon in
British National Grid in ``areas`` with ``area_id = "<level>:<code>"``, plus the H3 cells
whose centre lies inside it in ``area_cells``.

The code and name fields are detected from the names real files use (``wd17cd``/``wd17nm``,
``ward_code``/``ward_name``, ``code``/``name``, ``WARD_NAME`` …) unless ``id_field`` and
``name_field`` are given. A file without a CRS, or one labelled WGS84 whose coordinates are
metres (ONS extracts converted without their CRS), is refused with a message telling to pass
``--crs 27700``; nothing is guessed silently. Row numbers in messages are feature numbers
(the first feature of a file is row 1).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.geo.cells import polygons_to_cells
from spatial_core.geo.crs import STORE_SRID, WGS84
from spatial_core.io.features import (
    EXPECTED_POLYGON,
    POLYGON_KINDS,
    check_geometries,
    check_store_bounds,
    layer_crs,
    read_features,
)
from spatial_core.io.imports import ALREADY, ImportReport, Progress, run_import, skip_rows
from spatial_core.store import schema

__all__ = ["DEFAULT_BOUNDARY_SET", "LEVELS", "import_boundaries", "read_polygons",
           "areas_already_stored", "attribute_text"]

log = logging.getLogger(__name__)

LEVELS = ("force", "npa", "beat", "ward", "lsoa", "oa")
"""Area levels, policing hierarchy first (force > npa > beat), then census geography."""

DEFAULT_BOUNDARY_SET = "default"
"""Boundary set of areas imported without one (the store turns empty text into NULL)."""

_PARENT_LEVEL = {"npa": "force", "beat": "npa", "oa": "lsoa"}

SPATIAL_PATTERNS = ("*.geojson", "*.json", "*.gpkg", "*.shp", "*.kml")

# ONS code fields: wd17cd, lsoa11cd, oa21cd, pfa20cd, lad19cd …; names end in nm (not nmw).
_ONS_CODE = re.compile(r"^[a-z]{2,5}\d{2}cd$")
_ONS_NAME = re.compile(r"^[a-z]{2,5}\d{2}nm$")
_ONS_PREFIX = {"ward": ("wd",), "lsoa": ("lsoa",), "oa": ("oa",), "force": ("pfa",),
               "npa": ("npa",), "beat": ("beat",)}
_CODE_ALIASES = ("{level}_code", "{level}_id", "{level}code", "{level}cd", "code", "area_code",
                 "geography_code", "neighbourhood", "neighbourhood_id", "neighbourhood_code",
                 "id", "identifier", "ref")
_NAME_ALIASES = ("{level}_name", "{level}name", "{level}nm", "name", "area_name",
                 "neighbourhood_name", "label", "title")


@dataclass
class Polygons:
    """Polygons read from one file, before they become areas."""

    file: str
    frame: gpd.GeoDataFrame  # attributes as read, geometry in EPSG:27700 (may be empty)
    rows: np.ndarray  # 1-based feature number of each row
    is_kml: bool = False


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def read_polygons(path: str | Path, *, crs: int | None = None, encoding: str | None = None,
                  layer: str | None = None) -> Polygons:
    """Read one polygon file into EPSG:27700, refusing a missing or wrong CRS.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage, Shapefile or KML.
    crs : int, optional
        EPSG code of the coordinates; overrides what the file says.
    encoding : str, optional
        Text encoding of the attributes (Shapefile ``.dbf`` without a ``.cpg``).
    layer : str, optional
        Layer of a multi-layer file (GeoPackage); by default the only polygon layer.
    """
    import pyogrio

    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    try:
        if layer is None:
            layers = pyogrio.list_layers(path)
            if len(layers) > 1:
                polys = [str(n) for n, kind in layers if kind and "polygon" in str(kind).lower()]
                if len(polys) == 1:
                    layer = polys[0]
                else:
                    names = ", ".join(str(n) for n, _ in layers)
                    raise InputError(f"the file has several layers ({names}); say which one "
                                     "with layer=", file=name)
        frame = read_features(path, expected=EXPECTED_POLYGON, layer=layer, encoding=encoding)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL reports damaged files in many ways
        raise InputError(f"cannot read the file as GeoJSON, GeoPackage, Shapefile or KML: {exc}",
                         file=name) from None
    check_geometries(frame, name, kinds=POLYGON_KINDS, expected=EXPECTED_POLYGON,
                     wrong_kind=("a polygon", "a boundary file holds polygons only"))
    is_kml = path.suffix.lower() == ".kml"
    rows = np.arange(1, len(frame) + 1, dtype="int64")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = pd.notna(geoms)
    geoms = shapely.force_2d(geoms)
    src, _ = layer_crs(name, frame.crs, geoms[present], crs)
    series = gpd.GeoSeries(geoms, index=frame.index, crs=src)
    if src != STORE_SRID:
        series = series.to_crs(STORE_SRID)
    check_store_bounds(series.to_numpy(), frame, name, crs_name=str(CRS.from_user_input(src).name))
    frame = gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name), geometry=series,
                             crs=STORE_SRID)
    return Polygons(name, frame, rows, is_kml)


def _find_field(columns: Sequence[str], wanted: str | None, level: str, kind: str,
                file: str) -> str | None:
    """The file column holding codes (``kind='code'``) or names; ``wanted`` if given."""
    norm = {_norm(c): c for c in columns}
    if wanted:
        if _norm(wanted) in norm:
            return norm[_norm(wanted)]
        raise InputError(f"no field {wanted!r}; the fields are {', '.join(map(repr, columns))}",
                         file=file)
    pattern = _ONS_CODE if kind == "code" else _ONS_NAME
    ons = [c for c in columns if pattern.match(str(c).lower())]
    prefixes = _ONS_PREFIX.get(level, ())
    ons.sort(key=lambda c: (not str(c).lower().startswith(prefixes), str(c).lower()))
    if ons:
        return ons[0]
    aliases = _CODE_ALIASES if kind == "code" else _NAME_ALIASES
    for alias in aliases:
        key = _norm(alias.format(level=level))
        if key in norm:
            return norm[key]
    return None


@dataclass
class AreaRows:
    """Areas ready to store, with where each came from."""

    frame: gpd.GeoDataFrame  # code, name, parent, geometry
    files: np.ndarray
    rows: np.ndarray

    @property
    def where(self) -> pd.DataFrame:
        """``_file`` and ``_line`` of each area, for the report."""
        return pd.DataFrame({"_file": self.files, "_line": self.rows})


def polygons_to_areas(polys: Sequence[Polygons], report: ImportReport, *, level: str,
                      id_field: str | None = None, name_field: str | None = None,
                      parent_field: str | None = None) -> AreaRows:
    """Pick code, name and parent from each file; skip features without geometry."""
    parts: list[pd.DataFrame] = []
    for p in polys:
        f = p.frame
        cols = [c for c in f.columns if c != f.geometry.name]
        geoms = np.asarray(f.geometry.values, dtype=object)
        empty = pd.isna(geoms) | shapely.is_empty(geoms)
        if p.is_kml and id_field is None and len(f) == 1:
            codes = np.array([Path(p.file).stem], dtype=object)
            name_col = _find_field(cols, name_field, level, "name", p.file)
            names = attribute_text(f[name_col]) if name_col else np.array([None], dtype=object)
            if names[0] == codes[0]:
                names = np.array([None], dtype=object)
        else:
            code_col = _find_field(cols, id_field, level, "code", p.file)
            name_col = _find_field(cols, name_field, level, "name", p.file)
            if code_col is None:
                fallback = _norm("objectid") in {_norm(c) for c in cols}
                if name_col is not None:
                    code_col = name_col
                    report.note(f"no code field: the names in {name_col!r} are used as codes",
                                p.rows, p.file)
                elif fallback:
                    code_col = next(c for c in cols if _norm(c) == "objectid")
                    report.note("no code field: 'objectid' is used as the code", p.rows, p.file)
                else:
                    raise InputError(
                        "cannot tell which field holds the area code; pass --id-field (and "
                        f"--name-field) naming one of the fields {', '.join(map(repr, cols))}",
                        file=p.file)
            codes = attribute_text(f[code_col])
            names = attribute_text(f[name_col]) if name_col else np.full(len(f), None, dtype=object)
            nocode = pd.isna(codes) & ~empty
            if nocode.any():
                i = int(np.flatnonzero(nocode)[0])
                raise InputError("the area code is empty", file=p.file, row=int(p.rows[i]),
                                 column=code_col)
        parents = np.full(len(f), None, dtype=object)
        if parent_field:
            pcol = _find_field(cols, parent_field, level, "code", p.file)
            parents = attribute_text(f[pcol])
        if empty.any():
            report.skip("no geometry", p.rows[empty], p.file)
        keep = ~empty
        parts.append(pd.DataFrame({
            "code": codes[keep], "name": names[keep], "parent": parents[keep],
            "geometry": geoms[keep], "file": p.file, "row": p.rows[keep],
        }))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["code", "name", "parent", "geometry", "file", "row"])
    dup = frame["code"].duplicated(keep=False).to_numpy()
    if dup.any():
        first = frame[dup].iloc[0]
        others = frame[dup & (frame["code"] == first["code"]).to_numpy()]
        where = ", ".join(f"{Path(a).name} row {b}"
                          for a, b in zip(others["file"], others["row"], strict=True))
        raise InputError(f"the area code appears more than once ({where}); each area needs its "
                         "own code (pass --id-field to choose another field)",
                         file=first["file"], row=int(first["row"]), value=first["code"])
    geo = gpd.GeoDataFrame(frame[["code", "name", "parent"]],
                           geometry=gpd.GeoSeries(frame["geometry"].to_numpy(), crs=STORE_SRID),
                           crs=STORE_SRID)
    return AreaRows(geo, frame["file"].to_numpy(), frame["row"].to_numpy())


def attribute_text(s: pd.Series) -> np.ndarray:
    """Attribute values as stripped text; empty and missing become None, 12.0 becomes '12'."""
    if pd.api.types.is_float_dtype(s):
        num = s.to_numpy(dtype="float64")
        ok = np.isfinite(num)
        whole = ok & (num == np.round(num))
        out = s.astype(str).to_numpy(dtype=object)
        out[whole] = num[whole].astype("int64").astype(str)
        out[~ok] = None
        return out
    if pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.astype(str).to_numpy(dtype=object)
    t = s.astype(object).where(s.notna(), None)
    out = pd.Series(t, dtype=object).str.strip().to_numpy(dtype=object)
    nonstr = t.notna().to_numpy() & pd.isna(out)
    if nonstr.any():  # numbers and other non-text values
        out[nonstr] = t[nonstr].astype(str).str.strip().to_numpy(dtype=object)
    out[pd.isna(out)] = None
    out[out == ""] = None
    return out


def _multipolygons(geoms: np.ndarray, files: np.ndarray, rows: np.ndarray,
                   codes: np.ndarray | None = None) -> np.ndarray:
    """Valid MultiPolygons: repaired with make_valid, keeping only polygonal parts."""
    geoms = np.asarray(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    out = np.empty(len(geoms), dtype=object)
    kinds = shapely.get_type_id(geoms)
    for i, (g, k) in enumerate(zip(geoms, kinds, strict=True)):
        if k == 6:
            out[i] = g
        elif k == 3:
            out[i] = shapely.MultiPolygon([g])
        else:  # a collection after repair: keep the polygons
            parts = [q for q in shapely.get_parts(g) if q.geom_type in ("Polygon", "MultiPolygon")]
            polys = [pp for q in parts for pp in shapely.get_parts(q)]
            out[i] = shapely.MultiPolygon(polys) if polys else None
    broken = pd.isna(out) | ~(shapely.area(out) > 0)
    if broken.any():
        i = int(np.flatnonzero(broken)[0])
        raise InputError(f"expected {EXPECTED_POLYGON} and an area; the polygon has no area, "
                         "even after repair (a broken ring?)", file=str(files[i]),
                         row=int(rows[i]), column="geometry",
                         feature=None if codes is None else f"code {codes[i]!r}")
    return out


def prepare_areas(store, areas: AreaRows, report: ImportReport, *, level: str,
                  boundary_set: str = DEFAULT_BOUNDARY_SET, valid_from: str | None = None,
                  conn: Connection | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows for ``areas`` and ``area_cells`` (nothing written yet)."""
    f = areas.frame
    geoms = _multipolygons(np.asarray(f.geometry.values, dtype=object), areas.files, areas.rows,
                           f["code"].to_numpy(dtype=object))
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    area_ids = np.array([f"{level}:{c}" for c in f["code"]], dtype=object)
    parent_level = _PARENT_LEVEL.get(level)
    parents = f["parent"].to_numpy(dtype=object)
    if parent_level is not None:
        given = pd.notna(parents)
        parents = np.where(given & ~pd.Series(parents, dtype=object).astype(str).str.contains(
            ":", regex=False).to_numpy(), np.array([f"{parent_level}:{p}" for p in parents],
                                                   dtype=object), parents)
        if (~given).any():
            parents[~given] = _containing(store, parent_level, geoms[~given], conn)
    frame = pd.DataFrame({
        "area_id": area_ids,
        "level": level,
        "code": f["code"].to_numpy(dtype=object),
        "name": f["name"].to_numpy(dtype=object),
        "parent_id": parents,
        "boundary_set": boundary_set or DEFAULT_BOUNDARY_SET,
        "valid_from": valid_from,
        "source": [Path(x).name for x in areas.files],
        "minx": bounds[:, 0], "miny": bounds[:, 1], "maxx": bounds[:, 2], "maxy": bounds[:, 3],
        "geom": geoms,
    })
    lnglat = gpd.GeoSeries(geoms, crs=STORE_SRID).to_crs(WGS84).to_numpy()
    idx, cells = polygons_to_cells(lnglat, store.h3_resolution)
    cell_rows = pd.DataFrame({"area_id": area_ids[idx],
                              "boundary_set": boundary_set or DEFAULT_BOUNDARY_SET,
                              "cell": cells}).drop_duplicates()
    return frame, cell_rows


def _containing(store, level: str, geoms: np.ndarray, conn: Connection | None) -> np.ndarray:
    """The stored area of ``level`` containing each geometry's representative point."""
    out = np.full(len(geoms), None, dtype=object)
    t = schema.table("areas")
    stored = store.read("areas", ["area_id", "geom"], where=t.c.level == level, conn=conn)
    if not len(stored) or not len(geoms):
        return out
    pts = shapely.point_on_surface(geoms)
    tree = shapely.STRtree(stored.geometry.values)
    i_pt, i_area = tree.query(pts, predicate="within")
    if len(i_pt):
        first = pd.Series(i_area).groupby(i_pt).first()
        out[first.index.to_numpy()] = stored["area_id"].to_numpy(dtype=object)[first.to_numpy()]
    return out


def write_areas(store, conn: Connection, frame: pd.DataFrame, cells: pd.DataFrame) -> int:
    """Insert areas and their cells; returns the number of new areas."""
    n = store.insert_new(conn, "areas", frame)
    store.insert_new(conn, "area_cells", cells)
    return n


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise InputError(f"unknown area level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


def _check_valid_from(valid_from: str | None) -> str | None:
    if valid_from is None or valid_from == "":
        return None
    text = str(valid_from).strip()
    if not re.match(r"^\d{4}-\d{2}(-\d{2})?$", text):
        raise InputError("valid_from must be a date such as 2018-05-03 (or a month 2018-05)",
                         value=valid_from)
    return text


def import_boundaries(store, paths: Sequence[str | Path], *, crs: int | None = None,
                      encoding: str | None = None, progress: Progress | None = None,
                      level: str = "beat", id_field: str | None = None,
                      name_field: str | None = None, parent_field: str | None = None,
                      boundary_set: str | None = None, valid_from: str | None = None,
                      layer: str | None = None) -> ImportReport:
    """Import area polygons as ``areas`` of one ``level`` (and their H3 cells).

    Parameters
    ----------
    store : Store
    paths : list of files or folders
        GeoJSON, GeoPackage, Shapefile or KML; folders are searched for all four (a folder
        of police.uk neighbourhood KML files is one import).
    crs : int, optional
        EPSG code of the coordinates, overriding the file (``27700`` for ONS GeoJSON
        extracts written without a ``crs`` member).
    level : str
        One of :data:`LEVELS`.
    id_field, name_field : str, optional
        Fields holding the area code and name; detected when not given.
    parent_field : str, optional
        Field holding the code of the parent area (one level up). Without it the parent is
        the stored area one level up that contains the polygon's representative point.
    boundary_set : str, optional
        Name of a dated set of boundaries (``"2018"``), so old and new beats can coexist.
    valid_from : str, optional
        Date the boundaries took effect.

    Returns
    -------
    ImportReport
        ``read`` counts features; features without geometry are skipped with a reason.

    Examples
    --------
    >>> import_boundaries(store, ["leeds_wards_2017.geojson"], crs=27700,
    ...                   level="ward")  # doctest: +SKIP
    """
    level = _check_level(level)
    valid_from = _check_valid_from(valid_from)

    def read(path: Path, report: ImportReport) -> Polygons:
        p = read_polygons(path, crs=crs, encoding=encoding, layer=layer)
        report.read += len(p.frame)
        return p

    def validate(polys: list[Polygons], report: ImportReport):
        areas = polygons_to_areas(polys, report, level=level, id_field=id_field,
                                  name_field=name_field, parent_field=parent_field)
        frame, cells = prepare_areas(store, areas, report, level=level,
                                     boundary_set=boundary_set or DEFAULT_BOUNDARY_SET,
                                     valid_from=valid_from)
        return areas, frame, cells

    def write(conn, batch, report: ImportReport) -> None:
        areas, frame, cells = batch
        skip_rows(report, ALREADY, areas.where, areas_already_stored(store, conn, frame))
        report.imported = write_areas(store, conn, frame, cells)

    return run_import(store, "boundaries", paths, read=read, validate=validate, write=write,
                      patterns=SPATIAL_PATTERNS, progress=progress, reading=0.6,
                      writing="writing areas")


def areas_already_stored(store, conn: Connection, frame: pd.DataFrame) -> np.ndarray:
    """Which rows of ``frame`` are already in the store (read before writing)."""
    t = schema.table("areas")
    sets = sorted(set(frame["boundary_set"]))
    levels = sorted(set(frame["level"]))
    ids = store.read("areas", ["area_id", "boundary_set"],
                     where=t.c.boundary_set.in_(sets) & t.c.level.in_(levels), conn=conn)
    stored = set(zip(ids["area_id"], ids["boundary_set"], strict=True))
    pairs = zip(frame["area_id"], frame["boundary_set"], strict=True)
    return np.fromiter(((a, b) in stored for a, b in pairs),
                       dtype=bool, count=len(frame))
