# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:actions_log."""
from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import area_geometries, styled_sink, with_geometry


class ActionsLogAlgorithm(LptAlgorithm):
    """The actions log: what police and partners did about a priority in an area."""

    NAME = "actions_log"
    DISPLAY_NAME = "Actions log (\"You said, we did\")"
    GROUP = "Engagement"
    GROUP_ID = "engagement"
    HELP = ("What police and partners did about a local priority in an area, newest first "
            "(spatial_core.engagement.actions.list_actions): day, priority, area, what was "
            "done, partner, who recorded it, with the area's polygon. AREA keeps the actions "
            "of one area and of the areas above it (what the force did counts for a beat); "
            "PERIOD keeps those done in a period (2026Q3, 2026-01..2026-06 …). The log feeds "
            "the \"You said, we did\" drafts.")

    AREA = "AREA"
    PERIOD = "PERIOD"
    OUTPUT = "OUTPUT"
    ACTIONS = "ACTIONS"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(
            self.AREA, self.tr("Area id (e.g. beat:DM01B01; empty: every area)"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Period (e.g. 2026Q3; empty: all)"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Actions log"), QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.ACTIONS, self.tr("Actions")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.engagement.actions import list_actions

        area = self.parameterAsString(parameters, self.AREA, context).strip() or None
        period = self.parameterAsString(parameters, self.PERIOD, context).strip() or None
        with self.opened_store(parameters, context) as store:
            log = list_actions(store, area_id=area, period=period)
            shapes = area_geometries(store, log["area_id"].tolist())
        feedback.pushInfo(f"{len(log)} actions")
        layer = with_geometry(log, shapes.reindex(log["area_id"]).to_numpy())
        return {self.OUTPUT: styled_sink(self, layer, parameters, self.OUTPUT, context,
                                         "Actions log"),
                self.ACTIONS: len(log)}
