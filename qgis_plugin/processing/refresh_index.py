# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:refresh_index."""
from __future__ import annotations

import json

from qgis.core import QgsProcessingOutputNumber, QgsProcessingOutputString

from ._base import LptAlgorithm, progress_callable


class RefreshIndexAlgorithm(LptAlgorithm):
    """Build or refresh the derived index."""

    NAME = "refresh_index"
    DISPLAY_NAME = "Build or refresh the index"
    HELP = ("Recomputes the derived assignments: each household's street, output area, beat "
            "and ward, and each street's beat, ward and household count. Run it after "
            "importing new boundaries or streets.")

    ADDRESSES_UPDATED = "ADDRESSES_UPDATED"
    STREETS_UPDATED = "STREETS_UPDATED"
    RESULT = "RESULT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addOutput(QgsProcessingOutputNumber(self.ADDRESSES_UPDATED,
                                                 self.tr("Households changed")))
        self.addOutput(QgsProcessingOutputNumber(self.STREETS_UPDATED, self.tr("Streets changed")))
        self.addOutput(QgsProcessingOutputString(self.RESULT, self.tr("Result (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.store.index import refresh_index

        with self.opened_store(parameters, context) as store:
            result = refresh_index(store, progress=progress_callable(feedback))
        feedback.pushInfo(json.dumps(result, default=str))
        return {self.ADDRESSES_UPDATED: result.get("addresses_updated", 0),
                self.STREETS_UPDATED: result.get("streets_updated", 0),
                self.RESULT: json.dumps(result, default=str)}
