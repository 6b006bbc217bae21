# SPDX-License-Identifier: GPL-3.0-or-later
"""Did it work? Before and after in targeted streets against comparable streets.

:func:`street_group_effect` compares a group of *targeted* streets (a set-up's) with
*comparison* streets that were not targeted, before and after a start day, on five outcomes:

- ``crimes``: police.uk crimes per 1,000 households per month (flagged outliers left out; a
  crime counts on the nearest street within ``crime_distance_m``, as scoring places them);
- ``harm``: the same crimes weighted by the Cambridge Crime Harm Index (CCHI days,
  :func:`spatial_core.analytics.harm.crimes_to_harm`) per 1,000 households per month;
- ``confidence``: the share (%) of survey answers from residents of the streets that agree
  or strongly agree (4 or 5 of 5) that the police do a good job;
- ``feel_safe``: the share (%) answering 4 or 5 of 5 (fairly or very safe);
- ``membership``: current members per 100 households on the last day of each window
  (:func:`spatial_core.analytics.population.is_current_member`, from join and leave dates).

**Windows.** Crime is published by month, so windows are whole months: *after* runs from the
month the set-up started to the newest stored crime month (or ``after_months`` of them);
*before* is the same number of months just before (or ``before_months``). The start month
counts as after, which dilutes an effect rather than inventing one.

**Comparison streets** (:func:`match_streets`): streets with households in the same
neighbourhood policing area as a targeted street, not targeted and farther than
``exclude_m`` (100 m) from every targeted street (so that displacement or word of mouth does
not contaminate them). Each targeted street takes its ``matches`` (2) nearest unused
candidates, without replacement, on three standardised before-window figures: log(1 + crime
rate), log(households) and members per 100 households. The balance table shows how alike
the groups were before.

**Difference in differences** (:func:`difference_in_differences`): for each group and window
the ratio estimate over its streets (sum of crimes / sum of household-months, and so on);
``did = (targeted after - targeted before) - (comparison after - comparison before)``. The
95% interval resamples streets with replacement within each group (2,000 draws, a fixed
seed), so crime and answers clustered on streets widen it as they should. Each group and
window also has its own 95% interval (exact Poisson for counts, Wilson for shares).

**Verdicts** (:func:`outcome_verdict`) never claim more than the interval allows: a clear
difference is "consistent with an effect", never proof; an interval including no change says
so; too few streets, crimes or answers say "too little data". ``docs/analytics/
setup-evaluation.md`` has the method, a worked example and the caveats.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.progress import Progress
from spatial_core.store import schema

__all__ = [
    "OUTCOMES",
    "LABELS",
    "UNITS",
    "LOWER_IS_BETTER",
    "AGREE",
    "EffectWindows",
    "StreetGroupEffect",
    "effect_windows",
    "match_streets",
    "street_figures",
    "difference_in_differences",
    "balance_table",
    "outcome_verdict",
    "overall_verdict",
    "street_group_effect",
    "pre_trend",
]

log = logging.getLogger(__name__)


OUTCOMES = ("crimes", "harm", "confidence", "feel_safe", "membership")
"""The outcomes compared, in the order tables list them."""
LABELS = {"crimes": "Crime", "harm": "Harm", "confidence": "Confidence",
          "feel_safe": "Feeling safe", "membership": "Membership"}
UNITS = {"crimes": "crimes per 1,000 households per month",
         "harm": "CCHI days per 1,000 households per month",
         "confidence": "% confident (4-5 of 5)",
         "feel_safe": "% feeling safe (4-5 of 5)",
         "membership": "members per 100 households"}
LOWER_IS_BETTER = frozenset({"crimes", "harm"})
AGREE = 4
"""An answer of 4 or 5 on the 1-5 scale counts as confident / feeling safe."""
MIN_STREETS = 5
"""Fewer streets than this in a group: a warning (2 at least are needed for an interval)."""
MIN_RESPONDENTS = 10
"""Fewer answers than this in any group and window: "too little data" for a survey outcome."""
WARN_RESPONDENTS = 30
"""Fewer answers than this in a group and window: a warning that the interval is wide."""
MIN_CRIMES = 10
"""Fewer crimes than this in the four cells together: "too little data" for crime and harm."""
MAX_SMD = 0.25
"""A standardised mean difference before the start above this is reported as imbalance."""
MAX_ONE_CRIME = 0.25
"""One crime carrying more than this share of a group's harm in a window is reported."""
SEED = 20261207
"""The bootstrap's fixed seed: the same data give the same interval."""

# per-street columns summed by the estimators, in this order
_SUMS = ("households", "crimes_before", "crimes_after", "harm_before", "harm_after",
         "conf_n_before", "conf_k_before", "conf_n_after", "conf_k_after",
         "safe_n_before", "safe_k_before", "safe_n_after", "safe_k_after",
         "members_before", "members_after")
_I = {c: i for i, c in enumerate(_SUMS)}
_COUNT_OF = {"crimes": ("crimes_before", "crimes_after"), "harm": ("crimes_before",
                                                                    "crimes_after"),
             "confidence": ("conf_n_before", "conf_n_after"),
             "feel_safe": ("safe_n_before", "safe_n_after"),
             "membership": ("members_before", "members_after")}
_N_WHAT = {"crimes": "crimes", "harm": "crimes", "confidence": "respondents",
           "feel_safe": "respondents", "membership": "members"}
_COVARIATES = {"crime_rate": "crimes per 1,000 households per month before",
               "households": "households",
               "members_per_100": "members per 100 households at the start"}


# -- windows ------------------------------------------------------------------------------------
def _months(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(first, last, freq="M")]


@dataclass(frozen=True)
class EffectWindows:
    """The months compared: ``before`` and ``after`` (``YYYY-MM``), and the start day."""

    start: str
    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def before_start(self) -> str:
        return f"{self.before[0]}-01"

    @property
    def before_end(self) -> str:
        return pd.Period(self.before[-1], freq="M").end_time.strftime("%Y-%m-%d")

    @property
    def after_start(self) -> str:
        return f"{self.after[0]}-01"

    @property
    def after_end(self) -> str:
        return pd.Period(self.after[-1], freq="M").end_time.strftime("%Y-%m-%d")

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "before": list(self.before), "after": list(self.after),
                "before_start": self.before_start, "before_end": self.before_end,
                "after_start": self.after_start, "after_end": self.after_end,
                "months_before": len(self.before), "months_after": len(self.after)}


def effect_windows(start: str, stored_months: Sequence[str], *,
                   before_months: int | None = None, after_months: int | None = None
                   ) -> tuple[EffectWindows, list[str]]:
    """The before and after months of a start day, given the stored crime months; returns
    the windows and warnings (a before window cut short by the data).

    Examples
    --------
    >>> w, notes = effect_windows("2026-04-15", ["2025-10", "2025-11", "2025-12", "2026-01",
    ...                           "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"])
    >>> w.before, w.after, notes
    (('2026-01', '2026-02', '2026-03'), ('2026-04', '2026-05', '2026-06'), [])
    >>> effect_windows("2026-04-15", ["2026-03", "2026-04", "2026-05"],
    ...                before_months=3)[1]  # doctest: +ELLIPSIS
    ['Only 1 of the 3 months before the start are stored ...']
    """
    try:
        day = pd.Timestamp(str(start)[:10])
    except ValueError:
        raise InputError(f"start {start!r} is not an ISO day such as 2026-04-01") from None
    for name, value in (("before_months", before_months), ("after_months", after_months)):
        if value is not None and not (isinstance(value, int | np.integer) and 1 <= value <= 60):
            raise InputError(f"{name} must be a whole number of months from 1 to 60, "
                             f"got {value!r}")
    stored = sorted({str(m)[:7] for m in stored_months})
    if not stored:
        raise InputError("no crime is stored: import crimes first (lpt import crimes FILE)")
    first = day.strftime("%Y-%m")
    if stored[-1] < first:
        raise InputError(f"the set-up started on {day.date()}, after the newest stored crime "
                         f"month ({stored[-1]}): there is no 'after' to compare yet")
    after = _months(first, stored[-1])
    if after_months is not None:
        after = after[:after_months]
    want = before_months if before_months is not None else len(after)
    start_p = pd.Period(first, freq="M")
    before = [str(start_p - i) for i in range(want, 0, -1)]
    kept = [m for m in before if m >= stored[0]]
    if not kept:
        raise InputError(f"no crime month is stored before the set-up started ({day.date()}; "
                         f"stored from {stored[0]}): there is no 'before' to compare with")
    notes = []
    if len(kept) < len(before):
        notes.append(f"Only {len(kept)} of the {len(before)} months before the start are "
                     f"stored (from {stored[0]}): the before window is shorter than the "
                     f"after window.")
    return EffectWindows(start=str(day.date()), before=tuple(kept), after=tuple(after)), notes


# -- matching -----------------------------------------------------------------------------------
def _covariates(frame: pd.DataFrame, months_before: int) -> pd.DataFrame:
    h = frame["households"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 1000.0 * frame["crimes_before"].to_numpy(dtype="float64") / (h * months_before)
        members = 100.0 * frame["members_before"].to_numpy(dtype="float64") / h
    return pd.DataFrame({"crime_rate": rate, "households": h, "members_per_100": members},
                        index=frame.index)


def match_streets(pool: pd.DataFrame, *, months_before: int, matches: int = 2) -> pd.Series:
    """Comparison streets for the targeted streets of ``pool``.

    ``pool`` has one row per street: ``street_id``, ``stratum`` (matching is within a
    stratum: the neighbourhood policing area), ``households`` (> 0), ``crimes_before``,
    ``members_before`` and ``targeted`` (bool). Each targeted street (in ``street_id``
    order, ``matches`` rounds) takes the nearest unused candidate of its stratum on the
    standardised log(1 + crime rate), log(households) and members per 100 households (ties:
    the lower ``street_id``). Returns the targeted street each chosen candidate was matched
    to, indexed by the candidate's ``street_id``.

    Examples
    --------
    >>> pool = pd.DataFrame({"street_id": ["t", "a", "b", "c"], "stratum": "npa:N",
    ...     "households": [10, 10, 40, 10], "crimes_before": [3, 3, 1, 30],
    ...     "members_before": [1, 1, 1, 1], "targeted": [True, False, False, False]})
    >>> match_streets(pool, months_before=3, matches=1).to_dict()
    {'a': 't'}
    """
    if matches < 1:
        raise InputError(f"matches must be 1 or more, got {matches!r}")
    need = {"street_id", "stratum", "households", "crimes_before", "members_before",
            "targeted"}
    missing = need - set(pool.columns)
    if missing:
        raise InputError(f"the matching pool lacks columns {sorted(missing)}")
    p = pool.sort_values("street_id", kind="stable").reset_index(drop=True)
    cov = _covariates(p, months_before)
    z = np.column_stack([np.log1p(cov["crime_rate"].to_numpy()),
                         np.log(np.maximum(cov["households"].to_numpy(), 1.0)),
                         cov["members_per_100"].to_numpy()])
    z = np.where(np.isfinite(z), z, 0.0)
    sd = z.std(axis=0)
    z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    out: dict[str, str] = {}
    targeted = p["targeted"].to_numpy(dtype=bool)
    strata = p["stratum"].fillna("").astype(str).to_numpy()
    ids = p["street_id"].astype(str).to_numpy()
    for s in pd.unique(strata[targeted]):
        t = np.flatnonzero(targeted & (strata == s))
        c = np.flatnonzero(~targeted & (strata == s))
        if not len(c):
            continue
        d = np.sqrt(((z[t][:, None, :] - z[c][None, :, :]) ** 2).sum(axis=2))
        used = np.zeros(len(c), dtype=bool)
        for _ in range(matches):
            for i in range(len(t)):
                row = np.where(used, np.inf, d[i])
                j = int(np.argmin(row))
                if not np.isfinite(row[j]):
                    break
                used[j] = True
                out[ids[c[j]]] = ids[t[i]]
    return pd.Series(out, dtype=object, name="matched_to")


def balance_table(streets: pd.DataFrame, months_before: int) -> pd.DataFrame:
    """How alike the groups were before the start: per covariate the mean in the targeted
    and in the comparison streets and the standardised mean difference (difference over the
    square root of the mean of the two variances; 0 when both are constant)."""
    cov = _covariates(streets, months_before)
    is_t = (streets["group"] == "targeted").to_numpy()
    rows = []
    for name, label in _COVARIATES.items():
        a, b = cov[name].to_numpy()[is_t], cov[name].to_numpy()[~is_t]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        ma = float(a.mean()) if len(a) else float("nan")
        mb = float(b.mean()) if len(b) else float("nan")
        pooled = np.sqrt((a.var() + b.var()) / 2) if len(a) and len(b) else float("nan")
        smd = (ma - mb) / pooled if pooled and pooled > 0 else (0.0 if ma == mb else
                                                                float("nan"))
        rows.append({"covariate": name, "label": label, "targeted_mean": ma,
                     "comparison_mean": mb, "smd": smd})
    return pd.DataFrame(rows)


# -- the estimators -----------------------------------------------------------------------------
def _estimates(sums: np.ndarray, months_before: int, months_after: int) -> np.ndarray:
    """Outcome values (..., outcome, window) from summed street columns (..., _SUMS)."""
    s = np.asarray(sums, dtype="float64")
    h = s[..., _I["households"]]

    def div(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)

    out = np.stack([
        np.stack([div(1000 * s[..., _I["crimes_before"]], h * months_before),
                  div(1000 * s[..., _I["crimes_after"]], h * months_after)], axis=-1),
        np.stack([div(1000 * s[..., _I["harm_before"]], h * months_before),
                  div(1000 * s[..., _I["harm_after"]], h * months_after)], axis=-1),
        np.stack([div(100 * s[..., _I["conf_k_before"]], s[..., _I["conf_n_before"]]),
                  div(100 * s[..., _I["conf_k_after"]], s[..., _I["conf_n_after"]])], axis=-1),
        np.stack([div(100 * s[..., _I["safe_k_before"]], s[..., _I["safe_n_before"]]),
                  div(100 * s[..., _I["safe_k_after"]], s[..., _I["safe_n_after"]])], axis=-1),
        np.stack([div(100 * s[..., _I["members_before"]], h),
                  div(100 * s[..., _I["members_after"]], h)], axis=-1),
    ], axis=-2)
    return out


def _poisson_interval(count: float, scale: float) -> tuple[float, float]:
    """The exact (Garwood) 95% interval of a Poisson count, times ``scale``."""
    from scipy.stats import chi2

    if not np.isfinite(scale) or scale <= 0:
        return float("nan"), float("nan")
    lo = 0.0 if count <= 0 else chi2.ppf(0.025, 2 * count) / 2
    hi = chi2.ppf(0.975, 2 * (count + 1)) / 2
    return float(lo * scale), float(hi * scale)


def _cells(sums: Mapping[str, np.ndarray], months_before: int, months_after: int
           ) -> pd.DataFrame:
    """One row per outcome, group and window: value, n and its own 95% interval."""
    from spatial_core.analytics.priorities import wilson_interval

    rows = []
    for group, s in sums.items():
        est = _estimates(s, months_before, months_after)
        h = s[_I["households"]]
        for o, outcome in enumerate(OUTCOMES):
            for w, (window, months) in enumerate((("before", months_before),
                                                  ("after", months_after))):
                lo = hi = float("nan")
                if outcome == "crimes":
                    n = s[_I[f"crimes_{window}"]]
                    lo, hi = _poisson_interval(n, 1000.0 / (h * months) if h else np.nan)
                elif outcome == "harm":
                    n = s[_I[f"crimes_{window}"]]
                elif outcome in ("confidence", "feel_safe"):
                    key = "conf" if outcome == "confidence" else "safe"
                    n, k = s[_I[f"{key}_n_{window}"]], s[_I[f"{key}_k_{window}"]]
                    a, b = wilson_interval([k], [n])
                    lo, hi = 100 * float(a[0]), 100 * float(b[0])
                else:
                    n = s[_I[f"members_{window}"]]
                    lo, hi = _poisson_interval(n, 100.0 / h if h else np.nan)
                rows.append({"outcome": outcome, "group": group, "window": window,
                             "value": float(est[o, w]), "n": int(round(float(n))),
                             "n_what": _N_WHAT[outcome], "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def difference_in_differences(streets: pd.DataFrame, months_before: int, months_after: int,
                              *, n_boot: int = 2000, seed: int = SEED
                              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The difference in differences of every outcome, with bootstrap intervals.

    ``streets`` has one row per street: ``group`` (``"targeted"`` or ``"comparison"``) and
    the columns ``households``, ``crimes_before``, ``crimes_after``, ``harm_before``,
    ``harm_after``, ``conf_n_*`` / ``conf_k_*`` (answers / answers of 4-5, ``*`` = before,
    after), ``safe_n_*`` / ``safe_k_*`` and ``members_before`` / ``members_after``.

    Returns ``(outcomes, cells)``: one row per outcome (the four values, the two changes,
    ``did``, ``ci_low``, ``ci_high``, the n of each cell, ``status`` and ``verdict``), and
    one row per outcome, group and window with its own 95% interval.

    The interval resamples streets with replacement within each group (``n_boot`` draws,
    ``seed``), recomputing the ratio estimates; the 2.5th and 97.5th percentiles of the
    draws' differences are the interval. With fewer than 2 streets in a group there is none.

    Examples
    --------
    One targeted street whose crime rate fell from 10 to 5 per 1,000 households a month
    against one comparison street that stayed at 10: -5.

    >>> s = pd.DataFrame({"group": ["targeted", "comparison"], "households": [100, 100],
    ...                   "crimes_before": [3, 3], "crimes_after": [1.5, 3]})
    >>> out, _ = difference_in_differences(s, 3, 3)
    >>> out.set_index("outcome").loc["crimes", ["targeted_before", "targeted_after", "did"]
    ...                              ].tolist()
    [10.0, 5.0, -5.0]
    """
    if months_before < 1 or months_after < 1:
        raise InputError("both windows need at least one month")
    g = streets.get("group")
    if g is None or not set(g).issubset({"targeted", "comparison"}):
        raise InputError("streets need a 'group' column of 'targeted' or 'comparison'")
    frame = streets.reindex(columns=list(_SUMS)).fillna(0.0).to_numpy(dtype="float64")
    is_t = (g == "targeted").to_numpy()
    values = {"targeted": frame[is_t], "comparison": frame[~is_t]}
    sums = {k: v.sum(axis=0) for k, v in values.items()}
    point = {k: _estimates(v, months_before, months_after) for k, v in sums.items()}
    did = ((point["targeted"][:, 1] - point["targeted"][:, 0])
           - (point["comparison"][:, 1] - point["comparison"][:, 0]))
    lo = np.full(len(OUTCOMES), np.nan)
    hi = np.full(len(OUTCOMES), np.nan)
    n_t, n_c = len(values["targeted"]), len(values["comparison"])
    if n_t >= 2 and n_c >= 2 and n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = {}
        for k, v in values.items():
            w = rng.multinomial(len(v), np.full(len(v), 1.0 / len(v)), size=n_boot)
            draws[k] = _estimates(w @ v, months_before, months_after)
        d = ((draws["targeted"][..., 1] - draws["targeted"][..., 0])
             - (draws["comparison"][..., 1] - draws["comparison"][..., 0]))
        for o in range(len(OUTCOMES)):
            col = d[:, o]
            ok = np.isfinite(col)
            if ok.mean() >= 0.95:  # a draw with no answers in a cell has no value
                lo[o], hi[o] = np.percentile(col[ok], [2.5, 97.5])
    cells = _cells(sums, months_before, months_after)
    rows = []
    for o, outcome in enumerate(OUTCOMES):
        nb, na = _COUNT_OF[outcome]
        n = {f"n_{grp}_{w}": int(round(float(sums[grp][_I[c]])))
             for grp in ("targeted", "comparison") for w, c in (("before", nb), ("after", na))}
        row = {"outcome": outcome, "label": LABELS[outcome], "unit": UNITS[outcome],
               "better": "lower" if outcome in LOWER_IS_BETTER else "higher",
               "targeted_before": point["targeted"][o, 0],
               "targeted_after": point["targeted"][o, 1],
               "comparison_before": point["comparison"][o, 0],
               "comparison_after": point["comparison"][o, 1],
               "targeted_change": point["targeted"][o, 1] - point["targeted"][o, 0],
               "comparison_change": point["comparison"][o, 1] - point["comparison"][o, 0],
               "did": did[o], "ci_low": lo[o], "ci_high": hi[o],
               "streets_targeted": n_t, "streets_comparison": n_c,
               **n, "n_what": _N_WHAT[outcome]}
        row["status"] = _status(row)
        row["verdict"] = outcome_verdict(row)
        rows.append(row)
    return pd.DataFrame(rows), cells


def _status(row: Mapping[str, Any]) -> str:
    """``too_little_data``, ``no_clear_difference``, ``better`` or ``worse``."""
    outcome = row["outcome"]
    cells = [row[f"n_{g}_{w}"] for g in ("targeted", "comparison") for w in ("before", "after")]
    if row["streets_targeted"] < 2 or row["streets_comparison"] < 2:
        return "too_little_data"
    if outcome in ("crimes", "harm") and sum(cells) < MIN_CRIMES:
        return "too_little_data"
    if outcome in ("confidence", "feel_safe") and min(cells) < MIN_RESPONDENTS:
        return "too_little_data"
    lo, hi = row["ci_low"], row["ci_high"]
    if not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(row["did"])):
        return "too_little_data"
    if lo <= 0 <= hi:
        return "no_clear_difference"
    lower = hi < 0
    good = lower if outcome in LOWER_IS_BETTER else not lower
    return "better" if good else "worse"


def _num(v: float, outcome: str) -> str:
    digits = 0 if outcome == "harm" and abs(v) >= 100 else 1
    return f"{v:,.{digits}f}"


def outcome_verdict(row: Mapping[str, Any]) -> str:
    """One plain sentence on one outcome (a row of :func:`difference_in_differences`): what
    the interval allows and no more.

    >>> outcome_verdict({"outcome": "crimes", "label": "Crime", "did": -2.0, "ci_low": -3.5,
    ...     "ci_high": -0.5, "status": "better", "unit": "crimes per 1,000 households per month",
    ...     "streets_targeted": 9, "streets_comparison": 18})  # doctest: +NORMALIZE_WHITESPACE
    'Crime: fell by 2.0 crimes per 1,000 households per month more in the targeted streets
    than in comparable streets (95% interval 0.5 to 3.5). Consistent with an effect of the
    set-up, though other differences between the streets could explain it.'
    """
    outcome, label, unit = row["outcome"], row["label"], row["unit"]
    status = row.get("status") or _status(row)
    did, lo, hi = row["did"], row["ci_low"], row["ci_high"]
    pts = "points" if outcome in ("confidence", "feel_safe") else unit
    if status == "too_little_data":
        why = ("fewer than 2 streets in a group"
               if min(row["streets_targeted"], row["streets_comparison"]) < 2
               else f"too few {_N_WHAT[outcome]} to tell a change from chance")
        return f"{label}: too little data to say ({why})."
    if status == "no_clear_difference":
        return (f"{label}: no clear difference between the targeted and comparable streets "
                f"(difference in change {did:+.1f} {pts}; the 95% interval {lo:+.1f} to "
                f"{hi:+.1f} includes no difference).")
    went = "fell" if did < 0 else "rose"
    a, b = sorted((abs(lo), abs(hi)))
    if status == "better":
        tail = ("Consistent with an effect of the set-up, though other differences between "
                "the streets could explain it.")
    else:
        tail = ("The set-up did not prevent this; the change may have other causes, and the "
                "evaluation cannot say the set-up caused it.")
    return (f"{label}: {went} by {_num(abs(did), outcome)} {pts} more in the targeted "
            f"streets than in comparable streets (95% interval {_num(a, outcome)} to "
            f"{_num(b, outcome)}). {tail}")


def overall_verdict(outcomes: pd.DataFrame, n_targeted: int, n_comparison: int) -> str:
    """The plain-English summary over every outcome (never more than the intervals allow).

    >>> t = pd.DataFrame({"label": ["Crime", "Membership"],
    ...                   "status": ["no_clear_difference", "better"]})
    >>> overall_verdict(t, 12, 24)  # doctest: +NORMALIZE_WHITESPACE
    'Membership changed for the better in the 12 targeted streets compared with 24 comparable
    streets. No clear difference in crime. This is an observational comparison, not a trial:
    it shows what changed alongside the set-up, not proof that the set-up caused it.'
    """
    def names(status: str) -> list[str]:
        return [str(s).lower() for s in outcomes.loc[outcomes["status"] == status, "label"]]

    def join(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    def cap(text: str) -> str:
        return text[:1].upper() + text[1:]

    better, worse = names("better"), names("worse")
    same, little = names("no_clear_difference"), names("too_little_data")
    parts = []
    if better:
        parts.append(f"{cap(join(better))} changed for the better in the {n_targeted} targeted "
                     f"streets compared with {n_comparison} comparable streets.")
    if worse:
        parts.append(f"{cap(join(worse))} changed for the worse in the targeted streets compared "
                     f"with comparable streets.")
    if same:
        parts.append(f"No clear difference in {join(same)}.")
    if little:
        parts.append(f"Too little data to say for {join(little)}.")
    if not better and not worse:
        parts.insert(0, "No clear effect of the set-up can be seen.")
    parts.append("This is an observational comparison, not a trial: it shows what changed "
                 "alongside the set-up, not proof that the set-up caused it.")
    return " ".join(parts)


# -- per-street figures from the store ----------------------------------------------------------
def _bbox_clause(t, box: tuple[float, float, float, float]):
    minx, miny, maxx, maxy = box
    return (t.c.x >= minx) & (t.c.x <= maxx) & (t.c.y >= miny) & (t.c.y <= maxy)


def _streets_of_people(uprn, postcode, x, y, addr: pd.DataFrame, ids: np.ndarray,
                       geoms: np.ndarray) -> np.ndarray:
    """Each person's street: their address's (UPRN), else the street holding most of their
    postcode's addresses, else the nearest street within 100 m of their point."""
    from spatial_core.store.index import MAX_STREET_DISTANCE_M, assign_points_to_streets

    a = addr.dropna(subset=["street_id"])
    by_uprn = a.drop_duplicates("uprn").set_index("uprn")["street_id"]
    out = pd.Series(np.asarray(uprn, dtype=object)).map(by_uprn)
    if len(a):
        counts = a.groupby(["postcode", "street_id"]).size().reset_index(name="n")
        counts = counts.sort_values(["postcode", "n", "street_id"],
                                    ascending=[True, False, True])
        modal = counts.drop_duplicates("postcode").set_index("postcode")["street_id"]
        out = out.fillna(pd.Series(np.asarray(postcode, dtype=object)).map(modal))
    todo = out.isna().to_numpy()
    if todo.any():
        xs = np.asarray(x, dtype="float64")[todo]
        ys = np.asarray(y, dtype="float64")[todo]
        out[todo] = assign_points_to_streets(xs, ys, ids, geoms,
                                             max_distance=MAX_STREET_DISTANCE_M)
    return out.to_numpy(dtype=object)


def street_figures(store, streets: pd.DataFrame, windows: EffectWindows, *,
                   crime_distance_m: float = 50.0,
                   all_streets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The before and after figures of each street of ``streets`` (``street_id``,
    ``households``, ``geom`` in EPSG:27700): crimes and harm per window, survey answers and
    answers of 4-5 (confidence, feeling safe) of the residents, and current members on the
    last day of each window. Only the area around the streets is read; ``all_streets``
    (``street_id``, ``geom``: every stored street, read when not given) compete for crimes
    and people."""
    from spatial_core.analytics.harm import CATEGORY_NAMES, crimes_to_harm, normalise_category
    from spatial_core.analytics.population import is_current_member
    from spatial_core.store.index import assign_points_to_streets

    ids = streets["street_id"].to_numpy(dtype=object)
    geoms = np.asarray(streets["geom"], dtype=object)
    out = pd.DataFrame({"street_id": ids,
                        "households": streets["households"].to_numpy(dtype="int64")})
    for c in (*_SUMS[1:], "harm_max_before", "harm_max_after"):
        out[c] = 0.0
    if not len(ids):
        return out
    pos = pd.Series(np.arange(len(ids)), index=ids)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    pad = 250.0
    box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    # every street near the area competes for its crimes and people, so that a crime nearer
    # a street outside the group is not pulled onto one inside it
    if all_streets is None:
        every = store.read("streets", ["street_id", "geom"])
        all_ids = every["street_id"].to_numpy(dtype=object)
        all_geoms = every.geometry.to_numpy() if len(every) else np.array([], dtype=object)
    else:
        all_ids = all_streets["street_id"].to_numpy(dtype=object)
        all_geoms = np.asarray(all_streets["geom"], dtype=object)
    inside = np.asarray(shapely.intersects(all_geoms, shapely.box(*box)), dtype=bool)
    near_ids, near_geoms = all_ids[inside], all_geoms[inside]

    def add(column: str, street: np.ndarray, weights=None) -> None:
        p = pd.Series(street, dtype=object).map(pos)
        ok = p.notna().to_numpy()
        w = np.ones(ok.sum()) if weights is None else np.asarray(weights, "float64")[ok]
        out[column] = out[column].to_numpy() + np.bincount(
            p[ok].to_numpy(dtype="int64"), weights=w, minlength=len(ids))

    t = schema.table("crimes")
    cr = store.read("crimes", ["month", "category", "offence_code", "x", "y"],
                    where=(t.c.month >= windows.before[0]) & (t.c.month <= windows.after[-1])
                    & t.c.x.isnot(None) & (t.c.is_outlier == 0) & _bbox_clause(t, box))
    if len(cr):
        sid = assign_points_to_streets(cr["x"].to_numpy("float64"), cr["y"].to_numpy("float64"),
                                       near_ids, near_geoms, max_distance=crime_distance_m)
        cats = cr["category"].astype(object)
        lut = {c: (normalise_category(str(c)) or "Other crime") for c in cats.unique()}
        cats = cats.map(lut)
        cats = cats.where(cats.isin(CATEGORY_NAMES), "Other crime")
        harm = crimes_to_harm(cats.to_numpy(dtype=object),
                              cr["offence_code"].to_numpy(dtype=object))
        month = cr["month"].astype(str).str.slice(0, 7)
        for w, months in (("before", windows.before), ("after", windows.after)):
            m = month.isin(set(months)).to_numpy()
            add(f"crimes_{w}", sid[m])
            add(f"harm_{w}", sid[m], harm[m])
            p = pd.Series(sid[m], dtype=object).map(pos)
            ok = p.notna().to_numpy()
            top = out[f"harm_max_{w}"].to_numpy(dtype="float64").copy()
            np.maximum.at(top, p[ok].to_numpy(dtype="int64"), harm[m][ok])
            out[f"harm_max_{w}"] = top

    ta = schema.table("addresses")
    addr = store.read("addresses", ["uprn", "postcode", "street_id"],
                      where=_bbox_clause(ta, box))
    tm = schema.table("members")
    mem = store.read("members", ["member_id", "uprn", "postcode", "x", "y", "joined",
                                 "left_on"], where=_bbox_clause(tm, box))
    mem_street = _streets_of_people(mem["uprn"], mem["postcode"], mem["x"], mem["y"], addr,
                                    near_ids, near_geoms)
    for w, day in (("before", windows.before_end), ("after", windows.after_end)):
        cur = is_current_member(mem["joined"], mem["left_on"], day)
        add(f"members_{w}", mem_street[cur])

    ts = schema.table("surveys")
    sv = store.read("surveys", ["responded", "member_id", "postcode", "x", "y", "confidence",
                                "feel_safe"],
                    where=(ts.c.responded >= windows.before_start)
                    & (ts.c.responded <= windows.after_end) & _bbox_clause(ts, box))
    if len(sv):
        m_uprn = mem.drop_duplicates("member_id").set_index("member_id")["uprn"]
        uprn = sv["member_id"].map(m_uprn)
        s_street = _streets_of_people(uprn, sv["postcode"], sv["x"], sv["y"], addr,
                                      near_ids, near_geoms)
        day = sv["responded"].astype(str).str.slice(0, 10)
        for w, (a, b) in (("before", (windows.before_start, windows.before_end)),
                          ("after", (windows.after_start, windows.after_end))):
            inw = ((day >= a) & (day <= b)).to_numpy()
            for key, col in (("conf", "confidence"), ("safe", "feel_safe")):
                v = pd.to_numeric(sv[col], errors="coerce").to_numpy(dtype="float64")
                answered = inw & np.isfinite(v)
                add(f"{key}_n_{w}", s_street[answered])
                add(f"{key}_k_{w}", s_street[answered & (np.nan_to_num(v) >= AGREE)])
    return out


# -- the whole comparison -----------------------------------------------------------------------
@dataclass(frozen=True)
class StreetGroupEffect:
    """The comparison of a group of targeted streets with matched comparison streets.

    ``streets``: one row per street evaluated (``street_id``, ``name``, ``beat_id``,
    ``group``, ``matched_to`` for a comparison street, ``households`` and the before/after
    sums of :func:`street_figures`); ``outcomes`` and ``cells``: as
    :func:`difference_in_differences`; ``balance``: :func:`balance_table`.
    """

    windows: EffectWindows
    streets: pd.DataFrame
    outcomes: pd.DataFrame
    cells: pd.DataFrame
    balance: pd.DataFrame
    warnings: tuple[str, ...]
    verdict: str
    method: Mapping[str, Any] = field(default_factory=dict)
    pre_trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The same comparison inside the before window (its first half against its second
    half, :func:`pre_trend`); empty when the before window has one month."""


def street_group_effect(store, targeted: Sequence[str], start: str, *,
                        before_months: int | None = None, after_months: int | None = None,
                        matches: int = 2, exclude_m: float = 100.0,
                        crime_distance_m: float = 50.0, n_boot: int = 2000, seed: int = SEED,
                        progress: Progress | None = None) -> StreetGroupEffect:
    """Compare ``targeted`` streets with matched comparison streets before and after
    ``start`` (see the module docstring for every choice).

    Raises :class:`~spatial_core.errors.InputError` when no targeted street is stored, when
    there is no before or after month, or when a parameter is out of range.
    """
    from spatial_core.analytics.harm import crime_months
    from spatial_core.analytics.population import area_table

    say = progress or (lambda f, m: None)
    if not (0 <= exclude_m <= 2000):
        raise InputError(f"exclude_m must be from 0 to 2000 metres, got {exclude_m!r}")
    if not (0 < crime_distance_m <= 500):
        raise InputError(f"crime_distance_m must be in (0, 500] metres, got "
                         f"{crime_distance_m!r}")
    windows, notes = effect_windows(start, crime_months(store), before_months=before_months,
                                    after_months=after_months)
    warnings = list(notes)
    say(0.05, "choosing comparison streets")
    st = store.read("streets", ["street_id", "name", "beat_id", "households", "geom"])
    st = pd.DataFrame({"street_id": st["street_id"].to_numpy(dtype=object),
                       "name": st["name"].to_numpy(dtype=object),
                       "beat_id": st["beat_id"].to_numpy(dtype=object),
                       "households": st["households"].fillna(0).to_numpy(dtype="int64"),
                       "geom": st.geometry.to_numpy() if len(st) else
                       np.array([], dtype=object)})
    wanted = set(map(str, targeted))
    is_t = st["street_id"].isin(wanted).to_numpy()
    if not is_t.any():
        raise InputError("none of the targeted streets is stored (were the streets "
                         "re-imported since?)")
    empty = is_t & (st["households"].to_numpy() <= 0)
    if empty.any():
        warnings.append(f"{int(empty.sum())} targeted street(s) without households left out "
                        f"(rates are per household).")
    tree = area_table(store)
    npa_of = tree[tree["level"] == "beat"].set_index("area_id")["parent_id"]
    st["stratum"] = st["beat_id"].map(npa_of).fillna(st["beat_id"]).fillna("")
    t_geoms = st["geom"].to_numpy()[is_t]
    close = np.zeros(len(st), dtype=bool)
    if exclude_m > 0:
        tree_idx = shapely.STRtree(st["geom"].to_numpy())
        _, near = tree_idx.query(t_geoms, predicate="dwithin", distance=exclude_m)
        close[near] = True
    strata = set(st.loc[is_t, "stratum"])
    cand = (~is_t) & ~close & (st["households"].to_numpy() > 0) & st["stratum"].isin(
        strata).to_numpy()
    pool = st[(is_t & ~empty) | cand].reset_index(drop=True)
    say(0.15, "counting crimes, answers and members")
    figures = street_figures(store, pool, windows, crime_distance_m=crime_distance_m,
                             all_streets=st)
    pool = pool.drop(columns=["households"]).merge(figures, on="street_id", how="left")
    pool["targeted"] = pool["street_id"].isin(wanted)
    say(0.7, "matching")
    matched = match_streets(pool, months_before=len(windows.before), matches=matches)
    pool["matched_to"] = pool["street_id"].map(matched)
    keep = pool["targeted"] | pool["matched_to"].notna()
    streets = pool[keep].copy()
    streets.insert(3, "group", np.where(streets["targeted"], "targeted", "comparison"))
    streets = streets.drop(columns=["targeted", "geom"]).sort_values(
        ["group", "street_id"], ascending=[False, True]).reset_index(drop=True)
    n_t = int((streets["group"] == "targeted").sum())
    n_c = int((streets["group"] == "comparison").sum())
    unmatched = n_t - streets.loc[streets["group"] == "comparison", "matched_to"].nunique()
    if unmatched > 0:
        warnings.append(f"{unmatched} targeted street(s) found no comparison street in their "
                        f"neighbourhood policing area.")
    if n_c < matches * n_t:
        warnings.append(f"{n_c} comparison streets for {n_t} targeted streets (wanted "
                        f"{matches} each): the comparison group is smaller than planned.")
    say(0.8, "difference in differences")
    outcomes, cells = difference_in_differences(streets, len(windows.before),
                                                len(windows.after), n_boot=n_boot, seed=seed)
    balance = balance_table(streets, len(windows.before))
    say(0.85, "checking the trends before the start")
    trend = pre_trend(store, streets, windows, all_streets=st,
                      crime_distance_m=crime_distance_m, n_boot=n_boot, seed=seed)
    for r in trend.itertuples():
        if r.status in ("better", "worse"):
            h = len(windows.before) // 2
            note = (f"Already before the start, {r.label.lower()} changed differently in the "
                    f"targeted streets ({r.did:+.1f}, 95% interval {r.ci_low:+.1f} to "
                    f"{r.ci_high:+.1f}, {windows.before[0]}..{windows.before[h - 1]} against "
                    f"{windows.before[h]}..{windows.before[-1]}): a difference after the "
                    f"start may continue that trend rather than show an effect.")
            warnings.append(note)
            i = outcomes.index[outcomes["outcome"] == r.outcome]
            outcomes.loc[i, "verdict"] = outcomes.loc[i, "verdict"] + (
                " But the groups were already drifting apart before the start (pre-trend "
                "check), so read this with care.")
    for g, n in (("targeted", n_t), ("comparison", n_c)):
        if n < MIN_STREETS:
            warnings.append(f"Only {n} {g} street(s): the intervals are rough at best.")
    small = cells[cells["outcome"].isin(["confidence"]) & (cells["n"] < WARN_RESPONDENTS)]
    for r in small.itertuples():
        warnings.append(f"Only {r.n} survey answers in the {r.group} streets {r.window} the "
                        f"start: the confidence and feeling-safe figures are uncertain.")
    for g in ("targeted", "comparison"):
        part = streets[streets["group"] == g]
        for w in ("before", "after"):
            total = float(part[f"harm_{w}"].sum())
            top = float(part[f"harm_max_{w}"].max()) if len(part) else 0.0
            if total > 0 and top / total > MAX_ONE_CRIME:
                warnings.append(f"One crime makes up {top / total:.0%} of the harm in the {g} "
                                f"streets {w} the start: the harm comparison rests on a "
                                f"handful of serious crimes.")
    for r in balance.itertuples():
        if np.isfinite(r.smd) and abs(r.smd) > MAX_SMD:
            warnings.append(f"Before the start the comparison streets differed from the "
                            f"targeted ones in {r.label} (standardised difference "
                            f"{r.smd:+.2f}): part of any difference may come from that.")
    verdict = overall_verdict(outcomes, n_t, n_c)
    method = {"matches": matches, "exclude_m": exclude_m, "crime_distance_m": crime_distance_m,
              "bootstrap_draws": n_boot, "seed": seed, "agree": AGREE,
              "matched_on": list(_COVARIATES), "within": "neighbourhood policing area"}
    say(1.0, "done")
    log.info("setup effect: %d targeted, %d comparison streets, windows %s / %s", n_t, n_c,
             windows.before, windows.after)
    return StreetGroupEffect(windows=windows, streets=streets, outcomes=outcomes, cells=cells,
                             balance=balance, warnings=tuple(warnings), verdict=verdict,
                             method=method, pre_trend=trend)


def pre_trend(store, streets: pd.DataFrame, windows: EffectWindows, *,
              all_streets: pd.DataFrame | None = None, crime_distance_m: float = 50.0,
              n_boot: int = 2000, seed: int = SEED) -> pd.DataFrame:
    """The parallel-trends check: the difference in differences of the same two groups of
    ``streets`` (``street_id``, ``group``, ``households``, ``geom``) inside the before
    window, its first half (the shorter one when odd) against its second half. An interval
    excluding 0 means the groups were already drifting apart before the start. Empty when
    the before window has a single month."""
    h = len(windows.before) // 2
    if h < 1:
        return pd.DataFrame()
    inner = EffectWindows(start=f"{windows.before[h]}-01", before=windows.before[:h],
                          after=windows.before[h:])
    if all_streets is None:
        every = store.read("streets", ["street_id", "geom"])
        all_streets = pd.DataFrame({"street_id": every["street_id"].to_numpy(dtype=object),
                                    "geom": every.geometry.to_numpy() if len(every) else
                                    np.array([], dtype=object)})
    geoms = streets["street_id"].map(pd.Series(np.asarray(all_streets["geom"], dtype=object),
                                               index=all_streets["street_id"].to_numpy()))
    base = pd.DataFrame({"street_id": streets["street_id"].to_numpy(dtype=object),
                         "households": streets["households"].to_numpy(dtype="int64"),
                         "geom": geoms.to_numpy(dtype=object)})
    figures = street_figures(store, base, inner, crime_distance_m=crime_distance_m,
                             all_streets=all_streets)
    figures["group"] = streets["group"].to_numpy(dtype=object)
    out, _ = difference_in_differences(figures, len(inner.before), len(inner.after),
                                       n_boot=n_boot, seed=seed)
    return out.assign(before=",".join(inner.before), after=",".join(inner.after))
