# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``score-area``: score the streets of an area with a profile (not stored)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._base import LptProcessor, ProcessInputError, _metadata, area_input, int_input, text_input

__all__ = ["ScoreAreaProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "score-area", "Score an area's streets",
    "Scores every street of an area (a beat, npa, ward or the force) with a shipped profile "
    "and returns the streets by rank within their beat, with components and reasons. The "
    "run is not stored. Police roles, in their own areas.",
    inputs={
        "area": area_input(),
        "profile": text_input("Profile", "A shipped profile name (default 'default')"),
        "as_of": text_input("As of", "The day to score for, YYYY-MM-DD (default: the newest "
                                     "crime month's last day)"),
        "top": int_input("Top", "Only the first N streets of each beat (default all)", 1,
                         10_000),
    },
    output=("scores", "Street scores"),
    example={"area": "beat:DM01B01", "profile": "default", "top": 5},
    asynchronous=True)


class ScoreAreaProcessor(LptProcessor):
    """:func:`spatial_core.api.scores.score_streets_for` for one area of the caller's."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("area", "profile", "as_of", "top")

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        from spatial_core import NotFoundError
        from spatial_core.targeting.profiles import list_profiles, load_profile

        name = data.get("profile") or "default"
        if name not in list_profiles():
            raise ProcessInputError(user_msg=f"no profile {name!r}; profiles are "
                                             f"{list_profiles()}")
        try:
            profile = load_profile(name)
        except NotFoundError as exc:
            raise ProcessInputError(user_msg=str(exc)) from None
        top = data.get("top")
        if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 1):
            raise ProcessInputError(user_msg=f"top must be a whole number >= 1, got {top!r}")
        return {"area": self.area(data.get("area")), "profile": profile,
                "as_of": data.get("as_of"), "top": top}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.api.scores import score_streets_for

        p = args["profile"]
        run = score_streets_for(self.store, self.scope(), p, area=args["area"],
                                as_of=args["as_of"], actions=True)
        s = run.scores
        if args["top"]:
            s = s[s["rank_in_beat"] <= args["top"]]
        records = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in r.items()} for r in s.to_dict("records")]
        return "application/json", {
            "area": args["area"], "profile": p.name, "as_of": run.as_of,
            "inputs_fingerprint": run.fingerprint, "streets": len(records),
            "scores": records}
