# SPDX-License-Identifier: GPL-3.0-or-later
"""How well does the crime component forecast? Rolling-origin backtests as a use case.

:func:`crime_backtest` is what ``lpt evaluate --rolling`` and the QGIS algorithm
``lpt:crime_backtest`` call: it reads the store's crimes once onto units (street units, H3
cells or police.uk locations; :func:`spatial_core.targeting.evaluation.unit_months`),
optionally tunes the profile's crime parameters on the force's own history
(:func:`~spatial_core.targeting.evaluation.tune_crime_parameters`), and runs the rolling
backtest of the (tuned) profile's crime component against the naive prior count, prior harm
and the oracle (:func:`~spatial_core.targeting.evaluation.rolling_backtest`). The result
holds crime counts per unit only in aggregate (hit rates over the force), nothing personal.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from spatial_core.frames import json_records
from spatial_core.targeting.evaluation import UNIT_KINDS

__all__ = ["CrimeBacktest", "crime_backtest", "UNITS", "UNIT_WORDS"]

UNITS = UNIT_KINDS
"""The units a backtest can rank (:data:`spatial_core.targeting.evaluation.UNIT_KINDS`)."""

UNIT_WORDS = {"streets": "street units", "locations": "police.uk locations"}
"""How a report names the units (cells: "H3 cells (resolution R)")."""


def _finite(value: Any) -> Any:
    """JSON has no infinity: ``prior_crimes = inf`` is written as the string "inf"."""
    return "inf" if isinstance(value, float) and math.isinf(value) else value


@dataclass(frozen=True)
class CrimeBacktest:
    """The outcome of :func:`crime_backtest`."""

    units: str
    resolution: int | None
    unit_count: int
    profile: Any  # the profile whose crime component was backtested (tuned when tuned)
    tuned: bool
    top: float
    horizon: int
    lead: int
    history: tuple[int, ...] | None
    rows: pd.DataFrame  # one row per origin and ranking (rolling_backtest)
    summary: pd.DataFrame  # one row per ranking (rolling_summary)
    tuning: pd.DataFrame | None  # every combination tried, best first (when tuned)

    @property
    def where(self) -> str:
        """The units in words: "street units", "H3 cells (resolution 10)", …"""
        return UNIT_WORDS.get(self.units, f"H3 cells (resolution {self.resolution})")

    @property
    def crime_parameters(self) -> dict[str, Any]:
        p = self.profile
        return {"half_life_days": p.half_life_days, "long_run_months": p.long_run_months,
                "lookback_days": p.lookback_days, "prior_crimes": _finite(p.prior_crimes),
                "mix_within": p.mix_within, "smoothing": p.smoothing, "model": p.harm_model}

    def to_dict(self, *, tuning_rows: int = 20) -> dict[str, Any]:
        """The JSON form: settings, the crime parameters, the summary, every origin's rows
        and (tuned) the best ``tuning_rows`` combinations."""
        tuning = None
        if self.tuning is not None:
            tuning = [{k: _finite(v) for k, v in row.items()}
                      for row in json_records(self.tuning.head(tuning_rows))]
        return {"units": self.units, "resolution": self.resolution, "top": self.top,
                "horizon": self.horizon, "lead": self.lead,
                "history": list(self.history) if self.history else None,
                "profile": self.profile.name, "crime_parameters": self.crime_parameters,
                "summary": json_records(self.summary), "origins": json_records(self.rows),
                "tuning": tuning}


def crime_backtest(store, *, units: str = "streets", resolution: int | None = None,
                   max_distance: float = 50.0, origins: Sequence[str] | None = None,
                   horizon: int = 1, top: float = 0.05, profile=None, min_history: int = 12,
                   lead: int = 1, history: Sequence[int] | None = None, tune: bool = False,
                   grid: Mapping[str, Sequence[float]] | None = None) -> CrimeBacktest:
    """Rolling-origin backtest of ``profile``'s crime component (default: the shipped
    default profile) on the store's crimes, tuned first when ``tune``.

    ``origins`` are periods as ``lpt`` takes them (``2021-03``, ``2021Q1``,
    ``2021-01..2021-06``); the others are those of
    :func:`~spatial_core.targeting.evaluation.rolling_backtest` (``lead``: months to the first
    test month; ``history``: the months before the origin every ranking may use, 0
    included). ``grid`` replaces the tuning grid
    (:data:`~spatial_core.targeting.evaluation.TUNING_GRID`).
    """
    from spatial_core.analytics.harm import crime_months
    from spatial_core.targeting.evaluation import (
        rolling_backtest,
        rolling_summary,
        tune_crime_parameters,
        unit_months,
    )
    from spatial_core.targeting.profiles import load_profile

    chosen = crime_months(store, origins) if origins else None
    data = unit_months(store, units=units, resolution=resolution, max_distance=max_distance)
    prof = profile if profile is not None else load_profile(None)
    table = None
    if tune:
        prof, table = tune_crime_parameters(data, profile=prof, grid=grid, origins=chosen,
                                            horizon=horizon, top=top,
                                            min_history=min_history, lead=lead,
                                            history=history)
    rows = rolling_backtest(data, origins=chosen, horizon=horizon, top=top, profile=prof,
                            min_history=min_history, lead=lead, history=history)
    return CrimeBacktest(units=data.kind, resolution=data.resolution,
                         unit_count=len(data.units), profile=prof, tuned=tune, top=top,
                         horizon=horizon, lead=lead,
                         history=tuple(history) if history else None, rows=rows,
                         summary=rolling_summary(rows), tuning=table)
