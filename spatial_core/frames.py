# SPDX-License-Identifier: GPL-3.0-or-later
"""Frames as plain data: the one rule for turning a result table into JSON-ready rows."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_records", "plain_value", "plain_columns"]


def _plain(value: Any, digits: int | None) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, list | dict):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    return value


def json_records(frame: pd.DataFrame, *, digits: int | None = None) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of plain Python values, ready for JSON: numpy scalars
    become Python ones, NaN, infinities, ``NA`` and ``NaT`` become None, tuples become lists;
    with ``digits``, floats are rounded.

    Examples
    --------
    >>> json_records(pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")], "c": [(1,), None]}))
    [{'a': 1, 'b': 0.5, 'c': [1]}, {'a': 2, 'b': None, 'c': None}]
    """
    return [{k: _plain(v, digits) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def plain_value(value: Any) -> Any:
    """One value as :func:`json_records` writes it (no rounding)."""
    return _plain(value, None)


def plain_columns(frame: pd.DataFrame, names) -> pd.DataFrame:
    """The columns ``names`` of ``frame`` (a missing one as None), each value a plain Python
    value as :func:`plain_value` gives it, on a fresh 0..n-1 index."""
    out = pd.DataFrame(index=range(len(frame)))
    for name in names:
        out[name] = ([plain_value(v) for v in frame[name].to_numpy(dtype=object)]
                     if name in frame.columns else None)
    return out
