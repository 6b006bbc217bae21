# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_progress."""
from __future__ import annotations

import json

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFillSymbol,
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsRendererCategory,
)

from ._base import LptAlgorithm
from ._outputs import area_geometries, styled_sink, with_geometry

_COLOURS = {"behind": "#a4161a", "on pace": "#1d6b32", "not judged": "#9aa3ad"}


def _style_behind(layer) -> None:
    """Beats (or set-ups) falling behind in red, on pace in green, not judged in grey."""
    categories = []
    for value, colour in _COLOURS.items():
        symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#1b1f24",
                                             "outline_width": "0.3"})
        symbol.setOpacity(0.55)
        categories.append(QgsRendererCategory(value, symbol, value))
    layer.setRenderer(QgsCategorizedSymbolRenderer("pace", categories))
    layer.triggerRepaint()


def _flat(frame):
    """List columns as comma-separated text, and the ``pace`` class of each row."""
    out = frame.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, list)).any():
            out[col] = [", ".join(map(str, v)) if isinstance(v, list) else v for v in out[col]]
    if "behind" in out.columns:
        judged = out.filter(like="share_").notna().any(axis=1)
        out["pace"] = ["behind" if b else ("on pace" if j else "not judged")
                       for b, j in zip(out["behind"].astype(bool), judged, strict=True)]
        out["behind"] = out["behind"].astype(bool)
    return out


class SetupProgressAlgorithm(LptAlgorithm):
    """Progress of the live set-ups against their targets: beats falling behind, per officer
    and per day, and the headline."""

    NAME = "setup_progress"
    DISPLAY_NAME = "Set-up progress (beats falling behind, officers, days)"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Every live targeting set-up (or SETUP_ID only) against its targets at NOW "
            "(default the clock), from spatial_core.api.progress: visits, households visited, "
            "registered (the outcome or a registration taken at the door), joined (matched to "
            "a member at the address who joined on or after the visit), surveyed (the outcome "
            "or a door survey at the address that day) and answered online later. "
            "OUTPUT: one polygon per set-up and beat, its share of each target (split by the "
            "beat's walk-list households), styled red where it is falling behind (the share "
            "done below BEHIND_BELOW x the share of the PERIOD_DAYS period elapsed), green on "
            "pace. SETUPS: each set-up's outline and progress. OFFICERS and DAYS: tables per "
            "set-up and officer id (as recorded) and per day, from SINCE. HEADLINE: houses "
            "visited, registered, surveyed (JSON). Police use: officers' ids are personal.")

    SINCE = "SINCE"
    PERIOD_DAYS = "PERIOD_DAYS"
    BEHIND_BELOW = "BEHIND_BELOW"
    OUTPUT = "OUTPUT"
    SETUPS = "SETUPS"
    OFFICERS = "OFFICERS"
    DAYS = "DAYS"
    HEADLINE = "HEADLINE"
    BEHIND = "BEHIND"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        from spatial_core.targeting.progress import DEFAULT_BEHIND_BELOW, DEFAULT_PERIOD_DAYS

        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(
            self.SETUP_ID, self.tr("Set-up id (empty: every live set-up)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.NOW, self.tr("At (default the clock)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.SINCE, self.tr("Headline, officers and days from (YYYY-MM-DD; empty: all)"),
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.PERIOD_DAYS, self.tr("A set-up's period (days from its creation)"),
            type=QgsProcessingParameterNumber.Double, defaultValue=DEFAULT_PERIOD_DAYS,
            minValue=0.01))
        self.addParameter(QgsProcessingParameterNumber(
            self.BEHIND_BELOW, self.tr("Behind below this share of the pace"),
            type=QgsProcessingParameterNumber.Double, defaultValue=DEFAULT_BEHIND_BELOW,
            minValue=0.01, maxValue=1.0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Progress per set-up and beat"),
            QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.SETUPS, self.tr("Progress per set-up"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OFFICERS, self.tr("Progress per set-up and officer"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.DAYS, self.tr("Progress per set-up and day"), QgsProcessing.TypeVector))
        self.addOutput(QgsProcessingOutputString(self.HEADLINE, self.tr("Headline (JSON)")))
        self.addOutput(QgsProcessingOutputNumber(self.BEHIND, self.tr("Beats falling behind")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api.progress import progress

        text = lambda key: self.parameterAsString(parameters, key, context).strip() or None  # noqa: E731
        with self.opened_store(parameters, context) as store:
            report = progress(store, setup_id=text(self.SETUP_ID), now=text(self.NOW),
                              since=text(self.SINCE),
                              period_days=self.parameterAsDouble(parameters, self.PERIOD_DAYS,
                                                                 context),
                              behind_below=self.parameterAsDouble(parameters,
                                                                  self.BEHIND_BELOW, context))
            shapes = area_geometries(store, report.beats["beat_id"].tolist())
        h = report.headline
        feedback.pushInfo(f"{h['households_visited']} houses visited, {h['registered']} "
                          f"registered ({h['joined']} now members), {h['surveyed']} surveyed; "
                          f"{len(report.setups)} live set-up(s), {len(report.behind)} beat(s) "
                          f"falling behind. Rule: {report.rule}")
        beats = _flat(report.beats)
        beats_layer = with_geometry(beats, shapes.reindex(beats["beat_id"]).to_numpy()
                                    if len(beats) else [])
        setups = _flat(report.setups.drop(columns=["geometry"]))
        setups_layer = with_geometry(setups, report.setups["geometry"].to_numpy()
                                     if len(setups) else [])
        return {
            self.OUTPUT: styled_sink(self, beats_layer, parameters, self.OUTPUT, context,
                                     "Set-up progress per beat", configure=_style_behind),
            self.SETUPS: styled_sink(self, setups_layer, parameters, self.SETUPS, context,
                                     "Set-up progress", configure=_style_behind),
            self.OFFICERS: styled_sink(self, _flat(report.officers), parameters,
                                       self.OFFICERS, context, "Set-up progress per officer"),
            self.DAYS: styled_sink(self, _flat(report.days), parameters, self.DAYS, context,
                                   "Set-up progress per day"),
            self.HEADLINE: json.dumps(h, default=str),
            self.BEHIND: len(report.behind),
        }
