# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_report."""
from __future__ import annotations

import json

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
)

from ._base import LptAlgorithm
from ._outputs import street_geometries, styled_sink, with_geometry


class SetupReportAlgorithm(LptAlgorithm):
    """Progress of a targeting set-up: visits, outcomes, doors left, targets."""

    NAME = "setup_report"
    DISPLAY_NAME = "Report on a targeting set-up"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Progress of a set-up at NOW (default the clock; an archived set-up gives the "
            "report kept when it was archived): totals (households, visited, visits, each "
            "outcome, doors still to knock), each target against what was achieved, and the "
            "same counts per recommended street (OUTPUT, street lines).")

    OUTPUT = "OUTPUT"
    REPORT = "REPORT"
    TO_KNOCK = "TO_KNOCK"
    VISITS = "VISITS"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_setup_parameters()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Progress per street"), QgsProcessing.TypeVectorLine))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Report (JSON)")))
        self.addOutput(QgsProcessingOutputNumber(self.TO_KNOCK, self.tr("Doors to knock")))
        self.addOutput(QgsProcessingOutputNumber(self.VISITS, self.tr("Visits")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.targeting.setups import setup_report

        setup_id, now = self.setup_and_now(parameters, context)
        with self.opened_store(parameters, context) as store:
            report = setup_report(store, setup_id, now=now)
            geoms = street_geometries(store, report.streets.get("street_id", []))
        streets = report.streets
        frame = with_geometry(streets, geoms.reindex(streets["street_id"]).to_numpy()
                              if "street_id" in streets else [])
        for row in report.targets.itertuples():
            feedback.pushInfo(f"{row.measure}: {row.achieved} of {row.target}")
        totals = report.totals
        return {self.OUTPUT: styled_sink(self, frame, parameters, self.OUTPUT, context,
                                         f"Set-up {setup_id}: progress", "streets"),
                self.REPORT: json.dumps(report.to_dict(), default=str),
                self.TO_KNOCK: int(totals.get("to_knock", 0)),
                self.VISITS: int(totals.get("visits", 0))}
