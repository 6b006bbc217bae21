# SPDX-License-Identifier: GPL-3.0-or-later
"""Import geodemographic classifications (OAC 2011, OAC 2021, Mosaic, Acorn).

The store is scheme-agnostic: each key (an output area, LSOA, postcode or household UPRN)
gets up to three levels, ``l1`` (coarsest) to ``l3`` (finest):

============  ===========  =========  ==========
scheme        l1           l2         l3
============  ===========  =========  ==========
oac2011/2021  supergroup   group      subgroup
mosaic        group        type       –
acorn         category     group      type
============  ===========  =========  ==========

Three kinds of input are read:

- lookup tables (CSV, ``.csv.gz``) keyed by output area, LSOA, postcode or UPRN;
- Parquet tables (the UK-wide OAC 2021 file ``UK_OAC_Final.parquet``);
- polygons carrying the class (the CDRC OAC geodata packs): these also create the areas
  (level ``oa`` or ``lsoa``) through :mod:`spatial_core.io.boundaries`.

OAC is open data, so its code lists are built in (``spatial_core/data/oac*_codes.csv``) and
loaded into ``class_codes`` the first time a scheme is used; OAC codes are checked against
them. Mosaic and Acorn are proprietary: any code is accepted and the codes (with names, when
the file has them) are added to ``class_codes`` as they are seen.

:func:`classify_households` gives each address its class, by UPRN, else postcode, else
output area, else LSOA: this is what the analytics call.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.io.boundaries import (
    DEFAULT_BOUNDARY_SET,
    Polygons,
    areas_already_stored,
    attribute_text,
    polygons_to_areas,
    prepare_areas,
    read_polygons,
    write_areas,
)
from spatial_core.io.imports import ALREADY, ImportReport, Progress, run_import, skip_rows
from spatial_core.io.locations import uprn_values
from spatial_core.io.sources import (
    CsvTable,
    normalise_postcodes,
    read_csv_table,
)
from spatial_core.store import schema

__all__ = ["SCHEMES", "KEY_TYPES", "LEVEL_NAMES", "import_classification",
           "classify_households", "class_names", "builtin_codes", "class_level_column"]

log = logging.getLogger(__name__)

SCHEMES = ("oac2011", "oac2021", "mosaic", "acorn")
KEY_TYPES = ("oa", "lsoa", "postcode", "uprn")
LEVEL_NAMES = {
    "oac2011": ("supergroup", "group", "subgroup"),
    "oac2021": ("supergroup", "group", "subgroup"),
    "mosaic": ("group", "type"),
    "acorn": ("category", "group", "type"),
}
"""What ``l1``, ``l2``, ``l3`` mean in each scheme."""

_PATTERNS = ("*.csv", "*.csv.gz", "*.parquet", "*.geojson", "*.json", "*.gpkg", "*.shp")
_SPATIAL = {".geojson", ".json", ".gpkg", ".shp", ".kml"}

_KEY_ALIASES = {
    "oa": ("oa_code", "oa21cd", "oa11cd", "oa01cd", "oa21", "oa11", "oa01", "oa",
           "output_area", "output_area_code"),
    "lsoa": ("lsoa_code", "lsoa21cd", "lsoa11cd", "lsoa21", "lsoa11", "lsoa", "datazone",
             "data_zone", "dz_code", "sdz_code"),
    "postcode": ("postcode", "pcds", "pcd", "pcd2", "pcd7", "pcd8", "post_code"),
    "uprn": ("uprn", "household_uprn", "household_id", "household"),
}
_GENERIC_KEYS = ("geography_code", "geo_code", "area_code", "code", "key")

_OAC_COLUMNS = {
    1: ("supgrpcode", "supergroup_code", "oac_supergroup", "supergroup", "supgrp", "spgrp"),
    2: ("grpcode", "group_code", "oac_group", "group", "grp"),
    3: ("subgrpcode", "subgroup_code", "oac_subgroup", "subgroup", "subgrp"),
}
_OAC_SINGLE = ("oac11", "oac21", "oac2011", "oac2021", "oac", "oac_code", "class", "class_code")
_OAC_NAMES = {1: ("supgrpname", "supergroup_name"), 2: ("grpname", "group_name"),
              3: ("subgrpname", "subgroup_name")}
_MOSAIC_COLUMNS = {1: ("mosaic_group", "mosaic_group_code", "group"),
                   2: ("mosaic_type", "mosaic_type_code", "type")}
_MOSAIC_SINGLE = ("mosaic", "mosaic_code")
_MOSAIC_NAMES = {1: ("mosaic_group_name", "group_name"), 2: ("mosaic_type_name", "type_name")}
_ACORN_COLUMNS = {1: ("acorn_category", "acorn_category_code", "category"),
                  2: ("acorn_group", "acorn_group_code", "group"),
                  3: ("acorn_type", "acorn_type_code", "type")}
_ACORN_SINGLE = ("acorn", "acorn_code")
_ACORN_NAMES = {1: ("acorn_category_name", "category_name"), 2: ("acorn_group_name", "group_name"),
                3: ("acorn_type_name", "type_name")}

_OAC_CODE = re.compile(r"^[1-9]([a-z]([1-9])?)?$")
_OAC_FORM = {1: "a supergroup digit such as 3", 2: "a group such as 3c",
             3: "a subgroup such as 3c2"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@cache
def builtin_codes(scheme: str) -> pd.DataFrame:
    """The built-in code list of an open scheme: ``level, code, name, parent_code``.

    Examples
    --------
    >>> codes = builtin_codes("oac2011")
    >>> codes.groupby("level").size().tolist()
    [8, 26, 76]
    >>> codes.set_index("code").loc["6", "name"]
    'Suburbanites'
    """
    if scheme not in ("oac2011", "oac2021"):
        return pd.DataFrame(columns=["level", "code", "name", "parent_code"])
    ref = resources.files("spatial_core") / "data" / f"{scheme}_codes.csv"
    with ref.open("rb") as fh:
        frame = pd.read_csv(fh, dtype={"code": str, "name": str, "parent_code": str},
                            keep_default_na=False)
    frame["level"] = frame["level"].astype(int)
    for c in ("name", "parent_code"):
        frame[c] = frame[c].where(frame[c] != "", None)
    return frame


# -- reading --------------------------------------------------------------------------


@dataclass
class _Source:
    table: CsvTable
    polygons: Polygons | None = None


def _table_from_frame(file: str, frame: pd.DataFrame, rows: np.ndarray) -> CsvTable:
    text = pd.DataFrame({c: attribute_text(frame[c]) for c in frame.columns},
                        index=range(len(frame)))
    text = text.fillna("").astype(object) if len(text) else text
    return CsvTable(file, [str(c) for c in frame.columns], text, np.asarray(rows, dtype="int64"))


def _read_source(path: Path, *, crs: int | None, encoding: str | None) -> _Source:
    name = path.name.lower()
    if name.endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise InputError(f"reading Parquet needs pyarrow ({exc}); pip install pyarrow",
                             file=str(path)) from None
        except Exception as exc:  # noqa: BLE001 - damaged or not Parquet
            raise InputError(f"cannot read the file as Parquet: {exc}", file=str(path)) from None
        return _Source(_table_from_frame(str(path), frame, np.arange(1, len(frame) + 1)))
    if path.suffix.lower() in _SPATIAL:
        polys = read_polygons(path, crs=crs, encoding=encoding)
        attrs = polys.frame.drop(columns=polys.frame.geometry.name)
        return _Source(_table_from_frame(str(path), attrs, polys.rows), polys)
    return _Source(read_csv_table(path, encoding=encoding))


def _find(table: CsvTable, aliases: Sequence[str], exclude: set[str] | None = None) -> str | None:
    norm = {_norm(c): c for c in table.columns if not exclude or c not in exclude}
    for alias in aliases:
        if _norm(alias) in norm:
            return norm[_norm(alias)]
    return None


def _key_type_of(values: np.ndarray) -> str | None:
    """oa or lsoa from ONS code prefixes (E00/W00/S00/N00 are output areas)."""
    s = pd.Series(values[values != ""], dtype=object).astype(str).str.upper()
    if not len(s):
        return None
    prefix = s.str.slice(0, 3)
    oa = prefix.isin(["E00", "W00", "S00", "N00"]).mean()
    lsoa = prefix.isin(["E01", "W01", "S01", "N01", "N21", "95"]).mean()
    if oa >= 0.5:
        return "oa"
    if lsoa >= 0.5:
        return "lsoa"
    return None


def _key_column(table: CsvTable, key_type: str | None) -> tuple[str, str]:
    types = [key_type] if key_type else list(KEY_TYPES)
    for kt in types:
        col = _find(table, _KEY_ALIASES[kt])
        if col is not None:
            return col, kt
    col = _find(table, _GENERIC_KEYS)
    if col is not None:
        found = key_type or _key_type_of(table.column(col).to_numpy(dtype=object))
        if found is None:
            raise InputError(f"cannot tell whether {col!r} holds output areas or LSOAs; pass "
                             "--key-type (oa, lsoa, postcode or uprn)", file=table.file)
        return col, found
    names = " or ".join(repr(a) for kt in types for a in _KEY_ALIASES[kt][:3])
    found = ", ".join(repr(c) for c in table.columns)
    raise InputError(f"missing key column: expected {names} (or 'geography_code'); "
                     f"the columns are {found}", file=table.file,
                     row=1 if table.has_header else None)


def _scheme_of(table: CsvTable, key_col: str, scheme: str | None) -> str:
    if scheme is not None:
        if scheme not in SCHEMES:
            raise InputError(f"unknown classification scheme {scheme!r}; expected one of "
                             f"{', '.join(SCHEMES)}")
        return scheme
    cols = [_norm(c) for c in table.columns]
    if any(c.startswith("mosaic") for c in cols):
        return "mosaic"
    if any(c.startswith("acorn") for c in cols):
        return "acorn"
    hint = _norm(Path(table.file).name) + " " + " ".join(cols)
    in_2011 = re.search(r"2011|oac11|oa11|lsoa11", hint) is not None
    in_2021 = re.search(r"2021|oac21|oa21|lsoa21", hint) is not None
    if in_2011 != in_2021:
        return "oac2011" if in_2011 else "oac2021"
    # Otherwise the codes decide: 2011 has groups up to 'd', 2021 has 6c and no 'd'.
    fits = []
    for s in ("oac2011", "oac2021"):
        try:
            _class_levels(table, s, key_col, validate=True)
            fits.append(s)
        except InputError:
            pass
    if len(fits) == 1:
        return fits[0]
    raise InputError("cannot tell the classification scheme; pass --scheme (one of "
                     f"{', '.join(SCHEMES)})", file=table.file)


def _class_levels(table: CsvTable, scheme: str, key_col: str, *, validate: bool
                  ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, str]]:
    """Codes and names per level (1 coarsest), and the column each level came from."""
    colmap: Mapping[int, Sequence[str]]
    namemap: Mapping[int, Sequence[str]]
    single: Sequence[str]
    if scheme.startswith("oac"):
        colmap, single, namemap = _OAC_COLUMNS, _OAC_SINGLE, _OAC_NAMES
    elif scheme == "mosaic":
        colmap, single, namemap = _MOSAIC_COLUMNS, _MOSAIC_SINGLE, _MOSAIC_NAMES
    else:
        colmap, single, namemap = _ACORN_COLUMNS, _ACORN_SINGLE, _ACORN_NAMES
    used = {key_col}
    codes: dict[int, np.ndarray] = {}
    names: dict[int, np.ndarray] = {}
    where: dict[int, str] = {}
    for level, aliases in namemap.items():
        col = _find(table, aliases, used)
        if col is not None:
            names[level] = _blank_none(table.column(col).to_numpy(dtype=object))
            used.add(col)
    for level, code_aliases in colmap.items():
        col = _find(table, code_aliases, used)
        if col is None:
            continue
        values = _blank_none(table.column(col).to_numpy(dtype=object))
        if scheme.startswith("oac"):
            values = _oac_codes(values)
            present = pd.notna(values)
            looks = _per_unique(values[present], lambda u: np.array(
                [bool(_OAC_CODE.match(v)) for v in u], dtype=object)).astype(bool)
            if present.any() and looks.mean() < 0.5 and level not in names:
                names[level] = _blank_none(table.column(col).to_numpy(dtype=object))
                used.add(col)
                continue  # a column of names, such as 'Supergroup' = 'Rural Residents'
        codes[level] = values
        where[level] = col
        used.add(col)
    if not codes:
        col = _find(table, single, used)
        if col is not None:
            values = _blank_none(table.column(col).to_numpy(dtype=object))
            if scheme.startswith("oac"):
                values = _oac_codes(values)
                codes = {3: values}
                where = {3: col}
            else:
                finest = len(LEVEL_NAMES[scheme])
                codes = {finest: values}
                where = {finest: col}
    if not codes:
        wanted = ", ".join(repr(a) for lv in colmap.values() for a in lv[:1])
        found = ", ".join(repr(c) for c in table.columns)
        raise InputError(f"missing class columns for {scheme}: expected {wanted} (or one "
                         f"code column such as {single[0]!r}); the columns are {found}",
                         file=table.file, row=1 if table.has_header else None)
    given = sorted(codes)
    _derive_coarser(codes, where, scheme)
    if validate:
        _check_codes(table, scheme, codes, where, given)
    return codes, names, where


def _per_unique(values: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` (array → array) to the distinct values only: class columns repeat a few
    dozen codes over hundreds of thousands of rows."""
    values = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = np.asarray(fn(np.asarray(uniques, dtype=object)), dtype=object)
    out = np.full(len(values), None, dtype=object)
    ok = codes >= 0
    out[ok] = mapped[codes[ok]]
    return out


def _blank_none(values: np.ndarray) -> np.ndarray:
    def strip(u: np.ndarray) -> np.ndarray:
        out = np.array([v.strip() if isinstance(v, str) else v for v in u], dtype=object)
        out[out == ""] = None
        return out

    return _per_unique(values, strip)


def _oac_codes(values: np.ndarray) -> np.ndarray:
    """OAC codes in ONS form: '1A1' → '1a1', '3.0' → '3'."""
    def norm(u: np.ndarray) -> np.ndarray:
        return np.array([re.sub(r"^(\d)\.0+$", r"\1", str(v).strip().lower()) for v in u],
                        dtype=object)

    return _per_unique(values, norm)


def _derive_coarser(codes: dict[int, np.ndarray], where: dict[int, str], scheme: str) -> None:
    """Fill coarser levels from finer codes where the scheme's codes nest (OAC, Mosaic)."""
    if scheme.startswith("oac"):
        widths = {1: 1, 2: 2}
    elif scheme == "mosaic":
        widths = {1: 1}
    else:
        return
    finest = max(codes)
    for level, width in widths.items():
        if level in codes or level >= finest:
            continue
        src = codes[finest]
        codes[level] = _per_unique(src, lambda u, w=width: np.array(
            [v[:w] if isinstance(v, str) else None for v in u], dtype=object))
        where[level] = where[finest]


def _check_codes(table: CsvTable, scheme: str, codes: dict[int, np.ndarray],
                 where: dict[int, str], given: list[int]) -> None:
    if scheme.startswith("oac"):
        ref = builtin_codes(scheme)
        year = scheme[3:]
        for level, values in codes.items():
            valid = set(ref.loc[ref["level"] == level, "code"])
            present = pd.notna(values)
            bad = present & ~pd.Series(values, dtype=object).isin(valid).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                more = int(bad.sum()) - 1
                extra = f" ({more} more row(s) like this)" if more else ""
                kind = LEVEL_NAMES[scheme][level - 1]
                raise table.error(
                    f"not an OAC {year} {kind} code: expected {_OAC_FORM[level]} "
                    f"({len(valid)} {kind}s, listed in spatial_core/data/{scheme}_codes.csv)"
                    f"{extra}", position=i, column=where[level],
                    value=table.column(where[level]).iloc[i])
    if scheme in ("oac2011", "oac2021", "mosaic"):
        b = given[-1]  # the finest code given must start with every coarser code given
        for a in given[:-1]:
            ca, cb = codes[a], codes[b]
            both = pd.notna(ca) & pd.notna(cb)
            pair = pd.DataFrame({"a": ca[both], "b": cb[both]}).drop_duplicates()
            wrong = [not str(y).startswith(str(x))
                     for x, y in zip(pair["a"], pair["b"], strict=True)]
            if any(wrong):
                i = int(np.flatnonzero(both)[pair.index[np.flatnonzero(wrong)[0]]])
                names = LEVEL_NAMES[scheme]
                raise table.error(
                    f"{names[b - 1]} {cb[i]} does not belong to {names[a - 1]} {ca[i]}",
                    position=i, column=where[b], value=cb[i])


def _keys(table: CsvTable, col: str, key_type: str) -> np.ndarray:
    raw = table.column(col).to_numpy(dtype=object)
    empty = pd.isna(_blank_none(raw))
    if key_type == "postcode":
        keys = normalise_postcodes(raw)
        bad = ~empty & pd.isna(keys)
        what = "a UK postcode such as LS1 1AZ"
    elif key_type == "uprn":
        keys, bad = uprn_values(raw)
        what = "a UPRN: 1 to 12 digits, not zero"
    else:
        s = pd.Series(raw, dtype=object).fillna("").astype(str).str.strip().str.upper()
        ok = s.str.fullmatch(r"[A-Z0-9]{4,12}")
        keys = s.where(ok, None).to_numpy(dtype=object)
        bad = ~empty & ~ok.to_numpy()
        what = f"an {key_type.upper()} code such as " + ("E00056780" if key_type == "oa"
                                                          else "E01011663")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = int(bad.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        raise table.error(f"expected {what}{extra}", position=i, column=col, value=raw[i])
    return keys


# -- importing ----------------------------------------------------------------------


@dataclass
class _Parsed:
    file: str
    scheme: str
    key_type: str
    rows: pd.DataFrame  # key, l1, l2, l3, _line
    names: pd.DataFrame  # level, code, name, parent_code
    source: _Source
    key_col: str


def _parse(src: _Source, scheme: str | None, key_type: str | None,
           report: ImportReport) -> _Parsed:
    table = src.table
    if key_type is not None and key_type not in KEY_TYPES:
        raise InputError(f"unknown key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}")
    key_col, kt = _key_column(table, key_type)
    scheme = _scheme_of(table, key_col, scheme)
    codes, names, _ = _class_levels(table, scheme, key_col, validate=True)
    keys = _keys(table, key_col, kt)
    n = len(table)
    cols = {f"l{lv}": codes.get(lv, np.full(n, None, dtype=object)) for lv in (1, 2, 3)}
    rows = pd.DataFrame({"key": keys, **cols, "_line": table.lines})
    nokey = pd.isna(keys)
    noclass = ~nokey & rows[["l1", "l2", "l3"]].isna().all(axis=1).to_numpy()
    if nokey.any():
        report.skip("no key (empty " + key_col + ")", table.lines[nokey], table.file)
    if noclass.any():
        report.skip("no class", table.lines[noclass], table.file)
    rows = rows[~nokey & ~noclass]
    named = []
    for level, code in codes.items():
        nm = names.get(level, np.full(n, None, dtype=object))
        parent = codes.get(level - 1, np.full(n, None, dtype=object))
        named.append(pd.DataFrame({"level": level, "code": code, "name": nm,
                                   "parent_code": parent}))
    name_frame = pd.concat(named, ignore_index=True)
    name_frame = name_frame[name_frame["code"].notna()].drop_duplicates(["level", "code"])
    return _Parsed(table.file, scheme, kt, rows, name_frame, src, key_col)


def _dedupe(rows: pd.DataFrame, report: ImportReport) -> pd.DataFrame:
    dup = rows["key"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return rows
    part = rows[dup]
    firsts = part.drop_duplicates("key")
    differ = part.merge(firsts, on="key", suffixes=("", "_first"))
    clash = (differ[["l1", "l2", "l3"]].fillna("").to_numpy()
             != differ[["l1_first", "l2_first", "l3_first"]].fillna("").to_numpy()).any(axis=1)
    if clash.any():
        r = differ[clash].iloc[0]
        raise InputError(f"the key is listed twice with different classes (first at row "
                         f"{int(r['_line_first'])}, file {Path(r['_file_first']).name})",
                         file=r["_file"], row=int(r["_line"]), value=r["key"])
    again = rows["key"].duplicated().to_numpy()
    skip_rows(report, "key listed more than once (first row kept)", rows, again)
    return rows[~again]


def _load_codes(store, conn: Connection, scheme: str, seen: pd.DataFrame) -> int:
    """Built-in codes on first use, then codes and names seen in the files."""
    t = schema.table("class_codes")
    stored = store.read("class_codes", ["level", "code", "name"], where=t.c.scheme == scheme,
                        conn=conn)
    have = set(zip(stored["level"].astype(int), stored["code"], strict=True))
    nameless = set(zip(stored.loc[stored["name"].isna(), "level"].astype(int),
                       stored.loc[stored["name"].isna(), "code"], strict=True))
    frames = [builtin_codes(scheme), seen]
    cand = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else seen
    if not len(cand):
        return 0
    cand = cand.assign(level=cand["level"].astype(int))
    # Names from the built-in list win; a file's names fill the gaps.
    cand = cand.sort_values("name", na_position="last", kind="stable")
    cand = cand.drop_duplicates(["level", "code"])
    key = list(zip(cand["level"], cand["code"], strict=True))
    new = cand[[k not in have for k in key]].assign(scheme=scheme)
    n = store.insert_new(conn, "class_codes",
                         new[["scheme", "level", "code", "name", "parent_code"]])
    fill = cand[[k in nameless for k in key] & cand["name"].notna().to_numpy()]
    if len(fill):
        store.update_by_key(conn, "class_codes", ["scheme", "level", "code"],
                            fill.assign(scheme=scheme)[["scheme", "level", "code", "name"]])
    return n


def import_classification(store, paths: Sequence[str | Path], *, crs: int | None = None,
                          encoding: str | None = None, progress: Progress | None = None,
                          scheme: str | None = None, key_type: str | None = None,
                          boundary_set: str | None = None) -> ImportReport:
    """Import a geodemographic classification into ``classifications`` and ``class_codes``.

    Parameters
    ----------
    store : Store
    paths : list of files or folders
        Lookup CSVs, Parquet tables, or polygon files (GeoJSON, GeoPackage, Shapefile)
        carrying the class; polygons also become areas (level ``oa`` or ``lsoa``).
    crs : int, optional
        EPSG code of polygon coordinates (``27700`` for the CDRC OAC GeoJSON, which has no
        ``crs`` member).
    scheme : str, optional
        One of :data:`SCHEMES`; detected from the columns, file name and codes when not given.
    key_type : str, optional
        One of :data:`KEY_TYPES`; detected from the key column when not given.
    boundary_set : str, optional
        Boundary set of the areas created from polygons.

    Returns
    -------
    ImportReport
        ``read`` counts rows (records or features); ``imported`` counts new classified keys.

    Examples
    --------
    >>> import_classification(store, ["leeds_oa_oac2011.geojson"], crs=27700)  # doctest: +SKIP
    """
    def read(path: Path, report: ImportReport) -> _Parsed:
        src = _read_source(path, crs=crs, encoding=encoding)
        report.read += len(src.table)
        p = _parse(src, scheme, key_type, report)
        p.rows["_file"] = str(path)
        return p

    def validate(parsed: list[_Parsed], report: ImportReport):
        groups: dict[tuple[str, str], list[_Parsed]] = {}
        for p in parsed:
            groups.setdefault((p.scheme, p.key_type), []).append(p)
        area_work = []
        for p in parsed:
            if p.source.polygons is None:
                continue
            if p.key_type not in ("oa", "lsoa"):
                raise InputError(f"polygons keyed by {p.key_type} cannot become areas; "
                                 "polygons must be keyed by output area or LSOA", file=p.file)
            area_report = ImportReport("boundaries", files=[p.file])
            areas = polygons_to_areas([p.source.polygons], area_report, level=p.key_type,
                                      id_field=p.key_col, name_field=None)
            areas.frame["code"] = areas.frame["code"].str.upper()
            areas.frame["name"] = None
            for reason, entry in area_report.reasons.items():
                report.note(f"{reason}: no area created", entry["rows"], p.file)
            area_work.append((p, areas))
        prepared = [(p, a, *prepare_areas(store, a, report, level=p.key_type,
                                          boundary_set=boundary_set or DEFAULT_BOUNDARY_SET))
                    for p, a in area_work]
        return groups, prepared

    def write(conn, batch, report: ImportReport) -> None:
        groups, prepared = batch
        t = schema.table("classifications")
        for (sch, kt), items in groups.items():
            rows = _dedupe(pd.concat([p.rows for p in items], ignore_index=True), report)
            stored = store.read("classifications", ["key"],
                                where=(t.c.scheme == sch) & (t.c.key_type == kt), conn=conn)
            have = rows["key"].isin(set(stored["key"])).to_numpy()
            skip_rows(report, ALREADY, rows, have)
            new = rows[~have].assign(scheme=sch, key_type=kt)[
                ["scheme", "key_type", "key", "l1", "l2", "l3"]]
            report.imported += store.insert_new(conn, "classifications", new)
            seen = pd.concat([p.names for p in items], ignore_index=True)
            _load_codes(store, conn, sch, seen)
        for p, areas, frame, cells in prepared:
            old = areas_already_stored(store, conn, frame)
            write_areas(store, conn, frame, cells)
            report.note(f"{p.key_type} areas created", areas.rows[~old], p.file)

    return run_import(store, "classification", paths, read=read, validate=validate,
                      write=write, patterns=_PATTERNS, once=False, progress=progress,
                      reading=0.6, writing="writing classes")


# -- reading classes back -------------------------------------------------------------


def class_level_column(scheme: str, level: int | str) -> str:
    """The ``classifications`` column (``l1``, ``l2``, ``l3``) of a scheme's level, given as a
    number or a name (``"supergroup"``)."""
    names = LEVEL_NAMES.get(scheme, ("l1", "l2", "l3"))
    if isinstance(level, str) and not level.isdigit():
        low = level.lower()
        if low in names:
            return f"l{names.index(low) + 1}"
        if low in ("l1", "l2", "l3"):
            return low
        raise InputError(f"unknown level {level!r} for {scheme}; expected one of "
                         f"{', '.join(names)} (or 1–{len(names)})")
    lv = int(level)
    if not 1 <= lv <= len(names):
        raise InputError(f"level must be between 1 and {len(names)} for {scheme}, got {level}")
    return f"l{lv}"


def class_names(store, scheme: str, level: int | str = 1) -> dict[str, str | None]:
    """Code → name for one level of a scheme, from ``class_codes``."""
    lv = int(class_level_column(scheme, level)[1])
    t = schema.table("class_codes")
    rows = store.read("class_codes", ["code", "name"],
                      where=(t.c.scheme == scheme) & (t.c.level == lv))
    return dict(zip(rows["code"], rows["name"], strict=True))


def classify_households(store, scheme: str, level: int | str = 1) -> pd.DataFrame:
    """The class of every stored address at one level of a scheme.

    Each address takes the class of its UPRN when households are classified, else of its
    postcode, else of its output area (the address's ``oa_code``, else its postcode's, else
    the stored OA polygon containing it), else of its LSOA (through its postcode).

    Parameters
    ----------
    scheme : str
        One of :data:`SCHEMES` (or any scheme stored).
    level : int or str
        1 (coarsest) to 3, or the level's name (``"supergroup"``, ``"type"`` …).

    Returns
    -------
    pandas.DataFrame
        ``uprn``, ``code`` (None when unknown) and ``source`` (``uprn``, ``postcode``,
        ``oa``, ``lsoa`` or None), one row per address. Empty when no addresses are stored.
    """
    col = class_level_column(scheme, level)
    t = schema.table("classifications")
    cls = store.read("classifications", ["key_type", "key", col], where=t.c.scheme == scheme)
    cls = cls[cls[col].notna()]
    addr = store.read("addresses", ["uprn", "postcode", "oa_code", "x", "y"])
    n = len(addr)
    code = pd.Series([None] * n, index=addr.index, dtype=object)
    source = pd.Series([None] * n, index=addr.index, dtype=object)
    if not n or not len(cls):
        return pd.DataFrame({"uprn": addr["uprn"], "code": code, "source": source})

    def fill(keys: pd.Series, kt: str) -> None:
        lookup = cls[cls["key_type"] == kt]
        if not len(lookup):
            return
        got = keys.map(lookup.drop_duplicates("key").set_index("key")[col])
        take = code.isna() & got.notna()
        code[take] = got[take]
        source[take] = kt

    fill(addr["uprn"].astype(str), "uprn")
    fill(addr["postcode"], "postcode")
    pcs = store.read("postcodes", ["postcode", "oa_code", "lsoa_code"])
    by_pc = pcs.drop_duplicates("postcode").set_index("postcode")
    oa = addr["oa_code"].where(addr["oa_code"].notna(), addr["postcode"].map(by_pc["oa_code"]))
    missing = (oa.isna() & code.isna() & addr["x"].notna()).to_numpy()
    if missing.any() and (cls["key_type"] == "oa").any():
        oa[missing] = _oa_by_location(store, addr["x"].to_numpy()[missing],
                                      addr["y"].to_numpy()[missing])
    fill(oa, "oa")
    fill(addr["postcode"].map(by_pc["lsoa_code"]), "lsoa")
    return pd.DataFrame({"uprn": addr["uprn"], "code": code, "source": source})


def _oa_by_location(store, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    t = schema.table("areas")
    areas = store.read("areas", ["code", "geom"], where=t.c.level == "oa")
    out = np.full(len(x), None, dtype=object)
    if not len(areas):
        return out
    tree = shapely.STRtree(areas.geometry.values)
    i_pt, i_area = tree.query(shapely.points(x, y), predicate="within")
    out[i_pt] = areas["code"].to_numpy(dtype=object)[i_area]
    return out
