# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:engagement."""
from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
)

from ._base import LptAlgorithm
from ._outputs import area_geometries, styled_sink, with_geometry

LEVELS = ("beat", "npa", "ward", "force")
"""The area levels of :func:`spatial_core.engagement.tracking.engagement` (enum order)."""


class EngagementAlgorithm(LptAlgorithm):
    """Reach, response and unsubscribe rates of the messages per area (polygons)."""

    NAME = "engagement"
    DISPLAY_NAME = "Engagement per area (reach, replies, unsubscribes)"
    GROUP = "Engagement"
    GROUP_ID = "engagement"
    HELP = ("The messages sent to residents, per area at a level (beat, npa, ward or the "
            "force), by the member's area when each message was prepared: recipients "
            "(reach), held back, sent, delivered, bounced, replied, unsubscribed, surveys "
            "completed, and the rates (delivered/sent, replied, unsubscribed and surveys per "
            "delivered), with the area's polygon "
            "(spatial_core.engagement.tracking.engagement). Exact counts for police use; tick "
            "WITHHOLD for a layer shared with partners or the public: counts from 1 to K-1 "
            "are withheld (empty), with secondary suppression across beats, npas and the "
            "force. A high unsubscribe rate shows where residents are messaged too often.")

    LEVEL = "LEVEL"
    WITHHOLD = "WITHHOLD"
    K = "K"
    OUTPUT = "OUTPUT"
    AREAS = "AREAS"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.LEVEL, self.tr("Areas"), options=list(LEVELS), defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.WITHHOLD, self.tr("Withhold small counts (a layer for partners or the "
                                   "public)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.K, self.tr("Smallest count shown when withholding (k)"), defaultValue=5,
            minValue=2, maxValue=1000))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Engagement per area"), QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.AREAS, self.tr("Areas")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.engagement.tracking import engagement

        level = LEVELS[self.parameterAsEnum(parameters, self.LEVEL, context)]
        withhold = self.parameterAsBool(parameters, self.WITHHOLD, context)
        k = self.parameterAsInt(parameters, self.K, context) if withhold else None
        with self.opened_store(parameters, context) as store:
            table = engagement(store, by="area", level=level, k=k)
            shapes = area_geometries(store, table["area_id"].tolist())
        feedback.pushInfo(f"{len(table)} {level} areas"
                          + (f"; counts below {k} withheld" if k else "; exact counts"))
        layer = with_geometry(table, shapes.reindex(table["area_id"]).to_numpy())
        return {self.OUTPUT: styled_sink(self, layer, parameters, self.OUTPUT, context,
                                         f"Engagement per {level}"),
                self.AREAS: len(table)}
