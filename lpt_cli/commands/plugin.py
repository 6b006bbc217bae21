# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt plugin build [-o DIR]``: the installable QGIS plugin zip.

The zip follows QGIS conventions: one folder ``local_priority_targeting/`` holding
``metadata.txt`` (the repository's top-level one, with ``version`` added from
:data:`spatial_core.__version__`), ``__init__.py`` with ``classFactory``, the plugin code and
styles, ``lpt-requirements.txt`` (from ``pyproject.toml``) and a copy of ``spatial_core`` in
``lib/``, which the plugin puts on ``sys.path``.
"""
from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

from spatial_core.errors import InputError

__all__ = ["build_plugin", "PLUGIN_FOLDER"]

PLUGIN_FOLDER = "local_priority_targeting"
_ROOT = Path(__file__).resolve().parents[2]
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
_SKIP_FILES = {"make_styles.py"}  # development tools


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or _SKIP_DIRS & set(rel.parts) or path.name in _SKIP_FILES:
            continue
        if path.suffix in {".pyc", ".pyo"}:
            continue
        yield path, rel


def _metadata(version: str) -> str:
    lines = (_ROOT / "metadata.txt").read_text(encoding="utf-8").splitlines()
    out = [ln for ln in lines if not ln.startswith("version=")]
    at = out.index("[general]") + 1
    return "\n".join([*out[:at], f"version={version}", *out[at:]]) + "\n"


def _requirements() -> str:
    with open(_ROOT / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    return ("# Python packages spatial_core needs inside QGIS's Python "
            "(see docs/qgis-plugin.md)\n" + "\n".join(deps) + "\n")


def build_plugin(out_dir: str | Path) -> Path:
    """Write ``local_priority_targeting-<version>.zip`` into ``out_dir``; return its path."""
    from spatial_core import __version__

    source = _ROOT / "qgis_plugin"
    core = _ROOT / "spatial_core"
    if not (source / "__init__.py").exists() or not (_ROOT / "metadata.txt").exists():
        raise InputError(f"no plugin sources in {_ROOT}: 'lpt plugin build' runs from a source "
                         "checkout (qgis_plugin/ and metadata.txt)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{PLUGIN_FOLDER}-{__version__}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, rel in _files(source):
            zf.write(path, f"{PLUGIN_FOLDER}/{rel.as_posix()}")
        for path, rel in _files(core):
            zf.write(path, f"{PLUGIN_FOLDER}/lib/spatial_core/{rel.as_posix()}")
        zf.writestr(f"{PLUGIN_FOLDER}/metadata.txt", _metadata(__version__))
        zf.writestr(f"{PLUGIN_FOLDER}/lpt-requirements.txt", _requirements())
        for extra in ("LICENSE", "COPYING"):
            if (_ROOT / extra).exists():
                zf.write(_ROOT / extra, f"{PLUGIN_FOLDER}/{extra}")
    return target


def _build(args) -> int:
    path = build_plugin(args.out)
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f"{path} ({n} files, {path.stat().st_size / 1e6:.1f} MB)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("plugin", help="the QGIS plugin")
    psub = p.add_subparsers(dest="plugin_command", required=True, metavar="ACTION")
    b = psub.add_parser("build", help="build the installable plugin zip")
    b.add_argument("-o", "--out", default="dist", help="output folder (default ./dist)")
    b.set_defaults(func=_build)
