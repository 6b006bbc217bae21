# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``record-action``: an entry of the actions log (what police and partners did
about a local priority in an area), for "You said, we did".

One call to :func:`spatial_core.engagement.actions.add_action` with the caller as the
recorder and their scope (an area outside it is 404, like an unknown one); the core's
refusals (a date in the future, an empty description …) are 400 with its message.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..access import area_scope
from ._base import LptProcessor, _metadata, area_input, text_input
from .compose_message import optional_text, text

__all__ = ["RecordActionProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "record-action", "Record an action",
    "Adds to the actions log what police or partners did about a local priority in an area "
    "(spatial_core.engagement.actions.add_action). The log feeds \"You said, we did\" "
    "drafts and appears in the 'actions' collection. Police roles, in their areas.",
    inputs={
        "done_on": text_input("Done on", "The day it was done, YYYY-MM-DD", required=True),
        "priority": text_input("Priority", "The local priority it answers", required=True),
        "area": area_input(),
        "what": text_input("What", "What was done", required=True),
        "partner": text_input("Partner", "The partner who did it, if not police"),
    },
    output=("action", "Action"),
    example={"done_on": "2026-03-02", "priority": "Speeding", "area": "beat:DM01B01",
             "what": "Speed checks on Mill Lane, 14 drivers stopped"},
    asynchronous=False)


class RecordActionProcessor(LptProcessor):
    """``add_action`` for an area the caller may act for."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("done_on", "priority", "area", "what", "partner")

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        return {"done_on": text(data, "done_on"), "priority": text(data, "priority"),
                "area_id": self.area(data.get("area")), "what": text(data, "what"),
                "partner": optional_text(data, "partner")}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.actions import add_action

        p = self.ctx.principal
        action_id = add_action(self.store, **args, recorded_by=p.sub[:64],
                               scope_areas=area_scope(self.location, p))
        return "application/json", {"action_id": action_id, **args,
                                    "collection": f"collections/actions/items/{action_id}"}
