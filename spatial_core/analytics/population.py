# SPDX-License-Identifier: GPL-3.0-or-later
"""The population base of the analytics: households, current members and survey respondents.

Every targeting analysis compares three populations in the same areas and the same
geodemographic groups:

- :func:`households`: every stored address (one row per UPRN), with its street, beat, ward,
  neighbourhood policing area (the beat's parent), force, output area, class at one level of
  a scheme, how many current members live there and its last door-knock visit;
- :func:`members_frame`: the members current on a date, placed in the same areas and given
  the class of their household (else of their postcode, else of the output area holding
  their point); names are never returned;
- :func:`respondents_frame`: the survey responses of a period, placed and classified the
  same way, with the demographics given *in the response*.

Periods are text: a quarter ``"2026Q1"``, a month ``"2026-03"``, a year ``"2026"``, a day
``"2026-03-15"`` or a range of any two of those, ``"2026-01..2026-06"`` (both ends
included); :func:`parse_period` turns one into a :class:`Period`.

Everything is read once per table and joined in pandas: the whole one-force demo (450k
households) takes a couple of seconds.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select

from spatial_core.errors import InputError
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_per_area

__all__ = [
    "AREA_LEVELS",
    "Period",
    "parse_period",
    "period_mask",
    "dates_to_quarters",
    "area_table",
    "households",
    "members_frame",
    "is_current_member",
    "current_member_clause",
    "respondents_frame",
    "classify_points",
    "households_per_area",
    "add_area_columns",
    "restrict_to_areas",
    "street_households",
]

log = logging.getLogger(__name__)

AREA_LEVELS = ("beat", "ward", "npa", "force")
"""The levels the analytics report on; the column of each frame is ``<level>_id``."""

ALL_AREAS = "force:all"
"""The force id used when the store holds no force boundary."""


# -- periods ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A closed range of ISO days, ``start`` to ``end`` (both included)."""

    start: str
    end: str
    label: str

    def __str__(self) -> str:
        return self.label


_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PERIOD_FORMS = ("a quarter 2026Q1", "a month 2026-03", "a year 2026", "a day 2026-03-15",
                 "a range such as 2026-01..2026-06 or 2025Q3..2026Q1")


def _month_end(year: int, month: int) -> str:
    days = pd.Period(f"{year:04d}-{month:02d}", freq="M").days_in_month
    return f"{year:04d}-{month:02d}-{days:02d}"


def _bounds(text: str, whole: str) -> tuple[str, str]:
    t = text.strip()
    m = _QUARTER.match(t)
    if m:
        year, q = int(m.group(1)), int(m.group(2))
        return f"{year:04d}-{3 * q - 2:02d}-01", _month_end(year, 3 * q)
    if _YEAR.match(t):
        return f"{t}-01-01", f"{t}-12-31"
    m = _MONTH.match(t)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{t}-01", _month_end(int(m.group(1)), int(m.group(2)))
    if _DAY.match(t):
        try:
            date.fromisoformat(t)
        except ValueError:
            pass
        else:
            return t, t
    raise InputError(f"period {whole!r} is not understood: give {', '.join(_PERIOD_FORMS)}")


def parse_period(period: str | Period | None) -> Period | None:
    """A :class:`Period` from text (None stays None: all dates).

    Examples
    --------
    >>> parse_period("2026Q1")
    Period(start='2026-01-01', end='2026-03-31', label='2026Q1')
    >>> parse_period("2026-02..2026q2").end
    '2026-06-30'
    >>> parse_period("2024-02").end
    '2024-02-29'
    """
    if period is None or isinstance(period, Period):
        return period
    text = str(period).strip()
    if not text:
        return None
    if ".." in text:
        first, _, last = text.partition("..")
        start = _bounds(first, text)[0]
        end = _bounds(last, text)[1]
        if end < start:
            raise InputError(f"period {text!r} ends before it starts")
        label = f"{first.strip()}..{last.strip()}"
    else:
        start, end = _bounds(text, text)
        label = text
    if _QUARTER.match(label):
        label = label.upper().replace(" ", "").replace("-", "")
    return Period(start, end, label)


def period_mask(dates, period: str | Period | None) -> np.ndarray:
    """Which ISO dates (or datetimes) fall in ``period``; missing dates never do (unless the
    period is None, which takes everything).

    Examples
    --------
    >>> period_mask(["2026-03-31", "2026-04-01T09:00:00", None], "2026Q1").tolist()
    [True, False, False]
    """
    values = pd.Series(np.asarray(dates, dtype=object))
    p = parse_period(period)
    if p is None:
        return np.ones(len(values), dtype=bool)
    day = values.str.slice(0, 10)
    return ((day >= p.start) & (day <= p.end)).fillna(False).to_numpy(dtype=bool)


def dates_to_quarters(dates) -> np.ndarray:
    """The quarter label (``"2026Q1"``) of each ISO date; None where missing.

    Examples
    --------
    >>> dates_to_quarters(["2026-02-10", "2025-12-31", None]).tolist()
    ['2026Q1', '2025Q4', None]
    """
    values = pd.Series(np.asarray(dates, dtype=object))
    year = values.str.slice(0, 4)
    month = pd.to_numeric(values.str.slice(5, 7), errors="coerce")
    q = ((month - 1) // 3 + 1).astype("Int64").astype(str)
    out = (year + "Q" + q).to_numpy(dtype=object)
    out[(month.isna() | year.isna()).to_numpy()] = None
    return out


# -- areas -------------------------------------------------------------------------------------

def area_table(store) -> pd.DataFrame:
    """The stored areas of the reporting levels (beat, ward, npa, force), one row per id.

    Columns ``area_id``, ``level``, ``code``, ``name``, ``parent_id``; when an area is stored in
    several boundary sets the newest (largest ``valid_from``, then ``boundary_set``) wins.
    When no force boundary is stored, a single ``force:all`` ("All areas") stands for it.
    """
    t = schema.table("areas")
    a = store.read("areas", ["area_id", "level", "code", "name", "parent_id", "boundary_set",
                             "valid_from"], where=t.c.level.in_(AREA_LEVELS))
    a = newest_per_area(a)
    a = a[["area_id", "level", "code", "name", "parent_id"]].reset_index(drop=True)
    if not (a["level"] == "force").any():
        a = pd.concat([a, pd.DataFrame({"area_id": [ALL_AREAS], "level": ["force"],
                                        "code": ["all"], "name": ["All areas"],
                                        "parent_id": [None]})], ignore_index=True)
    a["name"] = a["name"].where(a["name"].notna(), a["code"])
    return a


def _parents(areas: pd.DataFrame) -> tuple[pd.Series, str | None]:
    """beat id → npa id, and the one force id (None when several forces are stored)."""
    beats = areas[areas["level"] == "beat"]
    npa_ids = set(areas.loc[areas["level"] == "npa", "area_id"])
    parent = beats.set_index("area_id")["parent_id"]
    parent = parent.where(parent.isin(npa_ids))
    forces = areas.loc[areas["level"] == "force", "area_id"].tolist()
    return parent, (forces[0] if len(forces) == 1 else None)


def add_area_columns(frame: pd.DataFrame, areas: pd.DataFrame) -> None:
    """Add ``npa_id`` and ``force_id`` from ``beat_id`` (in place)."""
    beat_npa, one_force = _parents(areas)
    frame["npa_id"] = frame["beat_id"].map(beat_npa).astype(object)
    frame.loc[frame["npa_id"].isna(), "npa_id"] = None
    if one_force is not None:
        frame["force_id"] = one_force
    else:
        npa_force = areas[areas["level"] == "npa"].set_index("area_id")["parent_id"]
        frame["force_id"] = frame["npa_id"].map(npa_force).astype(object)
        frame.loc[frame["force_id"].isna(), "force_id"] = None


def restrict_to_areas(frame: pd.DataFrame, areas: Sequence[str] | None) -> pd.DataFrame:
    """The rows of ``frame`` inside any of ``areas`` (``"<level>:<code>"`` ids); all when None."""
    if areas is None:
        return frame
    if isinstance(areas, str):
        areas = [areas]
    keep = np.zeros(len(frame), dtype=bool)
    for area in areas:
        level, sep, code = str(area).partition(":")
        if not sep or not code:
            raise InputError(f"area {area!r} is not an area id: expected '<level>:<code>' such as "
                             "'beat:DM01B01' or 'ward:E05001411'")
        if level in ("beat", "ward", "npa", "force"):
            keep |= (frame[f"{level}_id"] == area).to_numpy(dtype=bool)
        elif level == "oa":
            keep |= (frame["oa_code"] == code).to_numpy(dtype=bool)
        elif level == "street":
            keep |= (frame["street_id"] == code).to_numpy(dtype=bool)
        else:
            raise InputError(f"area {area!r}: level {level!r} cannot restrict households; use "
                             "beat:, ward:, npa:, force:, oa: or street:")
    return frame[keep].reset_index(drop=True)


# -- classes -----------------------------------------------------------------------------------

def _class_lookup(store, scheme: str, level: int | str) -> pd.DataFrame:
    from spatial_core.io.classification import class_level_column

    col = class_level_column(scheme, level)
    t = schema.table("classifications")
    cls = store.read("classifications", ["key_type", "key", col], where=t.c.scheme == scheme)
    cls = cls[cls[col].notna()].rename(columns={col: "code"})
    return cls.drop_duplicates(["key_type", "key"])


def _fill(code: np.ndarray, keys, lookup: pd.DataFrame, key_type: str) -> None:
    part = lookup[lookup["key_type"] == key_type]
    if not len(part) or not pd.isna(code).any():
        return
    got = pd.Series(np.asarray(keys, dtype=object)).map(part.set_index("key")["code"]).to_numpy(
        dtype=object)
    take = pd.isna(code) & ~pd.isna(got)
    code[take] = got[take]


def classify_points(store, *, scheme: str = "oac2011", level: int | str = 1, uprn=None,
                    postcode=None, oa_code=None, x=None, y=None) -> np.ndarray:
    """The class of households or people from their UPRN, postcode, output area or point.

    The same order as :func:`spatial_core.io.classification.classify_households`: the class of
    the UPRN when households are classified, else of the postcode, else of the output area
    (``oa_code`` when given, else the postcode's, else the stored OA polygon holding
    ``x, y``), else of the postcode's LSOA; None when none is known. All arguments are arrays
    of one length (any may be None).

    Examples
    --------
    >>> from spatial_core import open_store
    >>> import tempfile, os
    >>> s = open_store(os.path.join(tempfile.mkdtemp(), "s.gpkg"))
    >>> classify_points(s, uprn=["1", "2"]).tolist()  # nothing classified yet
    [None, None]
    """
    given = [v for v in (uprn, postcode, oa_code, x) if v is not None]
    n = len(given[0]) if given else 0
    code = np.full(n, None, dtype=object)
    if n == 0:
        return code
    lookup = _class_lookup(store, scheme, level)
    if not len(lookup):
        return code
    if uprn is not None and (lookup["key_type"] == "uprn").any():
        _fill(code, pd.Series(np.asarray(uprn, dtype=object)).astype(str), lookup, "uprn")
    pcs = None
    if postcode is not None:
        _fill(code, postcode, lookup, "postcode")
        if pd.isna(code).any():
            pcs = store.read("postcodes", ["postcode", "oa_code", "lsoa_code"]).drop_duplicates(
                "postcode").set_index("postcode")
    oa = np.full(n, None, dtype=object) if oa_code is None else np.asarray(oa_code, dtype=object)
    if pcs is not None:
        by_pc = pd.Series(np.asarray(postcode, dtype=object)).map(pcs["oa_code"]).to_numpy(
            dtype=object)
        oa = np.where(pd.isna(oa), by_pc, oa)
    need = pd.isna(oa) & pd.isna(code)
    if x is not None and y is not None and need.any() and (lookup["key_type"] == "oa").any():
        from spatial_core.store.index import assign_points_to_areas

        todo = np.flatnonzero(need)
        ids = assign_points_to_areas(store, np.asarray(x, dtype="float64")[todo],
                                     np.asarray(y, dtype="float64")[todo], "oa")
        oa = oa.copy()
        oa[todo] = pd.Series(ids, dtype=object).str.partition(":")[2].to_numpy(dtype=object) \
            if len(ids) else ids
        oa[todo[pd.isna(ids)]] = None
    _fill(code, oa, lookup, "oa")
    if pcs is not None:
        _fill(code, pd.Series(np.asarray(postcode, dtype=object)).map(pcs["lsoa_code"]).to_numpy(
            dtype=object), lookup, "lsoa")
    return code


# -- households --------------------------------------------------------------------------------

_MEMBER_COLUMNS = ["member_id", "uprn", "postcode", "x", "y", "cell", "gender", "age_band",
                   "ethnicity", "joined", "left_on"]


def _current_members(store, as_of: str | None, columns: Sequence[str] | None = None
                     ) -> pd.DataFrame:
    """Members current on ``as_of``; ``columns`` (besides ``joined`` and ``left_on``, always
    read) default to all of :data:`_MEMBER_COLUMNS`."""
    cols = _MEMBER_COLUMNS if columns is None else \
        [c for c in _MEMBER_COLUMNS if c in set(columns) | {"joined", "left_on"}]
    m = store.read("members", cols)
    day = as_of or date.today().isoformat()
    if as_of is not None:
        try:
            date.fromisoformat(str(as_of)[:10])
        except ValueError:
            raise InputError(f"as_of {as_of!r} is not an ISO date such as 2026-03-31") from None
        day = str(as_of)[:10]
    return m[is_current_member(m["joined"], m["left_on"], day)].reset_index(drop=True)


def is_current_member(joined, left_on, day: str) -> np.ndarray:
    """Which members are current on ``day`` (ISO date): joined on or before it (or no join
    date) and not left by it (no leaving date, or one after it). A member who joins on ``day``
    counts; one who leaves on ``day`` does not. The one home of the rule; its SQL form is
    :func:`current_member_clause`.

    >>> is_current_member(["2026-03-31", "2026-01-01", None, "2026-04-01"],
    ...                   [None, "2026-03-31", "2026-04-01", None], "2026-03-31").tolist()
    [True, False, True, False]
    """
    day = str(day)[:10]
    joined = pd.Series(np.asarray(joined, dtype=object)).fillna("").astype(str).str.slice(0, 10)
    left = pd.Series(np.asarray(left_on, dtype=object)).fillna("").astype(str).str.slice(0, 10)
    return ((joined <= day) & ((left == "") | (left > day))).to_numpy(dtype=bool)


def current_member_clause(day: str, members=None):
    """:func:`is_current_member` as a SQLAlchemy condition on the ``members`` table (or the
    given table alias), for counting or reading current members in SQL."""
    from sqlalchemy import and_, or_

    c = (members if members is not None else schema.table("members")).c
    day = str(day)[:10]
    return and_(or_(c.joined.is_(None), c.joined <= day),
                or_(c.left_on.is_(None), c.left_on == "", c.left_on > day))


def _last_visits(store) -> pd.DataFrame:
    v = store.read("visits", ["uprn", "visited_at", "outcome"])
    if not len(v):
        return pd.DataFrame({"uprn": [], "last_visit": [], "last_outcome": []})
    v = v.sort_values(["uprn", "visited_at"]).drop_duplicates("uprn", keep="last")
    return v.rename(columns={"visited_at": "last_visit", "outcome": "last_outcome"})


def households(store, *, scheme: str = "oac2011", level: int | str = 1,
               areas: Sequence[str] | None = None, as_of: str | None = None) -> pd.DataFrame:
    """Every stored household (address), placed and classified, with members and visits.

    Parameters
    ----------
    store : Store
    scheme, level : str, int
        The geodemographic scheme and level of ``group`` (``1`` = coarsest, e.g. the OAC
        supergroup), found as :func:`spatial_core.io.classification.classify_households` does;
        ``group`` is None when the scheme is not stored or the address is not covered.
    areas : list of str, optional
        Keep only households in these areas (``beat:…``, ``ward:…``, ``npa:…``, ``force:…``,
        ``oa:…`` or ``street:…``).
    as_of : str, optional
        The day members are counted on (default today).

    Returns
    -------
    pandas.DataFrame
        One row per address: ``uprn``, ``postcode``, ``x``, ``y``, ``lat``, ``lng``, ``cell``,
        ``street_id``, ``beat_id``, ``ward_id``, ``npa_id`` (the beat's parent), ``force_id``,
        ``oa_code``, ``group``, ``members`` (current members at that UPRN), ``is_member``,
        ``last_visit`` (ISO datetime or None) and ``last_outcome``.
    """
    h = store.read("addresses", ["uprn", "postcode", "x", "y", "lat", "lng", "cell",
                                 "street_id", "beat_id", "ward_id", "oa_code"])
    add_area_columns(h, area_table(store))
    h = restrict_to_areas(h, areas)
    h["group"] = classify_points(store, scheme=scheme, level=level, uprn=h["uprn"],
                                 postcode=h["postcode"], oa_code=h["oa_code"], x=h["x"], y=h["y"])
    uprn = _uprn_index(h["uprn"])
    h["members"] = _member_counts(store, as_of, uprn, h["uprn"])
    h["is_member"] = h["members"] > 0
    last = _last_visits(store)
    if uprn is not None:
        at = uprn.get_indexer(last["uprn"].to_numpy(dtype=object)) if len(last) else \
            np.zeros(0, dtype="int64")
    for col in ("last_visit", "last_outcome"):
        if uprn is not None:
            got = np.full(len(h), None, dtype=object)
            got[at[at >= 0]] = last[col].to_numpy(dtype=object)[at >= 0]
        else:  # duplicated UPRNs (not possible in a store: uprn is its unique key)
            lk = last.set_index("uprn")[col]
            got = h["uprn"].map(lk).to_numpy(dtype=object) if len(last) else \
                np.full(len(h), None, dtype=object)
        got[pd.isna(got)] = None
        h[col] = got
    return h[["uprn", "postcode", "x", "y", "lat", "lng", "cell", "street_id", "beat_id",
              "ward_id", "npa_id", "force_id", "oa_code", "group", "members", "is_member",
              "last_visit", "last_outcome"]]


def _uprn_index(uprn: pd.Series) -> pd.Index | None:
    """The households' UPRNs as an index to look others up in (one hash of 450k strings,
    instead of one per lookup); None if they are not unique."""
    idx = pd.Index(uprn.to_numpy(dtype=object))
    return idx if idx.is_unique else None


def _member_counts(store, as_of: str | None, uprn: pd.Index | None,
                   households_uprn: pd.Series | None = None) -> np.ndarray:
    """Current members per household, in the order of ``uprn`` (or ``households_uprn`` when
    ``uprn`` is None)."""
    mem = _current_members(store, as_of, columns=["uprn"])
    if uprn is None:
        counts = mem["uprn"].dropna().value_counts()
        assert households_uprn is not None
        return households_uprn.map(counts).fillna(0).astype("int64").to_numpy()
    at = uprn.get_indexer(mem["uprn"].dropna().to_numpy(dtype=object))
    return np.bincount(at[at >= 0], minlength=len(uprn)).astype("int64")


def street_households(store, *, scheme: str, level: int | str, as_of: str | None,
                      where=None) -> pd.DataFrame:
    """``uprn``, ``street_id``, ``group`` and ``members`` of every household, as
    :func:`households` gives them, without reading the columns scoring does not use.

    ``where`` (a SQLAlchemy clause on ``addresses``) limits the households read, e.g. to
    the streets of one part of a force. Points are read only for addresses with no output
    area (the only ones :func:`classify_points` places by point).
    """
    a = schema.table("addresses")
    h = store.read("addresses", ["uprn", "postcode", "street_id", "oa_code"], where=where)
    x = np.full(len(h), np.nan)
    y = np.full(len(h), np.nan)
    uprn = _uprn_index(h["uprn"])
    if h["oa_code"].isna().any():
        no_oa = a.c.oa_code.is_(None) if where is None else (a.c.oa_code.is_(None) & where)
        pts = store.read("addresses", ["uprn", "x", "y"], where=no_oa)
        if uprn is None:
            pos = pd.Series(np.arange(len(h)), index=h["uprn"].to_numpy(dtype=object))
            at = pts["uprn"].map(pos[~pos.index.duplicated()]).to_numpy(dtype="float64")
            at = np.where(np.isnan(at), -1, at).astype("int64")
        else:
            at = uprn.get_indexer(pts["uprn"].to_numpy(dtype=object))
        x[at[at >= 0]] = pts["x"].to_numpy(dtype="float64")[at >= 0]
        y[at[at >= 0]] = pts["y"].to_numpy(dtype="float64")[at >= 0]
    group = classify_points(store, scheme=scheme, level=level, uprn=h["uprn"],
                            postcode=h["postcode"], oa_code=h["oa_code"], x=x, y=y)
    return pd.DataFrame({"uprn": h["uprn"].to_numpy(dtype=object),
                         "street_id": h["street_id"].to_numpy(dtype=object),
                         "group": group,
                         "members": _member_counts(store, as_of, uprn, h["uprn"])})


def households_per_area(store, level: str) -> pd.Series:
    """The number of stored addresses per area of ``level`` (beat, ward, npa or force)."""
    if level not in AREA_LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    h = store.read("addresses", ["ward_id"] if level == "ward" else ["beat_id"])
    if level != "ward":
        add_area_columns(h, area_table(store))
    return h[f"{level}_id"].value_counts()


def _place_and_classify(store, frame: pd.DataFrame, uprn, *, scheme: str, level: int | str,
                        addresses: pd.DataFrame | None) -> None:
    """Give people (members, respondents) ``beat_id``, ``ward_id``, ``npa_id``, ``force_id``
    and ``group`` (in place).

    Someone whose UPRN is a stored address takes that household's areas and class; anyone
    else is placed by the beat/ward polygon holding their point and classified by their
    postcode, else the output area holding their point.
    """
    from spatial_core.store.index import assign_points_to_areas

    if addresses is None:
        # Only the addresses of members: a tenth of the households, read in a tenth the time.
        a, mt = schema.table("addresses"), schema.table("members")
        addresses = store.read("addresses", ["uprn", "postcode", "oa_code", "x", "y", "beat_id",
                                             "ward_id"],
                               where=a.c.uprn.in_(select(mt.c.uprn).where(mt.c.uprn.isnot(None))))
    uprn = pd.Series(np.asarray(uprn, dtype=object) if uprn is not None else
                     np.full(len(frame), None, dtype=object))
    pos = pd.Series(np.arange(len(addresses)), index=addresses["uprn"].to_numpy(dtype=object))
    pos = pos[~pos.index.duplicated()]
    at = uprn.map(pos).to_numpy(dtype="float64")
    known = ~np.isnan(at)
    i = at[known].astype("int64")

    def pick(own, col: str) -> np.ndarray:
        out = np.asarray(own, dtype=object).copy() if own is not None else \
            np.full(len(frame), None, dtype=object)
        out[known] = addresses[col].to_numpy(dtype=object)[i]
        return out

    x = frame["x"].to_numpy(dtype="float64").copy()
    y = frame["y"].to_numpy(dtype="float64").copy()
    x[known] = addresses["x"].to_numpy(dtype="float64")[i]
    y[known] = addresses["y"].to_numpy(dtype="float64")[i]
    for level_ in ("beat", "ward"):
        value = pick(None, f"{level_}_id")
        todo = np.flatnonzero(~known)
        if len(todo):
            value[todo] = assign_points_to_areas(store, x[todo], y[todo], level_)
        frame[f"{level_}_id"] = value
    add_area_columns(frame, area_table(store))
    frame["group"] = classify_points(
        store, scheme=scheme, level=level, uprn=uprn.to_numpy(dtype=object),
        postcode=pick(frame["postcode"], "postcode"),
        oa_code=pick(None, "oa_code"), x=x, y=y)


def members_frame(store, *, scheme: str = "oac2011", level: int | str = 1,
                  as_of: str | None = None, addresses: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """Members current on ``as_of`` (default today): joined on or before it and not left by it.

    Parameters
    ----------
    addresses : DataFrame, optional
        The :func:`households` frame when the caller already has it (saves reading the
        addresses again).

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``uprn``, ``beat_id``, ``ward_id``, ``npa_id``, ``force_id``, ``group``
        (class of their household; else of their postcode or its output area; else of the
        output area holding their point), ``gender``, ``age_band``, ``ethnicity``, ``x``, ``y``,
        ``cell``. Never names.
    """
    m = _current_members(store, as_of)
    _place_and_classify(store, m, m["uprn"], scheme=scheme, level=level, addresses=addresses)
    return m[["member_id", "uprn", "beat_id", "ward_id", "npa_id", "force_id", "group", "gender",
              "age_band", "ethnicity", "x", "y", "cell"]].reset_index(drop=True)


def respondents_frame(store, *, scheme: str = "oac2011", level: int | str = 1,
                      period: str | Period | None = None,
                      addresses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Survey responses made in ``period`` (None: all), placed and classified.

    A response by a member with a stored address takes that household's areas and class;
    otherwise its own point (and postcode) decides.

    Returns
    -------
    pandas.DataFrame
        ``response_id``, ``responded``, ``channel``, ``member_id``, ``beat_id``, ``ward_id``,
        ``npa_id``, ``force_id``, ``group``, ``gender``, ``age_band``, ``ethnicity`` (as given in
        the response), ``confidence``, ``feel_safe`` (1–5 as float, NaN when not answered),
        ``x``, ``y``, ``cell``.
    """
    s = store.read("surveys", ["response_id", "responded", "channel", "member_id", "postcode",
                               "x", "y", "cell", "confidence", "feel_safe", "gender", "age_band",
                               "ethnicity"])
    s = s[period_mask(s["responded"], period)].reset_index(drop=True)
    member_uprn = store.read("members", ["member_id", "uprn"]).dropna()
    member_uprn = member_uprn.drop_duplicates("member_id").set_index("member_id")["uprn"]
    uprn = s["member_id"].map(member_uprn).to_numpy(dtype=object)
    _place_and_classify(store, s, uprn, scheme=scheme, level=level, addresses=addresses)
    for col in ("confidence", "feel_safe"):
        s[col] = pd.to_numeric(s[col], errors="coerce").astype("float64")
    return s[["response_id", "responded", "channel", "member_id", "beat_id", "ward_id", "npa_id",
              "force_id", "group", "gender", "age_band", "ethnicity", "confidence", "feel_safe",
              "x", "y", "cell"]]
