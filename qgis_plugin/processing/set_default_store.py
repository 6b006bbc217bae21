# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:set_default_store."""
from __future__ import annotations

from qgis.core import QgsProcessingOutputString, QgsProcessingParameterString

from ..settings import set_default_store
from ._base import LptAlgorithm, core_call


class SetDefaultStoreAlgorithm(LptAlgorithm):
    """Set the default store."""

    NAME = "set_default_store"
    DISPLAY_NAME = "Set the default store"
    GROUP = "Setup"
    GROUP_ID = "setup"
    HELP = ("Remembers a GeoPackage path or postgresql:// URL as the store every algorithm uses "
            "when none is given. The store is created (GeoPackage) or checked (PostGIS).")

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterString(
            self.STORE, self.tr("Store (GeoPackage file or postgresql:// URL)")))
        self.addOutput(QgsProcessingOutputString(self.STORE, self.tr("Store")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        location = self.store_location(parameters, context)
        self.open_store(parameters, context, create=True).close()
        with core_call():
            set_default_store(location)
        feedback.pushInfo(f"default store: {location}")
        return {self.STORE: location}
