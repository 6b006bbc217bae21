# SPDX-License-Identifier: GPL-3.0-or-later
"""Key individual networks and advisory groups: where they are missing, and whom they stand for.

A force keeps, per beat, a *key individual network* (KIN: residents the team can call on) and
an *independent advisory group* (IAG): members whose community groups (``member_groups``)
include ``key_individual`` or ``iag``. Two questions about them:

- :func:`beat_networks`: per beat, the households, current members and current members of
  each network, the network members per 1,000 households, and the beats with **no** current
  key individual (``no_key_individual``) or fewer than ``min_members``
  (``below_min``): the beats without a key individual network list;
- :func:`network_representation`: how each network's membership compares with the
  population, group by group (geodemographic class of the household, or the self-declared
  ethnicity, language, religion or Origins where declared, against the census base). The
  comparison is :func:`spatial_core.analytics.representation.compare_to_population`, the one
  representation uses: a network's share of a group over the group's population share,
  with the Wilson 95% interval and the 70% target; alongside, all current members' share,
  so a network can be read against the membership it is drawn from.

Only counts leave this module: never a name, contact or point. Disclosure control for
partners and the public is :mod:`spatial_core.api.networks`'s.
``docs/analytics/networks.md`` gives the rules and defaults.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spatial_core.analytics.population import (
    area_table,
    households,
    households_per_area,
    members_frame,
)
from spatial_core.analytics.representation import (
    DEFAULT_TARGET,
    check_comparison,
    compare_to_population,
    name_rows,
    people_counts,
    population_counts,
)
from spatial_core.errors import InputError

__all__ = ["NETWORKS", "network_members", "beat_networks", "network_representation"]

log = logging.getLogger(__name__)

NETWORKS: dict[str, str] = {"key_individual": "Key Individual Network",
                            "iag": "Independent Advisory Group"}
"""The networks reported, by their ``member_groups`` slug."""


def _check_network(network: str) -> None:
    if network not in NETWORKS:
        raise InputError(f"network {network!r} is not one of {', '.join(NETWORKS)}")


def network_members(store, *, scheme: str = "oac2011", level: int | str = 1,
                    as_of: str | None = None, members: pd.DataFrame | None = None,
                    addresses: pd.DataFrame | None = None) -> pd.DataFrame:
    """The current members (:func:`~spatial_core.analytics.population.members_frame`, no
    names) with a boolean column per network of :data:`NETWORKS`: in it or not."""
    m = members_frame(store, scheme=scheme, level=level, as_of=as_of, addresses=addresses) \
        if members is None else members
    g = store.read("member_groups", ["member_id", "grp"])
    g = g[g["grp"].isin(list(NETWORKS))]
    out = m.copy()
    for net in NETWORKS:
        ids = set(g.loc[g["grp"] == net, "member_id"])
        out[net] = out["member_id"].isin(ids).to_numpy(dtype=bool)
    return out


def beat_networks(store, *, min_members: int = 1, as_of: str | None = None) -> pd.DataFrame:
    """Per stored beat: households, members and the current members of each network.

    Parameters
    ----------
    min_members : int
        A beat with fewer current key individuals is flagged ``below_min`` (default 1: only
        the beats with none).
    as_of : str, optional
        The day members are counted on (default today).

    Returns
    -------
    pandas.DataFrame
        One row per beat of the newest boundaries, ``area_id`` order: ``area_id``,
        ``area_name``, ``npa_id``, ``households``, ``members``, ``key_individual``, ``iag``
        (current members of each network placed in the beat), ``key_individual_per_1000``
        and ``iag_per_1000`` (per 1,000 households; NaN without households),
        ``no_key_individual``, ``no_iag`` (none at all), ``below_min`` (fewer than
        ``min_members`` key individuals) and ``note``.

    Examples
    --------
    The flags on counts (beat B has none, beat C fewer than two):

    >>> f = _flags(pd.DataFrame({"key_individual": [3, 0, 1], "iag": [1, 0, 0],
    ...                          "households": [1000, 500, 0]}), 2)
    >>> f[["no_key_individual", "below_min", "key_individual_per_1000"]].values.tolist()
    [[False, False, 3.0], [True, True, 0.0], [False, True, nan]]
    """
    if isinstance(min_members, bool) or not isinstance(min_members, (int, np.integer)) \
            or min_members < 1:
        raise InputError(f"min_members is a whole number of at least 1, got {min_members!r}")
    areas = area_table(store)
    beats = areas[areas["level"] == "beat"].sort_values("area_id")
    m = network_members(store, as_of=as_of)
    out = pd.DataFrame({"area_id": beats["area_id"].to_numpy(dtype=object),
                        "area_name": beats["name"].fillna(beats["area_id"]).to_numpy(
                            dtype=object),
                        "npa_id": beats["parent_id"].to_numpy(dtype=object)})
    homes = households_per_area(store, "beat")
    out["households"] = out["area_id"].map(homes).fillna(0).astype("int64")
    out["members"] = out["area_id"].map(m["beat_id"].value_counts()).fillna(0).astype("int64")
    for net in NETWORKS:
        per = m.loc[m[net], "beat_id"].value_counts()
        out[net] = out["area_id"].map(per).fillna(0).astype("int64")
    return _flags(out, int(min_members)).reset_index(drop=True)


def _flags(out: pd.DataFrame, min_members: int) -> pd.DataFrame:
    hh = out["households"].to_numpy(dtype="float64")
    for net in NETWORKS:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{net}_per_1000"] = np.where(hh > 0, 1000.0 * out[net] / np.where(
                hh > 0, hh, 1.0), np.nan)
        out[f"no_{net}"] = out[net].to_numpy() == 0
    out["below_min"] = out["key_individual"].to_numpy() < min_members
    note = np.full(len(out), "", dtype=object)
    note[out["below_min"].to_numpy()] = (
        f"fewer than {min_members} current key individual{'s' if min_members > 1 else ''}")
    note[out["no_key_individual"].to_numpy()] = "no current key individual: no network list"
    out["note"] = note
    return out


def network_representation(store, *, network: str = "key_individual", by: str = "class",
                           area_level: str = "force", scheme: str = "oac2011",
                           level: int | str = 1, target: float = DEFAULT_TARGET,
                           min_n: float = 0, as_of: str | None = None) -> pd.DataFrame:
    """How a network's current membership compares with the population, per area and group.

    Parameters
    ----------
    network : str
        ``key_individual`` or ``iag`` (:data:`NETWORKS`).
    by : str
        ``class`` (the household's geodemographic class at ``scheme``/``level``), or a
        self-declared grouping of
        :data:`~spatial_core.analytics.representation.BY` (``ethnicity``, ``language`` …:
        members who declared one, against the census base imported with
        ``lpt import census``).
    area_level : str
        ``force`` (default), ``npa``, ``ward`` or ``beat``.
    target, min_n : float
        As in :func:`~spatial_core.analytics.representation.representation`: a group's
        network ratio below ``target`` is flagged, where at least ``min_n`` network
        members are expected in it.

    Returns
    -------
    pandas.DataFrame
        One row per (area, group): ``network``, ``area_id``, ``area_name``, ``group``,
        ``group_name``, ``population``, ``population_share``, then for the network's members
        ``network_members``, ``network_member_share``, ``network_member_ratio``,
        ``network_member_ci_low``, ``network_member_ci_high``, ``network_member_below``,
        ``network_member_clearly_below``, ``network_member_n``, ``network_member_expected``,
        the same for all current members (``members``, ``member_share``, ``member_ratio`` …)
        and ``note``. Ratios are NaN without a population base.
    """
    _check_network(network)
    check_comparison(by, area_level, target)
    if float(min_n) < 0:
        raise InputError(f"min_n is a count of at least 0, got {min_n}")
    h = households(store, scheme=scheme, level=level, as_of=as_of)
    m = network_members(store, scheme=scheme, level=level, as_of=as_of, addresses=h)
    pop, names = population_counts(store, by, area_level, households_frame=h, scheme=scheme,
                                   level=level)
    out = compare_to_population(pop, {
        "network_member": people_counts(store, m[m[network]], by, area_level),
        "member": people_counts(store, m, by, area_level)}, target, min_n=float(min_n))
    out = name_rows(store, out, by, pop, names)
    out.insert(0, "network", network)
    return out
