# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:export_walk_list."""
from __future__ import annotations

import json

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm, core_call


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

    SETUP_ID = "SETUP_ID"
    NOW = "NOW"
    OUTPUT = "OUTPUT"
    ROWS = "ROWS"
    RESULT = "RESULT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(self.SETUP_ID, self.tr("Set-up id")))
        self.addParameter(QgsProcessingParameterString(
            self.NOW, self.tr("For (default the clock)"), optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Walk list file"),
            fileFilter="GeoJSON (*.geojson);;GeoPackage (*.gpkg);;CSV (*.csv)"))
        self.addOutput(QgsProcessingOutputNumber(self.ROWS, self.tr("Doors")))
        self.addOutput(QgsProcessingOutputString(self.RESULT, self.tr("Result (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api.export import export_layer

        setup_id = self.parameterAsString(parameters, self.SETUP_ID, context).strip()
        now = self.parameterAsString(parameters, self.NOW, context).strip() or None
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        store = self.open_store(parameters, context)
        try:
            with core_call():
                result = export_layer(store, "walk-list", path, setup_id=setup_id, now=now)
        finally:
            store.close()
        feedback.pushInfo(f"{result.rows} doors written to {result.path}")
        return {self.OUTPUT: result.path, self.ROWS: result.rows,
                self.RESULT: json.dumps(result.to_dict())}
