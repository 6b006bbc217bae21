# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``priorities-by-group``: local priorities, confidence and feeling safe split by a
group of respondents (channel, community group, demographic), with n and intervals."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spatial_core.analytics.population import AREA_LEVELS
from spatial_core.analytics.priorities import PRIORITY_GROUPINGS
from spatial_core.frames import json_records

from ._base import LptProcessor, _metadata, int_input, text_input

__all__ = ["PrioritiesByGroupProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "priorities-by-group", "Priorities, confidence and feeling safe by group",
    "Per area and group of respondents: distinct people, responses and issues raised; each "
    "priority's share with its Wilson 95% interval and n; confidence and feeling safe means "
    "with n and 95% intervals (spatial_core.api.groups.group_priorities). Police roles: their "
    "areas, exact. Partners and the public: every area, counts below the "
    "disclosure threshold withheld with what they would give away.",
    inputs={
        "by": text_input("By", "channel (default), group (KIN, IAG, Neighbourhood Watch), "
                         "gender, age_band, ethnicity, ethnicity_detailed, language, religion, "
                         "origins", enum=list(PRIORITY_GROUPINGS)),
        "level": text_input("Level", "force (default), npa, ward or beat",
                            enum=list(AREA_LEVELS)),
        "period": text_input("Period", "2026Q1, 2026-03, 2026 or a range 2026-01..2026-06 "
                             "(default: every response)"),
        "min_n": int_input("Minimum n", "A group with fewer respondents gets no priority "
                           "(default 10)", 1, 100000),
    },
    output=("priorities", "Priorities by group"),
    example={"by": "channel", "level": "force"}, asynchronous=False)


class PrioritiesByGroupProcessor(LptProcessor):
    """``spatial_core.api.groups.group_priorities`` for the caller's scope."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("by", "level", "period", "min_n")

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        return {"by": data.get("by") or "channel", "level": data.get("level") or "force",
                "period": (data.get("period") or "").strip() or None,
                "min_n": data.get("min_n") or 10}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.api.groups import group_priorities

        scope = self.scope()
        out = group_priorities(self.store, scope, by=args["by"], level=args["level"],
                               period=args["period"], min_n=args["min_n"])
        return "application/json", {
            **args, "disclosure": "exact" if scope.disclosure_k is None
            else f"k={scope.disclosure_k}",
            **{key: json_records(frame) for key, frame in out.items()}}
