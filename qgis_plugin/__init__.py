# SPDX-License-Identifier: GPL-3.0-or-later
"""Local priority targeting: QGIS plugin (Processing provider ``lpt``)."""


def classFactory(iface):  # noqa: N802 - the name QGIS looks for
    """Called by QGIS to load the plugin; imports nothing heavy before it is asked to."""
    from .plugin import LocalPriorityTargetingPlugin

    return LocalPriorityTargetingPlugin(iface)
