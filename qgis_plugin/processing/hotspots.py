# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:hotspots."""
from __future__ import annotations

import json

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm, progress_callable
from ._outputs import cell_polygons, styled_sink, with_geometry

WEIGHTS = ("count", "harm")
STUDIES = ("auto", "areas", "hull")


class HotspotsAlgorithm(LptAlgorithm):
    """Getis-Ord Gi* hot and cold spots of crime on H3 cells."""

    NAME = "hotspots"
    DISPLAY_NAME = "Hot spots (Gi* on H3 cells)"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Getis-Ord Gi* of crime counts (or harm) per H3 cell, every month given pooled, "
            "with Benjamini-Hochberg false-discovery-rate control: each cell of the study area "
            "gets value, z, p, p_adjusted, hot, cold and spot (hot / cold / not significant). "
            "With BY_MONTH, Gi* is also run per month and each cell gets its class over the "
            "months (new, intensifying, persistent, diminishing, sporadic, never).")

    RESOLUTION = "RESOLUTION"
    MONTHS = "MONTHS"
    K = "K"
    Q = "Q"
    WEIGHT = "WEIGHT"
    STUDY = "STUDY"
    AREAS = "AREAS"
    BY_MONTH = "BY_MONTH"
    OUTPUT = "OUTPUT"
    HOT = "HOT"
    COLD = "COLD"
    RUN = "RUN"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterNumber(
            self.RESOLUTION, self.tr("H3 resolution (empty: the store's)"), optional=True,
            minValue=0, maxValue=15))
        self.addParameter(QgsProcessingParameterString(
            self.MONTHS, self.tr("Months (YYYY-MM, comma-separated; empty: all)"),
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.K, self.tr("Neighbourhood (k-ring)"),
                                                       defaultValue=1, minValue=1, maxValue=5))
        self.addParameter(QgsProcessingParameterNumber(
            self.Q, self.tr("False discovery rate"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.05, minValue=0.0001, maxValue=0.5))
        self.addParameter(QgsProcessingParameterEnum(self.WEIGHT, self.tr("Value of a crime"),
                                                     options=list(WEIGHTS), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.STUDY, self.tr("Study area"),
                                                     options=list(STUDIES), defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.AREAS, self.tr("Study area ids (comma-separated; empty: all areas)"),
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.BY_MONTH, self.tr("Classify cells over the months"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Hot spots"), QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.HOT, self.tr("Hot cells")))
        self.addOutput(QgsProcessingOutputNumber(self.COLD, self.tr("Cold cells")))
        self.addOutput(QgsProcessingOutputString(self.RUN, self.tr("Run settings (JSON)")))

    def options(self, parameters, context) -> dict:
        months = [m.strip() for m in self.parameterAsString(parameters, self.MONTHS,
                                                            context).split(",") if m.strip()]
        areas = [a.strip() for a in self.parameterAsString(parameters, self.AREAS,
                                                           context).split(",") if a.strip()]
        res = parameters.get(self.RESOLUTION)
        return dict(
            resolution=None if res in (None, "") else self.parameterAsInt(
                parameters, self.RESOLUTION, context),
            months=months or None, k=self.parameterAsInt(parameters, self.K, context),
            q=self.parameterAsDouble(parameters, self.Q, context),
            weight=WEIGHTS[self.parameterAsEnum(parameters, self.WEIGHT, context)],
            study=STUDIES[self.parameterAsEnum(parameters, self.STUDY, context)],
            area_ids=areas or None)

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from dataclasses import asdict

        import numpy as np

        from spatial_core.analytics.hotspots import classify_trends, find_hotspots, monthly_hotspots

        options = self.options(parameters, context)
        by_month = self.parameterAsBool(parameters, self.BY_MONTH, context)
        progress = progress_callable(feedback)
        with self.opened_store(parameters, context) as store:
            result = find_hotspots(store, **options)
            classes = None
            if by_month:
                monthly = monthly_hotspots(store, progress=progress, **options)
                classes = classify_trends(monthly)
        run = result.attrs["run"]
        frame = result.copy()
        frame["spot"] = np.where(frame["hot"], "hot", np.where(frame["cold"], "cold",
                                                               "not significant"))
        if classes is not None:
            cls = classes.set_index("cell")
            for col in ("category", "hot_periods", "periods", "z_slope"):
                frame[col] = frame["cell"].map(cls[col]).to_numpy()
            frame = frame.rename(columns={"category": "class"})
        frame = frame.drop(columns=["cell"]).assign(cell=frame["cell"].astype("int64"))
        layer = with_geometry(frame, cell_polygons(frame["cell"]).to_numpy())
        hot, cold = int(frame["hot"].sum()), int(frame["cold"].sum())
        feedback.pushInfo(f"{len(frame)} cells at resolution {run.resolution}: {hot} hot, "
                          f"{cold} cold (FDR q={run.q:g})")
        dest = styled_sink(self, layer, parameters, self.OUTPUT, context,
                           f"Hot spots (res {run.resolution})", "hotspots")
        return {self.OUTPUT: dest, self.HOT: hot, self.COLD: cold,
                self.RUN: json.dumps(asdict(run))}
