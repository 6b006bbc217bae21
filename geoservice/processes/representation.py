# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``area-representation``: who we are (not) hearing from in one area."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from spatial_core.analytics.representation import BY as CORE_BY
from spatial_core.frames import json_records

from ._base import LptProcessor, ProcessInputError, _metadata, area_input, int_input, text_input

__all__ = ["RepresentationProcessor", "PROCESS_METADATA"]

BY = list(CORE_BY)

PROCESS_METADATA = _metadata(
    "area-representation", "Representation for an area",
    "Population, member and respondent shares of each group in one area, their ratios with "
    "95% intervals and the groups below target, and the area's coverage: what lpt "
    "representation --by prints (spatial_core.api.groups.area_representation). Police roles, "
    "in their own areas.",
    inputs={
        "area": area_input(),
        "by": text_input("By", "class (default), gender, age_band, or against the census "
                         "base: ethnicity (5 ONS groups), ethnicity_detailed (19), language, "
                         "religion, origins", enum=BY),
        "scheme": text_input("Scheme", "Geodemographic scheme (default oac2011)"),
        "level": {**int_input("Level", "Level of the scheme (1 = coarsest)", 1, 3),
                  "schema": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 3},
                                       {"type": "string", "pattern": "^\\s*[1-3]\\s*$"}],
                             "description": "a whole number from 1 to 3 (1 = coarsest)"}},
        "target": {"title": "Target", "description": "Flag groups below this share of their "
                   "proportionate share (default 0.7)",
                   "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                              "description": "a ratio above 0 and at most 1"},
                   "minOccurs": 0, "maxOccurs": 1},
        "min_n": {"title": "Minimum n", "description": "Judge a group only when at least this "
                  "many members (respondents) are expected in it (default 0)",
                  "schema": {"type": "number", "minimum": 0,
                             "description": "a number of at least 0"},
                  "minOccurs": 0, "maxOccurs": 1},
        "period": text_input("Period", "Survey responses counted: 2026Q1, 2026-03, 2026 or a "
                             "range 2026-01..2026-06 (default all)"),
    },
    output=("groups", "Groups"),
    example={"area": "beat:DM01B01"}, asynchronous=False)


def _level(value: Any) -> int:
    """The ``level`` input: a whole number in the declared range (default 1), else a 400.

    >>> _level(None), _level(2), _level("3"), _level(2.0)
    (1, 2, 3, 2)
    >>> _level("²")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoservice.processes._base.ProcessInputError: input 'level' must be ... got '²'
    >>> _level("two")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoservice.processes._base.ProcessInputError: input 'level' must be ... got 'two'
    """
    schema = PROCESS_METADATA["inputs"]["level"]["schema"]["oneOf"][0]
    low, high = schema["minimum"], schema["maximum"]
    if value is None or value == "":
        return low
    level = None
    if isinstance(value, int) and not isinstance(value, bool):
        level = value
    elif isinstance(value, float) and value.is_integer():
        level = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        level = int(value.strip())  # ASCII digits only ("²".isdigit() is True)
    if level is None or not low <= level <= high:
        raise ProcessInputError(user_msg=f"input 'level' must be a whole number from {low} to "
                                         f"{high} (1 = coarsest), got {value!r}")
    return level


class RepresentationProcessor(LptProcessor):
    """``spatial_core.analytics.representation.representation`` for the area's level, that area
    only."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("area", "by", "scheme", "level", "target", "min_n", "period")

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        by = data.get("by") or "class"
        if by not in BY:
            raise ProcessInputError(user_msg=f"by must be one of {BY}, got {by!r}")
        level = _level(data.get("level"))
        area = self.area(data.get("area"))
        target = data.get("target")
        return {"area": area, "by": by, "scheme": str(data.get("scheme") or "oac2011"),
                "level": level, "target": 0.7 if target is None else float(target),
                "min_n": float(data.get("min_n") or 0),
                "period": (data.get("period") or "").strip() or None}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.api.groups import area_representation

        out = area_representation(self.store, args["area"], self.scope(), by=args["by"],
                                  scheme=args["scheme"], level=args["level"],
                                  target=args["target"], min_n=args["min_n"],
                                  period=args["period"])
        return "application/json", {**args, **{key: json_records(frame)
                                               for key, frame in out.items()}}
