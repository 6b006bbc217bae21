# SPDX-License-Identifier: GPL-3.0-or-later
"""Which stored boundary set is the newest: the one rule every reader of ``areas`` follows.

An area may be stored in several dated boundary sets (``boundary_set``, ``valid_from``). The
newest is the one with the largest ``valid_from``, then the largest ``boundary_set`` name (a
missing value sorts first). The rule has two uses:

- :func:`newest_per_area`: one row per ``area_id``, its newest set (area tables, counts,
  polygons by id);
- :func:`newest_set_by_level`: the newest set of each level (the areas that make up a level
  today, e.g. the beats cells are indexed to).
"""
from __future__ import annotations

import pandas as pd

__all__ = ["newest_per_area", "newest_set_by_level"]


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(_v=frame["valid_from"].fillna(""), _b=frame["boundary_set"].fillna(""))


def newest_per_area(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (rows of ``areas`` with ``area_id``, ``boundary_set``, ``valid_from``) with one
    row per ``area_id``: the newest set's. Rows come sorted by ``area_id`` and keep their index
    and columns.

    >>> f = pd.DataFrame({"area_id": ["a", "a", "b"], "boundary_set": ["2019", "2024", None],
    ...                   "valid_from": ["2019-01-01", "2024-01-01", None]})
    >>> newest_per_area(f)["boundary_set"].tolist()
    ['2024', None]
    """
    if not len(frame):
        return frame
    keyed = _keys(frame).sort_values(["area_id", "_v", "_b"], kind="stable")
    return keyed.drop_duplicates("area_id", keep="last").drop(columns=["_v", "_b"])


def newest_set_by_level(frame: pd.DataFrame) -> pd.Series:
    """The newest ``boundary_set`` (missing as ``""``) of each ``level`` in ``frame`` (rows of
    ``areas`` with ``level``, ``boundary_set``, ``valid_from``), indexed by level.

    >>> f = pd.DataFrame({"level": ["beat", "beat", "ward"], "boundary_set": ["2019", "2024", ""],
    ...                   "valid_from": ["2019-01-01", "2024-01-01", ""]})
    >>> newest_set_by_level(f).to_dict()
    {'beat': '2024', 'ward': ''}
    """
    if not len(frame):
        return pd.Series(dtype=object)
    keyed = _keys(frame).sort_values(["_v", "_b"], kind="stable")
    return keyed.groupby("level")["_b"].last()
