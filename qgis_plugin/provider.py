# SPDX-License-Identifier: GPL-3.0-or-later
"""The Processing provider ``lpt``: one algorithm per module of :mod:`.processing`."""
from __future__ import annotations

import importlib
import inspect
import os
import pkgutil

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import processing as algorithms
from .paths import PLUGIN_DIR, plugin_version
from .processing._base import LptAlgorithm

__all__ = ["LptProvider", "algorithm_classes"]


def algorithm_classes(core_available: bool = True) -> list[type[LptAlgorithm]]:
    """The algorithm classes, discovered: each public module of ``processing`` defines one.

    A module that sets ``NEEDS_CORE = False`` is loaded even when spatial_core cannot be
    imported (the dependency installer). A module that fails to import is logged and skipped,
    so one broken algorithm never hides the others.
    """
    found = []
    for info in sorted(pkgutil.iter_modules(algorithms.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"{algorithms.__name__}.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into QGIS
            QgsMessageLog.logMessage(f"algorithm module {info.name} not loaded: {exc}",
                                     "Local priority targeting", Qgis.Warning)
            continue
        if not core_available and getattr(module, "NEEDS_CORE", True):
            continue
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, LptAlgorithm) and cls.__module__ == name]
    return found


class LptProvider(QgsProcessingProvider):
    """Local priority targeting."""

    def __init__(self, core_available: bool = True) -> None:
        super().__init__()
        self.core_available = core_available

    def id(self) -> str:
        return "lpt"

    def name(self) -> str:
        return "Local priority targeting"

    def longName(self) -> str:  # noqa: N802 - QGIS API
        return f"Local priority targeting {plugin_version()}"

    def icon(self) -> QIcon:
        return QIcon(os.path.join(PLUGIN_DIR, "icon.svg"))

    def loadAlgorithms(self) -> None:  # noqa: N802 - QGIS API
        for cls in algorithm_classes(self.core_available):
            self.addAlgorithm(cls())
