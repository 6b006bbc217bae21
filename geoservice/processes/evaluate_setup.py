# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``evaluate-setup``: did a set-up work? Before and after in its streets against
comparable streets not targeted (difference in differences with 95% intervals)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import (
    LptProcessor,
    ProcessInputError,
    ProcessNotFound,
    _metadata,
    int_input,
    text_input,
)

__all__ = ["EvaluateSetupProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "evaluate-setup", "Evaluate a targeting set-up",
    "Crime and harm per 1,000 households a month, confidence, feeling safe and members per "
    "100 households in a set-up's streets before and after it started, against matched "
    "comparison streets not targeted: the difference in differences with a 95% interval "
    "(streets resampled), n, warnings and a plain-English verdict "
    "(spatial_core.api.evaluation.evaluate_setup). Police roles, set-ups with a street in "
    "their beats; aggregates only (a street's survey shares withheld below the disclosure "
    "threshold).",
    inputs={
        "setup_id": text_input("Set-up", "A set-up id (GET /collections/setups/items)",
                               required=True),
        "before_months": int_input("Months before", "Months before the start to compare "
                                   "with (default: as many as the after window)", 1, 60),
        "after_months": int_input("Months after", "Months from the start (default: to the "
                                  "newest crime month)", 1, 60),
        "after_from": text_input("After from", "start (default) or end (an archived "
                                 "set-up's end)", enum=["start", "end"]),
        "streets": {"title": "Streets", "description": "Add each street's figures",
                    "schema": {"type": "boolean", "description": "true or false"},
                    "minOccurs": 0, "maxOccurs": 1},
    },
    output=("evaluation", "Set-up evaluation"),
    example={"setup_id": "2026Q2-DM02B02"}, asynchronous=False)


class EvaluateSetupProcessor(LptProcessor):
    """``spatial_core.api.evaluation.evaluate_setup`` in the caller's scope."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("setup_id", "before_months", "after_months", "after_from", "streets")

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        setup_id = data.get("setup_id")
        if not isinstance(setup_id, str) or not setup_id.strip():
            raise ProcessInputError(user_msg="input 'setup_id' is required: a set-up id "
                                             "(GET /collections/setups/items)")
        from spatial_core.api.setups import UNKNOWN_SETUP, may_see_setup

        # refused here, in the request (404), not in the job (where pygeoapi answers 400)
        if not may_see_setup(self.store, setup_id.strip(), self.scope()):
            raise ProcessNotFound(user_msg=UNKNOWN_SETUP)
        return {"setup_id": setup_id.strip(), "before_months": data.get("before_months"),
                "after_months": data.get("after_months"),
                "after_from": data.get("after_from") or "start",
                "streets": bool(data.get("streets"))}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.api.evaluation import evaluate_setup

        e = evaluate_setup(self.store, args["setup_id"], self.scope(),
                           before_months=args["before_months"],
                           after_months=args["after_months"], after_from=args["after_from"])
        return "application/json", e.to_dict(streets=args["streets"])
