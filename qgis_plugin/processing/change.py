# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:area_change."""
from __future__ import annotations

import re

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import styled_sink
from .confidence import _levels, area_layer


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,;]+", text.strip()) if w]


class AreaChangeAlgorithm(LptAlgorithm):
    """Change over time per area: since the quarter before, the trend, the same people."""

    NAME = "area_change"
    DISPLAY_NAME = "Change over time and the panel"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Per beat (or ward, neighbourhood policing area, force), from quarterly snapshots "
            "(as lpt change): the newest quarter's answers, mean confidence and feeling safe, "
            "members per 100 households and crimes; their change since the quarter before "
            "with a 95% interval; the linear trend per quarter over QUARTERS (empty: every "
            "quarter with surveys or crime); and the panel: members who answered in both "
            "PAIRED periods (default the last two quarters), their n and mean change with a t "
            "interval. OUTPUT: one polygon per area coloured by the change in confidence (red "
            "down, blue up); 'series' holds every quarter's values as JSON.")

    LEVEL = "LEVEL"
    QUARTERS = "QUARTERS"
    PAIRED = "PAIRED"
    OUTPUT = "OUTPUT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.LEVEL, self.tr("Areas"), options=list(_levels()), defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.QUARTERS, self.tr("Quarters (e.g. 2025Q4 2026Q1; empty: all)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PAIRED, self.tr("Panel periods, two (e.g. 2026Q2 2026Q3; empty: the last "
                                 "two quarters)"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Change per area"), QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api import FORCE
        from spatial_core.api.confidence import area_change

        level = _levels()[self.parameterAsEnum(parameters, self.LEVEL, context)]
        quarters = _words(self.parameterAsString(parameters, self.QUARTERS, context))
        paired = _words(self.parameterAsString(parameters, self.PAIRED, context))
        if paired and len(paired) != 2:
            raise QgsProcessingException(
                f"Panel periods: give two periods such as '2026Q2 2026Q3', not {paired}")
        with self.opened_store(parameters, context) as store:
            table = area_change(store, FORCE, level=level, quarters=quarters or None,
                                paired=tuple(paired) if paired else None)
        if len(table):
            first = table.iloc[0]
            feedback.pushInfo(f"{first['quarter_from'] or '-'} to {first['quarter_to']}; "
                              f"panel {first['panel_first'] or '-'} to "
                              f"{first['panel_second'] or '-'}")
        return {self.OUTPUT: styled_sink(self, area_layer(table), parameters, self.OUTPUT,
                                         context, f"Change per {level}", "area_change")}
