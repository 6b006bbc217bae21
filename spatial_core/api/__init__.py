# SPDX-License-Identifier: GPL-3.0-or-later
"""The use-case layer: what every front (CLI, service, plugin) calls.

A front parses its input, builds a :class:`Scope` (who is asking: their role, the areas whose
rows they may see, the disclosure threshold ``k``, the day), calls one function here and
converts the result. Each domain rule lives once, below this layer or in it:

- :mod:`spatial_core.api.scores` street scores for a profile;
- :mod:`spatial_core.api.areas` area profiles with disclosure applied;
- :mod:`spatial_core.api.setups` the set-ups and walk lists a scope may see;
- :mod:`spatial_core.api.contacts` key contacts;
- :mod:`spatial_core.api.attribution` the attribution lines of the data shown;
- :mod:`spatial_core.api.export`, :mod:`spatial_core.api.mainjob` exports and the main job.

Roles (the service's names, ``docs/geoservice.md``): ``force_analyst`` sees every area;
``supervisor`` their neighbourhood policing areas (npa ids) and the beats under them;
``beat_officer`` their beats; ``partner`` and ``public`` see aggregates only, with small
counts withheld (``k``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Scope", "FORCE", "POLICE_ROLES", "AGGREGATE_ROLES", "NAME_ROLES", "ROLES",
           "scope_beats", "scope_areas", "DEFAULT_K"]

POLICE_ROLES = ("force_analyst", "supervisor", "beat_officer")
"""Roles that see row-level police data (in their areas)."""
AGGREGATE_ROLES = ("partner", "public")
"""Roles that see aggregates only, disclosure-controlled."""
ROLES = (*POLICE_ROLES, *AGGREGATE_ROLES)
NAME_ROLES = ("force_analyst", "supervisor")
"""Police roles that see the names of key contacts (a beat officer asks their supervisor)."""
DEFAULT_K = 5
"""The disclosure threshold: no published count in ``1 .. k-1``."""


def scope_beats(tree: pd.DataFrame, role: str, assigned: Iterable[str]) -> list[str] | None:
    """The beat ids a caller of ``role`` assigned to ``assigned`` areas may see (None = every
    beat; [] = none). ``tree``: ``area_id``, ``level``, ``parent_id`` of the newest areas
    (:func:`spatial_core.analytics.population.area_table`)."""
    if role == "force_analyst":
        return None
    if role not in ("supervisor", "beat_officer"):
        return []
    beats = tree[tree["level"] == "beat"]
    mine = set(assigned)
    if role == "supervisor":
        return sorted(beats.loc[beats["parent_id"].isin(mine), "area_id"])
    return sorted(beats.loc[beats["area_id"].isin(mine), "area_id"])


def scope_areas(tree: pd.DataFrame, role: str, assigned: Iterable[str]) -> list[str] | None:
    """The area ids whose rows the caller may see: :func:`scope_beats`, and a supervisor's
    npas (None = every area)."""
    assigned = list(assigned)
    beats = scope_beats(tree, role, assigned)
    if beats is None:
        return None
    if role == "supervisor":
        npas = tree.loc[(tree["level"] == "npa") & tree["area_id"].isin(assigned), "area_id"]
        return sorted(set(beats) | set(npas))
    return beats


@dataclass(frozen=True)
class Scope:
    """Who is asking: what every use-case takes.

    ``areas`` are the area ids whose rows the caller may see (beats, and a supervisor's npas;
    :func:`scope_areas`); None means the whole force. ``k`` is the disclosure threshold
    applied for aggregate roles; ``as_of`` the day asked about (None: today or the data's
    newest day, as each use-case says).
    """

    role: str = "force_analyst"
    areas: frozenset[str] | None = None
    k: int = DEFAULT_K
    as_of: str | None = None

    @classmethod
    def for_caller(cls, tree: pd.DataFrame, role: str, assigned: Iterable[str] = (), *,
                   k: int = DEFAULT_K, as_of: str | None = None) -> Scope:
        """The scope of a caller with ``role`` assigned to ``assigned`` areas."""
        areas = scope_areas(tree, role, assigned)
        return cls(role=role, areas=None if areas is None else frozenset(areas), k=int(k),
                   as_of=as_of)

    @property
    def police(self) -> bool:
        return self.role in POLICE_ROLES

    @property
    def aggregate(self) -> bool:
        """Aggregates only: every area, counts disclosure-controlled."""
        return self.role in AGGREGATE_ROLES

    @property
    def disclosure_k(self) -> int | None:
        """``k`` for aggregate roles; None (exact counts) for police roles."""
        return self.k if self.aggregate else None

    @property
    def sees_names(self) -> bool:
        return self.role in NAME_ROLES

    def sees(self, area_ids) -> np.ndarray:
        """Which of ``area_ids`` (beat or area ids, one per row) are in the scope."""
        ids = pd.Series(np.asarray(area_ids, dtype=object))
        if self.areas is None:
            return np.ones(len(ids), dtype=bool)
        return ids.isin(self.areas).to_numpy(dtype=bool)


FORCE = Scope()
"""The whole force as a force analyst sees it (the CLI's and the plugin's default)."""
