# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:area_confidence."""
from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import styled_sink

RATES = ("crime", "harm")


def _levels() -> tuple[str, ...]:
    """The reporting levels, in the enum's order (:data:`spatial_core.api.confidence.LEVELS`)."""
    from spatial_core.api.confidence import LEVELS

    return LEVELS


def area_layer(frame):
    """A core frame with a ``geometry`` column of area polygons as a GeoDataFrame for a sink:
    lists as JSON text, counts as nullable integers (a reshape for display, nothing
    computed)."""
    import json

    import geopandas as gpd
    import pandas as pd

    out = pd.DataFrame(frame).drop(columns=["geometry"]).reset_index(drop=True)
    for name in out.columns:
        values = out[name]
        if values.dtype == object and values.map(lambda v: isinstance(v, list)).any():
            out[name] = values.map(json.dumps)
        elif values.dtype == object and values.map(
                lambda v: v is None or isinstance(v, int)).all():
            out[name] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        elif values.dtype == object and values.map(
                lambda v: v is None or isinstance(v, (int, float))).all():
            out[name] = pd.to_numeric(values, errors="coerce")
    geoms = gpd.GeoSeries(list(frame["geometry"]), crs=27700)
    return gpd.GeoDataFrame(out, geometry=geoms, crs=27700)


class AreaConfidenceAlgorithm(LptAlgorithm):
    """Confidence and feeling safe per area, against crime, with the outliers."""

    NAME = "area_confidence"
    DISPLAY_NAME = "Confidence, feeling safe and outliers"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Per beat (or ward, neighbourhood policing area, force): the mean confidence in the "
            "police and feeling safe (1-5) of the survey answers of PERIOD (empty: all), each "
            "with n and a 95% interval, the crime (or harm) rate per 1,000 households a year, "
            "and the areas that feel less or more safe than their crime suggests, or are less "
            "or more confident than their feeling safe suggests (|z| > Z from a robust line "
            "across the areas with at least MIN_N answers). The same numbers as lpt "
            "confidence. OUTPUT: one polygon per area, outliers red (below) or blue (above).")

    LEVEL = "LEVEL"
    PERIOD = "PERIOD"
    CRIME_PERIOD = "CRIME_PERIOD"
    RATE = "RATE"
    MIN_N = "MIN_N"
    Z = "Z"
    OUTPUT = "OUTPUT"
    OUTLIERS = "OUTLIERS"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.LEVEL, self.tr("Areas"), options=list(_levels()), defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Survey period (e.g. 2026Q1; empty: all answers)"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.CRIME_PERIOD, self.tr("Crime months (empty: the survey period, else all)"),
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.RATE, self.tr("Compare feeling safe with"), options=list(RATES),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_N, self.tr("Minimum answers for an area to be flagged"), defaultValue=10,
            minValue=2))
        self.addParameter(QgsProcessingParameterNumber(
            self.Z, self.tr("Flag |z| above"), type=QgsProcessingParameterNumber.Double,
            defaultValue=2.0, minValue=0.1))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Confidence and feeling safe per area"),
            QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.OUTLIERS, self.tr("Outlying areas")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api import FORCE
        from spatial_core.api.confidence import area_confidence

        level = _levels()[self.parameterAsEnum(parameters, self.LEVEL, context)]
        options = dict(
            level=level,
            period=self.parameterAsString(parameters, self.PERIOD, context).strip() or None,
            crime_period=self.parameterAsString(parameters, self.CRIME_PERIOD,
                                                context).strip() or None,
            rate=RATES[self.parameterAsEnum(parameters, self.RATE, context)],
            min_n=self.parameterAsInt(parameters, self.MIN_N, context),
            z_flag=self.parameterAsDouble(parameters, self.Z, context))
        with self.opened_store(parameters, context) as store:
            table = area_confidence(store, FORCE, **options)
        flagged = table[(table["safe_outlier"] != "") | (table["confidence_outlier"] != "")]
        for r in flagged.itertuples():
            words = "; ".join(w for w in (r.safe_outlier, r.confidence_outlier) if w)
            feedback.pushInfo(f"{r.area_name}: {words}")
        return {
            self.OUTPUT: styled_sink(self, area_layer(table), parameters, self.OUTPUT, context,
                                     f"Confidence and feeling safe per {level}",
                                     "confidence_outliers"),
            self.OUTLIERS: len(flagged),
        }
