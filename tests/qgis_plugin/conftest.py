# SPDX-License-Identifier: GPL-3.0-or-later
"""Headless PyQGIS for the plugin tests: one QgsApplication, Processing, our provider.

pytest-qgis is not needed: the ``qgis_app`` session fixture starts ``QgsApplication([], False)``
with a throw-away profile, initialises Processing and registers the provider through the
plugin's own ``initProcessing``. Without PyQGIS the tests are skipped, except in CI
(``CI=true``), where they fail.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QGIS_PLUGINS = os.environ.get("QGIS_PLUGINS_PATH", "/usr/share/qgis/python/plugins")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # qgis_plugin is imported from the source checkout
if QGIS_PLUGINS not in sys.path:
    sys.path.append(QGIS_PLUGINS)  # Processing itself is a QGIS core plugin

try:
    import processing  # noqa: F401
    import qgis.core  # noqa: F401

    QGIS_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the machine
    QGIS_ERROR = exc


def pytest_collection_modifyitems(config, items):
    if QGIS_ERROR is None or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"PyQGIS is not importable here ({QGIS_ERROR})")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def qgis_app():
    """The running QgsApplication (headless), Processing initialised, provider ``lpt`` added."""
    if QGIS_ERROR is not None:
        pytest.fail(f"PyQGIS is required in CI: {QGIS_ERROR}")
    from processing.core.Processing import Processing
    from qgis.core import QgsApplication

    profile = tempfile.mkdtemp(prefix="lpt-qgis-profile-")
    app = QgsApplication([], False, profile)
    app.initQgis()
    Processing.initialize()
    from qgis_plugin.plugin import LocalPriorityTargetingPlugin

    plugin = LocalPriorityTargetingPlugin(None)
    plugin.initProcessing()
    assert plugin.problem is None, plugin.problem
    yield app
    plugin.unload()
    # No exitQgis(): other session fixtures (PostgreSQL) may still hold layers; the process ends.


@pytest.fixture
def run(qgis_app):
    """``run("import_crimes", {...})`` = ``processing.run("lpt:import_crimes", {...})``."""
    import processing
    from qgis.core import QgsProcessingFeedback

    def _run(name: str, params: dict, feedback=None):
        return processing.run(f"lpt:{name}", params, feedback=feedback or QgsProcessingFeedback())

    return _run
