# SPDX-License-Identifier: GPL-3.0-or-later
"""Street units from OpenStreetMap ways and OS Open Roads / Open USRN style lines.

A *street unit* is what an officer means by "a street in my beat": the segments of one
named street inside one beat, merged into one geometry. Ways are

1. read (GeoPackage, GeoJSON, Shapefile, ``.osm.pbf`` / ``.osm`` through GDAL's OSM
   driver, layer ``lines``) and put in British National Grid;
2. filtered: only the road types people live on or visit are kept (:data:`DEFAULT_HIGHWAYS`,
   the ``highways`` option overrides), and unnamed ways are skipped, each with its reason
   in the report;
3. cut at the stored beat boundaries (wards when no beat is stored, nothing when neither
   is); a piece shorter than :data:`SLIVER_M` is given to the area holding most of its way,
   so a street that runs along a boundary is not shredded;
4. grouped by (area, normalised name); parts of a group more than :data:`GAP_M` apart
   become separate units (``…-2``, ``…-3`` from west to east);
5. merged (``shapely.line_merge``), measured and indexed on H3 cells
   (:func:`~spatial_core.geo.cells.lines_to_cells`).

``street_id`` is ``<area_id>/<name-slug>[-k]`` (``all/<name-slug>`` when no area is
stored), so it is the same every time the same file is imported. A unit whose id is
already stored keeps its geometry: its ways are reported as "street unit already in the
store". See ``docs/formats/streets.md``.
"""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from spatial_core.errors import InputError
from spatial_core.geo.cells import lines_to_cells
from spatial_core.geo.crs import STORE_SRID
from spatial_core.io.features import (
    EXPECTED_LINE,
    LINE_KINDS,
    check_geometries,
    check_store_bounds,
    layer_crs,
    read_features,
)
from spatial_core.io.imports import (
    ImportReport,
    Progress,
    no_progress,
    note_rows,
    run_import,
    skip_rows,
    stored_keys,
)
from spatial_core.store.index import current_areas, refresh_index

__all__ = [
    "DEFAULT_HIGHWAYS",
    "GAP_M",
    "SLIVER_M",
    "import_streets",
    "normalise_street_names",
    "street_slugs",
]

log = logging.getLogger(__name__)

DEFAULT_HIGHWAYS = frozenset({
    "residential", "living_street", "unclassified", "tertiary", "secondary", "primary",
    "trunk", "road", "service", "pedestrian",
})
"""OSM ``highway`` values kept by default: roads with front doors or shop fronts. ``trunk``
is kept because many urban A roads are trunk roads lined with houses; ``service`` and
``pedestrian`` ways count only when named (unnamed ways are always skipped), which keeps
named courts, yards and shopping streets and drops car-park aisles. Motorways, slip roads
(``*_link``), footways, paths, cycleways, steps, tracks and roads under construction are
skipped."""

GAP_M = 200.0
"""Parts of one name in one area farther apart than this are separate street units."""

SLIVER_M = 20.0
"""A piece of a way shorter than this in an area goes with the way's main area."""

_FILE_PATTERNS = ("*.gpkg", "*.geojson", "*.json", "*.shp", "*.osm.pbf", "*.pbf", "*.osm",
                  "*.fgb", "*.gml")

_NAME_ALIASES = ("name", "name1", "name_1", "roadname1", "roadname", "road_name", "streetname",
                 "street_name", "street", "designatedname1", "descriptor")
_FUNCTION_ALIASES = ("road_function", "roadfunction", "function")
_CLASS_ALIASES = ("road_classification", "roadclassification", "classification", "class")
_FORM_ALIASES = ("form_of_way", "formofway")
_USRN_ALIASES = ("usrn",)

# OS Open Roads road function / classification -> the OSM highway value it corresponds to.
_OS_FUNCTION = {
    "motorway": "motorway", "a road": "primary", "b road": "secondary", "minor road": "tertiary",
    "local road": "residential", "local access road": "service",
    "restricted local access road": "service", "secondary access road": "service",
}
_OS_CLASS = {
    "motorway": "motorway", "a road": "primary", "b road": "secondary",
    "classified unnumbered": "tertiary", "unclassified": "unclassified",
    "not classified": "unclassified", "unknown": "road",
}

_ABBREVIATIONS = {
    "rd": "road", "st": "street", "ave": "avenue", "av": "avenue", "ln": "lane", "dr": "drive",
    "cres": "crescent", "gdns": "gardens", "pl": "place", "sq": "square", "ter": "terrace",
    "terr": "terrace", "ct": "court", "gr": "grove", "cl": "close", "mt": "mount",
}

_SOURCES = ("osm", "os_open_roads")


def _norm_col(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def normalise_street_names(names: Iterable) -> np.ndarray:
    """Names reduced to a comparable key: lower case, punctuation dropped, ``&`` as ``and``,
    a trailing abbreviation spelt out; None for an empty name.

    Examples
    --------
    >>> normalise_street_names(["St. John's Rd", "ST JOHNS ROAD", "  ", None]).tolist()
    ['st johns road', 'st johns road', None, None]
    """
    s = pd.Series(list(names), dtype=object).fillna("").astype(str)
    s = s.map(lambda v: unicodedata.normalize("NFKC", v))
    s = s.str.lower().str.replace("&", " and ", regex=False)
    s = s.str.replace(r"['’`.]", "", regex=True).str.replace(r"[^\w]+", " ", regex=True)
    s = s.str.replace("_", " ", regex=False).str.strip().str.replace(r"\s+", " ", regex=True)
    last = s.str.extract(r"(?:^|\s)(\w+)$", expand=False)
    spelt = last.map(_ABBREVIATIONS)
    has = spelt.notna() & (s.str.count(" ") > 0)
    s = s.where(~has, s.str.slice(0, -1).str.rsplit(" ", n=1).str[0] + " " + spelt)
    return s.where(s != "", None).to_numpy(dtype=object)


def street_slugs(normalised: Iterable) -> np.ndarray:
    """URL- and file-safe slugs of normalised names (``'st johns road'`` -> ``'st-johns-road'``)."""
    s = pd.Series(list(normalised), dtype=object).fillna("").astype(str)
    s = s.map(lambda v: unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode())
    return s.str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-").to_numpy(dtype=object)


def _pick_layer(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".pbf", ".osm")):
        return "lines"
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - GDAL errors of every kind
        raise InputError(f"cannot read as a vector file: {exc}", file=str(path)) from None
    if len(layers) <= 1:
        return None
    lines = [str(n) for n, g in layers if g and "LINE" in str(g).upper()]
    for preferred in ("road_link", "roadlink", "lines", "streets", "street"):
        for n in lines:
            if n.lower() == preferred:
                return n
    if len(lines) == 1:
        return lines[0]
    listed = ", ".join(f"{n} ({g})" for n, g in layers)
    raise InputError(f"cannot tell which layer holds the streets; layers: {listed}. "
                     "Keep only the road lines layer in the file.", file=str(path))


def _read(path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    layer = _pick_layer(path)
    try:
        gdf = read_features(path, expected=EXPECTED_LINE, layer=layer, encoding=encoding)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL errors of every kind
        raise InputError(f"cannot read as a vector file: {exc}", file=str(path)) from None
    # Points and polygons are skipped as "not a line" (an OSM export mixes them in); an empty
    # line or a coordinate that is not a number is a broken file.
    check_geometries(gdf, str(path), kinds=LINE_KINDS, expected=EXPECTED_LINE)
    return gdf


def _column(frame: pd.DataFrame, aliases: Sequence[str]) -> str | None:
    cols = {_norm_col(c): c for c in frame.columns if c != frame.geometry.name}
    for a in aliases:
        if _norm_col(a) in cols:
            return cols[_norm_col(a)]
    return None


def _to_bng(gdf: gpd.GeoDataFrame, path: Path, crs: int | None, report: ImportReport
            ) -> np.ndarray:
    geoms = gdf.geometry.to_numpy()
    src, guessed = layer_crs(str(path), gdf.crs, geoms, crs, guess=True)
    if guessed:
        report.note(guessed, np.arange(1, len(gdf) + 1), str(path))
    gdf = gdf.set_crs(src, allow_override=True)
    out = gdf.to_crs(STORE_SRID).geometry.to_numpy() if gdf.crs.to_epsg() != STORE_SRID \
        else gdf.geometry.to_numpy()
    check_store_bounds(out, gdf, str(path), crs_name=gdf.crs.to_string())
    return out


def _highways(gdf: gpd.GeoDataFrame, source: str | None, path: Path, report: ImportReport
              ) -> tuple[np.ndarray, str]:
    n = len(gdf)
    hw_col = _column(gdf, ("highway",))
    fn_col = _column(gdf, _FUNCTION_ALIASES)
    cl_col = _column(gdf, _CLASS_ALIASES)
    if source is None:
        source = "osm" if hw_col else "os_open_roads"
    if source not in _SOURCES:
        raise InputError(f"unknown street source {source!r}; expected one of {', '.join(_SOURCES)}")
    if source == "osm":
        if hw_col is None:
            raise InputError("an OpenStreetMap file needs a 'highway' column; columns are "
                             f"{', '.join(map(repr, gdf.columns))}", file=str(path))
        hw = gdf[hw_col].astype(object).where(gdf[hw_col].notna(), "")
        return hw.astype(str).str.strip().str.lower().to_numpy(dtype=object), source
    if fn_col is not None or cl_col is not None:
        hw = pd.Series([None] * n, dtype=object)
        for col, table in ((fn_col, _OS_FUNCTION), (cl_col, _OS_CLASS)):
            if col is not None:
                v = gdf[col].astype(object).fillna("").astype(str).str.strip().str.lower()
                hw = hw.fillna(v.map(table))
        form = _column(gdf, _FORM_ALIASES)
        if form is not None:
            slip = gdf[form].astype(object).fillna("").astype(str).str.lower().str.contains("slip")
            hw = hw.where(~slip.to_numpy() | hw.isna(), hw + "_link")
        return hw.fillna("road").to_numpy(dtype=object), source
    report.note("no road type column: every line treated as a road", np.arange(1, n + 1),
                str(path))
    return np.full(n, "road", dtype=object), source


_WAY_COLUMNS = ("_file", "_line", "name", "highway", "kind", "geom")


def _ways(path: Path, crs, encoding, source, keep: frozenset, report: ImportReport
          ) -> pd.DataFrame:
    """Read and filter one file; one row per kept way, geometry in BNG."""
    gdf = _read(path, encoding)
    n = len(gdf)
    report.read += n
    rows = np.arange(1, n + 1)
    if n == 0:
        return pd.DataFrame({c: [] for c in _WAY_COLUMNS})
    geoms = _to_bng(gdf, path, crs, report)
    hw, kind = _highways(gdf, source, path, report)
    name_col = _column(gdf, _NAME_ALIASES)
    usrn_col = _column(gdf, _USRN_ALIASES)
    names = (gdf[name_col].astype(object).where(gdf[name_col].notna(), "").astype(str)
             .str.strip() if name_col else pd.Series([""] * n, dtype=object))
    if usrn_col is not None:
        usrn = gdf[usrn_col].astype(object).where(gdf[usrn_col].notna(), "").astype(str)
        usrn = usrn.str.replace(r"\.0$", "", regex=True).str.strip()
        fill = (names == "") & (usrn != "")
        names = names.where(~fill.to_numpy(), "USRN " + usrn)
    names = names.to_numpy(dtype=object)
    no_geom = pd.isna(geoms) | shapely.is_empty(geoms)
    gtype = shapely.get_type_id(geoms)
    not_line = ~no_geom & ~np.isin(gtype, [1, 2, 5])
    report.skip("no geometry", rows[no_geom], str(path))
    report.skip("not a line", rows[not_line], str(path))
    ok = ~no_geom & ~not_line
    excluded = ok & ~np.isin(hw, list(keep))
    for value in sorted(set(hw[excluded].tolist())):
        which = excluded & (hw == value)
        label = value if value else "(empty)"
        report.skip(f"road type highway={label} not kept", rows[which], str(path))
    ok &= ~excluded
    unnamed = ok & (names == "")
    report.skip("no name", rows[unnamed], str(path))
    ok &= ~unnamed
    return pd.DataFrame({"_file": str(path), "_line": rows[ok], "name": names[ok],
                         "highway": hw[ok], "kind": kind, "geom": geoms[ok]})


def _cut_at_areas(ways: pd.DataFrame, areas: pd.DataFrame, report: ImportReport
                  ) -> pd.DataFrame:
    """Pieces of ways, one row per (way, area); ``way`` is the index into ``ways``."""
    parts, way = shapely.get_parts(ways["geom"].to_numpy(), return_index=True)
    if len(areas) == 0:
        return pd.DataFrame({"way": way, "area_id": "all", "geom": parts})
    polys = np.asarray(areas["geom"], dtype=object)
    ids = np.asarray(areas["area_id"], dtype=object)
    tree = shapely.STRtree(polys)
    w_part, w_poly = tree.query(parts, predicate="within")
    order = np.lexsort((w_poly, w_part))
    w_part, w_poly = w_part[order], w_poly[order]
    whole = np.zeros(len(parts), dtype=bool)
    whole[w_part] = True
    # A part within two polygons only when they overlap: keep the first (sorted area_id).
    first = np.r_[True, w_part[1:] != w_part[:-1]] if len(w_part) else np.array([], bool)
    pieces_way = [way[w_part[first]]]
    pieces_area = [ids[w_poly[first]]]
    pieces_geom = [parts[w_part[first]]]
    rest = np.flatnonzero(~whole)
    if len(rest):
        i_part, i_poly = tree.query(parts[rest], predicate="intersects")
        if len(i_part):
            cut = shapely.intersection(parts[rest][i_part], polys[i_poly])
            sub, sub_idx = shapely.get_parts(cut, return_index=True)
            line = np.isin(shapely.get_type_id(sub), [1, 2]) & (shapely.length(sub) > 0)
            sub, sub_idx = sub[line], sub_idx[line]
            pieces_way.append(way[rest][i_part][sub_idx])
            pieces_area.append(ids[i_poly][sub_idx])
            pieces_geom.append(sub)
    pieces = pd.DataFrame({"way": np.concatenate(pieces_way), "area_id": np.concatenate(
        pieces_area), "geom": np.concatenate(pieces_geom)})
    pieces["length"] = shapely.length(pieces["geom"].to_numpy())
    # Slivers go with the area that holds most of their way.
    share = pieces.groupby(["way", "area_id"], sort=False)["length"].sum().reset_index()
    main = share.sort_values(["way", "length", "area_id"], ascending=[True, False, True]
                             ).drop_duplicates("way").set_index("way")["area_id"]
    sliver = (pieces["length"] < SLIVER_M).to_numpy()
    pieces.loc[sliver, "area_id"] = pieces.loc[sliver, "way"].map(main).to_numpy()
    outside = ~np.isin(np.arange(len(ways)), pieces["way"].to_numpy())
    skip_rows(report, "outside every stored beat or ward", ways, outside)
    return pieces.drop(columns="length")


def _clusters(geoms: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Label pieces of the same group that are within :data:`GAP_M` of each other alike
    (connected components by label propagation)."""
    n = len(geoms)
    labels = np.arange(n)
    if n == 0:
        return labels
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=GAP_M)
    keep = (group[a] == group[b]) & (a != b)
    a, b = a[keep], b[keep]
    while len(a):
        low = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # pointer jumping shortens the chains
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _sources(pieces: pd.DataFrame) -> pd.Series:
    """Per group, its distinct (kind, file) as ``kind:file-name``, sorted and joined with
    "; " (a Python join only for the few groups with several; a groupby with a lambda took
    1.3 s on 25k groups)."""
    d = pieces.drop_duplicates(["group", "kind", "file"])
    files = pd.unique(d["file"].to_numpy(dtype=object))
    names = pd.Series([Path(f).name for f in files], index=files, dtype=object)
    d = pd.DataFrame({"group": d["group"].to_numpy(),
                      "label": d["kind"].to_numpy(dtype=object) + ":"
                      + names.loc[d["file"].to_numpy(dtype=object)].to_numpy(dtype=object)})
    d = d.sort_values(["group", "label"], kind="stable")
    g, lab = d["group"].to_numpy(), d["label"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, "int64")
    ends = np.r_[starts[1:], len(g)].astype("int64")
    out = lab[starts].copy()
    for i in np.flatnonzero(ends - starts > 1):
        out[i] = "; ".join(lab[starts[i]:ends[i]])
    return pd.Series(out, index=pd.Index(g[starts], name="group"), name="label", dtype=object)


def _units(ways: pd.DataFrame, pieces: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Street units and the (way, street_id) pairs that made them."""
    norm = normalise_street_names(ways["name"])
    pieces["norm"] = norm[pieces["way"].to_numpy()]
    pieces = pieces.sort_values(["area_id", "norm", "way"], kind="stable").reset_index(drop=True)
    gkey = pieces["area_id"].astype(str) + "\x00" + pieces["norm"].astype(str)
    group = pd.factorize(gkey)[0]
    geoms = pieces["geom"].to_numpy()
    label = _clusters(geoms, group)
    cluster = pd.factorize(label)[0]
    pieces["cluster"] = cluster
    pieces["group"] = group
    pieces = pieces.sort_values("cluster", kind="stable").reset_index(drop=True)
    geoms = pieces["geom"].to_numpy()
    cluster = pieces["cluster"].to_numpy()
    # One geometry per cluster, merged where segments meet end to end.
    merged = shapely.line_merge(shapely.multilinestrings(geoms, indices=cluster))
    parts, pidx = shapely.get_parts(merged, return_index=True)
    unit_geom = shapely.multilinestrings(parts, indices=pidx)
    bounds = shapely.bounds(unit_geom)
    per = pd.DataFrame({"cluster": np.arange(len(unit_geom)), "minx": bounds[:, 0],
                        "miny": bounds[:, 1], "maxx": bounds[:, 2], "maxy": bounds[:, 3]})
    first = pieces.drop_duplicates("cluster").set_index("cluster")
    per["group"] = first.loc[per["cluster"], "group"].to_numpy()
    per["area_id"] = first.loc[per["cluster"], "area_id"].to_numpy()
    per["norm"] = first.loc[per["cluster"], "norm"].to_numpy()
    per = per.sort_values(["group", "minx", "miny"], kind="stable")
    per["k"] = per.groupby("group").cumcount() + 1
    slug = street_slugs(per["norm"])
    base = per["area_id"].astype(str).to_numpy(dtype=object) + "/" + slug
    suffix = np.where(per["k"].to_numpy() > 1, "-" + per["k"].astype(str).to_numpy(), "")
    sid = pd.Series(base + suffix, index=per.index, dtype=object)
    long = sid.str.len() > 80
    if long.any():
        digest = sid[long].map(lambda v: hashlib.sha1(v.encode()).hexdigest()[:8])
        sid[long] = sid[long].str.slice(0, 71) + "~" + digest
    per["street_id"] = sid
    per = per.sort_values("cluster")
    # Display name and road type: the spelling and highway with most length in the group.
    pieces["length"] = shapely.length(geoms)
    pieces["name"] = ways["name"].to_numpy()[pieces["way"].to_numpy()]
    pieces["highway"] = ways["highway"].to_numpy()[pieces["way"].to_numpy()]
    pieces["kind"] = ways["kind"].to_numpy()[pieces["way"].to_numpy()]
    pieces["file"] = ways["_file"].to_numpy()[pieces["way"].to_numpy()]

    def top(col: str) -> pd.Series:
        s = pieces.groupby(["group", col])["length"].sum().reset_index()
        s = s.sort_values(["group", "length", col], ascending=[True, False, True])
        return s.drop_duplicates("group").set_index("group")[col]

    names, highways = top("name"), top("highway")
    src = _sources(pieces)
    units = pd.DataFrame({
        "street_id": per["street_id"].to_numpy(dtype=object),
        "name": names.loc[per["group"]].to_numpy(dtype=object),
        "beat_id": None, "ward_id": None,
        "highway": highways.loc[per["group"]].to_numpy(dtype=object),
        "length_m": shapely.length(unit_geom),
        "households": 0,
        "source": src.loc[per["group"]].to_numpy(dtype=object),
        "minx": per["minx"].to_numpy(), "miny": per["miny"].to_numpy(),
        "maxx": per["maxx"].to_numpy(), "maxy": per["maxy"].to_numpy(),
        "geom": unit_geom,
    })
    area = per["area_id"].astype(str)
    units["beat_id"] = area.where(area.str.startswith("beat:"), None).to_numpy(dtype=object)
    units["ward_id"] = area.where(area.str.startswith("ward:"), None).to_numpy(dtype=object)
    pairs = pd.DataFrame({"way": pieces["way"].to_numpy(),
                          "street_id": units["street_id"].to_numpy()[pieces["cluster"].to_numpy()]}
                         ).drop_duplicates()
    return units, pairs


def import_streets(store, paths: Sequence[str | Path], *, crs: int | None = None,
                   encoding: str | None = None,
                   progress: Progress | None = None,
                   source: str | None = None,
                   highways: Iterable[str] | None = None) -> ImportReport:
    """Import road lines as street units (see the module docstring).

    Parameters
    ----------
    store : Store
    paths : list of files or folders
        GeoPackage, GeoJSON, Shapefile, FlatGeobuf, GML, ``.osm.pbf`` / ``.osm``.
    crs : int, optional
        EPSG code of the coordinates, overriding the file's own (``27700`` for a GeoJSON in
        British National Grid without a ``crs`` member).
    encoding : str, optional
        Attribute encoding (Shapefiles).
    progress : callable, optional
        ``progress(fraction_done, message)``.
    source : {"osm", "os_open_roads"}, optional
        The kind of file; detected from its columns when not given (``highway`` means OSM).
    highways : iterable of str, optional
        OSM ``highway`` values to keep, replacing :data:`DEFAULT_HIGHWAYS`. OS Open Roads
        functions are first mapped to these values (``Local Road`` -> ``residential`` …).

    Returns
    -------
    ImportReport
        ``read`` and ``imported`` count ways (features); a way in several units counts once.

    Raises
    ------
    InputError
        A file that cannot be read, a wrong or missing CRS, a line outside Great Britain.
    """
    keep = frozenset(h.strip().lower() for h in highways) if highways is not None \
        else DEFAULT_HIGHWAYS
    say = progress or no_progress

    def read(path: Path, report: ImportReport) -> pd.DataFrame:
        return _ways(path, crs, encoding, source, keep, report)

    def write(conn, ways: pd.DataFrame, report: ImportReport) -> None:
        areas = current_areas(store, "beat", conn)
        if len(areas) == 0:
            areas = current_areas(store, "ward", conn)
        if len(ways):
            pieces = _cut_at_areas(ways, areas, report)
            say(0.6, "merging street units")
            units, pairs = _units(ways, pieces)
        else:
            units, pairs = pd.DataFrame({"street_id": []}), pd.DataFrame({"way": [],
                                                                          "street_id": []})
        stored = stored_keys(store, conn, "streets", "street_id", units["street_id"])
        units = units[~stored].reset_index(drop=True)
        say(0.75, "indexing street cells")
        if len(units):
            idx, cells = lines_to_cells(None, store.h3_resolution,
                                        geoms_metric=units["geom"].to_numpy())
            street_cells = pd.DataFrame({"street_id": units["street_id"].to_numpy()[idx],
                                         "cell": cells})
        else:
            street_cells = pd.DataFrame({"street_id": [], "cell": []})
        n_units = store.insert_new(conn, "streets", units)
        store.insert_new(conn, "street_cells", street_cells)
        new_ids = set(units["street_id"])
        way_new = pairs.assign(new=pairs["street_id"].isin(new_ids)).groupby("way")["new"].any()
        imported = np.zeros(len(ways), dtype=bool)
        imported[way_new.index[way_new.to_numpy()].to_numpy(dtype="int64")] = True
        old = np.zeros(len(ways), dtype=bool)
        old[way_new.index[~way_new.to_numpy()].to_numpy(dtype="int64")] = True
        report.imported = int(imported.sum())
        skip_rows(report, "street unit already in the store", ways, old)
        note_rows(report, f"ways merged into {n_units} new street units", ways, imported)
        say(0.85, "refreshing the index")
        refresh_index(store, conn)

    return run_import(store, "streets", paths, read=read, write=write, patterns=_FILE_PATTERNS,
                      once=False, progress=progress, reading=0.4,
                      writing="cutting streets at beat boundaries")
