# SPDX-License-Identifier: GPL-3.0-or-later
"""The dependency guard and the built zip installed into a fresh QGIS profile."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_requirements_are_pyproject_dependencies_without_cli_only_ones(qgis_app):
    import tomllib

    from qgis_plugin import dependencies

    with open(ROOT / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    names = [r.name for r in dependencies.requirements()]
    assert names == [d.split("[")[0].split(">")[0].split("=")[0].split("<")[0].lower()
                     for d in deps if not d.startswith("tqdm")]
    assert {"h3", "h3ronpy", "shapely", "geopandas", "pyogrio", "sqlalchemy", "psycopg",
            "pyproj", "pandas"} <= set(names)
    assert dependencies.missing() == []


class _Bar:
    def __init__(self):
        self.messages = []

    def pushMessage(self, title, text, level=None, duration=None):  # noqa: N802 - QGIS API
        self.messages.append((title, text))


class _Iface:
    def __init__(self):
        self.bar = _Bar()

    def messageBar(self):  # noqa: N802 - QGIS API
        return self.bar


def test_missing_dependency_gives_an_install_message_and_only_the_installer(
        qgis_app, monkeypatch):
    from qgis.core import QgsApplication

    from qgis_plugin import dependencies, plugin, provider

    fake = dependencies._parse("h3>=4.1,<5")
    monkeypatch.setitem(sys.modules, "h3", None)  # import h3 now raises ImportError
    monkeypatch.setattr(dependencies, "requirements", lambda: [fake])
    monkeypatch.setattr(provider.LptProvider, "id", lambda self: "lpt_missing")
    logged = []
    QgsApplication.messageLog().messageReceived.connect(lambda msg, tag, level: logged.append(msg))
    iface = _Iface()
    p = plugin.LocalPriorityTargetingPlugin(iface)
    try:
        p.initGui()
        assert p.problem is not None
        assert "h3 (not installed)" in p.problem
        assert "-m pip install --upgrade --target" in p.problem
        assert "'h3>=4.1,<5'" in p.problem and "numpy==" in p.problem
        assert "Install Python dependencies" in p.problem
        assert "Traceback" not in p.problem
        assert iface.bar.messages == [("Local priority targeting", p.problem)]
        assert p.problem in logged
        reg = QgsApplication.processingRegistry().providerById("lpt_missing")
        assert [a.name() for a in reg.algorithms()] == ["install_dependencies"]
    finally:
        p.unload()
    assert QgsApplication.processingRegistry().providerById("lpt_missing") is None


def test_too_old_version_is_reported(qgis_app, monkeypatch):
    from qgis_plugin import dependencies

    req = dependencies._parse("shapely>=9.0")
    (got, why), = dependencies.missing([req])
    assert got is req and why.startswith("version 2.") and why.endswith("is older than 9.0")
    req = dependencies._parse("shapely>=1.8,<2.0")
    (got, why), = dependencies.missing([req])
    assert why.startswith("version 2.") and why.endswith("is not below 2.0")
    assert dependencies.missing([dependencies._parse("shapely>=1.8,<99")]) == []
    assert dependencies._parse("pywin32>=300; sys_platform == 'win32'") is None


def test_install_dependencies_dry_run_shows_the_pip_command(run, tmp_path):
    out = run("install_dependencies", {"TARGET": str(tmp_path), "ALL": True, "DRY_RUN": True})
    assert f"--target {tmp_path}" in out["COMMAND"]
    assert "h3ronpy" in out["COMMAND"] and "numpy==1." in out["COMMAND"]


_START = textwrap.dedent("""
    import sys
    profile, plugins = sys.argv[1], sys.argv[2]
    from qgis.core import QgsApplication
    app = QgsApplication([], False, profile)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing
    Processing.initialize()
    import qgis.utils
    qgis.utils.plugin_paths = [plugins]
    sys.path.insert(0, plugins)
    qgis.utils.updateAvailablePlugins()
    assert "local_priority_targeting" in qgis.utils.available_plugins, qgis.utils.available_plugins
    assert qgis.utils.loadPlugin("local_priority_targeting")
    assert qgis.utils.startProcessingPlugin("local_priority_targeting")
    prov = QgsApplication.processingRegistry().providerById("lpt")
    import spatial_core
    print("PROVIDER", prov.name())
    print("VERSION", qgis.utils.pluginMetadata("local_priority_targeting", "version"))
    print("MINIMUM", qgis.utils.pluginMetadata("local_priority_targeting", "qgisMinimumVersion"))
    print("CORE", spatial_core.__file__)
    print("ALGS", " ".join(sorted(a.name() for a in prov.algorithms())))
    qgis.utils.unloadPlugin("local_priority_targeting")
    print("AFTER", QgsApplication.processingRegistry().providerById("lpt"))
""")


@pytest.mark.slow
def test_built_zip_installs_into_a_fresh_profile_and_the_provider_appears(qgis_app, tmp_path):
    from lpt_cli.commands.plugin import build_plugin
    from spatial_core import __version__

    zip_path = build_plugin(tmp_path / "dist")
    assert zip_path.name == f"local_priority_targeting-{__version__}.zip"
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        meta = zf.read("local_priority_targeting/metadata.txt").decode()
    assert {"local_priority_targeting/__init__.py", "local_priority_targeting/metadata.txt",
            "local_priority_targeting/lpt-requirements.txt",
            "local_priority_targeting/styles/members.qml",
            "local_priority_targeting/lib/spatial_core/__init__.py",
            "local_priority_targeting/lib/spatial_core/data/harm_weights.csv"} <= names
    assert not any("__pycache__" in n or n.endswith("make_styles.py") for n in names)
    for line in (f"version={__version__}", "qgisMinimumVersion=3.22", "hasProcessingProvider=yes",
                 "name=Local priority targeting"):
        assert line in meta.splitlines()

    profile = tmp_path / "profile"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _START, str(profile), str(plugins)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert out["PROVIDER"] == "Local priority targeting"
    assert out["VERSION"] == __version__ and out["MINIMUM"] == "3.22"
    # The vendored copy is the one imported, not the source checkout's
    assert out["CORE"].startswith(str(plugins / "local_priority_targeting" / "lib"))
    assert {"import_crimes", "import_boundaries", "refresh_index", "store_status",
            "load_store_layers"} <= set(out["ALGS"].split())
    assert out["AFTER"] == "None"
