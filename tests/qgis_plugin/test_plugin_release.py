# SPDX-License-Identifier: GPL-3.0-or-later
"""The release zip (issue 13): plugins.qgis.org requires ``email``, ``repository`` and
``tracker`` (and checks ``homepage``); the project has no public values for them, so
``metadata.txt`` holds placeholders under ``.invalid`` and ``lpt plugin package`` takes the
real ones (options or ``$LPT_PLUGIN_*``), refuses without them, and checks the zip as the
repository's upload validator does. QGIS reads the values from the installed zip."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from lpt_cli.commands.plugin import (
    ENV_RELEASE,
    PLUGIN_FOLDER,
    build_plugin,
    package_plugin,
    release_values,
    validate_plugin_zip,
)
from spatial_core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
REAL = {"email": "gis-team@force.police.uk", "homepage": "https://lpt.force.police.uk/",
        "repository": "https://git.force.police.uk/gis/lpt",
        "tracker": "https://git.force.police.uk/gis/lpt/issues"}


def _no_release_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ENV_RELEASE.values()}


def test_source_metadata_has_every_required_field_with_placeholders():
    import configparser

    parser = configparser.ConfigParser()
    parser.read(ROOT / "qgis_plugin" / "metadata.txt", encoding="utf-8")
    meta = dict(parser.items("general"))
    for field in ("name", "description", "qgisminimumversion", "author", "about", "email",
                  "homepage", "repository", "tracker"):
        assert meta.get(field), field
    assert all(".invalid" in meta[f] for f in ("email", "homepage", "repository", "tracker"))


def test_values_come_from_options_then_the_environment():
    env = {ENV_RELEASE[f]: v for f, v in REAL.items()}
    assert release_values({}, env) == REAL
    got = release_values({"email": "other@force.police.uk", "tracker": None}, env)
    assert got["email"] == "other@force.police.uk" and got["tracker"] == REAL["tracker"]


@pytest.mark.parametrize("field,value,why", [
    ("email", "maintainers@lpt.invalid", "reserved domain"),
    ("email", "nobody", "not an e-mail address"),
    ("homepage", "http://homepage", "template's placeholder"),
    ("tracker", "http://bugs", "template's placeholder"),
    ("repository", "https://example.com/lpt", "reserved domain"),
    ("repository", "git@git.force.police.uk:gis/lpt.git", "not an http(s) URL"),
    ("homepage", "https://lpt.test/", "reserved domain"),
])
def test_placeholders_are_refused(field, value, why):
    with pytest.raises(InputError, match=re.escape(why)):
        release_values({**REAL, field: value}, env={})


def test_package_refuses_without_real_values_and_writes_nothing(tmp_path):
    with pytest.raises(InputError) as err:
        package_plugin(tmp_path, {}, env={})
    for field in ("email", "homepage", "repository", "tracker"):
        assert f"--{field} or ${ENV_RELEASE[field]}" in str(err.value)
    assert not list(tmp_path.iterdir())


def test_cli_package_exits_2_naming_what_is_missing(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lpt_cli.main", "plugin", "package", "-o",
                           str(tmp_path), "--email", "maintainers@lpt.invalid"], cwd=ROOT,
                          capture_output=True, text=True, env=_no_release_env(), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "reserved domain" in proc.stderr and "$LPT_PLUGIN_TRACKER" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.glob("*.zip"))


def test_development_zip_keeps_the_placeholders_and_the_check_names_only_them(tmp_path):
    problems = validate_plugin_zip(build_plugin(tmp_path))
    assert len(problems) == 4 and all("placeholder" in p for p in problems), problems


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_the_check_refuses_what_the_repository_refuses(tmp_path):
    meta = "[general]\nname=x\n"
    bad = _zip(tmp_path / "bad.zip", {"p/__init__.py": "", "p/metadata.txt": meta,
                                      "p/__pycache__/a.cpython-311.pyc": "",
                                      "p/../evil.py": ""})
    problems = " | ".join(validate_plugin_zip(bad))
    for expected in ("a .pyc file", "a __pycache__ folder", "path information", "no p/LICENSE",
                     "lacks description, version, qgisMinimumVersion, author, email, about, "
                     "tracker, repository"):
        assert expected in problems, problems
    two = _zip(tmp_path / "two.zip", {"a/__init__.py": "", "b/metadata.txt": meta})
    assert "one top-level folder" in validate_plugin_zip(two)[-1]
    name = _zip(tmp_path / "name.zip", {"9p/__init__.py": "", "9p/LICENSE": "",
                                        "9p/metadata.txt": "[other]\nx=1\n"})
    assert any("ASCII letters" in p for p in validate_plugin_zip(name))
    assert any("[general]" in p for p in validate_plugin_zip(name))


_READ = textwrap.dedent("""
    import sys
    profile, plugins = sys.argv[1], sys.argv[2]
    from qgis.core import QgsApplication
    app = QgsApplication([], False, profile)
    app.initQgis()
    import qgis.utils
    qgis.utils.plugin_paths = [plugins]
    qgis.utils.updateAvailablePlugins()
    for key in ("email", "homepage", "repository", "tracker", "version"):
        print(key, qgis.utils.pluginMetadata("local_priority_targeting", key))
""")


@pytest.mark.slow
def test_release_zip_passes_the_check_and_qgis_reads_its_contacts(qgis_app, tmp_path):
    from spatial_core import __version__

    path = package_plugin(tmp_path / "dist", {}, env={ENV_RELEASE[f]: v for f, v in REAL.items()})
    assert validate_plugin_zip(path) == []
    with zipfile.ZipFile(path) as zf:
        assert b"GNU GENERAL PUBLIC LICENSE" in zf.read(f"{PLUGIN_FOLDER}/LICENSE")
        plugins = tmp_path / "profile" / "python" / "plugins"
        plugins.mkdir(parents=True)
        zf.extractall(plugins)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", _READ, str(tmp_path / "profile"),
                           str(plugins)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert {k: got[k] for k in REAL} == REAL and got["version"] == __version__
