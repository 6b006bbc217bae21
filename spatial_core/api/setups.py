# SPDX-License-Identifier: GPL-3.0-or-later
"""Set-ups and walk lists as a scope may see them, and recording a visit in a scope.

The visibility rule, written once (:func:`visible_setups_mask`): a set-up is visible to a
caller when at least one of its recommended streets is in the caller's beats (every set-up
for a force-wide scope). A set-up is one shared operation, so a visible set-up shows its
whole summary (name, goal, areas and beats, outline, streets and households to knock in all
its beats): an officer on a two-beat operation knows whom they share it with. That summary is
operational, not personal; what is personal, the addresses to knock, is cut to the caller's
beats (:func:`walk_lists`). Stored walk lists never hold names or contacts.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from spatial_core.api import FORCE, Scope
from spatial_core.errors import InputError

__all__ = ["setups_table", "walk_lists_table", "visible_setups_mask", "visible_setups",
           "walk_lists", "may_see_setup", "record_visit_in_scope", "SetupNotVisible",
           "UNKNOWN_SETUP", "check_setup_name", "new_setup_id", "SETUP_NAME_MAX"]

UNKNOWN_SETUP = ("setup_id does not name a set-up you may see; expected the id of a set-up "
                 "with a street in your beats (GET /collections/setups/items), or leave "
                 "setup_id out")
"""The refusal for a ``setup_id`` that does not exist *or* is outside the caller's beats
(one message for both, so the answer does not tell which)."""


SETUP_NAME_MAX = 120
"""Longest set-up name (characters)."""


def check_setup_name(name: Any) -> str:
    """A set-up name as stored: one line of 1-120 characters without markup characters
    (``<``, ``>``, ``&``, quotes or backticks: a name is shown in map popups, reports and
    documents); surrounding spaces trimmed. InputError otherwise.

    >>> check_setup_name("  Harehills recruitment, spring ")
    'Harehills recruitment, spring'
    >>> check_setup_name("<img src=x onerror=alert(1)>")
    Traceback (most recent call last):
    ...
    spatial_core.errors.InputError: a set-up name may not contain < > & " ' or ` ...
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("a set-up needs a name")
    name = name.strip()
    if len(name) > SETUP_NAME_MAX:
        raise InputError(f"a set-up name is at most {SETUP_NAME_MAX} characters "
                         f"(got {len(name)})")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError("a set-up name is one line without control characters")
    if any(c in name for c in "<>&\"'`"):
        raise InputError("a set-up name may not contain < > & \" ' or ` (it is shown in "
                         "maps and documents)")
    return name


def new_setup_id(name: str) -> str:
    """A new set-up id for a name: its slug and 8 random hex digits. It never depends on
    other set-ups, so it tells a caller nothing about set-ups they may not see (a name taken
    in another beat used to give ``-2``).

    >>> import re
    >>> bool(re.fullmatch(r"spring-recruitment-[0-9a-f]{8}", new_setup_id("Spring recruitment")))
    True
    """
    import re
    import secrets

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-") or "setup"
    return f"{slug}-{secrets.token_hex(4)}"


class SetupNotVisible(InputError):
    """A visit names a set-up that does not exist or that the scope may not see."""


def _geoms(frame) -> np.ndarray:
    return frame.geometry.to_numpy(object) if len(frame) else np.array([], dtype=object)


def _json_list(text) -> list:
    try:
        v = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return v if isinstance(v, list) else []


def setups_table(store) -> pd.DataFrame:
    """Every stored set-up, one row each: its stored fields, ``areas`` and ``target_groups``
    as lists, ``beats`` (of its streets), ``streets``, ``households_to_knock`` and
    ``geometry`` (the area outline)."""
    s = store.read("setups", [
        "setup_id", "name", "status", "goal", "areas", "target_groups", "profile_name",
        "as_of", "created_at", "archived_at", "max_streets", "target_visits",
        "target_registrations", "target_surveys", "geom"])
    st = store.read("setup_streets", ["setup_id", "beat_id", "to_knock"])
    f = pd.DataFrame({c: s[c].to_numpy(object) for c in s.columns if c != "geom"})
    f["geometry"] = _geoms(s)
    f["areas"] = [_json_list(v) for v in f["areas"]]
    f["target_groups"] = [_json_list(v) for v in f["target_groups"]]
    beats = st.dropna(subset=["beat_id"]).groupby("setup_id")["beat_id"].agg(
        lambda b: sorted(set(b)))
    f["beats"] = [beats.get(i, []) for i in f["setup_id"]]
    f["streets"] = f["setup_id"].map(st.groupby("setup_id").size()).fillna(0).astype(int)
    f["households_to_knock"] = f["setup_id"].map(
        st.groupby("setup_id")["to_knock"].sum()).fillna(0).astype(int)
    return f


def walk_lists_table(store) -> pd.DataFrame:
    """Every stored walk-list address (UPRN, postcode, walk order, class group, target flag,
    reason, suppressed-until) with its street's name, beat and rank; ``walk_id`` is
    ``<setup_id>/<uprn>``. Sorted by set-up, street rank and walk order."""
    h = store.read("setup_households", [
        "setup_id", "street_id", "uprn", "postcode", "walk_order", "grp", "is_target",
        "reason", "suppressed_until", "geom"])
    st = store.read("setup_streets", ["setup_id", "street_id", "name", "beat_id",
                                      "street_rank"])
    f = pd.DataFrame({c: h[c].to_numpy(object) for c in h.columns if c != "geom"})
    f["geometry"] = _geoms(h)
    st = pd.DataFrame({c: st[c].to_numpy(object) for c in st.columns})
    f = f.merge(st.rename(columns={"name": "street_name"}), on=["setup_id", "street_id"],
                how="left")
    f["walk_id"] = f["setup_id"].astype(str) + "/" + f["uprn"].astype(str)
    f["is_target"] = f["is_target"].astype(bool)
    return f.sort_values(["setup_id", "street_rank", "walk_order"]).reset_index(drop=True)


def visible_setups_mask(setup_beats: Sequence[Iterable[str]], scope: Scope) -> np.ndarray:
    """Which set-ups (given the beats of each one's streets) ``scope`` may see: every one
    for a force-wide scope, else those with a street in the scope's beats.

    >>> visible_setups_mask([["beat:A"], ["beat:B", "beat:C"], []],
    ...                     Scope(role="beat_officer", areas=frozenset({"beat:C"}))).tolist()
    [False, True, False]
    """
    if scope.areas is None:
        return np.ones(len(setup_beats), dtype=bool)
    mine = scope.areas
    return np.array([bool(mine.intersection(b)) for b in setup_beats], dtype=bool)


def visible_setups(store, scope: Scope = FORCE) -> pd.DataFrame:
    """The set-ups ``scope`` may see (:func:`setups_table` rows)."""
    f = setups_table(store)
    return f[visible_setups_mask(f["beats"], scope)].reset_index(drop=True)


def walk_lists(store, scope: Scope = FORCE, setup_id: str | None = None) -> pd.DataFrame:
    """The walk-list addresses in ``scope``'s beats (of one set-up when ``setup_id``)."""
    f = walk_lists_table(store)
    keep = scope.sees(f["beat_id"])
    if setup_id is not None:
        keep &= (f["setup_id"] == setup_id).to_numpy(dtype=bool)
    return f[keep].reset_index(drop=True)


def may_see_setup(store, setup_id: str, scope: Scope) -> bool:
    """Whether the set-up exists and ``scope`` may see it (:func:`visible_setups_mask`)."""
    from spatial_core.store import schema

    setups, streets = schema.table("setups"), schema.table("setup_streets")
    with store.connect() as conn:
        if not store.has_table(conn, "setups"):
            return False  # a store made before set-ups: none exists
        if not store.count("setups", where=setups.c.setup_id == setup_id, conn=conn):
            return False
        if scope.areas is None:
            return True
        beats = store.read("setup_streets", ["beat_id"],
                           where=streets.c.setup_id == setup_id, conn=conn)["beat_id"]
    return bool(visible_setups_mask([set(beats.dropna())], scope)[0])


def record_visit_in_scope(store, scope: Scope, *, uprn: Any, outcome: Any, visited_at: Any,
                          officer: str, notes: Any = None, setup_id: str | None = None
                          ) -> str:
    """Record a door-knock visit by ``officer`` at an address in ``scope``'s beats; with
    ``setup_id``, as a visit of that set-up (which ``scope`` must see; an archived set-up is
    read-only). Returns the new visit id.

    Raises :class:`SetupNotVisible` for a set-up that does not exist or is not visible,
    :class:`~spatial_core.errors.ReadOnlyError` for an archived one,
    :class:`~spatial_core.errors.NotFoundError` for an address outside the scope and
    :class:`~spatial_core.errors.InputError` for a bad visit."""
    from spatial_core.io.visits import record_visit
    from spatial_core.targeting.setups import record_setup_visit

    if setup_id is not None and not may_see_setup(store, setup_id, scope):
        raise SetupNotVisible(UNKNOWN_SETUP)
    beats = None if scope.areas is None else sorted(scope.areas)
    visit = {"uprn": uprn, "outcome": outcome, "visited_at": visited_at, "officer": officer,
             "notes": notes, "beats": beats}
    if setup_id is None:
        return record_visit(store, **visit)
    return record_setup_visit(store, setup_id, **visit)
