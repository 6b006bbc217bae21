# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_evaluation."""
from __future__ import annotations

import json

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsRendererCategory,
    QgsSymbol,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QColor

from ._base import LptAlgorithm, progress_callable
from ._outputs import street_geometries, styled_sink, with_geometry

__all__ = ["SetupEvaluationAlgorithm", "style_evaluation_streets", "GROUP_COLOURS",
           "STREET_ALIASES"]

GROUP_COLOURS = {"targeted": ("#d7301f", "Targeted streets"),
                 "comparison": ("#2b8cbe", "Comparison streets (not targeted)")}
"""The street layer's two categories: colour and legend label."""

AFTER_FROM = ("start", "end")

STREET_ALIASES = {
    "group": "Group", "matched_to": "Matched to", "households": "Households",
    "crime_rate_before": "Crimes per 1,000 households a month, before",
    "crime_rate_after": "Crimes per 1,000 households a month, after",
    "crime_rate_change": "Change in crime rate",
    "harm_rate_before": "Harm per 1,000 households a month, before",
    "harm_rate_after": "Harm per 1,000 households a month, after",
    "respondents_before": "Survey answers, before", "respondents_after": "Survey answers, after",
    "confident_pct_before": "% confident, before (withheld below k answers)",
    "confident_pct_after": "% confident, after (withheld below k answers)",
    "safe_pct_before": "% feeling safe, before", "safe_pct_after": "% feeling safe, after",
    "members_per_100_before": "Members per 100 households, before",
    "members_per_100_after": "Members per 100 households, after",
    "members_per_100_change": "Change in members per 100 households",
}


def style_evaluation_streets(layer: QgsVectorLayer) -> None:
    """Targeted streets red, comparison streets blue (thick lines), readable aliases and a
    map tip with the before -> after figures."""
    cats = []
    for value, (colour, label) in GROUP_COLOURS.items():
        symbol = QgsSymbol.defaultSymbol(QgsWkbTypes.LineGeometry)
        symbol.setColor(QColor(colour))
        symbol.setWidth(1.2)
        cats.append(QgsRendererCategory(value, symbol, label))
    layer.setRenderer(QgsCategorizedSymbolRenderer("group", cats))
    fields = layer.fields()
    for name, alias in STREET_ALIASES.items():
        i = fields.indexOf(name)
        if i >= 0:
            layer.setFieldAlias(i, alias)
    layer.setMapTipTemplate(
        "<b>[% coalesce(\"name\", \"street_id\") %]</b> ([% \"group\" %])<br/>"
        "crime [% format_number(\"crime_rate_before\", 1) %] -> "
        "[% format_number(\"crime_rate_after\", 1) %] per 1,000 households a month<br/>"
        "members [% format_number(\"members_per_100_before\", 1) %] -> "
        "[% format_number(\"members_per_100_after\", 1) %] per 100 households")
    layer.triggerRepaint()


class SetupEvaluationAlgorithm(LptAlgorithm):
    """Did a set-up work? Its streets against comparable streets, before and after."""

    NAME = "setup_evaluation"
    DISPLAY_NAME = "Evaluate a targeting set-up (before/after)"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Compares a set-up's streets with matched comparison streets that were not "
            "targeted (same neighbourhood policing area, over 100 m away, alike in crime, "
            "households and membership before), before and after the set-up started: crime "
            "and harm per 1,000 households a month, % confident and % feeling safe (answers "
            "of 4-5), members per 100 households. STREETS: both groups of streets with their "
            "before and after figures (targeted red, comparison blue); TABLE: the difference "
            "in differences of each outcome with its 95% interval (streets resampled), n and "
            "a plain-English verdict; VERDICT: the summary. An observational comparison, not "
            "proof of an effect (docs/analytics/setup-evaluation.md).")

    BEFORE_MONTHS = "BEFORE_MONTHS"
    AFTER_FROM = "AFTER_FROM"
    STREETS = "STREETS"
    TABLE = "TABLE"
    VERDICT = "VERDICT"
    EVALUATION = "EVALUATION"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(self.SETUP_ID, self.tr("Set-up id")))
        self.addParameter(QgsProcessingParameterNumber(
            self.BEFORE_MONTHS, self.tr("Months before the start (0 = as many as after)"),
            defaultValue=0, minValue=0, maxValue=60))
        self.addParameter(QgsProcessingParameterEnum(
            self.AFTER_FROM, self.tr("After window from the set-up's"),
            options=list(AFTER_FROM), defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.STREETS, self.tr("Targeted and comparison streets"),
            QgsProcessing.TypeVectorLine))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.TABLE, self.tr("Difference in differences"), QgsProcessing.TypeVector))
        self.addOutput(QgsProcessingOutputString(self.VERDICT, self.tr("Verdict")))
        self.addOutput(QgsProcessingOutputString(self.EVALUATION,
                                                 self.tr("Evaluation (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api.evaluation import evaluate_setup

        setup_id = self.parameterAsString(parameters, self.SETUP_ID, context).strip()
        before = self.parameterAsInt(parameters, self.BEFORE_MONTHS, context) or None
        after_from = AFTER_FROM[self.parameterAsEnum(parameters, self.AFTER_FROM, context)]
        with self.opened_store(parameters, context) as store:
            e = evaluate_setup(store, setup_id, before_months=before, after_from=after_from,
                               progress=progress_callable(feedback))
            geoms = street_geometries(store, e.streets["street_id"])
        streets = with_geometry(e.streets, geoms.reindex(e.streets["street_id"]).to_numpy())
        table = e.outcomes.copy()
        for text in e.warnings:
            feedback.pushWarning(text)
        feedback.pushInfo(e.verdict)
        return {
            self.STREETS: styled_sink(self, streets, parameters, self.STREETS, context,
                                      f"Set-up {setup_id}: targeted and comparison streets",
                                      configure=style_evaluation_streets),
            self.TABLE: styled_sink(self, table, parameters, self.TABLE, context,
                                    f"Set-up {setup_id}: difference in differences"),
            self.VERDICT: e.verdict,
            self.EVALUATION: json.dumps(e.to_dict(streets=False), default=str),
        }
