# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_archive."""
from __future__ import annotations

import json

from qgis.core import QgsProcessingOutputString

from ._base import LptAlgorithm


class SetupArchiveAlgorithm(LptAlgorithm):
    """Archive a targeting set-up: read-only from now on, its final report kept."""

    NAME = "setup_archive"
    DISPLAY_NAME = "Archive a targeting set-up"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Archives a set-up: it becomes read-only (no new visits tagged, no updates) and its "
            "progress report at NOW (default the clock) is kept with it.")

    STATUS = "STATUS"
    SETUP = "SETUP"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_setup_parameters()
        self.addOutput(QgsProcessingOutputString(self.STATUS, self.tr("Status")))
        self.addOutput(QgsProcessingOutputString(self.SETUP, self.tr("Set-up (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.targeting.setups import archive_setup

        setup_id, now = self.setup_and_now(parameters, context)
        with self.opened_store(parameters, context) as store:
            setup = archive_setup(store, setup_id, now=now)
        feedback.pushInfo(f"set-up {setup_id} archived at {setup.archived_at}")
        return {self.STATUS: setup.status,
                self.SETUP: json.dumps(setup.to_dict(), default=str)}
