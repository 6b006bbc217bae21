# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:store_status."""
from __future__ import annotations

import json

from qgis.core import QgsProcessingOutputString

from ._base import LptAlgorithm


class StoreStatusAlgorithm(LptAlgorithm):
    """What the store holds."""

    NAME = "store_status"
    DISPLAY_NAME = "Store status"
    HELP = ("Counts per table, date ranges, areas per level, classification schemes and the H3 "
            "resolution of the store, as in 'lpt status'.")

    STATUS = "STATUS"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addOutput(QgsProcessingOutputString(self.STATUS, self.tr("Status (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.store.status import store_status

        with self.opened_store(parameters, context) as store:
            status = store_status(store)
        feedback.pushInfo(f"store {status['store']} ({status['backend']}, schema "
                          f"v{status['schema_version']}, H3 resolution {status['h3_resolution']})")
        for name, n in status["counts"].items():
            feedback.pushInfo(f"  {name}: {n}")
        return {self.STATUS: json.dumps(status, default=str)}
