# SPDX-License-Identifier: GPL-3.0-or-later
"""Key contacts: current members of the key individual network and the independent advisory
group (personal data).

A caller sees the contacts in their beats (the beat holding the member's location). Names go
to force analysts and supervisors only (:data:`spatial_core.api.NAME_ROLES`): a beat officer
sees the contact's id, groups, postcode and location (to plan where to go) and asks their
supervisor for names. Partners and the public see none.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from spatial_core.analytics.population import is_current_member
from spatial_core.api import FORCE, Scope

__all__ = ["KEY_GROUPS", "key_contacts", "key_contacts_table", "withheld_fields"]

KEY_GROUPS = ("key_individual", "iag")
"""The member groups that are key contacts."""


def key_contacts_table(store, as_of: str | None = None) -> pd.DataFrame:
    """Every key contact current on ``as_of`` (default today): ``member_id``, ``name``,
    ``postcode``, ``joined``, ``groups`` (sorted list), ``beat_id`` and ``geometry`` (their
    point), whoever asks; :func:`key_contacts` limits it to a scope."""
    from spatial_core.store import schema
    from spatial_core.store.index import assign_points_to_areas

    g = store.read("member_groups", ["member_id", "grp"],
                   where=schema.table("member_groups").c.grp.in_(KEY_GROUPS))
    groups = g.groupby("member_id")["grp"].agg(lambda s: sorted(set(s)))
    t = schema.table("members")
    m = store.read("members", ["member_id", "name", "postcode", "x", "y", "joined",
                               "left_on", "geom"],
                   where=t.c.member_id.in_(groups.index.tolist()))
    m = m[is_current_member(m["joined"], m["left_on"], as_of or date.today().isoformat())]
    f = pd.DataFrame({c: m[c].to_numpy(object) for c in
                      ("member_id", "name", "postcode", "joined")})
    f["groups"] = [groups.get(i, []) for i in f["member_id"]]
    f["beat_id"] = assign_points_to_areas(store, m["x"].to_numpy(float),
                                          m["y"].to_numpy(float), "beat")
    f["geometry"] = m.geometry.to_numpy(object) if len(m) else []
    return f


def withheld_fields(scope: Scope) -> set[str]:
    """The key-contact fields ``scope`` may not see: ``name`` unless the role sees names."""
    return set() if scope.sees_names else {"name"}


def key_contacts(store, scope: Scope = FORCE, as_of: str | None = None) -> pd.DataFrame:
    """The key contacts in ``scope``'s beats current on ``as_of`` (default ``scope.as_of``,
    else today), with the fields the scope may not see set to None."""
    f = key_contacts_table(store, as_of if as_of is not None else scope.as_of)
    f = f[scope.sees(f["beat_id"]) & scope.police].reset_index(drop=True)
    return f.assign(**{c: None for c in withheld_fields(scope)})
