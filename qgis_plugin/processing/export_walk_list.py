# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:export_walk_list."""
from __future__ import annotations

import json

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
)

from ._base import LptAlgorithm


class ExportWalkListAlgorithm(LptAlgorithm):
    """Write a set-up's walk list (doors to knock, in walking order) to a file."""

    NAME = "export_walk_list"
    DISPLAY_NAME = "Export a walk list"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Writes the doors still to knock for a set-up at NOW (default the clock), street "
            "by street in walking order, to GeoJSON (WGS84), GeoPackage (British National "
            "Grid) or CSV, by the file's suffix. Addresses only (UPRN, postcode, point, "
            "reason): never names or contacts.")

    OUTPUT = "OUTPUT"
    ROWS = "ROWS"
    RESULT = "RESULT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_setup_parameters("For (default the clock)")
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Walk list file"),
            fileFilter="GeoJSON (*.geojson);;GeoPackage (*.gpkg);;CSV (*.csv)"))
        self.addOutput(QgsProcessingOutputNumber(self.ROWS, self.tr("Doors")))
        self.addOutput(QgsProcessingOutputString(self.RESULT, self.tr("Result (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api.export import export_layer

        setup_id, now = self.setup_and_now(parameters, context)
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        with self.opened_store(parameters, context) as store:
            result = export_layer(store, "walk-list", path, setup_id=setup_id, now=now)
        feedback.pushInfo(f"{result.rows} doors written to {result.path}")
        return {self.OUTPUT: result.path, self.ROWS: result.rows,
                self.RESULT: json.dumps(result.to_dict())}
