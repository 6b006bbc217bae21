# SPDX-License-Identifier: GPL-3.0-or-later
"""Targeting set-ups: a named plan of which streets to walk, for whom, and how it is going.

A set-up (:class:`Setup`, table ``setups``) is an area (beats, wards, neighbourhood policing
areas, or a drawn polygon), target groups (class codes, or the groups under-represented among
members at a target ratio, resolved once when the set-up is created and stored), a goal
(recruit, survey, engage), a targeting profile (stored as TOML text), whether registered
members are revisited, suppression windows and numeric targets. :func:`create_setup`

1. scores the area's streets with the profile (:func:`spatial_core.targeting.scoring.score_streets`,
   the target groups written into the profile) as of the set-up's data date ``as_of``;
2. keeps the best ``max_streets`` streets that have at least one door to knock
   (``setup_streets``);
3. builds their household walk lists (``setup_households``, ordered along each street by
   :func:`spatial_core.targeting.walklists.order_along_streets`), leaving out registered members
   unless ``revisit_registered`` and marking households held back by recent visits
   (:func:`spatial_core.targeting.walklists.suppressed_until`).

The data date ``as_of`` defaults to the day before the set-up is created (complete days
only): crimes, responses, members and visits after it are not used by the scores, and only
visits up to the creation moment ``created_at`` decide suppression. The input fingerprint
(:func:`spatial_core.targeting.scoring.prepare_inputs`' hash plus row counts) is stored, so
:func:`rerun_setup` can recompute the recommendation from the stored inputs and say whether
the data it used has changed since. Several set-ups can be live at once.
:func:`archive_setup` makes a set-up read-only (:class:`~spatial_core.errors.ReadOnlyError`
on any change) and keeps its final progress report; set-ups are never deleted.

:func:`setup_report` counts progress: visits tagged with the set-up, plus visits at its
households since it was created, by outcome, per street and against the targets.
``docs/analytics/setups.md`` describes the method and the CLI.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from spatial_core.analytics.population import AREA_LEVELS, current_member_clause
from spatial_core.errors import InputError, NotFoundError, ReadOnlyError
from spatial_core.frames import json_records
from spatial_core.geo.crs import STORE_SRID, WGS84, looks_like_lnglat, transform_xy
from spatial_core.progress import Progress
from spatial_core.store import schema
from spatial_core.store.data_version import bump_data_version
from spatial_core.targeting.profiles import (
    Profile,
    load_profile,
    profile_from_toml,
    profile_to_toml,
)
from spatial_core.targeting.walklists import (
    SuppressionWindows,
    order_along_streets,
    parse_moment,
    suppressed_until,
    walk_list,
)

__all__ = [
    "GOALS",
    "GOAL_PROFILES",
    "OUTCOME_COLUMNS",
    "Setup",
    "SetupReport",
    "RerunResult",
    "create_setup",
    "get_setup",
    "list_setups",
    "update_setup",
    "archive_setup",
    "record_setup_visit",
    "rerun_setup",
    "setup_report",
    "setup_visits",
    "setup_area_households",
    "stored_recommendation",
]

log = logging.getLogger(__name__)


GOALS = ("recruit", "survey", "engage")
"""What a set-up is for: recruit members, gather survey responses, engage a group."""

GOAL_PROFILES = {"recruit": "engagement", "survey": "default", "engage": "engagement"}
"""The shipped profile a goal uses when none is given."""

OUTCOME_COLUMNS = ("registered", "surveyed", "spoke", "not_in", "declined", "no_access")
"""Visit outcomes counted by :func:`setup_report`."""

_TARGETS = {"visits": "visits", "registrations": "registered", "surveys": "surveyed"}
_STAMP = "%Y-%m-%dT%H:%M:%S"
_AREA_LEVELS = AREA_LEVELS


@dataclass(frozen=True)
class Setup:
    """A stored targeting set-up (one row of ``setups``)."""

    setup_id: str
    name: str
    status: str
    goal: str
    areas: tuple[str, ...]
    polygon_wkt: str | None
    scheme: str
    level: int
    target_rule: str
    target_groups: tuple[str, ...]
    profile_name: str
    profile_toml: str
    revisit_registered: bool
    windows: SuppressionWindows
    max_streets: int
    targets: Mapping[str, int | None]
    as_of: str
    created_at: str
    archived_at: str | None
    inputs_fingerprint: str
    input_counts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_archived(self) -> bool:
        return self.status == "archived"

    @property
    def profile(self) -> Profile:
        """The stored profile, parsed."""
        return profile_from_toml(self.profile_toml, source=f"set-up {self.setup_id}")

    @property
    def area_label(self) -> str:
        parts = list(self.areas) + (["drawn polygon"] if self.polygon_wkt else [])
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready); the profile as its TOML text."""
        return {
            "setup_id": self.setup_id, "name": self.name, "status": self.status,
            "goal": self.goal, "areas": list(self.areas), "polygon_wkt": self.polygon_wkt,
            "scheme": self.scheme, "level": self.level, "target_rule": self.target_rule,
            "target_groups": list(self.target_groups), "profile_name": self.profile_name,
            "profile_toml": self.profile_toml, "revisit_registered": self.revisit_registered,
            "visited_days": self.windows.visited_days,
            "declined_days": self.windows.declined_days,
            "not_in_hours": self.windows.not_in_hours, "max_streets": self.max_streets,
            "targets": dict(self.targets), "as_of": self.as_of, "created_at": self.created_at,
            "archived_at": self.archived_at, "inputs_fingerprint": self.inputs_fingerprint,
            "input_counts": dict(self.input_counts),
        }


@dataclass(frozen=True)
class SetupReport:
    """Progress of a set-up at a moment.

    ``totals``: ``households`` (on the walk lists), ``households_visited``, ``visits``, one
    count per outcome (:data:`OUTCOME_COLUMNS`) and ``to_knock`` (doors still on the walk
    list at ``now``). ``targets``: one row per target (``measure``, ``target``, ``achieved``,
    ``share``). ``streets``: one row per recommended street (plus ``(elsewhere)`` for tagged
    visits off the walk lists) with the same counts.
    """

    setup_id: str
    name: str
    status: str
    now: str
    totals: Mapping[str, int]
    targets: pd.DataFrame
    streets: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"setup_id": self.setup_id, "name": self.name, "status": self.status,
                "now": self.now, "totals": dict(self.totals),
                "targets": json_records(self.targets), "streets": json_records(self.streets)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SetupReport:
        return cls(setup_id=data["setup_id"], name=data["name"], status=data["status"],
                   now=data["now"], totals=dict(data["totals"]),
                   targets=pd.DataFrame(data["targets"], columns=["measure", "target",
                                                                  "achieved", "share"]),
                   streets=pd.DataFrame(data["streets"]))


@dataclass(frozen=True)
class RerunResult:
    """A set-up recomputed from its stored inputs, compared with what was stored."""

    setup: Setup
    streets: pd.DataFrame
    households: pd.DataFrame
    same_streets: bool
    same_walk_lists: bool
    inputs_unchanged: bool
    inputs_fingerprint: str

    @property
    def identical(self) -> bool:
        return self.same_streets and self.same_walk_lists


# -- reading -------------------------------------------------------------------------------------

def _ensure_tables(store, conn) -> None:
    """Create the set-up tables in a version-2 store made before they were added."""
    if not store.has_table(conn, "setups"):
        from spatial_core.store import add_new_tables

        add_new_tables(store, conn)


def _row_to_setup(row: Mapping[str, Any]) -> Setup:
    def num(v):
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)

    return Setup(
        setup_id=row["setup_id"], name=row["name"], status=row["status"], goal=row["goal"],
        areas=tuple(json.loads(row["areas"] or "[]")),
        polygon_wkt=row["polygon_wkt"] if isinstance(row["polygon_wkt"], str) else None,
        scheme=row["scheme"], level=int(row["level"]), target_rule=row["target_rule"],
        target_groups=tuple(json.loads(row["target_groups"] or "[]")),
        profile_name=row["profile_name"], profile_toml=row["profile_toml"],
        revisit_registered=bool(row["revisit_registered"]),
        windows=SuppressionWindows(int(row["visited_days"]), int(row["declined_days"]),
                                   float(row["not_in_hours"])),
        max_streets=int(row["max_streets"]),
        targets={k: num(row[f"target_{k}"]) for k in _TARGETS},
        as_of=row["as_of"], created_at=row["created_at"],
        archived_at=row["archived_at"] if isinstance(row["archived_at"], str) else None,
        inputs_fingerprint=row["inputs_fingerprint"],
        input_counts=json.loads(row["input_counts"]) if isinstance(row["input_counts"], str)
        else {},
    )


_SETUP_COLUMNS = [c.name for c in schema.table("setups").columns if c.name not in ("fid", "geom")]


def _read_rows(store, setup_id: str | None = None) -> pd.DataFrame:
    with store.begin() as conn:
        _ensure_tables(store, conn)
    t = schema.table("setups")
    return store.read("setups", _SETUP_COLUMNS,
                      where=None if setup_id is None else t.c.setup_id == setup_id,
                      order_by=["created_at", "setup_id"])


def get_setup(store, setup_id: str) -> Setup:
    """The stored set-up ``setup_id``; :class:`~spatial_core.errors.NotFoundError` lists the
    known ids when it does not exist."""
    rows = _read_rows(store, setup_id)
    if not len(rows):
        known = _read_rows(store)["setup_id"].tolist()
        raise NotFoundError(f"no set-up {setup_id!r}; set-ups: "
                            + (", ".join(known[-10:]) if known else "none yet"))
    return _row_to_setup(rows.iloc[0].to_dict())


def list_setups(store, *, include_archived: bool = False) -> list[Setup]:
    """Set-ups, oldest first: the live ones (and the archived ones when asked)."""
    rows = _read_rows(store)
    out = [_row_to_setup(r) for r in rows.to_dict(orient="records")]
    return [s for s in out if include_archived or not s.is_archived]


# -- resolving the inputs -------------------------------------------------------------------------

def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56].strip("-")
    return s or "setup"


def _parse_polygon(value: Any, crs: int | None) -> Any:
    """A (multi)polygon in EPSG:27700 from WKT, GeoJSON (text or dict) or a shapely geometry."""
    geom = None
    if isinstance(value, shapely.Geometry):
        geom = value
    elif isinstance(value, Mapping):
        geom = _geojson(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("polygon:"):
            text = text.split(":", 1)[1].strip()
        if text.startswith("{"):
            try:
                geom = _geojson(json.loads(text))
            except json.JSONDecodeError as exc:
                raise InputError(f"area is not valid GeoJSON: {exc}", value=text) from None
        else:
            try:
                geom = shapely.from_wkt(text)
            except Exception:  # noqa: BLE001 - shapely raises GEOSException
                raise InputError("area is not an area id ('beat:…', 'ward:…', 'npa:…', "
                                 "'force:…'), WKT or GeoJSON", value=text) from None
    if geom is None or geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        raise InputError("a drawn area must be a Polygon or MultiPolygon", value=str(value)[:60])
    if shapely.get_type_id(geom) == 7:
        parts = [g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in (3, 6)]
        if not parts:
            raise InputError("a drawn area must be a Polygon or MultiPolygon",
                             value=str(value)[:60])
        geom = shapely.union_all(parts)
    coords = shapely.get_coordinates(geom)
    src = crs if crs is not None else (
        WGS84 if looks_like_lnglat(coords[:, 0], coords[:, 1]) else STORE_SRID)
    if src not in (STORE_SRID, WGS84):
        raise InputError(f"a drawn area must be in EPSG:27700 or EPSG:4326, got EPSG:{src}")
    if src == WGS84:
        geom = shapely.transform(geom, lambda xy: np.column_stack(
            transform_xy(xy[:, 0], xy[:, 1], WGS84, STORE_SRID)))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _geojson(obj: Mapping[str, Any]):
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return shapely.union_all([_geojson(f) for f in obj.get("features", [])])
    if kind == "Feature":
        return _geojson(obj.get("geometry") or {})
    try:
        return shapely.from_geojson(json.dumps(obj))
    except Exception:  # noqa: BLE001
        raise InputError("area is not a GeoJSON geometry", value=json.dumps(obj)[:60]) from None


def _resolve_areas(store, areas: Sequence[Any] | str, crs: int | None
                   ) -> tuple[list[str], Any]:
    """Area ids (checked against the store) and the union of any drawn polygons."""
    from spatial_core.analytics.population import area_table

    items = [areas] if isinstance(areas, (str, Mapping, shapely.Geometry)) else list(areas)
    if not items:
        raise InputError("a set-up needs an area: beat:…, ward:…, npa:… or a drawn polygon")
    known = area_table(store)
    ids: list[str] = []
    polys = []
    for item in items:
        level = str(item).partition(":")[0].strip().lower() if isinstance(item, str) else ""
        if level in _AREA_LEVELS:
            area = str(item).strip()
            if not (known["area_id"] == area).any():
                same = known.loc[known["level"] == level, "area_id"].head(6).tolist()
                raise NotFoundError(f"no area {area!r} in the store"
                                    + (f" (for example: {', '.join(same)})" if same else ""))
            if area not in ids:
                ids.append(area)
        else:
            polys.append(_parse_polygon(item, crs))
    polygon = shapely.union_all(polys) if polys else None
    return ids, polygon


def _area_street_mask(store, streets: pd.DataFrame, ids: Sequence[str], polygon) -> np.ndarray:
    """Streets of the set-up area: those of each area id, and those whose midpoint is in the
    drawn polygon."""
    from spatial_core.targeting.scoring import streets_in_area

    mask = np.zeros(len(streets), dtype=bool)
    for area in ids:
        if area == "force:all":
            mask[:] = True
        else:
            mask |= streets_in_area(store, streets, area)
    if polygon is not None and len(streets):
        mids = shapely.line_interpolate_point(np.asarray(streets["geom"], dtype=object), 0.5,
                                              normalized=True)
        mask |= np.asarray(shapely.intersects(mids, polygon), dtype=bool)
    return mask


def _under_represented(store, ids: Sequence[str], beats: Sequence[str], *, scheme: str,
                       level: int, target: float, as_of: str) -> list[str]:
    """Groups whose share of members across the set-up's areas is below ``target`` times
    their share of households (counts from
    :func:`spatial_core.analytics.representation.representation`
    summed over the areas of each level; a drawn polygon uses the beats of its streets)."""
    from spatial_core.analytics.representation import representation

    by_level: dict[str, list[str]] = {}
    for area in ids:
        by_level.setdefault(area.partition(":")[0], []).append(area)
    if beats:
        by_level.setdefault("beat", [])
        by_level["beat"] = sorted(set(by_level["beat"]) | set(beats))
    groups: set[str] = set()
    for area_level, chosen in by_level.items():
        table = representation(store, scheme=scheme, level=level, area_level=area_level,
                               target=target, as_of=as_of)
        rows = table[table["area_id"].isin(chosen)] if area_level != "force" or \
            "force:all" not in chosen else table
        per = rows.groupby("group")[["population", "members"]].sum()
        pop, mem = per["population"].to_numpy("float64"), per["members"].to_numpy("float64")
        if not len(per) or pop.sum() <= 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (mem / max(mem.sum(), 1.0)) / (pop / pop.sum())
        groups |= {str(g) for g in per.index[(pop > 0) & (ratio < target)]}
    return sorted(groups)


def _resolve_profile(profile: Profile | str | Path | None, goal: str) -> Profile:
    if isinstance(profile, Profile):
        return profile
    return load_profile(profile if profile is not None else GOAL_PROFILES[goal])


def _check_targets(targets: Mapping[str, Any] | None) -> dict[str, int | None]:
    out: dict[str, int | None] = {k: None for k in _TARGETS}
    for k, v in (targets or {}).items():
        if k not in _TARGETS:
            raise InputError(f"unknown target {k!r}; targets are {', '.join(_TARGETS)}")
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"target {k} must be a whole number >= 0, got {v!r}")
        out[k] = int(v)
    return out


# -- the recommendation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    """Everything a recommendation is computed from (what a set-up stores)."""

    areas: tuple[str, ...]
    polygon: Any
    profile: Profile
    scheme: str
    level: int
    target_groups: tuple[str, ...]
    revisit_registered: bool
    windows: SuppressionWindows
    max_streets: int
    as_of: str
    created_at: str
    community: tuple[str, str] | None = None
    """(by, group) of a community set-up (``language``, ``polish``), else None."""


_COMMUNITY = "community "
"""How a community set-up's target rule starts (``community language:polish``)."""


def _community_of(rule: str | None) -> tuple[str, str] | None:
    if not rule or not rule.startswith(_COMMUNITY):
        return None
    by, _, group = rule[len(_COMMUNITY):].partition(":")
    return by, group


def _parse_community(text: str) -> tuple[str, str]:
    """``BY:GROUP`` (``language:polish``) checked against the census-based groupings."""
    from spatial_core.analytics.representation import CENSUS_BASE

    by, sep, group = str(text).strip().partition(":")
    by, group = by.strip().lower(), group.strip().lower()
    if not sep or by not in CENSUS_BASE or not re.fullmatch(r"[a-z0-9_]+", group):
        raise InputError(f"a community is BY:GROUP with BY one of {', '.join(CENSUS_BASE)} and "
                         "GROUP a group's slug, such as language:polish or "
                         "ethnicity_detailed:white_other", value=text)
    return by, group


def _community_streets(store, spec: _Spec, h: pd.DataFrame, scores: pd.DataFrame
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A community set-up: streets ranked by the community's share of the residents of their
    households' output areas (census, else members' answers); households in output areas at
    or above the share across the set-up area are its targets (``_p``, ``_target``)."""
    from spatial_core.analytics.representation import community_shares

    assert spec.community is not None
    by, group = spec.community
    p, name, source = community_shares(store, by, group, h)
    overall = float(p.mean()) if len(p) else 0.0
    h = h.assign(_p=p, _target=(p > 0) & (p >= overall))
    share = h.groupby("street_id")["_p"].mean()
    scores = scores.assign(score=scores["street_id"].map(share).fillna(0.0).to_numpy())
    scores = scores[scores["score"] > 0].copy()
    scores["rank_in_beat"] = scores.groupby(scores["beat_id"].fillna(""))["score"].rank(
        ascending=False, method="first").astype("int64")
    scores["reasons"] = [f"{name}: {v:.0%} of residents of its output areas ({source}; "
                         f"{overall:.0%} across the set-up area)" for v in scores["score"]]
    h["_label"] = [f"{name} ({v:.0%} of the output area)" if t else g for g, v, t in
                   zip(h["group"], h["_p"], h["_target"], strict=True)]
    return h, scores


def _scoring_profile(spec: _Spec) -> Profile:
    """The set-up's profile with its resolved target groups written in (none: the
    representation component is switched off, as it would be all zeros)."""
    if spec.target_groups:
        return replace(spec.profile, target_groups=tuple(spec.target_groups))
    return spec.profile.with_weights(representation=0.0)


def _recommend(store, spec: _Spec, progress: Progress | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, str, dict[str, Any]]:
    """Recommended streets, their walk lists, the scoring fingerprint and input counts."""
    from spatial_core.analytics.population import households
    from spatial_core.targeting.scoring import prepare_inputs, score_streets

    say = progress or (lambda f, m: None)
    say(0.0, "reading streets")
    st = store.read("streets", ["street_id", "name", "beat_id", "ward_id", "geom"],
                    order_by=["street_id"])
    st = pd.DataFrame({c: st[c].to_numpy() for c in st.columns if c != "geom"}
                      | {"geom": st.geometry.to_numpy() if len(st) else np.array([], object)})
    in_area = _area_street_mask(store, st, spec.areas, spec.polygon)
    area_streets = st[in_area].reset_index(drop=True)
    if not len(area_streets):
        raise InputError(f"the set-up area ({', '.join(spec.areas) or 'drawn polygon'}) has no "
                         "stored streets: import streets and refresh the index first")
    say(0.1, "scoring streets")
    one = spec.areas[0] if len(spec.areas) == 1 and spec.polygon is None and \
        spec.areas[0] != "force:all" else None
    profile = _scoring_profile(spec)
    inputs = prepare_inputs(store, area=one, as_of=spec.as_of, scheme=spec.scheme,
                            level=spec.level, crime_distance_m=profile.crime_distance_m,
                            voice_radius_m=profile.voice_radius_m,
                            progress=lambda f, m: say(0.1 + 0.6 * f, m))
    scores = score_streets(inputs, profile)
    scores = scores[scores["street_id"].isin(set(area_streets["street_id"]))]

    say(0.75, "households and visits")
    polygon_only = bool(spec.polygon is not None or "force:all" in spec.areas)
    h = households(store, scheme=spec.scheme, level=spec.level,
                   areas=None if polygon_only else list(spec.areas), as_of=spec.as_of)
    h = h[h["street_id"].isin(set(scores["street_id"]))]
    if spec.community is not None:
        h, scores = _community_streets(store, spec, h, scores)
    if not spec.revisit_registered:
        h = h[~h["is_member"].to_numpy(dtype=bool)]
    tv = schema.table("visits")
    visits = store.read("visits", ["uprn", "visited_at", "outcome"],
                        where=tv.c.visited_at <= spec.created_at)
    visits = visits[visits["uprn"].isin(set(h["uprn"]))]
    until = suppressed_until(h["uprn"].to_numpy(dtype=object), visits, spec.created_at,
                             spec.windows)
    h = h.assign(suppressed_until=until)
    per_street = h.groupby("street_id").agg(households=("uprn", "size"),
                                            to_knock=("suppressed_until",
                                                      lambda s: int(pd.isna(s).sum())))
    sc = scores.merge(per_street, left_on="street_id", right_index=True, how="inner")
    sc = sc[sc["to_knock"] > 0]
    sc = sc.sort_values(["score", "street_id"], ascending=[False, True], kind="stable")
    sc = sc.head(spec.max_streets).reset_index(drop=True)
    sc["street_rank"] = np.arange(1, len(sc) + 1)
    geoms = area_streets.set_index("street_id")["geom"]
    streets_out = pd.DataFrame({
        "street_id": sc["street_id"].to_numpy(dtype=object),
        "street_rank": sc["street_rank"].to_numpy(dtype="int64"),
        "name": sc["name"].to_numpy(dtype=object),
        "beat_id": sc["beat_id"].to_numpy(dtype=object),
        "score": sc["score"].to_numpy(dtype="float64"),
        "rank_in_beat": sc["rank_in_beat"].to_numpy(dtype="int64"),
        "households": sc["households"].to_numpy(dtype="int64"),
        "to_knock": sc["to_knock"].to_numpy(dtype="int64"),
        "reasons": sc["reasons"].to_numpy(dtype=object),
        "geom": sc["street_id"].map(geoms).to_numpy(dtype=object),
    })

    say(0.9, "ordering walk lists")
    h = h[h["street_id"].isin(set(streets_out["street_id"]))].reset_index(drop=True)
    along, order = order_along_streets(h["street_id"].to_numpy(dtype=object),
                                       h["x"].to_numpy(dtype="float64"),
                                       h["y"].to_numpy(dtype="float64"),
                                       streets_out["street_id"].to_numpy(dtype=object),
                                       streets_out["geom"].to_numpy(dtype=object))
    targets = set(spec.target_groups)
    is_target = h["_target"].to_numpy(dtype=bool) if spec.community is not None else \
        h["group"].astype(object).isin(targets).to_numpy(dtype=bool)
    last = (visits.sort_values(["uprn", "visited_at"]).drop_duplicates("uprn", keep="last")
            .set_index("uprn"))
    reason = _household_reasons(h.assign(group=h["_label"]) if spec.community else h,
                                is_target, last, spec)
    hh = pd.DataFrame({
        "street_id": h["street_id"].to_numpy(dtype=object),
        "uprn": h["uprn"].astype(str).to_numpy(dtype=object),
        "postcode": h["postcode"].to_numpy(dtype=object),
        "walk_order": order,
        "along_m": np.round(along, 2),
        "grp": h["group"].to_numpy(dtype=object),
        "is_target": is_target.astype("int64"),
        "reason": reason,
        "suppressed_until": h["suppressed_until"].to_numpy(dtype=object),
        "lat": h["lat"].to_numpy(dtype="float64"), "lng": h["lng"].to_numpy(dtype="float64"),
        "x": h["x"].to_numpy(dtype="float64"), "y": h["y"].to_numpy(dtype="float64"),
    })
    rank = streets_out.set_index("street_id")["street_rank"]
    hh = hh.assign(_r=hh["street_id"].map(rank)).sort_values(["_r", "walk_order"]).drop(
        columns="_r").reset_index(drop=True)
    hh["geom"] = shapely.points(hh["x"].to_numpy(), hh["y"].to_numpy())
    counts = _input_counts(store, spec)
    counts["walk_lists"] = _frame_hash(hh[["street_id", "uprn", "walk_order",
                                           "suppressed_until"]])
    say(1.0, "recommendation ready")
    fingerprint = inputs.fingerprint
    if spec.community is not None:  # the census base is an input too
        from spatial_core.analytics.representation import CENSUS_BASE
        from spatial_core.io.census import census_counts

        base = census_counts(store, CENSUS_BASE[spec.community[0]][0])
        base = base.sort_values(["oa_code", "category"], kind="stable")
        counts["census"] = int(len(base))
        fingerprint = hashlib.sha256(
            f"{fingerprint}|{_frame_hash(base) if len(base) else ''}".encode()).hexdigest()
    return streets_out, hh, fingerprint, counts


def _household_reasons(h: pd.DataFrame, is_target: np.ndarray, last: pd.DataFrame,
                       spec: _Spec) -> np.ndarray:
    """Why each door is on the list, in plain words."""
    lv = h["uprn"].map(last["visited_at"]) if len(last) else pd.Series(np.nan, index=h.index)
    lo = h["uprn"].map(last["outcome"]) if len(last) else pd.Series(np.nan, index=h.index)
    group = h["group"].to_numpy(dtype=object)
    members = h["members"].to_numpy(dtype="int64")
    until = h["suppressed_until"].to_numpy(dtype=object)
    out = np.empty(len(h), dtype=object)
    for i, (g, t, m, v, o, u) in enumerate(zip(group, is_target, members, lv.tolist(),
                                               lo.tolist(), until, strict=True)):
        parts = []
        if t:
            parts.append(f"target group {g}" + (", no member" if m == 0 else ""))
        if m > 0:
            parts.append("registered member (revisited)")
        if isinstance(v, str):
            parts.append(f"last visit {v[:10]} ({str(o).replace('_', ' ')})")
        else:
            parts.append("not visited before")
        if isinstance(u, str):
            parts.append(f"held back until {u.replace('T', ' ')[:16]}")
        out[i] = "; ".join(parts)
    return out


def _frame_hash(frame: pd.DataFrame) -> str:
    text = frame.astype(object).where(frame.notna(), "").astype(str).agg("|".join, axis=1)
    return hashlib.sha256("\n".join(text.tolist()).encode()).hexdigest()


def _input_counts(store, spec: _Spec) -> dict[str, Any]:
    """Row counts of the inputs as they were used (dated rows up to the data date)."""
    day = spec.as_of
    c = {name: schema.table(name).c for name in ("crimes", "members", "visits", "surveys")}
    return {
        "as_of": day,
        "streets": store.count("streets"),
        "addresses": store.count("addresses"),
        "classifications": store.count("classifications"),
        "crimes": store.count("crimes", where=c["crimes"].month <= day[:7]),
        "members": store.count("members", where=current_member_clause(day)),
        "surveys": store.count("surveys", where=c["surveys"].responded <= day),
        "visits": store.count("visits", where=c["visits"].visited_at <= spec.created_at),
    }


# -- creating, changing, archiving --------------------------------------------------------------

def create_setup(store, name: str, *, areas: Sequence[Any] | str,
                 goal: str = "recruit", profile: Profile | str | Path | None = None,
                 target_groups: str | Sequence[str] = "auto", target: float = 0.7,
                 revisit_registered: bool = False, visited_days: int = 28,
                 declined_days: int = 90, not_in_hours: float = 4.0,
                 targets: Mapping[str, int | None] | None = None, max_streets: int = 20,
                 as_of: str | None = None, now: str | datetime | None = None,
                 setup_id: str | None = None, area_crs: int | None = None,
                 progress: Progress | None = None, community: str | None = None) -> Setup:
    """Create a set-up: score its area, pick streets, build walk lists, store it all.

    Parameters
    ----------
    store : Store
    name : str
        A name for people (``"Harehills recruitment, spring"``); the id is its slug (``-2``,
        ``-3`` … added when taken) unless ``setup_id`` is given.
    areas : list
        Area ids (``beat:…``, ``ward:…``, ``npa:…``, ``force:…``) and/or drawn polygons as
        WKT, GeoJSON (text or dict) or shapely geometries, in EPSG:27700 or 4326
        (``area_crs``; by default guessed from the coordinates).
    goal : {"recruit", "survey", "engage"}
    profile : Profile, str or Path, optional
        A profile, a shipped profile name or a TOML file (default: :data:`GOAL_PROFILES`).
        Its text is stored with the set-up.
    target_groups : "auto" or list of str
        ``"auto"``: the class groups under-represented among members across the area at
        ``target`` (default 0.7), resolved now and stored; or explicit class codes of the
        profile's scheme and level.
    revisit_registered : bool
        Keep households with a current member on the walk lists (default: leave them out).
    visited_days, declined_days, not_in_hours
        The suppression windows (:class:`~spatial_core.targeting.walklists.SuppressionWindows`).
    targets : dict, optional
        ``{"visits": n, "registrations": n, "surveys": n}`` (any of them).
    max_streets : int
        How many streets to recommend (default 20), best score first; only streets with at
        least one door to knock are recommended.
    as_of : str, optional
        The data date (ISO day) scores use: default the day before ``now``.
    now : str or datetime, optional
        The creation moment (UK local time; default the clock): visits up to it decide which
        households are held back.
    community : str, optional
        Target a community instead of geodemographic groups: ``BY:GROUP`` with ``BY`` a
        census-based grouping (``language``, ``religion``, ``origins``, ``ethnicity``,
        ``ethnicity_detailed``) and ``GROUP`` its slug (``language:polish``). Streets are
        ranked by the group's share of the residents of their households' output areas (the
        census base, else the members' self-declared answers); households in output areas
        at or above its share across the set-up area are the targets. ``target_groups`` is
        then ignored.

    Returns
    -------
    Setup
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError("a set-up needs a name")
    if goal not in GOALS:
        raise InputError(f"goal {goal!r} is not one of {', '.join(GOALS)}")
    if isinstance(max_streets, bool) or not isinstance(max_streets, (int, np.integer)) \
            or max_streets < 1:
        raise InputError(f"max_streets must be a whole number >= 1, got {max_streets!r}")
    windows = SuppressionWindows(visited_days, declined_days, not_in_hours)
    if not 0.0 < float(target) <= 1.0:
        raise InputError(f"target is a ratio between 0 and 1 (0.7 = 70% of the proportionate "
                         f"share), got {target}")
    goals = _check_targets(targets)
    moment = parse_moment(now)
    created_at = moment.strftime(_STAMP)
    if as_of is None:
        day = (moment.normalize() - pd.Timedelta(days=1)).date().isoformat()
    else:
        day = parse_moment(as_of, "as_of").date().isoformat()
    prof = _resolve_profile(profile, goal)
    ids, polygon = _resolve_areas(store, areas, area_crs)

    chosen = _parse_community(community) if community else None
    if chosen is not None:
        groups = [f"{chosen[0]}:{chosen[1]}"]
        rule = f"{_COMMUNITY}{groups[0]}"
    elif isinstance(target_groups, str) and target_groups.strip().lower() in ("auto", ""):
        beats: list[str] = []
        if polygon is not None:
            st = store.read("streets", ["street_id", "beat_id", "geom"])
            mids = shapely.line_interpolate_point(st.geometry.to_numpy(), 0.5, normalized=True)
            beats = sorted(set(st.loc[shapely.intersects(mids, polygon), "beat_id"].dropna()))
        groups = _under_represented(store, ids, beats, scheme=prof.scheme, level=prof.level,
                                    target=float(target), as_of=day)
        rule = f"under_represented<{float(target):g}"
    else:
        codes = target_groups.split(",") if isinstance(target_groups, str) else target_groups
        groups = sorted({str(c).strip() for c in codes if str(c).strip()})
        if not groups:
            raise InputError("target_groups must be 'auto' or at least one class code")
        rule = "groups"

    spec = _Spec(areas=tuple(ids), polygon=polygon, profile=prof, scheme=prof.scheme,
                 level=prof.level, target_groups=() if chosen else tuple(groups),
                 revisit_registered=bool(revisit_registered), windows=windows,
                 max_streets=int(max_streets), as_of=day, created_at=created_at,
                 community=chosen)
    streets, hh, fingerprint, counts = _recommend(store, spec, progress)

    sid = _unique_id(store, setup_id or _slug(name), given=setup_id is not None)
    area_geom = _area_geometry(store, ids, polygon)
    head = pd.DataFrame([{
        "setup_id": sid, "name": name.strip(), "status": "live", "goal": goal,
        "areas": json.dumps(ids), "polygon_wkt": None if polygon is None else
        shapely.to_wkt(polygon, rounding_precision=-1),
        "scheme": prof.scheme, "level": prof.level, "target_rule": rule,
        "target_groups": json.dumps(groups), "profile_name": prof.name,
        "profile_toml": profile_to_toml(prof), "revisit_registered": int(bool(revisit_registered)),
        "visited_days": int(windows.visited_days), "declined_days": int(windows.declined_days),
        "not_in_hours": float(windows.not_in_hours), "max_streets": int(max_streets),
        **{f"target_{k}": v for k, v in goals.items()},
        "as_of": day, "created_at": created_at, "archived_at": None,
        "inputs_fingerprint": fingerprint, "input_counts": json.dumps(counts),
        "final_report": None, "geom": area_geom,
    }])
    for col in ("target_visits", "target_registrations", "target_surveys"):
        head[col] = head[col].astype(object)
    with store.begin() as conn:
        _ensure_tables(store, conn)
        store.insert_new(conn, "setups", head)
        store.insert_new(conn, "setup_streets", streets.assign(setup_id=sid))
        store.insert_new(conn, "setup_households", hh.assign(setup_id=sid))
        bump_data_version(store, conn)  # readers' caches (the geoservice) drop old results
    log.info("created set-up %s: %d streets, %d households", sid, len(streets), len(hh))
    return get_setup(store, sid)


def _unique_id(store, base: str, *, given: bool) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", base):
        raise InputError("a set-up id is 1-64 letters, digits, '_', '-' or '.'", value=base)
    taken = set(_read_rows(store)["setup_id"])
    if base not in taken:
        return base
    if given:
        raise InputError(f"set-up {base!r} already exists: choose another id")
    i = 2
    while f"{base[:60]}-{i}" in taken:
        i += 1
    return f"{base[:60]}-{i}"


def _area_geometry(store, ids: Sequence[str], polygon):
    """The set-up area as one MultiPolygon (for maps); None when no polygon is stored."""
    t = schema.table("areas")
    parts = []
    real = [a for a in ids if a != "force:all"]
    if real:
        g = store.read("areas", ["area_id", "geom"], where=t.c.area_id.in_(real))
        parts.extend(g.geometry.dropna().tolist())
    if polygon is not None:
        parts.append(polygon)
    parts = [p for p in parts if p is not None and not p.is_empty]
    if not parts:
        return None
    u = shapely.union_all(parts)
    polys = [p for p in shapely.get_parts(u) if shapely.get_type_id(p) == 3]
    return shapely.multipolygons(polys) if polys else None


def _writable(store, setup_id: str) -> Setup:
    s = get_setup(store, setup_id)
    if s.is_archived:
        raise ReadOnlyError(f"set-up {setup_id!r} was archived on {s.archived_at}: it is "
                            "read-only (create a new set-up to continue)")
    return s


def update_setup(store, setup_id: str, *, name: str | None = None,
                 targets: Mapping[str, int | None] | None = None) -> Setup:
    """Rename a live set-up or change its targets (an archived one raises ReadOnlyError)."""
    current = _writable(store, setup_id)
    row: dict[str, Any] = {"setup_id": setup_id}
    if name is not None:
        if not name.strip():
            raise InputError("a set-up needs a name")
        row["name"] = name.strip()
    if targets is not None:
        merged = {**current.targets, **_check_targets(
            {k: v for k, v in targets.items()})}
        row.update({f"target_{k}": v for k, v in merged.items()})
    frame = pd.DataFrame([row])
    for col in frame.columns:
        if col.startswith("target_"):
            frame[col] = frame[col].astype(object)
    with store.begin() as conn:
        store.update_by_key(conn, "setups", "setup_id", frame)
        bump_data_version(store, conn)
    return get_setup(store, setup_id)


def record_setup_visit(store, setup_id: str, **visit: Any) -> str:
    """Record a door-knock visit as part of a live set-up (see
    :func:`spatial_core.io.visits.record_visit`); an archived set-up raises ReadOnlyError."""
    from spatial_core.io.visits import record_visit

    _writable(store, setup_id)
    return record_visit(store, setup_id=setup_id, **visit)


def archive_setup(store, setup_id: str, *, now: str | datetime | None = None) -> Setup:
    """Archive a set-up: read-only from now on, its final progress report kept."""
    s = _writable(store, setup_id)
    moment = parse_moment(now)
    if moment.strftime(_STAMP) < s.created_at:
        raise InputError(f"cannot archive before the set-up was created ({s.created_at})",
                         value=moment.strftime(_STAMP))
    report = setup_report(store, setup_id, now=moment)
    frame = pd.DataFrame([{"setup_id": setup_id, "status": "archived",
                           "archived_at": moment.strftime(_STAMP),
                           "final_report": json.dumps(
                               {**report.to_dict(), "status": "archived"}, default=str)}])
    with store.begin() as conn:
        store.update_by_key(conn, "setups", "setup_id", frame)
        bump_data_version(store, conn)
    log.info("archived set-up %s", setup_id)
    return get_setup(store, setup_id)


# -- re-running ---------------------------------------------------------------------------------

def _spec_of(setup: Setup) -> _Spec:
    return _Spec(areas=tuple(setup.areas),
                 polygon=shapely.from_wkt(setup.polygon_wkt) if setup.polygon_wkt else None,
                 profile=setup.profile, scheme=setup.scheme, level=setup.level,
                 target_groups=() if _community_of(setup.target_rule) else
                 tuple(setup.target_groups),
                 revisit_registered=setup.revisit_registered, windows=setup.windows,
                 max_streets=setup.max_streets, as_of=setup.as_of, created_at=setup.created_at,
                 community=_community_of(setup.target_rule))


def stored_recommendation(store, setup_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored streets and households of a set-up (streets by rank, households in walk
    order)."""
    ts, th = schema.table("setup_streets"), schema.table("setup_households")
    streets = store.read("setup_streets", where=ts.c.setup_id == setup_id,
                         order_by=["street_rank"])
    hh = store.read("setup_households", where=th.c.setup_id == setup_id)
    rank = streets.set_index("street_id")["street_rank"]
    hh = hh.assign(_r=hh["street_id"].map(rank)).sort_values(["_r", "walk_order"]).drop(
        columns="_r")
    return (pd.DataFrame(streets.drop(columns=["fid"])).reset_index(drop=True),
            pd.DataFrame(hh.drop(columns=["fid"])).reset_index(drop=True))


def rerun_setup(store, setup_id: str, progress: Progress | None = None) -> RerunResult:
    """Recompute a set-up's recommendation from its stored inputs (area, target groups,
    profile TOML, windows, data date and creation moment) and compare it with what is stored.

    Nothing is written. Scores use only data dated up to the set-up's ``as_of`` and
    suppression only visits up to its ``created_at``, so visits and members added later do
    not change the result; ``inputs_unchanged`` is False when older data was changed since
    (for example a crime month re-imported), and the comparison then says what moved.
    """
    setup = get_setup(store, setup_id)
    streets, hh, fingerprint, _counts = _recommend(store, _spec_of(setup), progress)
    old_streets, old_hh = stored_recommendation(store, setup_id)
    same_streets = (
        streets["street_id"].tolist() == old_streets["street_id"].tolist()
        and np.allclose(streets["score"].to_numpy("float64"),
                        old_streets["score"].to_numpy("float64"), rtol=0, atol=1e-9)
    )
    cols = ["street_id", "uprn", "walk_order", "suppressed_until", "grp", "is_target"]

    def norm(f: pd.DataFrame) -> list[tuple]:
        g = f[cols].astype(object)
        g = g.where(g.notna(), None)
        return [tuple(str(v) if v is not None else None for v in r)
                for r in g.itertuples(index=False)]

    same_hh = norm(hh) == norm(old_hh)
    return RerunResult(setup=setup, streets=streets, households=hh, same_streets=same_streets,
                       same_walk_lists=same_hh,
                       inputs_unchanged=fingerprint == setup.inputs_fingerprint,
                       inputs_fingerprint=fingerprint)


# -- progress -----------------------------------------------------------------------------------

def setup_report(store, setup_id: str, *, now: str | datetime | None = None) -> SetupReport:
    """Progress of a set-up at ``now`` (default the clock; an archived set-up gives the report
    kept when it was archived).

    Visits counted: those tagged with the set-up (``visits.setup_id``) and those at its
    walk-list households since it was created, up to ``now`` (each visit once).
    """
    setup = get_setup(store, setup_id)
    if setup.is_archived:
        t = schema.table("setups")
        kept = store.read("setups", ["final_report"], where=t.c.setup_id == setup_id)
        text = kept["final_report"].iloc[0] if len(kept) else None
        if isinstance(text, str) and text:
            return SetupReport.from_dict(json.loads(text))
    moment = parse_moment(now)
    if setup.archived_at is not None and moment.strftime(_STAMP) > setup.archived_at:
        moment = pd.Timestamp(setup.archived_at)
    stamp = moment.strftime(_STAMP)
    _streets, hh = stored_recommendation(store, setup_id)
    streets = _streets[["street_rank", "street_id", "name", "households"]]
    v = _visits(store, setup, set(hh["uprn"]), stamp)
    street_of = hh.set_index("uprn")["street_id"]
    v = v.assign(street_id=v["uprn"].map(street_of).fillna("(elsewhere)"))

    def counts(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=pd.Index(frame["street_id"].unique(), name="street_id"))
        g = frame.groupby("street_id")
        out["visits"] = g.size()
        out["households_visited"] = g["uprn"].nunique()
        for o in OUTCOME_COLUMNS:
            out[o] = frame[frame["outcome"] == o].groupby("street_id").size()
        return out.fillna(0).astype("int64")

    per = counts(v)
    now_list = walk_list(store, setup_id, now=moment)
    knock = now_list.groupby("street_id").size()
    table = streets.merge(per, left_on="street_id", right_index=True, how="left")
    if "(elsewhere)" in per.index:
        extra = per.loc[["(elsewhere)"]].reset_index()
        extra.insert(0, "street_rank", pd.NA)
        extra.insert(2, "name", "(visits tagged with the set-up, off its walk lists)")
        extra.insert(3, "households", 0)
        table = pd.concat([table, extra], ignore_index=True)
    num = ["visits", "households_visited", *OUTCOME_COLUMNS]
    table[num] = table[num].fillna(0).astype("int64")
    table["to_knock"] = table["street_id"].map(knock).fillna(0).astype("int64")
    table["households"] = table["households"].fillna(0).astype("int64")
    totals = {"households": int(len(hh)), "households_visited": int(v["uprn"].nunique()),
              "visits": int(len(v)), **{o: int((v["outcome"] == o).sum())
                                        for o in OUTCOME_COLUMNS},
              "to_knock": int(len(now_list))}
    rows = []
    for key, measure in _TARGETS.items():
        goal = setup.targets.get(key)
        achieved = totals[measure]
        rows.append({"measure": key, "target": goal, "achieved": achieved,
                     "share": (achieved / goal) if goal else None})
    return SetupReport(setup_id=setup_id, name=setup.name, status=setup.status, now=stamp,
                       totals=totals, targets=pd.DataFrame(rows, columns=[
                           "measure", "target", "achieved", "share"]),
                       streets=table.reset_index(drop=True))


def _visits(store, setup: Setup, uprns: set, stamp: str) -> pd.DataFrame:
    from sqlalchemy import or_

    tv = schema.table("visits")
    v = store.read("visits", ["visit_id", "uprn", "visited_at", "outcome", "setup_id",
                              "officer"],
                   where=or_(tv.c.setup_id == setup.setup_id,
                             tv.c.visited_at > setup.created_at))
    # Strictly after creation: a visit at ``created_at`` was known to the set-up (it decided
    # suppression, as walk_list takes "recorded since" to be after ``created_at``).
    on_list = v["uprn"].isin(uprns) & (v["visited_at"] > setup.created_at)
    v = v[((v["setup_id"] == setup.setup_id) | on_list) & (v["visited_at"] <= stamp)]
    return v.drop_duplicates("visit_id").sort_values(["visited_at", "visit_id"]).reset_index(
        drop=True)


def setup_visits(store, setup_id: str, *, now: str | datetime | None = None) -> pd.DataFrame:
    """The visits that count as a set-up's progress at ``now`` (default the clock; never
    after an archived set-up's ``archived_at``): those tagged with it and those at its
    walk-list households since it was created.

    Returns
    -------
    pandas.DataFrame
        ``visit_id``, ``uprn``, ``visited_at``, ``outcome``, ``setup_id``, ``officer``,
        ``street_id`` (None off the walk lists), oldest first.
    """
    setup = get_setup(store, setup_id)
    moment = parse_moment(now)
    if setup.archived_at is not None and moment.strftime(_STAMP) > setup.archived_at:
        moment = pd.Timestamp(setup.archived_at)
    _streets, hh = stored_recommendation(store, setup_id)
    v = _visits(store, setup, set(hh["uprn"]), moment.strftime(_STAMP))
    street = v["uprn"].map(hh.set_index("uprn")["street_id"]).astype(object)
    return v.assign(street_id=street.where(street.notna(), None))


def setup_area_households(store, setup: Setup) -> pd.DataFrame:
    """The households of a set-up's area (the population it is judged against), placed and
    classified as :func:`spatial_core.analytics.population.households` does, with its data date."""
    from spatial_core.analytics.population import households

    polygon = shapely.from_wkt(setup.polygon_wkt) if setup.polygon_wkt else None
    whole = polygon is not None or "force:all" in setup.areas
    h = households(store, scheme=setup.scheme, level=setup.level,
                   areas=None if whole else list(setup.areas), as_of=setup.as_of)
    if polygon is not None:
        inside = shapely.contains_xy(polygon, h["x"].to_numpy("float64"),
                                     h["y"].to_numpy("float64"))
        listed = np.zeros(len(h), dtype=bool)
        for area in setup.areas:
            level = area.partition(":")[0]
            if area == "force:all":
                listed[:] = True
            elif f"{level}_id" in h.columns:
                listed |= (h[f"{level}_id"] == area).to_numpy(dtype=bool)
        h = h[inside | listed]
    return h.reset_index(drop=True)
