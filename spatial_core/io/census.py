# SPDX-License-Identifier: GPL-3.0-or-later
"""Importing a census population base: ONS Census 2021 output-area tables, and Origins.

The bulk CSV layout ONS and Nomis publish (``census2021-ts021-oa.csv`` …) has one row per
output area: ``date``, ``geography``, ``geography code``, then one column per category, named
``<table topic>: <category>[: <sub-category>]`` with one total, for example::

    date,geography,geography code,Ethnic group: Total: All usual residents,
    Ethnic group: Asian, Asian British or Asian Welsh,
    Ethnic group: Asian, Asian British or Asian Welsh: Bangladeshi, …

Four tables are read (:data:`CENSUS_TABLES`): TS021 ethnic group, TS024 main language, TS004
country of birth and TS030 religion; the table is told by the topic before the first colon,
or given (``table="TS021"``) and then checked. Only the *leaf* categories are stored (a
column no other column refines: ``…: Bangladeshi``, not the broad ``Asian …`` subtotal); the
total must equal their sum in every row. Anything else is an error naming the file, row and
column and what was expected, and nothing is written.

An Origins-style base (an ethnicity classification of names a force buys, such as
OriginsInfo) has its own long file: ``oa_code, origins, count`` (table ``origins``).

Each category is stored with its *group*: the slug the members' self-declared answers are
normalised to by :mod:`spatial_core.io.members` (one home for each mapping):
:data:`ETHNIC_19` for TS021 (with the broad group of the five as ``parent``),
:func:`~spatial_core.io.members.normalise_languages`,
:func:`~spatial_core.io.members.normalise_religions` and
:func:`~spatial_core.io.members.normalise_origins`. ``docs/formats/census.md`` gives the layout
and ``docs/analytics/representation.md`` the mapping.

Rows are kept only for output areas the store knows (of its addresses or ``oa`` areas), so a
national file loads only the force's areas; an output area already stored for the table is
skipped ("already in the store"): importing the same file twice changes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError
from spatial_core.io.imports import (
    ALREADY,
    ImportReport,
    Progress,
    check_unique,
    run_import,
    skip_rows,
)
from spatial_core.io.members import (
    ETHNICITIES,
    normalise_ethnicities,
    normalise_languages,
    normalise_origins,
    normalise_religions,
    slugs,
)
from spatial_core.io.sources import CsvTable, parse_int, read_csv_table
from spatial_core.store import schema

__all__ = ["CENSUS_TABLES", "ETHNIC_19", "ETHNIC_5", "import_census", "census_counts",
           "census_group"]

CENSUS_TABLES: dict[str, str] = {
    "TS021": "Ethnic group",
    "TS024": "Main language",
    "TS004": "Country of birth",
    "TS030": "Religion",
    "origins": "Origins",
}
"""The tables a census base can come from, and the topic that starts their column names."""

ETHNIC_5 = ("asian", "black", "mixed", "white", "other")
"""The five high-level ONS ethnic groups (Census 2021, England and Wales), as slugs."""

ETHNIC_19: dict[str, str] = {
    "asian_bangladeshi": "Asian, Asian British or Asian Welsh: Bangladeshi",
    "asian_chinese": "Asian, Asian British or Asian Welsh: Chinese",
    "asian_indian": "Asian, Asian British or Asian Welsh: Indian",
    "asian_pakistani": "Asian, Asian British or Asian Welsh: Pakistani",
    "asian_other": "Asian, Asian British or Asian Welsh: Other Asian",
    "black_african": "Black, Black British, Black Welsh, Caribbean or African: African",
    "black_caribbean": "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "black_other": "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "mixed_white_asian": "Mixed or Multiple ethnic groups: White and Asian",
    "mixed_white_black_african": "Mixed or Multiple ethnic groups: White and Black African",
    "mixed_white_black_caribbean": "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "mixed_other": "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
    "white_british": "White: English, Welsh, Scottish, Northern Irish or British",
    "white_irish": "White: Irish",
    "white_gypsy_traveller": "White: Gypsy or Irish Traveller",
    "white_roma": "White: Roma",
    "white_other": "White: Other White",
    "other_arab": "Other ethnic group: Arab",
    "other_any": "Other ethnic group: Any other ethnic group",
}
"""The 19 detailed ethnic groups of TS021: member slug → census category (after the topic).
Their broad group (one of :data:`ETHNIC_5`) is ``ETHNICITIES[slug]``."""

_FIXED = ("date", "geography", "geography code")
_ORIGINS_COLUMNS = {"oa_code": ("geography code", "area code", "output area", "oa21cd", "oa"),
                    "origins": ("origins group", "origins code", "group", "category"),
                    "count": ("residents", "population", "usual residents", "value")}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _topic_table(topic: str) -> str | None:
    t = _norm(re.sub(r"\([^)]*\)", "", topic))
    for code, name in CENSUS_TABLES.items():
        if code != "origins" and t == _norm(name):
            return code
    return None


def census_group(table: str, categories) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The group slug and parent of census categories of ``table`` (the text after the topic,
    e.g. ``White: Other White``). Returns ``(group, parent, known)``.

    Examples
    --------
    >>> g, p, ok = census_group("TS021", ["White: Other White", "Other ethnic group: Arab"])
    >>> g.tolist(), p.tolist(), ok.tolist()
    (['white_other', 'other_arab'], ['white', 'other'], [True, True])
    >>> census_group("TS024", ["Other European language (EU): Polish"])[0].tolist()
    ['polish']
    """
    cats = np.asarray(list(categories), dtype=object)
    parent = np.array([slugs([c.split(":")[0]])[0] if ":" in c else None for c in cats],
                      dtype=object)
    known = np.ones(len(cats), dtype=bool)
    if table == "TS021":
        by_name = {_norm(v): k for k, v in ETHNIC_19.items()}
        group = np.array([by_name.get(_norm(c)) for c in cats], dtype=object)
        miss = pd.isna(group)
        if miss.any():  # other wordings of the same categories (earlier table versions)
            alt, _ = normalise_ethnicities(cats[miss])
            group[miss] = alt
        known = np.array([g in ETHNIC_19 for g in group], dtype=bool)
        parent = np.array([ETHNICITIES.get(g) for g in group], dtype=object)
    elif table == "TS024":
        group = normalise_languages(cats)[0]
    elif table == "TS030":
        group, unknown = normalise_religions(cats)
        known = ~unknown
    elif table == "origins":
        group = normalise_origins(cats)[0]
    else:  # TS004: the country's name, as a slug
        group = slugs([re.sub(r"\s*\([^)]*\)", "", c.split(":")[-1]) for c in cats])
    group = np.array([g if g else "not_stated" for g in group], dtype=object)
    return group, parent, known


def _read_nomis(path: Path, table: str | None, encoding: str | None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = read_csv_table(path, encoding=encoding)
    cols = t.columns
    for i, want in enumerate(_FIXED):
        if i >= len(cols) or _norm(cols[i]) != _norm(want):
            raise InputError(
                "not an ONS/Nomis census table: expected the header to start with "
                f"'date', 'geography', 'geography code', then one column per category; "
                f"column {i + 1} is {cols[i] if i < len(cols) else 'missing'!r}",
                file=str(path), row=1, column=cols[i] if i < len(cols) else None)
    cats = cols[3:]
    if not cats:
        raise InputError("no category columns after 'geography code'; expected columns such "
                         "as 'Ethnic group: Total: All usual residents'", file=str(path), row=1)
    topics = [c.split(":")[0].strip() for c in cats]
    code = _topic_table(topics[0]) if ":" in cats[0] else None
    if code is None:
        known = ", ".join(f"{k} ({v})" for k, v in CENSUS_TABLES.items() if k != "origins")
        raise InputError(f"expected a category column '<topic>: <category>' of one of {known}",
                         file=str(path), row=1, column=cats[0])
    if table is not None and table != code:
        raise InputError(f"the header is table {code} ({CENSUS_TABLES[code]}), not {table} "
                         f"({CENSUS_TABLES[table]}) as asked", file=str(path), row=1,
                         column=cats[0])
    paths = []
    for c, topic in zip(cats, topics, strict=True):
        if ":" not in c or _norm(topic) != _norm(topics[0]):
            raise InputError(f"expected every category column to start with {topics[0]!r}: "
                             "one table per file", file=str(path), row=1, column=c)
        paths.append(tuple(p.strip() for p in c.split(":")[1:]))
    totals = [i for i, p in enumerate(paths) if _norm(p[0]) == "total"]
    if len(totals) != 1:
        raise InputError(f"expected one 'Total' column ({topics[0]}: Total: …), found "
                         f"{len(totals)}", file=str(path), row=1)
    leaves = [i for i, p in enumerate(paths) if i not in totals
              and not any(q[:len(p)] == p and len(q) > len(p) for q in paths)]
    geo = t.column(cols[2]).to_numpy(dtype=object)
    empty = geo == ""
    if empty.any():
        raise t.error("expected a geography code (an output area such as E00000001)",
                      position=int(np.flatnonzero(empty)[0]), column=cols[2], value="")
    long = [cols[2] if len(v) <= 16 else None for v in geo]
    if None in long:
        pos = long.index(None)
        raise t.error("expected an output-area code of at most 16 characters", position=pos,
                      column=cols[2], value=geo[pos])
    values = {i: parse_int(t, cats[i], lo=0, required=True, what="a count of residents")
              for i in [*totals, *leaves]}
    total = values[totals[0]]
    summed = np.sum([values[i] for i in leaves], axis=0)
    off = summed != total
    if off.any():
        pos = int(np.flatnonzero(off)[0])
        raise t.error(f"expected the total to equal the sum of its {len(leaves)} categories "
                      f"({int(summed[pos])})", position=pos, column=cats[totals[0]],
                      value=int(total[pos]))
    names = [": ".join(paths[i]) for i in leaves]
    group, parent, known = census_group(code, names)
    if not known.all():
        j = int(np.flatnonzero(~known)[0])
        expected = ("one of the 19 Census 2021 ethnic groups" if code == "TS021"
                    else "a Census 2021 religion")
        raise InputError(f"expected {expected}", file=str(path), row=1, column=cats[leaves[j]])
    n = len(t)
    frame = pd.DataFrame({
        "census_table": code,
        "oa_code": np.repeat(geo, len(leaves)),
        "category": np.tile(np.asarray(names, dtype=object), n),
        "grp": np.tile(group, n),
        "parent": np.tile(parent, n),
        "count": np.column_stack([values[i] for i in leaves]).ravel().astype("int64")
        if n else np.zeros(0, dtype="int64"),
        "_file": str(path),
        "_line": np.repeat(t.lines, len(leaves)),
        "_area_row": np.repeat(np.arange(n), len(leaves)),
    })
    # one row per output area, for the checks across files
    return frame, pd.DataFrame({"key": [f"{code}|{g}" for g in geo], "_file": str(path),
                                "_line": t.lines})


def _read_origins(path: Path, encoding: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    t: CsvTable = read_csv_table(path, encoding=encoding)
    t.require(_ORIGINS_COLUMNS)
    geo = t.column("oa_code").to_numpy(dtype=object)
    raw = t.column("origins").to_numpy(dtype=object)
    for col, vals, what in (("oa_code", geo, "an output-area code"),
                            ("origins", raw, "an Origins group or code")):
        empty = vals == ""
        if empty.any():
            raise t.error(f"expected {what}", position=int(np.flatnonzero(empty)[0]),
                          column=col, value="")
    count = parse_int(t, "count", lo=0, required=True, what="a count of residents")
    group, parent, _ = census_group("origins", raw)
    frame = pd.DataFrame({"census_table": "origins", "oa_code": geo, "category": raw,
                          "grp": group, "parent": parent, "count": count.astype("int64"),
                          "_file": str(path), "_line": t.lines})
    return frame, pd.DataFrame({"key": [f"origins|{g}|{c}" for g, c in
                                        zip(geo, group, strict=True)],
                                "_file": str(path), "_line": t.lines})


def import_census(store, paths: Sequence[str | Path], *, table: str | None = None,
                  crs: int | None = None, encoding: str | None = None,
                  progress: Progress | None = None) -> ImportReport:
    """Import census tables (ONS/Nomis bulk CSV, one row per output area) into
    ``census_counts``; or, with ``table="origins"``, an Origins base (``oa_code, origins,
    count``).

    Parameters
    ----------
    table : str, optional
        ``TS021``, ``TS024``, ``TS004``, ``TS030`` or ``origins``. Without it the table is told
        from the header (an Origins file must be named ``origins``); with it, a file of
        another table is an error.
    crs : None
        Taken as every importer does; census tables have no coordinates, so giving one is an
        error.

    Returns
    -------
    ImportReport
        ``read`` and ``imported`` count output areas (rows of the file); output areas the
        store does not know are skipped and counted, as are those already stored.
    """
    if crs is not None:
        raise InputError("a CRS does not apply to census tables: they have no coordinates")
    if table is not None:
        table = {_norm(k): k for k in CENSUS_TABLES}.get(_norm(table))
        if table is None:
            raise InputError(f"census table must be one of {', '.join(CENSUS_TABLES)}")

    def read(path: Path, report: ImportReport) -> tuple[pd.DataFrame, pd.DataFrame]:
        origins = table == "origins" or (table is None and _is_origins(path, encoding))
        return _read_origins(path, encoding) if origins else _read_nomis(path, table, encoding)

    def validate(parts: list, report: ImportReport) -> pd.DataFrame:
        keys = pd.concat([k for _, k in parts], ignore_index=True)
        check_unique(keys, "key", "output area (and Origins group) of a table")
        report.read = len(keys)
        return pd.concat([f for f, _ in parts], ignore_index=True)

    def write(conn: Connection, frame: pd.DataFrame, report: ImportReport) -> None:
        known = _store_output_areas(store, conn)
        inside = frame["oa_code"].isin(known).to_numpy()
        if len(frame) and not inside.any():
            raise InputError(
                f"none of the {frame['oa_code'].nunique()} geography codes is an output area "
                "of the store: expected the output areas of the force's addresses (import "
                "addresses, or the classification by output area, first)",
                file=str(frame["_file"].iat[0]), row=int(frame["_line"].iat[0]),
                column="geography code", value=frame["oa_code"].iat[0])
        stored = _stored_areas(store, conn, frame)
        area_key = frame["_file"].astype(str) + "|" + frame["_line"].astype(str)
        first = ~area_key.duplicated().to_numpy()
        skip_rows(report, "output area not in the store (outside the force?)", frame,
                  first & ~inside)
        skip_rows(report, ALREADY, frame, first & inside & stored)
        new = frame[inside & ~stored]
        report.imported = int((first & inside & ~stored).sum())
        store.insert_new(conn, "census_counts",
                         new[["census_table", "oa_code", "category", "grp", "parent", "count"]])

    return run_import(store, "census", paths, read=read, validate=validate, write=write,
                      progress=progress)


def _is_origins(path: Path, encoding: str | None) -> bool:
    t = read_csv_table(path, encoding=encoding)
    return any(_norm(c) in {"origins", "originsgroup", "originscode"} for c in t.columns)


def _store_output_areas(store, conn: Connection) -> set:
    a = store.read("addresses", ["oa_code"], conn=conn)["oa_code"].dropna()
    ar = schema.table("areas")
    oas = store.read("areas", ["code"], where=ar.c.level == "oa", conn=conn)["code"]
    return set(a.tolist()) | set(oas.tolist())


def _stored_areas(store, conn: Connection, frame: pd.DataFrame) -> np.ndarray:
    """Which rows belong to an (output area, table) already stored (for Origins: the group)."""
    c = schema.table("census_counts")
    tables = sorted(set(frame["census_table"]))
    old = store.read("census_counts", ["census_table", "oa_code", "grp"],
                     where=c.c.census_table.in_(tables), conn=conn)
    if not len(old):
        return np.zeros(len(frame), dtype=bool)
    origins = frame["census_table"].to_numpy() == "origins"
    key = frame["census_table"] + "|" + frame["oa_code"] + np.where(
        origins, "|" + frame["grp"].astype(str), "")
    o = old["census_table"].to_numpy() == "origins"
    have = old["census_table"] + "|" + old["oa_code"] + np.where(o, "|" + old["grp"], "")
    return key.isin(set(have)).to_numpy()


def census_counts(store, table: str) -> pd.DataFrame:
    """The stored counts of ``table``: ``oa_code``, ``category``, ``grp``, ``parent``,
    ``count`` (empty when the table was not imported)."""
    c = schema.table("census_counts")
    return store.read("census_counts", ["oa_code", "category", "grp", "parent", "count"],
                      where=c.c.census_table == table)
