# SPDX-License-Identifier: GPL-3.0-or-later
"""Key individual networks and advisory groups for a scope: the beats without a network list,
and how the networks' membership compares with the population.

Police roles see their own beats (and areas) with exact counts. Partners and the public see
every beat and area as aggregates only:

- :func:`network_gaps`: households, members and each network's members per beat pass
  through :func:`spatial_core.analytics.disclosure.suppress_counts` over the whole area tree
  (force, npas, beats, wards) with the overlaps of beats and npas with wards, each count on
  its own, so households and members are withheld exactly where the ``areas`` collection
  withholds them; a rate or flag derived from a withheld count is withheld with it (a beat
  with none is published: zero tells nothing about a person);
- :func:`network_groups`: within each area the groups' counts (population, network
  members, members) and the area's total form one equation per count, to which
  ``suppress_counts`` applies; the shares, ratios, intervals and flags of a withheld count
  are withheld with it.

No name, contact, address or point is ever part of these tables.
"""
from __future__ import annotations

import pandas as pd

from spatial_core.analytics.networks import NETWORKS, beat_networks, network_representation
from spatial_core.api import FORCE, Scope
from spatial_core.api.groups import disclose_group_counts

__all__ = ["network_gaps", "network_groups", "GAP_COUNTS", "GROUP_COUNTS"]

GAP_COUNTS = ("households", "members", *NETWORKS)
"""The counts of a :func:`network_gaps` row."""

GROUP_COUNTS = ("population", "network_members", "members")
"""The counts of a :func:`network_groups` row."""

_GAP_DERIVED: dict[str, tuple[str, ...]] = {net: (f"{net}_per_1000", f"no_{net}")
                                            for net in NETWORKS}
_GAP_DERIVED["key_individual"] += ("below_min",)
_GAP_DERIVED["households"] = tuple(f"{net}_per_1000" for net in NETWORKS)

_GROUP_DERIVED = {
    "population": ("population_share", "network_member_ratio", "network_member_ci_low",
                   "network_member_ci_high", "member_ratio", "member_ci_low", "member_ci_high",
                   "network_member_expected", "member_expected"),
    "network_members": ("network_member_share", "network_member_ratio",
                        "network_member_ci_low", "network_member_ci_high",
                        "network_member_below", "network_member_clearly_below"),
    "members": ("member_share", "member_ratio", "member_ci_low", "member_ci_high",
                "member_below", "member_clearly_below"),
}

_GROUP_TOTALS = {"network_members": ("network_member_n", ("network_member_expected",)),
                 "members": ("member_n", ("member_expected",))}


def network_gaps(store, scope: Scope = FORCE, *, min_members: int = 1,
                 as_of: str | None = None) -> pd.DataFrame:
    """:func:`~spatial_core.analytics.networks.beat_networks` for ``scope``: police roles
    their beats, exact; partners and the public every beat, disclosure-controlled at
    ``scope.k`` (the module docstring), with ``disclosure`` saying which."""
    as_of = as_of if as_of is not None else scope.as_of
    out = beat_networks(store, min_members=min_members, as_of=as_of)
    k = scope.disclosure_k
    if k is None:
        out = out[scope.sees(out["area_id"])].reset_index(drop=True)
        return out.assign(disclosure="exact")
    shown = _suppressed_tree_counts(store, as_of, k).set_index("area_id")
    for c in GAP_COUNTS:
        values = out["area_id"].map(shown[c]).to_numpy(dtype=object)
        withheld = pd.isna(values)
        out[c] = values
        for d in _GAP_DERIVED.get(c, ()):
            out[d] = out[d].astype(object)
            out.loc[withheld, d] = None
    held = pd.isna(out[list(GAP_COUNTS)]).any(axis=1).to_numpy(dtype=bool)
    out.loc[held, "note"] = f"withheld: a count below {k}, or one that would give it away"
    return out.assign(disclosure=f"k={k}")


def _suppressed_tree_counts(store, as_of: str | None, k: int) -> pd.DataFrame:
    """Households, members and network members of every area (all levels), suppressed
    together with the beat/npa x ward overlaps."""
    from spatial_core.analytics.disclosure import counts_and_overlaps, pair_counts, suppress_counts
    from spatial_core.analytics.networks import network_members

    counts, pairs = counts_and_overlaps(store, as_of=as_of)
    m = network_members(store, as_of=as_of)
    for net in NETWORKS:
        mine = m[m[net]]
        per = pd.concat([mine[f"{lv}_id"].dropna() for lv in ("beat", "npa", "ward", "force")
                         if f"{lv}_id" in mine.columns]).value_counts()
        counts[net] = counts["area_id"].map(per).fillna(0).astype("int64")
        pc = pair_counts(mine["beat_id"], mine["npa_id"], mine["ward_id"]).rename(net)
        pairs = pairs.merge(pc.reset_index(), on=["area_a", "area_b"], how="outer")
    pairs = pairs.fillna(0)
    return suppress_counts(counts, list(GAP_COUNTS), k=k, overlaps=pairs)


def network_groups(store, scope: Scope = FORCE, *, network: str = "key_individual",
                   by: str = "class", area_level: str = "force", scheme: str = "oac2011",
                   level: int | str = 1, target: float = 0.7, min_n: float = 0,
                   as_of: str | None = None) -> pd.DataFrame:
    """:func:`~spatial_core.analytics.networks.network_representation` for ``scope``: police
    roles the areas they may see, exact; partners and the public every area,
    disclosure-controlled at ``scope.k`` (the module docstring)."""
    out = network_representation(store, network=network, by=by, area_level=area_level,
                                 scheme=scheme, level=level, target=target, min_n=min_n,
                                 as_of=as_of if as_of is not None else scope.as_of)
    k = scope.disclosure_k
    if k is None:
        out = out[scope.sees(out["area_id"])].reset_index(drop=True)
        return out.assign(disclosure="exact")
    return disclose_group_counts(out, _GROUP_DERIVED, k, totals=_GROUP_TOTALS).assign(
        disclosure=f"k={k}")
