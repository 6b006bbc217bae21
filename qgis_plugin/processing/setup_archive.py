# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_archive."""
from __future__ import annotations

import json

from qgis.core import QgsProcessingOutputString, QgsProcessingParameterString

from ._base import LptAlgorithm, core_call


class SetupArchiveAlgorithm(LptAlgorithm):
    """Archive a targeting set-up: read-only from now on, its final report kept."""

    NAME = "setup_archive"
    DISPLAY_NAME = "Archive a targeting set-up"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Archives a set-up: it becomes read-only (no new visits tagged, no updates) and its "
            "progress report at NOW (default the clock) is kept with it.")

    SETUP_ID = "SETUP_ID"
    NOW = "NOW"
    STATUS = "STATUS"
    SETUP = "SETUP"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(self.SETUP_ID, self.tr("Set-up id")))
        self.addParameter(QgsProcessingParameterString(
            self.NOW, self.tr("At (default the clock)"), optional=True))
        self.addOutput(QgsProcessingOutputString(self.STATUS, self.tr("Status")))
        self.addOutput(QgsProcessingOutputString(self.SETUP, self.tr("Set-up (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.targeting.setups import archive_setup

        setup_id = self.parameterAsString(parameters, self.SETUP_ID, context).strip()
        now = self.parameterAsString(parameters, self.NOW, context).strip() or None
        store = self.open_store(parameters, context)
        try:
            with core_call():
                setup = archive_setup(store, setup_id, now=now)
        finally:
            store.close()
        feedback.pushInfo(f"set-up {setup_id} archived at {setup.archived_at}")
        return {self.STATUS: setup.status,
                self.SETUP: json.dumps(setup.to_dict(), default=str)}
