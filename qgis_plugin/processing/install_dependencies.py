# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:install_dependencies: pip-installs spatial_core's dependencies for QGIS's Python."""
from __future__ import annotations

import shlex
import subprocess

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
)

from .. import dependencies
from ..paths import dependencies_dir
from ._base import LptAlgorithm

NEEDS_CORE = False  # this is how the core's dependencies arrive


class InstallDependenciesAlgorithm(LptAlgorithm):
    """Install Python dependencies."""

    NAME = "install_dependencies"
    DISPLAY_NAME = "Install Python dependencies"
    GROUP = "Setup"
    GROUP_ID = "setup"
    HELP = ("Installs the Python packages the plugin needs and QGIS's Python lacks (h3, "
            "h3ronpy, geopandas …) with pip into the QGIS profile's python/lpt-dependencies "
            "folder, which the plugin puts on the Python path. numpy is pinned to the version "
            "QGIS already uses. Restart QGIS afterwards. Needs internet access.")

    TARGET = "TARGET"
    ALL = "ALL"
    DRY_RUN = "DRY_RUN"
    COMMAND = "COMMAND"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterFile(
            self.TARGET, self.tr("Install into folder"),
            behavior=QgsProcessingParameterFile.Folder, defaultValue=dependencies_dir(),
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ALL, self.tr("Install every requirement, not only the missing ones"),
            defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            self.DRY_RUN, self.tr("Only show the command"), defaultValue=False))
        self.addOutput(QgsProcessingOutputString(self.COMMAND, self.tr("pip command")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        target = self.parameterAsFile(parameters, self.TARGET, context) or dependencies_dir()
        if self.parameterAsBool(parameters, self.ALL, context):
            reqs = dependencies.requirements()
        else:
            reqs = [r for r, _ in dependencies.missing()]
        if not reqs:
            feedback.pushInfo("Every dependency imports already; nothing to install.")
            return {self.COMMAND: ""}
        cmd = dependencies.install_command(reqs, target)
        shown = " ".join(shlex.quote(p) for p in cmd)
        feedback.pushInfo(shown)
        if self.parameterAsBool(parameters, self.DRY_RUN, context):
            return {self.COMMAND: shown}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            feedback.pushConsoleInfo(line.rstrip())
            if feedback.isCanceled():
                proc.terminate()
                raise QgsProcessingException("Cancelled: pip was stopped")
        if proc.wait() != 0:
            raise QgsProcessingException(f"pip failed (exit code {proc.returncode}); its output "
                                         "is in the log above. Command: " + shown)
        feedback.pushInfo("Installed. Restart QGIS to load Local priority targeting.")
        return {self.COMMAND: shown}
