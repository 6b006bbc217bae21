# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:crime_backtest."""
from __future__ import annotations

import json
from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import styled_sink

__all__ = ["CrimeBacktestAlgorithm", "HISTORIES"]

HISTORIES = (("every month up to the origin", None),
             ("only the origin and the month a year before it", (12, 0)))
"""What the rankings may see at each origin: every stored month, or two months a year apart
(as a store holding only two Julys)."""


class CrimeBacktestAlgorithm(LptAlgorithm):
    """How well does the crime component forecast, on this force's own crimes?"""

    NAME = "crime_backtest"
    DISPLAY_NAME = "Backtest the crime forecast (rolling origins)"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("For each month with enough history (the origin), ranks the units with the months "
            "up to it and measures how much of a later month's harm and crime the top share "
            "captures: the profile's crime component against the naive prior count, prior "
            "harm and the oracle (the test month itself). Units: street units, the H3 cells "
            "holding crime, or police.uk's own locations ('On or near ...' per LSOA; no street "
            "network needed). Units tied at the cut share the places left. TUNE tries the "
            "crime parameters (half-life, prior_crimes, smoothing, long-run months) on these "
            "origins and backtests the best; PROFILE_FILE writes it as a profile for Score "
            "streets. SUMMARY: per ranking the mean hit rate, its sd, min and max over the "
            "origins, crimes captured, PAI and the origins ahead of counting; ORIGINS: every "
            "origin's rows (docs/analytics/evaluation.md).")

    UNITS = "UNITS"
    RESOLUTION = "RESOLUTION"
    LEAD = "LEAD"
    HISTORY = "HISTORY"
    TOP = "TOP"
    MIN_HISTORY = "MIN_HISTORY"
    PROFILE = "PROFILE"
    TUNE = "TUNE"
    PROFILE_FILE = "PROFILE_FILE"
    SUMMARY = "SUMMARY"
    ORIGINS = "ORIGINS"
    VERDICT = "VERDICT"
    RESULT = "RESULT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        from spatial_core.api.backtest import UNITS

        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.UNITS, self.tr("Units"), options=list(UNITS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.RESOLUTION, self.tr("H3 resolution of cells (0 = the store's)"),
            defaultValue=0, minValue=0, maxValue=15))
        self.addParameter(QgsProcessingParameterNumber(
            self.LEAD, self.tr("Months from the origin to the test month"),
            defaultValue=1, minValue=1, maxValue=36))
        self.addParameter(QgsProcessingParameterEnum(
            self.HISTORY, self.tr("The rankings see"), options=[h[0] for h in HISTORIES],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TOP, self.tr("Top share of units selected"),
            QgsProcessingParameterNumber.Double, defaultValue=0.05, minValue=0.001,
            maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_HISTORY, self.tr("Months of history an origin needs"),
            defaultValue=12, minValue=1, maxValue=120))
        self.addParameter(QgsProcessingParameterString(
            self.PROFILE, self.tr("Targeting profile (name or TOML file; empty = default)"),
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.TUNE, self.tr("Tune the crime parameters first"), defaultValue=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.PROFILE_FILE, self.tr("Write the tuned profile to"),
            fileFilter="TOML (*.toml)", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.SUMMARY, self.tr("Backtest summary"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.ORIGINS, self.tr("Backtest by origin"), QgsProcessing.TypeVector,
            optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputString(self.VERDICT, self.tr("In short")))
        self.addOutput(QgsProcessingOutputString(self.RESULT, self.tr("Backtest (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api.backtest import UNITS, crime_backtest
        from spatial_core.targeting.profiles import load_profile, profile_to_toml

        units = UNITS[self.parameterAsEnum(parameters, self.UNITS, context)]
        resolution = self.parameterAsInt(parameters, self.RESOLUTION, context) or None
        history = HISTORIES[self.parameterAsEnum(parameters, self.HISTORY, context)][1]
        name = self.parameterAsString(parameters, self.PROFILE, context).strip()
        tune = self.parameterAsBool(parameters, self.TUNE, context)
        with self.opened_store(parameters, context) as store:
            b = crime_backtest(store, units=units, resolution=resolution,
                               lead=self.parameterAsInt(parameters, self.LEAD, context),
                               history=history,
                               top=self.parameterAsDouble(parameters, self.TOP, context),
                               min_history=self.parameterAsInt(parameters, self.MIN_HISTORY,
                                                               context),
                               profile=load_profile(name) if name else None, tune=tune)
        written = ""
        target = self.parameterAsFileOutput(parameters, self.PROFILE_FILE, context)
        if tune and target:
            Path(target).write_text(profile_to_toml(b.profile), encoding="utf-8")
            written = target
        verdict = _in_short(b)
        feedback.pushInfo(verdict)
        out = {
            self.SUMMARY: styled_sink(self, b.summary, parameters, self.SUMMARY, context,
                                      f"Crime backtest on {b.where}: summary"),
            self.VERDICT: verdict,
            self.RESULT: json.dumps(b.to_dict() | {"profile_written": written or None},
                                    default=str),
        }
        if parameters.get(self.ORIGINS):
            out[self.ORIGINS] = styled_sink(self, b.rows, parameters, self.ORIGINS, context,
                                            f"Crime backtest on {b.where}: by origin")
        if written:
            out[self.PROFILE_FILE] = written
        return out


def _in_short(b) -> str:
    """One line: the crime component's mean hit rate against counting's, and at how many
    origins it was ahead."""
    if not len(b.summary):
        return (f"No origin can be tested on {b.where}: an origin needs the months of history "
                "asked for and a test month after it.")
    s = b.summary.set_index("method")
    score, count = s.loc["score"], s.loc["count"]
    tuned = " (tuned, in-sample)" if b.tuned else ""
    return (f"{b.unit_count:,} {b.where}, {int(score['origins'])} origins: the crime "
            f"component{tuned} captures {100 * score['hit_rate']:.1f}% of the test month's "
            f"harm on the top {100 * b.top:g}%, the naive prior count "
            f"{100 * count['hit_rate']:.1f}%; ahead at {int(score['beats_count'])} of "
            f"{int(score['origins'])} origins.")
