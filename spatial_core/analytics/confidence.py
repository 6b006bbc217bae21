# SPDX-License-Identifier: GPL-3.0-or-later
"""Confidence, feeling safe and crime per area, and the areas that do not fit the pattern.

:func:`area_confidence` gives, per beat, ward, neighbourhood policing area or force:

- the mean *confidence* in the police and the mean *feeling safe* score (both 1–5) of the
  survey responses of a period, each with its n and a normal 95% interval;
- the recorded crime rate per 1,000 households per year (police.uk crimes placed by their
  point, flagged outliers left out, annualised over the months counted) and the
  harm-weighted rate (CCHI days, :mod:`spatial_core.analytics.harm`);
- two *gaps*: how much less or more safe people feel than the area's crime suggests, and how
  much less or more confident they are than their feeling safe suggests.

A gap is the residual of a robust, precision-weighted regression across the areas with at
least ``min_n`` answers: feeling safe on ``log(1 + crime rate)`` (or harm rate), and
confidence on feeling safe. Each area mean has sampling variance ``v_i = s_i² / n_i``; the
areas also differ for reasons the line does not capture, with variance ``τ²`` (estimated by
the method of moments, as in a random-effects meta-regression). The fit weighs each area by
``1 / (v_i + τ²)`` times a Huber weight (k = 1.345) so that one odd area does not pull the
line, iterating to convergence; ``τ²`` comes from the median absolute deviation of the
residuals, so the outliers looked for do not widen it. (An odd area at an extreme crime rate
still pulls the line a little: Huber weights bound the residual, not the leverage.) The
gap's standard error is ``sqrt(v_i + τ²)`` and ``z = gap / se``; an area is an outlier when
``|z| > z_flag`` (default 2) and its n is at least ``min_n``.
``docs/analytics/confidence.md`` has the details.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from spatial_core.analytics.population import (
    AREA_LEVELS,
    Period,
    area_table,
    households_per_area,
    parse_period,
    respondents_frame,
)
from spatial_core.analytics.priorities import Z95
from spatial_core.errors import InputError

__all__ = [
    "HUBER_K",
    "Fit",
    "area_confidence",
    "fit_gaps",
]

log = logging.getLogger(__name__)

HUBER_K = 1.345
"""Huber's tuning constant (95% efficiency under normal errors)."""


@dataclass(frozen=True)
class Fit:
    """A fitted line ``y = intercept + slope * x`` across areas and its residual variance."""

    intercept: float
    slope: float
    tau2: float
    areas: int
    iterations: int


def fit_gaps(x, y, v, use=None, *, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray, Fit | None]:
    """Robust precision-weighted line of ``y`` on ``x`` and every area's gap from it.

    Parameters
    ----------
    x, y : array_like
        The explanatory value and the area mean.
    v : array_like
        The sampling variance of each mean (``s² / n``).
    use : array_like of bool, optional
        Areas that take part in the fit (default: all with finite values); gaps are given for
        every area with finite ``x`` and ``y``.

    Returns
    -------
    gap, se : numpy.ndarray
        ``y - fitted`` and ``sqrt(v + τ²)``; NaN where not computable.
    fit : Fit or None
        None when fewer than three areas take part.

    Examples
    --------
    Six areas on a line and one a whole point below it:

    >>> x = [0.0, 1, 2, 3, 4, 5, 6]
    >>> y = [4.0, 3.8, 3.6, 2.4, 3.2, 3.0, 2.8]
    >>> gap, se, fit = fit_gaps(x, y, [0.01] * 7)
    >>> round(fit.slope, 3), round(float(gap[3]), 2), bool(gap[3] / se[3] < -2)
    (-0.2, -0.98, True)
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    v = np.asarray(v, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(v) & (v > 0)
    use = ok if use is None else (ok & np.asarray(use, dtype=bool))
    gap = np.full(len(x), np.nan)
    se = np.full(len(x), np.nan)
    k = int(use.sum())
    if k < 3:
        return gap, se, None
    xs, ys, vs = x[use], y[use], v[use]
    X = np.column_stack([np.ones(k), xs])
    huber = np.ones(k)
    tau2 = 0.0
    beta = np.zeros(2)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported in the Fit
        w = huber / (vs + tau2)
        W = X * w[:, None]
        try:
            new_beta = np.linalg.solve(X.T @ W, W.T @ ys)
        except np.linalg.LinAlgError:  # every x equal: the line is a weighted mean
            new_beta = np.array([np.sum(w * ys) / np.sum(w), 0.0])
        r = ys - X @ new_beta
        # A robust spread (MAD) so that the outliers being looked for do not widen it.
        mad = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        new_tau2 = max(0.0, mad * mad - float(np.median(vs)))
        u = np.abs(r) / np.sqrt(vs + new_tau2)
        new_huber = np.minimum(1.0, HUBER_K / np.maximum(u, 1e-12))
        done = (np.allclose(new_beta, beta, atol=1e-10) and abs(new_tau2 - tau2) < 1e-12
                and np.allclose(new_huber, huber, atol=1e-9))
        beta, tau2, huber = new_beta, new_tau2, new_huber
        if done:
            break
    fitted = beta[0] + beta[1] * x
    gap[ok] = (y - fitted)[ok]
    se[ok] = np.sqrt(v[ok] + tau2)
    return gap, se, Fit(float(beta[0]), float(beta[1]), float(tau2), k, iterations)


def _means(r: pd.DataFrame, col: str, key: str, answers: str) -> pd.DataFrame:
    """n, mean, shrunk variance of the mean and 95% interval of one score per area."""
    f = r[[key, answers]].dropna()
    g = f.groupby(key)[answers]
    n = g.size()
    mean = g.mean()
    var = g.var(ddof=1).fillna(0.0)
    pooled = float(f[answers].var(ddof=1)) if len(f) > 1 else np.nan
    # One pseudo-answer at the force-wide variance keeps an area whose few answers are all
    # equal from claiming a zero standard error.
    var_shrunk = (var * (n - 1) + pooled) / n
    v = var_shrunk / n
    half = Z95 * np.sqrt(v)
    return pd.DataFrame({f"{col}_n": n, col: mean, f"{col}_ci_low": mean - half,
                         f"{col}_ci_high": mean + half, f"_{col}_v": v})


def _crime_counts(store, level: str, crime_period: Period | None) -> tuple[pd.DataFrame, int]:
    from spatial_core.analytics.harm import crimes_to_harm
    from spatial_core.analytics.population import add_area_columns
    from spatial_core.store.index import assign_points_to_areas

    c = store.read("crimes", ["month", "category", "offence_code", "x", "y", "is_outlier"])
    c = c[(c["is_outlier"].fillna(0) == 0) & c["x"].notna()]
    if crime_period is not None:
        c = c[(c["month"] >= crime_period.start[:7]) & (c["month"] <= crime_period.end[:7])]
    months = int(c["month"].nunique())
    c = c.reset_index(drop=True)
    x = c["x"].to_numpy(dtype="float64")
    y = c["y"].to_numpy(dtype="float64")
    if level in ("beat", "npa", "force"):
        c["beat_id"] = assign_points_to_areas(store, x, y, "beat") if len(c) else []
        add_area_columns(c, area_table(store))
    else:
        c["ward_id"] = assign_points_to_areas(store, x, y, "ward") if len(c) else []
    key = f"{level}_id"
    c["harm"] = crimes_to_harm(c["category"], c["offence_code"]) if len(c) else []
    out = c.dropna(subset=[key]).groupby(key).agg(crimes=("harm", "size"), harm=("harm", "sum"))
    return out, months


def area_confidence(store, *, level: str = "beat", period: str | Period | None = None,
                    crime_period: str | Period | None = None, rate: str = "crime",
                    min_n: int = 10, z_flag: float = 2.0,
                    respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Confidence, feeling safe and crime per area, with the gaps that make areas outliers.

    Parameters
    ----------
    level : str
        ``beat``, ``ward``, ``npa`` or ``force``.
    period : str, optional
        Survey responses counted (default all).
    crime_period : str, optional
        Months of crime counted (default: the survey ``period``, else every stored month).
    rate : {"crime", "harm"}
        Feeling safe is compared with ``log(1 + crime_rate)`` or ``log(1 + harm_rate)``.
    min_n : int
        Areas with fewer answers take no part in the fit and are never flagged.
    z_flag : float
        ``|z|`` above which an area is an outlier (default 2).

    Returns
    -------
    pandas.DataFrame
        One row per area: ``area_id``, ``area_name``, ``households``, ``confidence_n``,
        ``confidence`` (mean 1–5), ``confidence_ci_low``, ``confidence_ci_high``, the same four
        for ``feel_safe``, ``crimes``, ``crime_rate`` (per 1,000 households per year), ``harm``
        (CCHI days), ``harm_rate``, ``safe_gap``, ``safe_gap_se``, ``safe_z``,
        ``safe_outlier`` (``"less safe than crime suggests"``, ``"safer than crime
        suggests"`` or ""), ``confidence_gap``, ``confidence_gap_se``, ``confidence_z``,
        ``confidence_outlier``. The two fits are in ``frame.attrs["fits"]``.
    """
    if level not in AREA_LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(AREA_LEVELS)}")
    if rate not in ("crime", "harm"):
        raise InputError(f"rate {rate!r} is not one of crime, harm")
    if int(min_n) < 2:
        raise InputError(f"min_n must be at least 2 (a mean needs a spread), got {min_n}")
    key = f"{level}_id"
    p = parse_period(period)
    cp = parse_period(crime_period) if crime_period is not None else p
    r = respondents_frame(store, period=p) if respondents is None else respondents
    areas = area_table(store)
    areas = areas[areas["level"] == level]
    homes = households_per_area(store, level)
    ids = sorted(set(areas["area_id"]) | set(homes.index) | set(r[key].dropna()))
    out = pd.DataFrame({"area_id": pd.Series(ids, dtype=object)})  # object even when empty
    out["area_name"] = out["area_id"].map(areas.set_index("area_id")["name"]).fillna(
        out["area_id"])
    out["households"] = out["area_id"].map(homes).fillna(0).astype("int64")
    for col in ("confidence", "feel_safe"):
        m = _means(r, col, key, col)
        out = out.merge(m, left_on="area_id", right_index=True, how="left")
        out[f"{col}_n"] = out[f"{col}_n"].fillna(0).astype("int64")
    crimes, months = _crime_counts(store, level, cp)
    out["crimes"] = out["area_id"].map(crimes["crimes"]).fillna(0).astype("int64")
    out["harm"] = out["area_id"].map(crimes["harm"]).fillna(0.0)
    hh = out["households"].to_numpy(dtype="float64")
    per_year = 12.0 / months if months else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["crime_rate"] = np.where(hh > 0, 1000.0 * out["crimes"] / hh * per_year, np.nan)
        out["harm_rate"] = np.where(hh > 0, 1000.0 * out["harm"] / hh * per_year, np.nan)
    x_safe = np.log1p(out[f"{rate}_rate"].to_numpy(dtype="float64"))
    fits = {}
    specs = (("safe", x_safe, "feel_safe",
              ("less safe than crime suggests", "safer than crime suggests")),
             ("confidence", out["feel_safe"].to_numpy(dtype="float64"), "confidence",
              ("less confident than feeling safe suggests",
               "more confident than feeling safe suggests")))
    for name, x, ycol, words in specs:
        n = out[f"{ycol}_n"].to_numpy()
        enough = n >= min_n
        gap, se, fit = fit_gaps(x, out[ycol].to_numpy(dtype="float64"),
                                out[f"_{ycol}_v"].to_numpy(dtype="float64"), use=enough)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = gap / se
        flag = enough & (np.abs(np.nan_to_num(z)) > z_flag)
        out[f"{name}_gap"] = gap
        out[f"{name}_gap_se"] = se
        out[f"{name}_z"] = z
        out[f"{name}_outlier"] = np.where(flag, np.where(z < 0, words[0], words[1]), "")
        fits[name] = fit
        if fit is None:
            log.info("%s: fewer than three areas with %d answers; no gaps", name, min_n)
    out = out.drop(columns=["_confidence_v", "_feel_safe_v"])
    out.attrs["fits"] = {k: (None if f is None else asdict(f)) for k, f in fits.items()}
    out.attrs["months"] = months
    return out.reset_index(drop=True)
