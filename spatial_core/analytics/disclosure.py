# SPDX-License-Identifier: GPL-3.0-or-later
"""Statistical disclosure control for counts that partners and the public may see.

A published count must never lie between 1 and ``k - 1`` (``k`` = 5 by default): a count of 1
or 2 members in a beat can identify people. :func:`suppress_counts` applies two rules to a
table of counts per area:

1. *primary suppression*: every count in ``1 .. k-1`` is withheld (None);
2. *secondary suppression*: a withheld count must not be recoverable by differencing. The
   children of a parent at one level add up to it (``parent = sum(children)``); when exactly
   one term of such an equation is withheld, the smallest other child (a non-zero one when
   there is one; the parent when there is no other child) is withheld too. The rules repeat
   until nothing changes, so a count withheld by rule 2 is protected in turn.
3. *residuals*: when the children do not add up to their parent (points with no ward, a
   ward tree that does not cover the force), the difference ``parent - sum(children)`` is an
   unpublished count anyone can work out. It is a term of the equation like a child: in
   ``1 .. k-1`` it counts as withheld, so rule 2 withholds another term beside it.
4. *overlapping geographies* (``overlaps``): beats and npas on one side, wards on the other,
   cut across each other. For a pair ``(a, b)`` whose overlap is known, ``a - b`` is
   ``(a outside b) - (b outside a)``; when one side is empty, the difference gives away the
   other. Whenever both are published, one part is empty and the other lies in
   ``1 .. k-1``, ``b`` is withheld (then rules 2 and 3 again): the policing areas (beats,
   npas) stay published and the ward, the second geography, gives way.
   Pairs only: a union of beats against a union of wards is not checked.

Zero is published: a zero tells nothing about a person.

:func:`disclosed_area_counts` counts households, current members and crimes per beat, npa,
ward and force from the store, with the overlap of every beat and npa with every ward, and
applies :func:`suppress_counts`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from spatial_core.analytics.population import AREA_LEVELS, is_current_member
from spatial_core.errors import InputError
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_per_area

__all__ = ["DEFAULT_K", "COUNT_COLUMNS", "suppress_counts", "area_counts", "overlap_counts",
           "counts_and_overlaps", "pair_counts", "disclosed_area_counts"]

log = logging.getLogger(__name__)

DEFAULT_K = 5
"""The smallest count that may be published (besides zero)."""

COUNT_COLUMNS = ("households", "members", "crimes")
"""The counts :func:`area_counts` gives per area."""

_LEVELS = AREA_LEVELS


def suppress_counts(frame: pd.DataFrame, columns: Sequence[str], *, k: int = DEFAULT_K,
                    id_column: str = "area_id", parent_column: str = "parent_id",
                    level_column: str | None = "level",
                    overlaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with small counts withheld (None), primary and secondary.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per area, with ``id_column``, ``parent_column`` (None for a root) and integer
        count ``columns``.
    columns : list of str
        The count columns, each suppressed on its own.
    k : int
        Counts ``1 .. k-1`` are withheld; ``k`` must be at least 2.
    level_column : str or None
        Children of one parent at one level add up to the parent (the npas of a force, and
        separately its wards); None when the frame has a single tree.
    overlaps : pandas.DataFrame, optional
        Pairs of areas of different trees that overlap: ``area_a``, ``area_b`` (ids in
        ``frame``) and, per count column, the count in both (rule 4 of the module
        docstring); count columns it does not have are checked by rules 1-3 only. Pairs
        naming an area not in ``frame`` are ignored.

    Returns
    -------
    pandas.DataFrame
        The same rows; each count column becomes ``object`` holding ints or None.

    Examples
    --------
    >>> f = pd.DataFrame({"area_id": ["f", "a", "b", "c"], "parent_id": [None, "f", "f", "f"],
    ...                   "n": [27, 2, 10, 15]})
    >>> suppress_counts(f, ["n"], k=5, level_column=None)["n"].tolist()
    [27, None, None, 15]
    """
    if k < 2:
        raise InputError(f"k must be at least 2 (got {k}): k = 1 would suppress nothing")
    needed = [id_column, parent_column, *columns] + ([level_column] if level_column else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"suppress_counts: no column(s) {missing}; the frame has "
                         f"{list(frame.columns)}")
    out = frame.copy()
    ids = out[id_column].to_numpy(dtype=object)
    if len(set(ids)) != len(ids):
        raise InputError(f"suppress_counts: {id_column} has duplicates")
    pos = {a: i for i, a in enumerate(ids)}
    parent = np.array([pos.get(p, -1) for p in out[parent_column].to_numpy(dtype=object)],
                      dtype="int64")
    level = (out[level_column].astype(str).to_numpy(dtype=object) if level_column
             else np.full(len(out), "", dtype=object))
    keys = pd.Series(list(zip(parent.tolist(), level.tolist(), strict=True)))
    groups = [(p, np.asarray(idx, dtype="int64"))
              for (p, _), idx in keys[parent >= 0].groupby(keys[parent >= 0]).groups.items()]
    pairs = None
    if overlaps is not None and len(overlaps):
        missing = [c for c in ("area_a", "area_b") if c not in overlaps.columns]
        if missing:
            raise InputError(f"suppress_counts: overlaps has no column(s) {missing}")
        ia = overlaps["area_a"].map(pos)
        ib = overlaps["area_b"].map(pos)
        ok = (ia.notna() & ib.notna()).to_numpy(dtype=bool)
        pairs = (ia[ok].to_numpy("int64"), ib[ok].to_numpy("int64"), overlaps[ok])
    n = len(out)
    for col in columns:
        values = out[col].fillna(0).to_numpy(dtype="int64")
        # Residual terms (rule 3) go after the areas; they can never be withheld themselves.
        extra: list[int] = []
        terms = []
        for p, children in groups:
            residual = int(values[p] - values[children].sum())
            if residual > 0:
                children = np.append(children, n + len(extra))
                extra.append(residual)
            terms.append((p, children))
        allv = np.concatenate([values, np.asarray(extra, dtype="int64")])
        hidden = (allv >= 1) & (allv < k)
        selectable = np.arange(len(allv)) < n
        _secondary(allv, hidden, terms, selectable)
        while (pairs is not None and col in pairs[2].columns
               and _overlaps(allv, hidden, pairs, col, k)):
            _secondary(allv, hidden, terms, selectable)
        shown = values.astype(object)
        shown[hidden[:n]] = None
        out[col] = shown
    return out


def _overlaps(values: np.ndarray, hidden: np.ndarray,
              pairs: tuple[np.ndarray, np.ndarray, pd.DataFrame], col: str, k: int) -> bool:
    """Withhold ``area_b`` of each published pair whose difference gives a part away
    (rule 4); True when something was withheld."""
    ia, ib, frame = pairs
    both = frame[col].fillna(0).to_numpy("int64")
    a_only = values[ia] - both
    b_only = values[ib] - both
    shown = ~hidden[ia] & ~hidden[ib]
    leak = shown & (((b_only == 0) & (a_only >= 1) & (a_only < k))
                    | ((a_only == 0) & (b_only >= 1) & (b_only < k)))
    if not leak.any():
        return False
    for i in np.flatnonzero(leak):
        a, b = ia[i], ib[i]
        if hidden[a] or hidden[b]:  # an earlier pair of this pass withheld one already
            continue
        hidden[b] = True
    return True


def _secondary(values: np.ndarray, hidden: np.ndarray,
               groups: list[tuple[int, np.ndarray]],
               selectable: np.ndarray | None = None) -> None:
    """Withhold more counts (in place) until no equation ``parent = sum(children)`` has
    exactly one withheld term (which it would give away). Only ``selectable`` terms are
    withheld by this rule (residuals are terms that cannot be)."""
    changed = True
    while changed:
        changed = False
        for p, children in groups:
            n_hidden = int(hidden[p]) + int(hidden[children].sum())
            if n_hidden != 1:
                continue
            others = children[~hidden[children]]
            if selectable is not None:
                others = others[selectable[others]]
            if len(others) == 0:
                hidden[p] = True  # a lone withheld child: its parent would equal it
            else:
                v = values[others]
                # The smallest non-zero term protects best; a zero only when nothing else is.
                hidden[others[np.lexsort((v, v == 0))[0]]] = True
            changed = True


def area_counts(store, *, as_of: str | None = None) -> pd.DataFrame:
    """Households, current members and crimes per force, npa, beat and ward.

    Households are the stored addresses (placed by the derived index); members current on
    ``as_of`` (default today) and crimes (outliers excluded) are placed by their point.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``level``, ``parent_id`` (a ward's and an orphan npa's parent is the
        force), ``households``, ``members``, ``crimes``.
    """
    return counts_and_overlaps(store, as_of=as_of)[0]


def overlap_counts(store, *, as_of: str | None = None) -> pd.DataFrame:
    """The overlap of every beat and every npa with every ward, counted as
    :func:`area_counts` counts: ``area_a`` (beat or npa), ``area_b`` (ward), ``households``,
    ``members``, ``crimes``; pairs with nothing in common in all three are left out."""
    return counts_and_overlaps(store, as_of=as_of)[1]


def counts_and_overlaps(store, *, as_of: str | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`area_counts` and :func:`overlap_counts` from one pass over the store."""
    from spatial_core.store.index import assign_points_to_areas

    t = schema.table("areas")
    a = store.read("areas", ["area_id", "level", "parent_id", "boundary_set", "valid_from"],
                   where=t.c.level.in_(_LEVELS))
    a = newest_per_area(a)
    a = a[["area_id", "level", "parent_id"]].reset_index(drop=True)
    forces = a.loc[a["level"] == "force", "area_id"].tolist()
    force = forces[0] if len(forces) == 1 else None
    orphan = a["level"].isin(["ward", "npa"]) & ~a["parent_id"].isin(a["area_id"])
    a.loc[orphan, "parent_id"] = force
    beat_npa = a[a["level"] == "beat"].set_index("area_id")["parent_id"]

    def per_area(beat: np.ndarray, ward: np.ndarray,
                 located: np.ndarray) -> tuple[pd.Series, pd.Series]:
        beat_s = pd.Series(beat, dtype=object)
        ward_s = pd.Series(ward, dtype=object)
        npa_s = beat_s.map(beat_npa)
        counts = pd.concat([beat_s, npa_s, ward_s]).dropna().value_counts()
        if force is not None:
            counts[force] = int(located.sum())
        return counts, pair_counts(beat_s, npa_s, ward_s)

    h = store.read("addresses", ["beat_id", "ward_id", "x"])
    per: dict[str, tuple[pd.Series, pd.Series]] = {}
    per["households"] = per_area(h["beat_id"].to_numpy(object), h["ward_id"].to_numpy(object),
                                 np.ones(len(h), dtype=bool))
    day = (as_of or date.today().isoformat())[:10]
    m = store.read("members", ["x", "y", "joined", "left_on"])
    m = m[is_current_member(m["joined"], m["left_on"], day)]
    c = store.read("crimes", ["x", "y"], where=schema.table("crimes").c.is_outlier == 0)
    for name, pts in (("members", m), ("crimes", c)):
        x = pts["x"].to_numpy(dtype="float64")
        y = pts["y"].to_numpy(dtype="float64")
        per[name] = per_area(assign_points_to_areas(store, x, y, "beat"),
                             assign_points_to_areas(store, x, y, "ward"), np.isfinite(x))
    out = a.copy()
    for col in COUNT_COLUMNS:
        out[col] = out["area_id"].map(per[col][0]).fillna(0).astype("int64")
    pairs = pd.concat({col: per[col][1] for col in COUNT_COLUMNS}, axis=1)
    pairs = pairs.fillna(0).astype("int64").reset_index()
    return out, pairs[["area_a", "area_b", *COUNT_COLUMNS]]


def pair_counts(beat: pd.Series, npa: pd.Series, ward: pd.Series) -> pd.Series:
    """How many things (one a row) lie in each (beat, ward) and (npa, ward) pair: the
    ``overlaps`` of :func:`suppress_counts` for one count column, indexed by ``(area_a,
    area_b)``. Rows with no beat (npa) or no ward count in no pair.

    >>> pair_counts(pd.Series(["b1", "b1", "b2", None]), pd.Series(["n1", "n1", "n1", None]),
    ...             pd.Series(["w1", "w2", "w2", "w2"])).to_dict()
    {('b1', 'w1'): 1, ('b1', 'w2'): 1, ('b2', 'w2'): 1, ('n1', 'w1'): 1, ('n1', 'w2'): 2}
    """
    def ids(s: pd.Series) -> np.ndarray:
        return pd.Series(s, dtype=object).to_numpy(object)  # aligned by position, not index

    w = ids(ward)
    both = pd.concat([pd.DataFrame({"a": ids(beat), "b": w}),
                      pd.DataFrame({"a": ids(npa), "b": w})]).dropna()
    return both.groupby(["a", "b"]).size().rename_axis(["area_a", "area_b"])


def disclosed_area_counts(store, *, k: int = DEFAULT_K, as_of: str | None = None
                          ) -> pd.DataFrame:
    """:func:`area_counts` with :func:`suppress_counts` applied, overlaps of beats and npas
    with wards included: safe to publish."""
    counts, pairs = counts_and_overlaps(store, as_of=as_of)
    return suppress_counts(counts, COUNT_COLUMNS, k=k, overlaps=pairs)
