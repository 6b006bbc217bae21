# SPDX-License-Identifier: GPL-3.0-or-later
"""The load-time guard: are spatial_core's Python dependencies importable in QGIS's Python?

The requirements come from ``lpt-requirements.txt`` beside the plugin (written by
``lpt plugin build`` from ``pyproject.toml``) or, when the plugin runs from a source checkout,
from ``pyproject.toml`` itself, so there is one list. A missing or too old package gives one
message saying how to install it, never a traceback.
"""
from __future__ import annotations

import importlib
import os
import shlex
import sys
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .paths import PLUGIN_DIR

__all__ = ["Requirement", "requirements", "missing", "install_command", "message",
           "python_executable", "REQUIREMENTS_FILE"]

REQUIREMENTS_FILE = "lpt-requirements.txt"

# Distribution name -> module to import, where they differ.
_MODULES = {"pyyaml": "yaml", "psycopg": "psycopg", "sqlalchemy": "sqlalchemy"}
# Needed by the command line only, not inside QGIS.
_NOT_IN_QGIS = {"tqdm"}


@dataclass(frozen=True)
class Requirement:
    """One line of the requirements: ``spec`` as pip reads it, ``module`` to import,
    ``specifier`` the versions accepted (:class:`packaging.specifiers.SpecifierSet`)."""

    spec: str
    name: str
    module: str
    specifier: SpecifierSet


def _parse(line: str) -> Requirement | None:
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    try:
        req = PackagingRequirement(line)
    except InvalidRequirement:
        return None
    if req.marker is not None and not req.marker.evaluate():
        return None
    name = canonicalize_name(req.name)
    if name in _NOT_IN_QGIS:
        return None
    return Requirement(line, name, _MODULES.get(name, name.replace("-", "_")), req.specifier)


def _source_lines() -> list[str]:
    built = os.path.join(PLUGIN_DIR, REQUIREMENTS_FILE)
    if os.path.exists(built):
        with open(built, encoding="utf-8") as fh:
            return fh.read().splitlines()
    pyproject = os.path.join(os.path.dirname(PLUGIN_DIR), "pyproject.toml")
    import tomllib

    with open(pyproject, "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def requirements() -> list[Requirement]:
    """spatial_core's requirements that must import inside QGIS."""
    return [r for r in map(_parse, _source_lines()) if r is not None]


def _why_not(version: str, specifier: SpecifierSet) -> str | None:
    """Why ``version`` is outside ``specifier`` (None when it is inside or unreadable)."""
    try:
        have = Version(version)
    except InvalidVersion:
        return None
    if specifier.contains(have, prereleases=True):
        return None
    for spec in specifier:
        if not spec.contains(have, prereleases=True):
            if spec.operator in (">=", ">", "~=", "=="):
                return f"version {version} is older than {spec.version}" \
                    if have < Version(spec.version) else f"version {version} is not {spec}"
            return f"version {version} is not below {spec.version}" \
                if spec.operator in ("<", "<=") else f"version {version} is not {spec}"
    return f"version {version} is not {specifier}"


def missing(reqs: list[Requirement] | None = None) -> list[tuple[Requirement, str]]:
    """The requirements that do not import, or import at a version outside the range.

    Returns ``(requirement, why)`` pairs, ``why`` being e.g. ``"not installed"`` or
    ``"version 1.5.3 is older than 2.1"``.
    """
    out = []
    for req in reqs if reqs is not None else requirements():
        try:
            mod = importlib.import_module(req.module)
        except Exception as exc:  # noqa: BLE001 - a broken binary is as missing as an absent one
            out.append((req, "not installed" if isinstance(exc, ImportError) and
                        getattr(exc, "name", None) == req.module else f"fails to import ({exc})"))
            continue
        version = str(getattr(mod, "__version__", "") or "")
        why = _why_not(version, req.specifier) if version else None
        if why:
            out.append((req, why))
    return out


def python_executable() -> str:
    """The Python interpreter QGIS embeds (``sys.executable`` is the QGIS binary on Linux)."""
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    if sys.platform == "win32":
        candidate = os.path.join(sys.exec_prefix, "python.exe")
        return candidate if os.path.exists(candidate) else "python"
    ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (os.path.join(sys.exec_prefix, "bin", ver),
                      os.path.join(sys.exec_prefix, "bin", "python3")):
        if os.path.exists(candidate):
            return candidate
    return "python3"


def install_command(reqs: list[Requirement], target: str) -> list[str]:
    """The pip command that installs ``reqs`` into ``target``, numpy pinned to QGIS's own."""
    cmd = [python_executable(), "-m", "pip", "install", "--upgrade", "--target", target]
    try:
        import numpy

        cmd += [f"numpy=={numpy.__version__}"]  # QGIS's numpy; never numpy 2 beside it
    except ImportError:
        cmd += ["numpy<2"]
    return cmd + [r.spec for r in reqs if r.name != "numpy"]


def message(problems: list[tuple[Requirement, str]], target: str) -> str:
    """The text shown when dependencies are missing: what, and exactly how to install them."""
    what = "; ".join(f"{r.name} ({why})" for r, why in problems)
    cmd = " ".join(shlex.quote(p) for p in install_command([r for r, _ in problems], target))
    return (
        f"Local priority targeting needs Python packages that QGIS's Python lacks: {what}. "
        "Install them with the Processing algorithm 'Local priority targeting > Setup > "
        "Install Python dependencies', or in a terminal run: "
        f"{cmd} -- then restart QGIS. See docs/qgis-plugin.md in the repository."
    )
