# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``create-setup``: a targeting set-up with its streets and walk lists."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spatial_core import InputError
from spatial_core.analytics.representation import CENSUS_BASE
from spatial_core.api.setups import check_setup_name, new_setup_id
from spatial_core.targeting.setups import GOALS as SETUP_GOALS

from ..access import require_purpose
from ._base import LptProcessor, ProcessInputError, _metadata, area_input, int_input, text_input

__all__ = ["CreateSetupProcessor", "PROCESS_METADATA"]

GOALS = list(SETUP_GOALS)
COMMUNITY_PATTERN = f"^\\s*({'|'.join(CENSUS_BASE)})\\s*:\\s*[a-z0-9_]+\\s*$"
"""``BY:GROUP`` of a community set-up (the core checks that the group exists)."""

PROCESS_METADATA = _metadata(
    "create-setup", "Create a targeting set-up",
    "Scores the area, picks the streets to visit and builds walk lists "
    "(spatial_core.targeting.setups.create_setup), stores them and returns the set-up. The set-up "
    "then appears in the 'setups' and 'walk_lists' collections. Police roles, in their own "
    "areas, with an X-Purpose header (the walk lists are audited).",
    inputs={
        "name": text_input("Name", "A name for people", required=True),
        "area": area_input(),
        "goal": text_input("Goal", "recruit (default), survey or engage", enum=GOALS),
        "max_streets": int_input("Streets", "How many streets (default 20)", 1, 500),
        "as_of": text_input("As of", "The data date, YYYY-MM-DD (default: newest crimes)"),
        "community": {**text_input(
            "Community", "Target a community instead: BY:GROUP with BY one of "
            f"{', '.join(CENSUS_BASE)} (language:polish, religion:jewish, "
            "ethnicity_detailed:white_other): the streets where its census share is highest"),
            "schema": {"type": "string", "pattern": COMMUNITY_PATTERN,
                       "description": "BY:GROUP with BY one of "
                                      f"{', '.join(CENSUS_BASE)}, e.g. language:polish"}},
    },
    output=("setup", "Set-up"),
    example={"name": "Spring recruitment", "area": "beat:DM01B01", "max_streets": 5},
    asynchronous=True)


class CreateSetupProcessor(LptProcessor):
    """``spatial_core.targeting.setups.create_setup`` for one area the caller may use."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("name", "area", "goal", "max_streets", "as_of", "community")
    audited = "setups"

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        try:
            purpose = require_purpose(self.ctx)
        except Exception as exc:  # PurposeRequired: a provider error, mapped to a 400 here
            raise ProcessInputError(user_msg=getattr(exc, "message", str(exc))) from None
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ProcessInputError(user_msg="input 'name' is required")
        try:
            name = check_setup_name(name)
        except InputError as exc:
            raise ProcessInputError(user_msg=f"input 'name': {exc}") from None
        goal = data.get("goal") or "recruit"
        if goal not in GOALS:
            raise ProcessInputError(user_msg=f"goal must be one of {GOALS}, got {goal!r}")
        max_streets = data.get("max_streets", 20)
        if not isinstance(max_streets, int) or isinstance(max_streets, bool) or max_streets < 1:
            raise ProcessInputError(user_msg=f"max_streets must be a whole number >= 1, got "
                                             f"{max_streets!r}")
        as_of = data.get("as_of")
        if as_of is not None:  # refused here, before a job exists, not by the job
            from spatial_core.targeting.walklists import parse_moment

            try:
                parse_moment(as_of, "as_of")
            except InputError as exc:
                raise ProcessInputError(user_msg=f"input 'as_of': {exc}") from None
        return {"name": name.strip(), "area": self.area(data.get("area")), "goal": goal,
                "max_streets": max_streets, "as_of": as_of, "purpose": purpose,
                "community": (data.get("community") or "").strip() or None}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.targeting.setups import create_setup

        s = create_setup(self.store, args["name"], areas=[args["area"]], goal=args["goal"],
                         max_streets=args["max_streets"], as_of=args["as_of"],
                         setup_id=new_setup_id(args["name"]),  # tells nothing of others
                         community=args["community"])
        self.audit("create", "setups", ids=[s.setup_id])
        return "application/json", {
            "setup_id": s.setup_id, "name": s.name, "status": s.status, "goal": s.goal,
            "areas": list(s.areas), "target_groups": list(s.target_groups),
            "target_rule": s.target_rule,
            "profile": s.profile_name, "as_of": s.as_of, "created_at": s.created_at,
            "inputs_fingerprint": s.inputs_fingerprint,
            "collections": {"setup": f"collections/setups/items/{s.setup_id}",
                            "walk_list": f"collections/walk_lists/items?setup_id={s.setup_id}"}}
