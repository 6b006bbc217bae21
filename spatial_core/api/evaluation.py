# SPDX-License-Identifier: GPL-3.0-or-later
"""Did a set-up work? Its evaluation as a scope may see it.

:func:`evaluate_setup` compares a set-up's streets with comparable streets that were not
targeted, before and after the set-up started
(:func:`spatial_core.analytics.setup_effect.street_group_effect`). Who may ask is the set-up
rule (:func:`spatial_core.api.setups.may_see_setup`: a set-up with a street in the caller's
beats; every set-up for a force-wide scope; none for partners and the public). The answer is
aggregate: counts and rates per group of streets, and per street the crimes, members and
the number of survey answers; a street's shares of confident or safe answers are withheld
when it has fewer than ``k`` answers (``scope.k``), so no small group's answers can be read
off. No name, address or member id is ever in it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spatial_core.analytics.setup_effect import StreetGroupEffect, street_group_effect
from spatial_core.api import FORCE, Scope
from spatial_core.errors import InputError, NotFoundError
from spatial_core.frames import json_records

__all__ = ["SetupEvaluation", "evaluate_setup", "street_table", "AFTER_FROM",
           "setups_in_area"]

AFTER_FROM = ("start", "end")
"""Where the after window begins: the set-up's start (created) or its end (archived)."""


def street_table(effect: StreetGroupEffect, k: int) -> pd.DataFrame:
    """Per street, what a map shows: crime and harm per 1,000 households per month, survey
    answers and the share confident / feeling safe (withheld below ``k`` answers), and
    members per 100 households, before and after."""
    s = effect.streets
    mb, ma = len(effect.windows.before), len(effect.windows.after)
    h = s["households"].to_numpy(dtype="float64")
    out = s[["street_id", "name", "beat_id", "group", "matched_to", "households"]].copy()

    def per(a, b, scale):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 0, scale * a / np.where(b > 0, b, 1), np.nan)

    for w, months in (("before", mb), ("after", ma)):
        out[f"crimes_{w}"] = s[f"crimes_{w}"].astype("int64")
        out[f"crime_rate_{w}"] = per(s[f"crimes_{w}"].to_numpy(float), h * months, 1000.0)
        out[f"harm_rate_{w}"] = per(s[f"harm_{w}"].to_numpy(float), h * months, 1000.0)
    for w in ("before", "after"):
        n = s[f"conf_n_{w}"].to_numpy(float)
        out[f"respondents_{w}"] = n.astype("int64")
        out[f"confident_pct_{w}"] = np.where(n >= k, per(s[f"conf_k_{w}"].to_numpy(float), n,
                                                         100.0), np.nan)
        ns = s[f"safe_n_{w}"].to_numpy(float)
        out[f"safe_pct_{w}"] = np.where(ns >= k, per(s[f"safe_k_{w}"].to_numpy(float), ns,
                                                     100.0), np.nan)
    for w in ("before", "after"):
        out[f"members_{w}"] = s[f"members_{w}"].astype("int64")
        out[f"members_per_100_{w}"] = per(s[f"members_{w}"].to_numpy(float), h, 100.0)
    out["crime_rate_change"] = out["crime_rate_after"] - out["crime_rate_before"]
    out["members_per_100_change"] = out["members_per_100_after"] - out["members_per_100_before"]
    return out


@dataclass(frozen=True)
class SetupEvaluation:
    """A set-up's evaluation: the set-up, the windows, the difference-in-differences table
    (``outcomes``), each group's figures (``cells``), the balance before the start, the
    streets (``streets``, :func:`street_table`), warnings and the verdict."""

    setup_id: str
    name: str
    goal: str
    status: str
    started: str
    ended: str | None
    after_from: str
    effect: StreetGroupEffect
    streets: pd.DataFrame

    @property
    def outcomes(self) -> pd.DataFrame:
        return self.effect.outcomes

    @property
    def verdict(self) -> str:
        return self.effect.verdict

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.effect.warnings

    def to_dict(self, *, streets: bool = True) -> dict[str, Any]:
        """Plain data (JSON-ready: NaN as None)."""
        e = self.effect
        out = {"setup_id": self.setup_id, "name": self.name, "goal": self.goal,
               "status": self.status, "started": self.started, "ended": self.ended,
               "after_from": self.after_from, "windows": e.windows.to_dict(),
               "streets_targeted": int((e.streets["group"] == "targeted").sum()),
               "streets_comparison": int((e.streets["group"] == "comparison").sum()),
               "outcomes": json_records(e.outcomes, digits=4),
               "cells": json_records(e.cells, digits=4),
               "balance": json_records(e.balance, digits=4),
               "pre_trend": json_records(e.pre_trend, digits=4),
               "warnings": list(e.warnings),
               "verdict": e.verdict, "method": dict(e.method)}
        if streets:
            out["streets"] = json_records(self.streets, digits=4)
        return out


def evaluate_setup(store, setup_id: str, scope: Scope = FORCE, *,
                   before_months: int | None = None, after_months: int | None = None,
                   after_from: str = "start", matches: int = 2, exclude_m: float = 100.0,
                   progress: Callable[[float, str], None] | None = None) -> SetupEvaluation:
    """The before/after evaluation of set-up ``setup_id`` as ``scope`` may see it.

    ``after_from="start"`` (default) compares from the month the set-up was created;
    ``"end"`` from the month it was archived (its work done). ``before_months`` (default:
    as many as the after window) and ``after_months`` (default: to the newest stored crime
    month) size the windows. A set-up the scope may not see is "not found", exactly like one
    that does not exist.
    """
    from spatial_core.api.setups import UNKNOWN_SETUP, may_see_setup
    from spatial_core.store import schema
    from spatial_core.targeting.setups import get_setup

    if after_from not in AFTER_FROM:
        raise InputError(f"after_from must be one of {list(AFTER_FROM)}, got {after_from!r}")
    if not isinstance(setup_id, str) or not setup_id.strip():
        raise InputError("a set-up id is needed (lpt setup list shows them)")
    setup_id = setup_id.strip()
    if scope.areas is not None and not may_see_setup(store, setup_id, scope):
        raise NotFoundError(UNKNOWN_SETUP)
    setup = get_setup(store, setup_id)  # NotFoundError listing the ids (force-wide scope)
    if after_from == "end" and not setup.archived_at:
        raise InputError(f"set-up {setup_id!r} is still live: evaluate from its start, or "
                         f"archive it first (lpt setup archive {setup_id})")
    day = str(setup.archived_at if after_from == "end" else setup.created_at)[:10]
    t = schema.table("setup_streets")
    ids = store.read("setup_streets", ["street_id"],
                     where=t.c.setup_id == setup_id)["street_id"].tolist()
    if not ids:
        raise InputError(f"set-up {setup_id!r} has no recommended street to evaluate")
    effect = street_group_effect(store, ids, day, before_months=before_months,
                                 after_months=after_months, matches=matches,
                                 exclude_m=exclude_m, progress=progress)
    return SetupEvaluation(setup_id=setup.setup_id, name=setup.name, goal=setup.goal,
                           status=setup.status, started=setup.created_at[:10],
                           ended=setup.archived_at[:10] if setup.archived_at else None,
                           after_from=after_from, effect=effect,
                           streets=street_table(effect, scope.k))


def setups_in_area(store, area_id: str, scope: Scope = FORCE) -> pd.DataFrame:
    """The set-ups ``scope`` may see with a recommended street in ``area_id`` (a beat, npa,
    ward or the force), newest first: ``setup_id``, ``name``, ``status``, ``created_at``."""
    from spatial_core.api.setups import visible_setups
    from spatial_core.targeting.scoring import streets_in_area

    f = visible_setups(store, scope)
    if not len(f):
        return f.reindex(columns=["setup_id", "name", "status", "created_at"])
    st = store.read("streets", ["street_id", "beat_id", "ward_id"])
    inside = set(st.loc[streets_in_area(store, st, area_id), "street_id"])
    ss = store.read("setup_streets", ["setup_id", "street_id"])
    hit = set(ss.loc[ss["street_id"].isin(inside), "setup_id"])
    f = f[f["setup_id"].isin(hit)]
    return f.sort_values(["created_at", "setup_id"], ascending=[False, True])[
        ["setup_id", "name", "status", "created_at"]].reset_index(drop=True)
