# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin object QGIS loads: registers the Processing provider, guards dependencies."""
from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsMessageLog

from . import dependencies
from .paths import add_library_paths, dependencies_dir

__all__ = ["LocalPriorityTargetingPlugin", "LOG_TAG"]

LOG_TAG = "Local priority targeting"


class LocalPriorityTargetingPlugin:
    """Registers the ``lpt`` provider in initProcessing and removes it in unload."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None
        self.problem: str | None = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS API
        if self.provider is not None:
            return
        from .provider import LptProvider

        add_library_paths()
        problems = dependencies.missing()
        self.problem = dependencies.message(problems, dependencies_dir()) if problems else None
        if self.problem is None:
            try:
                import spatial_core  # noqa: F401
            except ImportError as exc:
                self.problem = (f"Local priority targeting cannot import spatial_core ({exc}); "
                                "reinstall the plugin from a zip made by 'lpt plugin build'.")
        if self.problem:
            QgsMessageLog.logMessage(self.problem, LOG_TAG, Qgis.Critical)
        self.provider = LptProvider(core_available=self.problem is None)
        QgsApplication.processingRegistry().addProvider(self.provider)
        from .geoservice import restore_connections  # geoservice headers lost at restart

        restore_connections(lambda m: QgsMessageLog.logMessage(m, LOG_TAG, Qgis.Warning))

    def initGui(self) -> None:  # noqa: N802 - QGIS API
        self.initProcessing()
        bar = getattr(self.iface, "messageBar", None)
        if self.problem and bar is not None:
            bar().pushMessage(LOG_TAG, self.problem, level=Qgis.Warning, duration=0)

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
