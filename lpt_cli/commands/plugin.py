# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt plugin build [-o DIR]`` and ``lpt plugin package [-o DIR] [--email …]``: the QGIS
plugin zip.

The zip follows QGIS conventions: one folder ``local_priority_targeting/`` holding
``metadata.txt`` (``qgis_plugin/metadata.txt``, with ``version`` added from
:data:`spatial_core.__version__`), ``__init__.py`` with ``classFactory``, the plugin code and
styles, ``LICENSE``, ``lpt-requirements.txt`` (from ``pyproject.toml``) and a copy of
``spatial_core`` in ``lib/``, which the plugin puts on ``sys.path``.

``build`` makes a development zip: the metadata's contact fields stay the placeholders of
``metadata.txt`` (under the reserved ``.invalid`` domain; the project has no public address).
``package`` makes a release zip: the real ``email``, ``homepage``, ``repository`` and
``tracker`` must be given (options, else ``$LPT_PLUGIN_EMAIL`` …), and the zip is checked as
plugins.qgis.org checks an upload (:func:`validate_plugin_zip`); it refuses, naming what is
missing, instead of writing a zip the repository would reject.
"""
from __future__ import annotations

import configparser
import os
import re
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from spatial_core.errors import InputError

__all__ = ["build_plugin", "package_plugin", "release_values", "validate_plugin_zip",
           "PLUGIN_FOLDER", "RELEASE_FIELDS", "ENV_RELEASE"]

PLUGIN_FOLDER = "local_priority_targeting"
_ROOT = Path(__file__).resolve().parents[2]
_METADATA = _ROOT / "qgis_plugin" / "metadata.txt"
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
_SKIP_FILES = {"make_styles.py"}  # development tools
_LICENCE_TEXTS = (_ROOT / "LICENSE", _ROOT / "COPYING",
                  Path("/usr/share/common-licenses/GPL-3"))
"""Where the licence text comes from: the checkout's, else Debian's copy of the GPL 3
(the project is GPL-3.0-or-later: ``pyproject.toml``)."""

RELEASE_FIELDS = ("email", "homepage", "repository", "tracker")
"""Metadata plugins.qgis.org requires (``homepage`` recommended) that have no public value
here: given at packaging time."""
ENV_RELEASE = {f: f"LPT_PLUGIN_{f.upper()}" for f in RELEASE_FIELDS}

REQUIRED_METADATA = ("name", "description", "version", "qgisMinimumVersion", "author",
                     "email", "about", "tracker", "repository")
"""What plugins.qgis.org requires in ``metadata.txt`` (its validator's
``PLUGIN_REQUIRED_METADATA``)."""
MAX_ZIP_BYTES = 25_000_000
"""The repository's upload limit (``PLUGIN_MAX_UPLOAD_SIZE``)."""
_QGIS_PLACEHOLDERS = {"http://bugs", "http://repo", "http://homepage"}  # the template's
_RESERVED = re.compile(r"(^|\.)(invalid|example|test|localhost|local)$"
                       r"|(^|\.)example\.(com|net|org)$")


def _files(folder: Path):
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or _SKIP_DIRS & set(rel.parts) or path.name in _SKIP_FILES:
            continue
        if path.suffix in {".pyc", ".pyo"} or rel.as_posix() == "metadata.txt":
            continue  # metadata.txt is written with its version and release values
        yield path, rel


def _metadata(version: str, values: Mapping[str, str] | None = None) -> str:
    """``metadata.txt`` with ``version`` and the given ``key=value`` lines replaced."""
    values = {"version": version, **(values or {})}
    lines = _METADATA.read_text(encoding="utf-8").splitlines()
    out = [ln for ln in lines if ln.split("=", 1)[0].strip() not in values]
    at = out.index("[general]") + 1
    return "\n".join([*out[:at], *(f"{k}={v}" for k, v in values.items()), *out[at:]]) + "\n"


def _requirements() -> str:
    with open(_ROOT / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    return ("# Python packages spatial_core needs inside QGIS's Python "
            "(see docs/qgis-plugin.md)\n" + "\n".join(deps) + "\n")


def _placeholder(field: str, value: str) -> str | None:
    """Why ``value`` is not a real value for ``field`` (None: it is)."""
    value = value.strip()
    if not value:
        return "empty"
    if field == "email":
        m = re.fullmatch(r"[^@\s]+@([^@\s]+\.[^@\s]+)", value)
        if m is None:
            return f"{value!r} is not an e-mail address"
        host = m.group(1).lower()
    else:
        url = urlparse(value)
        if url.scheme not in ("http", "https") or not url.netloc:
            return f"{value!r} is not an http(s) URL"
        if value.rstrip("/") in _QGIS_PLACEHOLDERS:
            return f"{value!r} is the QGIS plugin template's placeholder"
        host = (url.hostname or "").lower()
    if _RESERVED.search(host):
        return f"{value!r} is under a reserved domain ({host}): a placeholder"
    return None


def release_values(given: Mapping[str, str | None] | None = None,
                   env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The release zip's ``email``, ``homepage``, ``repository`` and ``tracker``: each from
    ``given`` (the command's options), else the environment (:data:`ENV_RELEASE`).
    Placeholders (reserved domains such as ``.invalid``, the QGIS template's) are refused.

    >>> release_values({"email": "gis@force.police.uk", "homepage": "https://lpt.force.police.uk",
    ...                 "repository": "https://git.force.police.uk/lpt",
    ...                 "tracker": "https://git.force.police.uk/lpt/issues"}, env={})["email"]
    'gis@force.police.uk'
    >>> try:
    ...     release_values({"email": "maintainers@lpt.invalid"}, env={})
    ... except InputError as exc:
    ...     print(str(exc).replace(": email", ":\\nemail").replace("; ", "\\n"))
    a release zip needs real values for:
    email ('maintainers@lpt.invalid' is under a reserved domain (lpt.invalid): a placeholder)
    homepage (not given: --homepage or $LPT_PLUGIN_HOMEPAGE)
    repository (not given: --repository or $LPT_PLUGIN_REPOSITORY)
    tracker (not given: --tracker or $LPT_PLUGIN_TRACKER)
    """
    env = os.environ if env is None else env
    out: dict[str, str] = {}
    problems = []
    for field in RELEASE_FIELDS:
        value = (given or {}).get(field) or env.get(ENV_RELEASE[field]) or ""
        if not value.strip():
            problems.append(f"{field} (not given: --{field} or ${ENV_RELEASE[field]})")
            continue
        why = _placeholder(field, value)
        if why:
            problems.append(f"{field} ({why})")
        out[field] = value.strip()
    if problems:
        raise InputError("a release zip needs real values for: " + "; ".join(problems))
    return out


def build_plugin(out_dir: str | Path, values: Mapping[str, str] | None = None) -> Path:
    """Write ``local_priority_targeting-<version>.zip`` into ``out_dir``; return its path.
    ``values`` replace metadata lines (the release fields)."""
    from spatial_core import __version__

    source = _ROOT / "qgis_plugin"
    core = _ROOT / "spatial_core"
    if not (source / "__init__.py").exists() or not _METADATA.exists():
        raise InputError(f"no plugin sources in {_ROOT}: 'lpt plugin build' runs from a source "
                         "checkout (qgis_plugin/ with its metadata.txt)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{PLUGIN_FOLDER}-{__version__}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, rel in _files(source):
            zf.write(path, f"{PLUGIN_FOLDER}/{rel.as_posix()}")
        for path, rel in _files(core):
            zf.write(path, f"{PLUGIN_FOLDER}/lib/spatial_core/{rel.as_posix()}")
        zf.writestr(f"{PLUGIN_FOLDER}/metadata.txt", _metadata(__version__, values))
        zf.writestr(f"{PLUGIN_FOLDER}/lpt-requirements.txt", _requirements())
        licence = next((p for p in _LICENCE_TEXTS if p.is_file()), None)
        if licence is not None:
            zf.write(licence, f"{PLUGIN_FOLDER}/LICENSE")
    return target


def validate_plugin_zip(path: str | Path) -> list[str]:
    """What plugins.qgis.org would refuse in a plugin zip (empty: nothing), checked as its
    upload validator (``qgis-app/plugins/validator.py`` of QGIS-Django) does, offline: size,
    no path information, ``.pyc``, ``__MACOSX``/``.git``/``__pycache__``, CRCs, one top folder
    named ``[A-Za-z][A-Za-z0-9-_]+`` with ``__init__.py`` and a ``metadata.txt`` whose
    ``[general]`` section holds :data:`REQUIRED_METADATA`, valid http(s) URLs for
    ``tracker``, ``repository`` and ``homepage``, ``LICENSE``, an author without slashes.
    Also refused here: the placeholders of :data:`RELEASE_FIELDS`. Not checked: that the URLs
    answer (the repository sends them a ``HEAD``)."""
    path = Path(path)
    problems: list[str] = []
    if path.stat().st_size > MAX_ZIP_BYTES:
        problems.append(f"{path.name} is {path.stat().st_size / 1e6:.1f} MB; the repository "
                        f"takes at most {MAX_ZIP_BYTES / 1e6:.0f} MB")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return [f"{path.name} is not a zip file"]
    with zf:
        names = zf.namelist()
        for name in names:
            parts = name.split("/")
            if ".." in name or name.startswith("/"):
                problems.append(f"{name}: path information")
            if ".pyc" in name:
                problems.append(f"{name}: a .pyc file")
            bad = {"__MACOSX", ".git", "__pycache__"} & set(parts)
            if bad:
                problems.append(f"{name}: a {sorted(bad)[0]} folder")
        broken = zf.testzip()
        if broken:
            problems.append(f"{broken}: bad CRC")
        tops = sorted({n.split("/")[0] for n in names})
        if len(tops) != 1 or not names or "/" not in names[0]:
            return [*problems, f"one top-level folder expected, found {tops}"]
        top = tops[0]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-_]+", top):
            problems.append(f"top-level folder {top!r}: ASCII letters, digits, - and _ only")
        for needed in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{top}/{needed}" not in names:
                problems.append(f"no {top}/{needed}")
        if f"{top}/metadata.txt" not in names:
            return problems
        parser = configparser.ConfigParser()
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(zf.read(f"{top}/metadata.txt").decode("utf-8"))
        except (configparser.Error, UnicodeDecodeError) as exc:
            return [*problems, f"metadata.txt does not parse: {exc}"]
    if not parser.has_section("general"):
        return [*problems, "metadata.txt has no [general] section"]
    meta = dict(parser.items("general"))
    missing = [k for k in REQUIRED_METADATA if not meta.get(k, "").strip()]
    if missing:
        problems.append(f"metadata.txt lacks {', '.join(missing)}")
    for field in RELEASE_FIELDS:
        if meta.get(field, "").strip():
            why = _placeholder(field, meta[field])
            if why:
                problems.append(f"metadata.txt {field}: {why}")
    if "/" in meta.get("author", ""):
        problems.append("metadata.txt author: no slashes allowed")
    return problems


def package_plugin(out_dir: str | Path, given: Mapping[str, str | None] | None = None,
                   env: Mapping[str, str] | None = None) -> Path:
    """The release zip: :func:`build_plugin` with :func:`release_values`, then checked with
    :func:`validate_plugin_zip`; a zip that fails is removed and the problems raised."""
    values = release_values(given, env)
    path = build_plugin(out_dir, values)
    problems = validate_plugin_zip(path)
    if problems:
        path.unlink()
        raise InputError(f"{path.name} would be refused by plugins.qgis.org: "
                         + "; ".join(problems))
    return path


def _report(path: Path, note: str = "") -> None:
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f"{path} ({n} files, {path.stat().st_size / 1e6:.1f} MB){note}")


def _build(args) -> int:
    _report(build_plugin(args.out), "; a development zip: contact fields are placeholders, "
                                    "'lpt plugin package' makes a release zip")
    return 0


def _package(args) -> int:
    _report(package_plugin(args.out, {f: getattr(args, f) for f in RELEASE_FIELDS}),
            "; checked as plugins.qgis.org checks an upload")
    return 0


def register(sub) -> None:
    p = sub.add_parser("plugin", help="the QGIS plugin")
    psub = p.add_subparsers(dest="plugin_command", required=True, metavar="ACTION")
    b = psub.add_parser("build", help="build a development plugin zip (placeholder contacts)")
    b.add_argument("-o", "--out", default="dist", help="output folder (default ./dist)")
    b.set_defaults(func=_build)
    r = psub.add_parser("package", help="build a release zip for plugins.qgis.org (needs the "
                                        "real contact fields; checked as the repository does)")
    r.add_argument("-o", "--out", default="dist", help="output folder (default ./dist)")
    for field in RELEASE_FIELDS:
        r.add_argument(f"--{field}", help=f"metadata {field} (default ${ENV_RELEASE[field]})")
    r.set_defaults(func=_package)
