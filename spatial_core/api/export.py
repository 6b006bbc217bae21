# SPDX-License-Identifier: GPL-3.0-or-later
"""Exporting analytics layers to GeoJSON, GeoPackage or CSV files.

Layers (:data:`LAYERS`):

- ``street-scores``: the newest stored scoring run (``lpt score --save``), or a fresh score
  with a profile when none is stored or ``fresh=True``; street lines;
- ``priorities``: votes per priority per area
(:func:`spatial_core.analytics.priorities.local_priorities`)
  with the local-priority flags; area polygons;
- ``representation``: group shares among households, members and respondents per area
  (:func:`spatial_core.analytics.representation.representation`); area polygons;
- ``walk-list``: a set-up's doors to knock in walking order
  (:func:`spatial_core.targeting.walklists.walk_list`); address points;
- ``setup-streets``: a set-up's recommended streets; street lines.

Personal data: walk lists carry addresses (UPRN, postcode, point) but never member names or
contacts, and no layer may carry a column named like one (:data:`FORBIDDEN_COLUMNS`: checked
before anything is written). Aggregates withhold small counts: every count of people
(members, respondents, votes) between 1 and ``k - 1`` (``k`` = 5) is withheld, with the shares,
ratios and intervals computed from it, by :func:`spatial_core.analytics.disclosure.suppress_counts`
(which also withholds a second count of an area's groups when one alone would be recoverable
from the area's total); plain-words reasons say "<5" instead of such a count, and notes
say "n<5" where the n of an area is withheld. A street's representation reason gives the
households of the group *without* a member when the households with one (all of the group's
households minus ``representation_raw``) or the members number 1 to ``k - 1``, so that their
count cannot be recovered by subtraction.

GeoJSON is written in WGS84 (EPSG:4326, as RFC 7946 requires), GeoPackage in British
National Grid (EPSG:27700); CSV has no geometry column (point layers keep ``x``, ``y``,
``lat``, ``lng``).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial_core.api import FORCE
from spatial_core.errors import InputError, StoreError
from spatial_core.geo.crs import STORE_SRID, WGS84
from spatial_core.store import schema
from spatial_core.store.boundary_sets import newest_per_area

__all__ = ["LAYERS", "FORMATS", "FORBIDDEN_COLUMNS", "ExportResult", "export_layer",
           "layer_frame", "area_geometries", "street_geometries", "csv_cell", "csv_safe_frame",
           "csv_safe_text"]

log = logging.getLogger(__name__)

LAYERS = ("street-scores", "priorities", "representation", "walk-list", "setup-streets")
FORMATS = ("geojson", "gpkg", "csv")
FORBIDDEN_COLUMNS = frozenset({"name", "member_name", "full_name", "first_name", "surname",
                               "email", "e_mail", "telephone", "phone", "mobile", "contact",
                               "member_id", "notes", "free_text", "officer"})
"""Column names no export may carry (personal data; ``name`` would be ambiguous)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A value safe to put in a CSV cell a spreadsheet will open: text starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return (a formula to Excel, LibreOffice or
    Google Sheets) gets a leading ``'``; numbers (``-3.5`` too) and other values are kept.
    The one rule for every CSV this project writes (``lpt export … csv``, the service's
    ``?f=csv``, ``lpt audit export --format csv``).

    >>> [csv_cell(v) for v in ["=HYPERLINK(1)", "+1", "-2.5", "@SUM(A1)", "ok", 3]]
    ["'=HYPERLINK(1)", '+1', '-2.5', "'@SUM(A1)", 'ok', 3]
    >>> csv_cell("-cmd|' /C calc'!A0")
    "'-cmd|' /C calc'!A0"
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell passed through :func:`csv_cell`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    return out


def csv_safe_text(text: str) -> str:
    """A CSV document (header and rows) with every cell passed through :func:`csv_cell`.

    >>> csv_safe_text('a,b\\r\\n=1+1,-2\\r\\n').splitlines()
    ['a,b', "'=1+1,-2"]
    """
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text, newline="")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for i, row in enumerate(rows):
        w.writerow(row if i == 0 else [csv_cell(c) for c in row])
    return buf.getvalue()


_ALIASES = {"street_scores": "street-scores", "scores": "street-scores",
            "walk_list": "walk-list", "walklist": "walk-list", "walk-lists": "walk-list",
            "walk_lists": "walk-list", "setup_streets": "setup-streets"}
_SUFFIX = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".csv": "csv"}
K = 5


@dataclass(frozen=True)
class ExportResult:
    """What was written: the layer, file, format, rows, columns and counts withheld."""

    layer: str
    path: str
    format: str
    rows: int
    columns: tuple[str, ...]
    withheld: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {"layer": self.layer, "path": self.path, "format": self.format,
                "rows": self.rows, "columns": list(self.columns), "withheld": self.withheld,
                "notes": list(self.notes)}


# -- disclosure ---------------------------------------------------------------------------------

def _suppress(frame: pd.DataFrame, columns: Sequence[str], *, within: str | None = None,
              k: int = K) -> tuple[pd.DataFrame, int]:
    """Withhold counts 1..k-1 of ``columns`` (and, with ``within``, a second count of the
    same ``within`` value when one alone would follow from their total). Returns the frame
    (columns nullable Int64) and the number of cells withheld."""
    try:
        from spatial_core.analytics.disclosure import suppress_counts
    except ImportError:  # pragma: no cover - the disclosure module ships with spatial_core
        suppress_counts = None  # type: ignore[assignment]
    f = frame.reset_index(drop=True)
    if not len(f):
        return f, 0
    withheld = 0
    if suppress_counts is None:  # pragma: no cover
        out = f.copy()
        for c in columns:
            v = out[c].fillna(0).astype("int64")
            hide = (v >= 1) & (v < k)
            withheld += int(hide.sum())
            out[c] = v.astype("Int64").mask(hide)
        return out, withheld
    ids = [f"r{i}" for i in range(len(f))]
    if within is None:
        table = pd.DataFrame({"id": ids, "parent": None,
                              **{c: f[c].fillna(0).astype("int64") for c in columns}})
    else:
        totals = f.groupby(within, sort=False)[list(columns)].sum().reset_index()
        table = pd.concat([
            pd.DataFrame({"id": ids, "parent": "t:" + f[within].astype(str),
                          **{c: f[c].fillna(0).astype("int64") for c in columns}}),
            pd.DataFrame({"id": "t:" + totals[within].astype(str), "parent": None,
                          **{c: totals[c].astype("int64") for c in columns}}),
        ], ignore_index=True)
    done = suppress_counts(table, list(columns), k=k, id_column="id", parent_column="parent",
                           level_column=None).iloc[:len(f)]
    out = f.copy()
    for c in columns:
        hidden = pd.isna(done[c]).to_numpy()
        withheld += int(hidden.sum())
        out[c] = pd.array(f[c].fillna(0).astype("int64"), dtype="Int64")
        out.loc[hidden, c] = pd.NA
    return out, withheld


def _blank(frame: pd.DataFrame, mask: np.ndarray, columns: Sequence[str]) -> None:
    """Blank derived values (shares, ratios, intervals, flags) where a count is withheld."""
    for c in columns:
        if c not in frame.columns:
            continue
        if frame[c].dtype == bool:
            frame[c] = frame[c].astype("boolean")
        frame.loc[mask, c] = pd.NA if str(frame[c].dtype) in ("boolean", "Int64") else np.nan


_PEOPLE = re.compile(r"\b(\d+) (members?|respondents?)\b")
_REPRESENTATION = re.compile(r"\b(\d+) households? in (an under-represented group|a target "
                             r"group), (\d+) members?\b")
_SMALL_N = re.compile(r"\bn=(\d+)\b")


def _redact_reasons(text: pd.Series, k: int = K) -> pd.Series:
    """Counts of people ``1 .. k-1`` in plain-words reasons become ``<k``."""
    def one(m: re.Match) -> str:
        if not 1 <= int(m.group(1)) < k:
            return m.group(0)
        noun = m.group(2)
        return f"<{k} {noun if noun.endswith('s') else noun + 's'}"

    return text.fillna("").astype(str).str.replace(_PEOPLE, one, regex=True)


def _redact_representation(reasons: pd.Series, without_member: np.ndarray,
                           k: int = K) -> pd.Series:
    """Rewrite "K households in <group>, m members" so that the households with a member
    (``K - without_member``, with ``without_member`` published as ``representation_raw``)
    cannot be recovered by subtraction when they, or the members, number ``1 .. k-1``: the
    reason then gives the households *without* a member instead of all of them."""
    text = reasons.fillna("").astype(str).tolist()
    free = np.asarray(without_member, dtype="float64")
    for i, t in enumerate(text):
        m = _REPRESENTATION.search(t)
        if m is None or not np.isfinite(free[i]):
            continue
        total, members = int(m.group(1)), int(m.group(3))
        with_member = total - int(free[i])
        if 1 <= with_member < k or 1 <= members < k:
            r = int(free[i])
            words = f"{r} {'household' if r == 1 else 'households'} in {m.group(2)} with no " \
                    f"member, <{k} members"
            text[i] = t[:m.start()] + words + t[m.end():]
    return pd.Series(text, index=reasons.index, dtype=object)


def _redact_n(notes: pd.Series, hidden: np.ndarray, k: int = K) -> pd.Series:
    """Notes such as "too few respondents (n=3 < 10)" say ``n<k`` where n is withheld."""
    out = notes.fillna("").astype(str).copy()
    mask = np.asarray(hidden, dtype=bool)
    out[mask] = out[mask].str.replace(_SMALL_N, f"n<{k}", regex=True)
    return out


# -- layers -------------------------------------------------------------------------------------

def area_geometries(store, ids: Sequence[str]) -> pd.Series:
    """Area polygons (EPSG:27700) by id; the newest boundary set wins
    (:func:`spatial_core.store.boundary_sets.newest_per_area`)."""
    t = schema.table("areas")
    a = store.read("areas", ["area_id", "boundary_set", "valid_from", "geom"],
                   where=t.c.area_id.in_(list(set(ids)))) if len(ids) else None
    if a is None or not len(a):
        return pd.Series(dtype=object)
    a = newest_per_area(a)
    return pd.Series(a.geometry.to_numpy(), index=a["area_id"].to_numpy())


def street_geometries(store, ids: Sequence[str]) -> pd.Series:
    """Street lines (EPSG:27700) by ``street_id``."""
    t = schema.table("streets")
    s = store.read("streets", ["street_id", "geom"], where=t.c.street_id.in_(list(ids))) \
        if len(ids) else None
    if s is None or not len(s):
        return pd.Series(dtype=object)
    return pd.Series(s.geometry.to_numpy(), index=s["street_id"].to_numpy())


def _street_scores(store, *, area: str | None, fresh: bool, profile, as_of: str | None,
                   notes: list[str], k: int = K) -> tuple[pd.DataFrame, pd.Series, int]:
    from spatial_core.api.scores import add_actions, score_streets_for
    from spatial_core.targeting.scoring import load_scores

    scores = None
    if not fresh:
        try:
            head, scores = load_scores(store)
        except Exception as exc:  # noqa: BLE001 - NotFoundError, or no score tables yet
            log.debug("no stored score run: %s", exc)
            scores = None
        else:
            notes.append(f"stored run {head['run_id']} (profile {head['profile_name']}, "
                         f"as of {head['as_of']})")
            scores = add_actions(store, scores, head["profile"], as_of=head["as_of"], k=k)
            scores = scores.assign(run_id=head["run_id"], as_of=head["as_of"])
            if area is not None and head.get("area") != area:
                from spatial_core.targeting.scoring import streets_in_area

                st = store.read("streets", ["street_id", "beat_id", "ward_id", "geom"])
                st = pd.DataFrame({c: st[c].to_numpy() for c in st.columns if c != "geom"}
                                  | {"geom": st.geometry.to_numpy()})
                keep = set(st.loc[streets_in_area(store, st, area), "street_id"])
                scores = scores[scores["street_id"].isin(keep)]
    if scores is None:
        run = score_streets_for(store, FORCE, profile, area=area, as_of=as_of)
        scores = add_actions(store, run.scores, run.profile, as_of=run.as_of, k=k)
        scores = scores.assign(run_id=None, as_of=run.as_of)
        notes.append(f"fresh score (profile {run.profile.name}, as of {run.as_of})")
    names = store.read("streets", ["street_id", "name"]).set_index("street_id")["name"]
    scores = scores.copy()
    scores.insert(1, "street_name", scores["street_id"].map(names))
    if "name" in scores.columns:
        scores = scores.drop(columns=["name"])
    scores, withheld = _suppress(scores, ["voice_n"], k=k)
    scores["reasons"] = _redact_reasons(_redact_representation(
        scores["reasons"], scores["representation_raw"].to_numpy(dtype="float64"), k), k)
    return scores, street_geometries(store, scores["street_id"]).reindex(
        scores["street_id"]).to_numpy(), withheld


def layer_frame(store, layer: str, *, setup_id: str | None = None, area: str | None = None,
                level: str = "beat", period: str | None = None, scheme: str = "oac2011",
                class_level: int = 1, target: float = 0.7, now: str | datetime | None = None,
                fresh: bool = False, profile: str | None = None, as_of: str | None = None,
                k: int = K) -> tuple[gpd.GeoDataFrame, int, list[str]]:
    """The layer as a GeoDataFrame (EPSG:27700; geometry may be missing), the number of
    counts withheld, and notes. See :func:`export_layer` for the parameters."""
    name = _ALIASES.get(layer, layer)
    if name not in LAYERS:
        raise InputError(f"layer {layer!r} is not one of {', '.join(LAYERS)}")
    notes: list[str] = []
    withheld = 0
    if name in ("walk-list", "setup-streets") and not setup_id:
        raise InputError(f"layer {name} needs a set-up: give --setup ID (lpt setup list)")
    if name == "street-scores":
        frame, geoms, withheld = _street_scores(store, area=area, fresh=fresh, profile=profile,
                                                as_of=as_of, notes=notes, k=k)
    elif name == "priorities":
        from spatial_core.analytics.priorities import local_priorities

        frame = local_priorities(store, level=level, period=period)
        frame, withheld = _suppress(frame, ["votes", "n", "responses"], k=k)
        hidden = (frame["votes"].isna() | frame["n"].isna()).to_numpy()
        _blank(frame, hidden, ["share", "ci_low", "ci_high"])
        frame["note"] = _redact_n(frame["note"], frame["n"].isna().to_numpy(), k)
        if area is not None:
            frame = frame[frame["area_id"] == area]
        geoms = area_geometries(store, frame["area_id"]).reindex(frame["area_id"]).to_numpy()
    elif name == "representation":
        from spatial_core.analytics.representation import representation

        frame = representation(store, scheme=scheme, level=class_level, area_level=level,
                               target=target, period=period)
        frame, withheld = _suppress(frame, ["members", "respondents"], within="area_id", k=k)
        for who, col in (("member", "members"), ("respondent", "respondents")):
            _blank(frame, frame[col].isna().to_numpy(),
                   [f"{who}_{s}" for s in ("share", "ratio", "ci_low", "ci_high", "below",
                                           "clearly_below")])
        if area is not None:
            frame = frame[frame["area_id"] == area]
        geoms = area_geometries(store, frame["area_id"]).reindex(frame["area_id"]).to_numpy()
    elif name == "walk-list":
        from spatial_core.targeting.walklists import walk_list

        frame = walk_list(store, setup_id, now=now)  # type: ignore[arg-type]
        import shapely

        geoms = shapely.points(frame["x"].to_numpy("float64"), frame["y"].to_numpy("float64"))
        notes.append(f"set-up {setup_id}: {len(frame)} doors to knock")
    else:
        from spatial_core.targeting.setups import get_setup, stored_recommendation

        get_setup(store, setup_id)  # type: ignore[arg-type]
        streets, _hh = stored_recommendation(store, setup_id)  # type: ignore[arg-type]
        frame = pd.DataFrame(streets.drop(columns=["geom"])).rename(
            columns={"name": "street_name"})
        geoms = np.asarray(streets["geom"], dtype=object)
    frame = pd.DataFrame(frame).reset_index(drop=True)
    if "geom" in frame.columns:
        frame = frame.drop(columns=["geom"])
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object),
                                                         crs=STORE_SRID), crs=STORE_SRID)
    return gdf, withheld, notes


def _check_personal(columns: Sequence[str], layer: str) -> None:
    bad = sorted(c for c in columns if c.lower() in FORBIDDEN_COLUMNS)
    if bad:  # a programming error, never user input: refuse to write personal data
        raise StoreError(f"export of {layer} would carry personal column(s) {bad}; refused")


def export_layer(store, layer: str, path: str | Path, *, format: str | None = None,
                 setup_id: str | None = None, area: str | None = None, level: str = "beat",
                 period: str | None = None, scheme: str = "oac2011", class_level: int = 1,
                 target: float = 0.7, now: str | datetime | None = None, fresh: bool = False,
                 profile: str | None = None, as_of: str | None = None,
                 k: int = K) -> ExportResult:
    """Write one analytics layer to a file.

    Parameters
    ----------
    store : Store
    layer : str
        One of :data:`LAYERS`.
    path : str or Path
        The file to write (replaced when it exists).
    format : {"geojson", "gpkg", "csv"}, optional
        Default: from the file suffix.
    setup_id : str
        The set-up of ``walk-list`` and ``setup-streets``.
    area : str, optional
        Only this area (``beat:…`` …): the scored area of ``street-scores``, the rows of
        ``priorities`` and ``representation``.
    level : str
        The area level of ``priorities`` and ``representation`` (default ``beat``).
    period : str, optional
        Survey responses counted by ``priorities`` and ``representation``.
    scheme, class_level, target
        The groups and target of ``representation``.
    now : str or datetime, optional
        The moment a ``walk-list`` is for (default the clock).
    fresh, profile, as_of
        ``street-scores``: score now with ``profile`` (default ``default``) instead of the
        newest stored run (used anyway when none is stored).
    k : int
        Counts of people below ``k`` (and above 0) are withheld (default 5).

    Returns
    -------
    ExportResult
    """
    out = Path(path)
    fmt = (format or _SUFFIX.get(out.suffix.lower(), "")).lower()
    if fmt not in FORMATS:
        raise InputError(f"format {format or out.suffix!r} is not one of {', '.join(FORMATS)}"
                         " (or give a file ending .geojson, .gpkg or .csv)")
    gdf, withheld, notes = layer_frame(store, layer, setup_id=setup_id, area=area, level=level,
                                       period=period, scheme=scheme, class_level=class_level,
                                       target=target, now=now, fresh=fresh, profile=profile,
                                       as_of=as_of, k=k)
    name = _ALIASES.get(layer, layer)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    _check_personal(columns, name)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    if fmt == "csv":
        csv_safe_frame(pd.DataFrame(gdf[columns])).to_csv(out, index=False)
    else:
        import pyogrio

        data = gdf.to_crs(WGS84) if fmt == "geojson" else gdf
        data = _writable(data)
        pyogrio.write_dataframe(data, out, layer=name.replace("-", "_"),
                                driver="GeoJSON" if fmt == "geojson" else "GPKG")
    if withheld:
        notes.append(f"{withheld} counts between 1 and {k - 1} withheld")
    log.info("exported %s: %d rows to %s", name, len(gdf), out)
    return ExportResult(layer=name, path=str(out), format=fmt, rows=len(gdf),
                        columns=tuple(columns), withheld=withheld, notes=tuple(notes))


def _writable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Column types GDAL writes: nullable ints and booleans as plain values with nulls."""
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        dtype = str(out[c].dtype)
        if dtype == "Int64":
            out[c] = out[c].astype("float64") if out[c].isna().any() else out[c].astype("int64")
        elif dtype == "boolean":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        elif out[c].dtype == object:
            out[c] = out[c].where(out[c].notna(), None)
    return out
