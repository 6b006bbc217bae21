# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting profiles: the named, stored weights and rules behind a street score.

A profile is a small TOML file. It is stored, as text, with every scoring run, so any
recommendation can be reproduced and explained later. ``spatial_core/data/profiles/``
ships ``default`` (balanced), ``harm`` (crime harm first) and ``engagement`` (reach
under-represented and unvisited households).

The layout, with the defaults::

    name = "default"
    description = "..."
    scale_within = "beat"        # "beat" | "area": where components are scaled to 0..1

    [weights]                    # total = sum of weight x scaled component (fatigue subtracts)
    harm = 1.0
    voice = 0.5
    representation = 0.75
    coverage = 0.5
    fatigue = 0.5

    [harm]
    model = "expected"           # "expected": forecast harm (empirical Bayes); "recorded"
    half_life_days = 180.0       # a crime this old counts half ...
    long_run_months = 5.0        # ... blended with the long-run rate, worth 5 months of data
    lookback_days = 730          # older crimes are ignored
    prior_crimes = 100.0         # expected: shrink a street's harm mix towards the area's
    mix_within = "area"          # ... the whole scored area's mix, or "beat": its beat's
    smoothing = 0.0              # expected: share of the crime rate taken from neighbours
    normalisation = "per_household"   # "per_household" | "per_km" | "total"
    min_households = 5           # per_household: fewer households count as this many
    max_distance_m = 50.0        # a crime farther than this from every street is on none

    [harm.overrides]             # CCHI days per police.uk category (name or slug)
    # "Anti-social behaviour" = 2

    [voice]
    radius_m = 250.0             # respondents within this distance of the street
    min_n = 5                    # fewer respondents: the voice component is 0
    lookback_days = 730
    priorities = []              # survey priority slugs that count; empty = all

    [voice.mix]                  # how the voice share is made (shares of respondents)
    priority = 1.0               # the street's most named priority
    low_confidence = 0.5         # confidence in the police 1 or 2 (of 5)
    low_feel_safe = 0.5          # feeling safe 1 or 2 (of 5)

    [representation]
    scheme = "oac2011"
    level = 1
    groups = "under_represented" # or a list of class codes, e.g. ["4", "7"]
    target = 0.7                 # under-represented: member share / household share < target

    [fatigue]
    window_days = 28             # penalty 1 when visited today, falling to 0 at the window

Examples
--------
>>> p = load_profile("default")
>>> p.name, p.weights["harm"], p.half_life_days
('default', 1.0, 180.0)
>>> profile_from_toml(profile_to_toml(p)) == p
True
"""
from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from spatial_core.analytics.harm import normalise_category
from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.surveys import PRIORITIES

__all__ = [
    "COMPONENTS",
    "NORMALISATIONS",
    "HARM_MODELS",
    "Profile",
    "load_profile",
    "list_profiles",
    "profile_from_toml",
    "profile_from_dict",
    "profile_to_toml",
    "profile_to_dict",
]

log = logging.getLogger(__name__)

COMPONENTS: tuple[str, ...] = ("harm", "voice", "representation", "coverage", "fatigue")
"""The score components, in the order they are reported."""
NORMALISATIONS = ("per_household", "per_km", "total")
HARM_MODELS = ("expected", "recorded")
SCALES = ("beat", "area")
UNDER_REPRESENTED = "under_represented"
VOICE_MIX = ("priority", "low_confidence", "low_feel_safe")

_DEFAULT_WEIGHTS = {"harm": 1.0, "voice": 0.5, "representation": 0.75, "coverage": 0.5,
                    "fatigue": 0.5}
_DEFAULT_MIX = {"priority": 1.0, "low_confidence": 0.5, "low_feel_safe": 0.5}


@dataclass(frozen=True)
class Profile:
    """A named targeting profile (see the module docstring for every key and its default).

    Validated on creation (also by :func:`dataclasses.replace`): a bad value raises
    :class:`~spatial_core.errors.InputError` naming the TOML key and what was expected.
    """

    name: str = "default"
    description: str = ""
    scale_within: str = "beat"
    weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_WEIGHTS))
    harm_overrides: Mapping[str, float] = field(default_factory=dict)
    harm_model: str = "expected"
    half_life_days: float = 180.0
    long_run_months: float = 5.0
    lookback_days: int = 730
    prior_crimes: float = 100.0
    mix_within: str = "area"
    smoothing: float = 0.0
    normalisation: str = "per_household"
    min_households: int = 5
    crime_distance_m: float = 50.0
    voice_radius_m: float = 250.0
    voice_min_n: int = 5
    voice_lookback_days: int = 730
    voice_priorities: tuple[str, ...] = ()
    voice_mix: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_MIX))
    scheme: str = "oac2011"
    level: int = 1
    target_groups: str | tuple[str, ...] = UNDER_REPRESENTED
    representation_target: float = 0.7
    fatigue_days: int = 28

    def __post_init__(self) -> None:
        _validate(self)

    def with_weights(self, **weights: float) -> Profile:
        """A copy with some component weights changed.

        Examples
        --------
        >>> Profile().with_weights(harm=0).weights["harm"]
        0.0
        """
        return replace(self, weights={**self.weights, **{k: float(v) for k, v in weights.items()}})


# (toml path, field name, kind, check, expected) — the single description of the layout.
_SPEC: list[tuple[str, str, str, Any, str]] = [
    ("name", "name", "str", lambda v: bool(re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v)),
     "a name of 1-64 letters, digits, '_', '-' or '.'"),
    ("description", "description", "str", None, "text"),
    ("scale_within", "scale_within", "str", lambda v: v in SCALES, "one of " + ", ".join(SCALES)),
    ("weights", "weights", "weights", None, "a table of numbers >= 0"),
    ("harm.overrides", "harm_overrides", "overrides", None, "a table of category = days >= 0"),
    ("harm.model", "harm_model", "str", lambda v: v in HARM_MODELS,
     "one of " + ", ".join(HARM_MODELS)),
    ("harm.half_life_days", "half_life_days", "float", lambda v: v > 0, "a number of days > 0"),
    ("harm.long_run_months", "long_run_months", "float",
     lambda v: 0 <= v < float("inf"), "a number of months >= 0"),
    ("harm.lookback_days", "lookback_days", "int", lambda v: v > 0, "a whole number of days > 0"),
    ("harm.prior_crimes", "prior_crimes", "float", lambda v: v >= 0,
     "a number of crimes >= 0 (inf: every street takes its beat's harm mix)"),
    ("harm.mix_within", "mix_within", "str", lambda v: v in SCALES,
     "one of " + ", ".join(SCALES)),
    ("harm.smoothing", "smoothing", "float", lambda v: 0 <= v <= 1, "a share from 0 to 1"),
    ("harm.normalisation", "normalisation", "str", lambda v: v in NORMALISATIONS,
     "one of " + ", ".join(NORMALISATIONS)),
    ("harm.min_households", "min_households", "int", lambda v: v >= 1, "a whole number >= 1"),
    ("harm.max_distance_m", "crime_distance_m", "float", lambda v: 0 < v <= 500,
     "a distance in metres, > 0 and <= 500"),
    ("voice.radius_m", "voice_radius_m", "float", lambda v: 0 < v <= 2000,
     "a distance in metres, > 0 and <= 2000"),
    ("voice.min_n", "voice_min_n", "int", lambda v: v >= 1, "a whole number >= 1"),
    ("voice.lookback_days", "voice_lookback_days", "int", lambda v: v > 0,
     "a whole number of days > 0"),
    ("voice.priorities", "voice_priorities", "priorities", None,
     "a list of survey priorities: " + ", ".join(PRIORITIES)),
    ("voice.mix", "voice_mix", "mix", None,
     "a table of numbers >= 0 with keys " + ", ".join(VOICE_MIX)),
    ("representation.scheme", "scheme", "str", lambda v: bool(v), "a classification scheme name"),
    ("representation.level", "level", "int", lambda v: 1 <= v <= 3, "a whole number 1-3"),
    ("representation.groups", "target_groups", "groups", None,
     f"{UNDER_REPRESENTED!r} or a list of class codes"),
    ("representation.target", "representation_target", "float", lambda v: 0 < v <= 1,
     "a ratio > 0 and <= 1"),
    ("fatigue.window_days", "fatigue_days", "int", lambda v: v >= 0, "a whole number of days >= 0"),
]
_BY_FIELD = {s[1]: s for s in _SPEC}


def _bad(key: str, value: object, expected: str, source: str | None = None) -> InputError:
    return InputError(f"expected {expected}", file=source, column=key, value=repr(value))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(kind: str, key: str, value: Any, check, expected: str, source: str | None) -> Any:
    """The value converted to its field type, or an InputError naming the key."""
    if kind == "str":
        if not isinstance(value, str) or (check and not check(value)):
            raise _bad(key, value, expected, source)
        return value
    if kind in ("float", "int"):
        if not _number(value) or (kind == "int" and float(value) != int(value)):
            raise _bad(key, value, expected, source)
        v = float(value) if kind == "float" else int(value)
        if v != v or (check and not check(v)):  # NaN fails
            raise _bad(key, value, expected, source)
        return v
    if kind in ("weights", "mix", "overrides"):
        if not isinstance(value, Mapping):
            raise _bad(key, value, expected, source)
        valid: tuple[str, ...] = {"weights": COMPONENTS, "mix": VOICE_MIX}.get(kind, ())
        out = {}
        for k, v in value.items():
            name = str(k)
            if kind == "overrides":
                name = normalise_category(k) or ""
                if not name:
                    raise InputError("expected a police.uk category (name or slug)",
                                     file=source, column=f"{key}.{k}", value=repr(k))
            elif name not in valid:
                raise InputError(f"unknown key; expected one of {', '.join(valid)}",
                                 file=source, column=f"{key}.{k}", value=repr(k))
            if not _number(v) or not (0 <= float(v) < float("inf")):
                raise _bad(f"{key}.{k}", v, "a number >= 0", source)
            out[name] = float(v)
        if kind == "weights":
            out = {c: out.get(c, 0.0) for c in COMPONENTS}
        elif kind == "mix":
            out = {c: out.get(c, 0.0) for c in VOICE_MIX}
            if not any(out.values()):
                raise _bad(key, value, "at least one voice.mix weight > 0", source)
        return dict(sorted(out.items())) if kind == "overrides" else out
    if kind == "priorities":
        if not isinstance(value, (list, tuple)) or not all(v in PRIORITIES for v in value):
            raise _bad(key, value, expected, source)
        return tuple(dict.fromkeys(value))
    if kind == "groups":
        if value == UNDER_REPRESENTED:
            return value
        if (not isinstance(value, (list, tuple)) or not value
                or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)):
            raise _bad(key, value, expected, source)
        return tuple(str(v) for v in value)
    raise AssertionError(kind)  # pragma: no cover


def _validate(profile: Profile, source: str | None = None) -> None:
    for toml_key, name, kind, check, expected in _SPEC:
        value = getattr(profile, name)
        object.__setattr__(profile, name, _check(kind, toml_key, value, check, expected, source))


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as the nested dict of its TOML layout."""
    out: dict[str, Any] = {}
    for toml_key, name, _kind, _check_fn, _e in _SPEC:
        value = getattr(profile, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        node = out
        *parents, last = toml_key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last].update(value)
        else:
            node[last] = value
    return out


def profile_from_dict(data: Mapping[str, Any], source: str | None = None) -> Profile:
    """A validated profile from the nested dict of its TOML layout; missing keys take their
    defaults, unknown keys are an error."""
    values: dict[str, Any] = {}
    known = {s[0] for s in _SPEC}
    sections = {k.split(".")[0] for k in known if "." in k}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for k, v in node.items():
            path = f"{prefix}{k}"
            if path in known:
                spec = next(s for s in _SPEC if s[0] == path)
                values[spec[1]] = _check(spec[2], path, v, spec[3], spec[4], source)
            elif isinstance(v, Mapping) and path in sections:
                walk(v, path + ".")
            else:
                raise InputError("unknown profile key; expected one of " + ", ".join(
                    s[0] for s in _SPEC), file=source, column=path)

    if not isinstance(data, Mapping):
        raise InputError("a profile is a TOML table", file=source)
    walk(data, "")
    return Profile(**values)


def profile_from_toml(text: str, source: str | None = None) -> Profile:
    """Parse and validate profile TOML text (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=source) from None
    return profile_from_dict(data, source)


def _shipped() -> Path:
    return Path(str(resources.files("spatial_core").joinpath("data/profiles")))


def list_profiles() -> list[str]:
    """Names of the profiles shipped with spatial_core.

    Examples
    --------
    >>> "default" in list_profiles()
    True
    """
    return sorted(p.stem for p in _shipped().glob("*.toml"))


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """A profile from a TOML file, or a shipped profile by name (``None`` = ``default``)."""
    if name_or_path is None:
        name_or_path = "default"
    path = Path(name_or_path)
    if not path.exists():
        if path.suffix.lower() == ".toml" or path.parent != Path("."):
            raise NotFoundError(f"profile file {str(path)!r} does not exist")
        path = _shipped() / f"{name_or_path}.toml"
        if not path.exists():
            raise NotFoundError(f"no profile {str(name_or_path)!r}; shipped profiles: "
                                + ", ".join(list_profiles()) + " (or give a .toml file)")
    return profile_from_toml(path.read_text("utf-8"), source=str(name_or_path))


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")  # pragma: no cover


def _write_table(lines: list[str], node: Mapping[str, Any], prefix: str) -> None:
    scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in node.items() if isinstance(v, Mapping)]
    if prefix:
        lines.append("")
        lines.append(f"[{prefix}]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars)
    for k, v in tables:
        _write_table(lines, v, f"{prefix}.{_key(k)}" if prefix else _key(k))


def profile_to_toml(profile: Profile) -> str:
    """The profile as TOML text (every key written, so the text alone reproduces it)."""
    lines: list[str] = []
    _write_table(lines, profile_to_dict(profile), "")
    return "\n".join(lines) + "\n"
