# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the plugin finds ``spatial_core`` and the Python packages it installed itself."""
from __future__ import annotations

import os
import sys

__all__ = ["PLUGIN_DIR", "LIB_DIR", "dependencies_dir", "add_library_paths", "plugin_version"]

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
LIB_DIR = os.path.join(PLUGIN_DIR, "lib")  # the vendored spatial_core (only in a built zip)


def dependencies_dir() -> str:
    """``<QGIS profile>/python/lpt-dependencies``: where "Install Python dependencies" puts them."""
    from qgis.core import QgsApplication

    return os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "lpt-dependencies")


def add_library_paths() -> list[str]:
    """Put the vendored ``lib`` and the profile's dependency folder first on ``sys.path``.

    Both go first so that packages installed for the plugin win over older copies in the
    system Python (Debian's pandas, for example); numpy is pinned to QGIS's own version
    when they are installed, so nothing QGIS itself uses is replaced.
    """
    added = []
    for path in (dependencies_dir(), LIB_DIR):
        if os.path.isdir(path) and path not in sys.path:
            sys.path.insert(0, path)
            added.append(path)
    return added


def plugin_version() -> str:
    """The version in the plugin's metadata.txt (built zip) or spatial_core's (source checkout)."""
    path = os.path.join(PLUGIN_DIR, "metadata.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("version="):
                    return line.split("=", 1)[1].strip()
    try:
        from spatial_core import __version__
    except ImportError:
        return "unknown"
    return __version__
