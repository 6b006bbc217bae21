# SPDX-License-Identifier: GPL-3.0-or-later
"""The national run on Dask: one task per force, the core's main job in each.

The partition is the force: a force is a store, and every analytic of the core (street
scores, local priorities, representation, disclosed counts) is a question about one force's
store, so :func:`force_job` calls the core's functions on one store unchanged, on whichever
``dask.distributed`` worker the scheduler picks. It writes its score run back to the force
store (:func:`spatial_core.api.mainjob.run_main_job` stores it) and returns plain aggregate
frames. :func:`run_national` submits one task per force (largest store first), shows progress
as tasks finish, and :func:`write_national_store` writes the aggregate-only national store
(disclosure-controlled with :mod:`spatial_core.analytics.disclosure`; no person, address,
point or street in it).

:func:`run_sequential` runs the same :func:`force_job` one force after another in this
process: the one-machine run that the Dask run must equal value for value.

The partition is the force; a force too large for one worker has its street scores' inputs
(the spatial joins of crimes, respondents and households to streets, the heavy part)
prepared in parts cut by H3 parent cell, each with a halo of rings of cells, as tasks of
their own (:func:`parts_preparer`, ``force_job(parts_res=...)``), merged into the same inputs
the whole force gives, then scored once.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.errors import InputError
from spatial_core.progress import Progress

__all__ = ["ForceResult", "NationalRun", "force_job", "parts_preparer", "run_national",
           "run_sequential", "national_client", "close_client", "dashboard_link",
           "write_national_store", "national_tables", "NATIONAL_LAYERS", "REPRESENTATION_COUNTS"]

log = logging.getLogger(__name__)


NATIONAL_LAYERS = ("national_forces", "national_area_counts", "national_priorities",
                   "national_representation", "national_run")
"""The layers of the national store."""

REPRESENTATION_COUNTS = ("population", "members", "respondents")
"""The counts of a representation row; each is disclosure-controlled in the national store."""

# Derived columns that give a withheld count away (share x published total), nulled with it.
_DERIVED = {
    "population": ("population_share", "member_ratio", "respondent_ratio"),
    "members": ("member_share", "member_ratio", "member_ci_low", "member_ci_high",
                "member_below", "member_clearly_below"),
    "respondents": ("respondent_share", "respondent_ratio", "respondent_ci_low",
                    "respondent_ci_high", "respondent_below", "respondent_clearly_below"),
}


@dataclass
class ForceResult:
    """What :func:`force_job` found for one force: aggregate frames and where it ran."""

    code: str
    name: str
    run_id: str
    as_of: str
    profile: str
    streets: pd.DataFrame  # every street's score run (load_scores), no geometry
    priorities: pd.DataFrame  # local_priorities per beat
    priority_summary: pd.DataFrame
    representation: pd.DataFrame  # representation at force level
    area_counts: pd.DataFrame  # counts per force/npa/beat/ward, before disclosure control
    area_overlaps: pd.DataFrame  # beat/npa x ward overlaps of those counts
    low_coverage_beats: int
    outline_wkb: bytes | None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker_pid: int = 0
    peak_rss_bytes: int = 0


@dataclass
class NationalRun:
    """The national run: each force's result, the failures, timing and workers' peaks."""

    forces: dict[str, ForceResult]
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    workers: dict[int, int] = field(default_factory=dict)  # pid -> peak resident bytes
    scheduler: str = ""


def _prepare_part_task(location: str, part, options: dict):
    """One part of a force's scoring inputs (a Dask task): opens the store, prepares."""
    from spatial_core.store import open_store
    from spatial_core.targeting.scoring import prepare_part

    store = open_store(location, create=False)
    try:
        return prepare_part(store, part, **options)
    finally:
        store.close()


def parts_preparer(location: str, res: int, *, parts: int | None = None):
    """A ``prepare`` for :func:`spatial_core.api.scores.score_streets_for` that prepares a
    force's scoring inputs in parts cut at H3 resolution ``res``
    (:func:`spatial_core.targeting.scoring.part_plan`, at most ``parts`` parts) and merges
    them (:func:`~spatial_core.targeting.scoring.merge_parts`): the same inputs as the whole
    force at once, array for array, while no process holds more than one part and its halo.

    Inside a Dask task the parts are tasks of their own on the same cluster (the task
    leaves its worker's thread pool while it waits, ``distributed.worker_client``);
    elsewhere they are prepared one after another in this process.
    """
    from spatial_core.targeting.scoring import (
        default_as_of,
        merge_parts,
        part_plan,
        prepare_part,
    )

    def prepare(store, *, area=None, as_of=None, scheme="oac2011", level=1,
                crime_distance_m=50.0, voice_radius_m=250.0, progress=None):
        day = default_as_of(store, as_of)
        options = dict(day=day, area=area, scheme=scheme, level=level,
                       crime_distance_m=crime_distance_m, voice_radius_m=voice_radius_m)
        plan = part_plan(store, res, parts=parts)
        client = _worker_client()
        if client is None:
            done = [prepare_part(store, part, **options) for part in plan]
        else:
            with client as c:
                futures = c.map(_prepare_part_task, [location] * len(plan), plan,
                                [options] * len(plan), pure=False)
                done = c.gather(futures)
        if progress:
            progress(0.95, f"merging {len(plan)} parts")
        return merge_parts(store, done, **options)

    return prepare


def _worker_client():
    """``distributed.worker_client()`` inside a Dask task, else None."""
    try:
        from distributed import get_worker, worker_client
    except ImportError:
        return None
    try:
        get_worker()
    except ValueError:
        return None
    return worker_client()


def force_job(code: str, location: str, *, profile: str | None = None,
              scheme: str = "oac2011", level: int = 1, target: float = 0.7,
              top: int = 3, parts_res: int | None = None,
              parts: int | None = None) -> ForceResult:
    """Run the main job on one force store and return its aggregate frames (a Dask task).

    Calls, in order, :func:`~spatial_core.api.mainjob.run_main_job` (scores every street and
    stores the run in the force store), :func:`~spatial_core.targeting.scoring.load_scores`
    (that run, every street), :func:`~spatial_core.analytics.priorities.local_priorities`
    and :func:`~spatial_core.analytics.priorities.priority_summary` per beat,
    :func:`~spatial_core.analytics.representation.representation` for the force and
    :func:`~spatial_core.analytics.disclosure.counts_and_overlaps`. Records the run in the
    store's ``lpt_meta`` under ``national_run``.

    With ``parts_res`` the street scores' inputs are prepared in parts cut at that H3
    resolution (:func:`parts_preparer`, at most ``parts`` parts), for a force too large for
    one worker; the results are the same.
    """
    from spatial_core.analytics.disclosure import counts_and_overlaps
    from spatial_core.analytics.priorities import local_priorities, priority_summary
    from spatial_core.analytics.representation import representation
    from spatial_core.api.mainjob import run_main_job
    from spatial_core.store import open_store, schema
    from spatial_core.targeting.scoring import load_scores

    started, cpu = time.perf_counter(), time.process_time()
    store = open_store(location, create=False)
    try:
        prepare = parts_preparer(location, parts_res, parts=parts) if parts_res else None
        job = run_main_job(store, profile=profile, scheme=scheme, level=level, target=target,
                           top=top, prepare=prepare)
        _, streets = load_scores(store, job.run_id)
        priorities = local_priorities(store, level="beat")
        summary = priority_summary(store, level="beat", priorities=priorities)
        rep = representation(store, scheme=scheme, level=level, area_level="force",
                             target=target)
        counts, overlaps = counts_and_overlaps(store)
        t = schema.table("areas")
        force = store.read("areas", ["name", "geom"], where=t.c.level == "force")
        name = str(force["name"].iloc[0]) if len(force) else code
        outline = (shapely.to_wkb(force.geometry.iloc[0]) if len(force)
                   and force.geometry.iloc[0] is not None else None)
        store.set_meta("national_run", json.dumps(
            {"run_id": job.run_id, "at": datetime.now(UTC).isoformat(timespec="seconds")}))
    finally:
        store.close()
    from spatial_core.national.synthetic import _peak_rss

    return ForceResult(code=code, name=name, run_id=job.run_id, as_of=job.as_of,
                       profile=job.profile, streets=streets, priorities=priorities,
                       priority_summary=summary, representation=rep, area_counts=counts,
                       area_overlaps=overlaps, low_coverage_beats=job.low_coverage_beats,
                       outline_wkb=outline, seconds=time.perf_counter() - started,
                       cpu_seconds=time.process_time() - cpu,
                       worker_pid=os.getpid(), peak_rss_bytes=_peak_rss())


def _largest_first(stores: Mapping[str, str]) -> list[str]:
    def size(loc: str) -> int:
        try:
            return os.path.getsize(loc)
        except OSError:  # a PostGIS URL
            return 0
    return sorted(stores, key=lambda c: (-size(stores[c]), c))


def run_sequential(stores: Mapping[str, str], *, progress: Progress | None = None,
                   **options) -> NationalRun:
    """The one-machine run: :func:`force_job` for each force in turn, in this process."""
    started = time.perf_counter()
    out: dict[str, ForceResult] = {}
    for k, code in enumerate(_largest_first(stores)):
        if progress:
            progress(k / len(stores), f"force {code}")
        out[code] = force_job(code, stores[code], **options)
    if progress:
        progress(1.0, "done")
    peak = max((r.peak_rss_bytes for r in out.values()), default=0)
    return NationalRun(dict(sorted(out.items())), seconds=time.perf_counter() - started,
                       workers={os.getpid(): peak}, scheduler="sequential")


def national_client(*, scheduler: str | None = None, workers: int | None = None,
                    memory_limit: str | None = "4GB", threads_per_worker: int = 1):
    """A ``dask.distributed`` client: to the scheduler at ``scheduler`` (a real cluster,
    started with ``dask scheduler`` / ``dask worker``), else a ``LocalCluster`` on
    127.0.0.1 with ``workers`` processes (default: the machine's cores) of
    ``threads_per_worker`` threads and ``memory_limit`` each (Dask pauses, then restarts, a
    worker that goes past it). Close the client (and its ``cluster``) when done.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s")
    # The scheduler's HTTP server (the dashboard when bokeh is installed) on a free port of
    # 127.0.0.1, like everything else of a local cluster.
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1,
                           threads_per_worker=threads_per_worker, processes=True,
                           memory_limit=memory_limit or "auto", host="127.0.0.1",
                           dashboard_address="127.0.0.1:0")
    return Client(cluster)


def close_client(client) -> None:
    """Close a client of :func:`national_client`, and its local cluster when it made one."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address, when bokeh (which draws it) is installed."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return None
    return str(client.dashboard_link)


def run_national(stores: Mapping[str, str], *, client=None, scheduler: str | None = None,
                 workers: int | None = None, memory_limit: str | None = "4GB",
                 progress: Progress | None = None, **options) -> NationalRun:
    """Run :func:`force_job` for every force on Dask, one task per force (largest first).

    ``client`` is used as it is; otherwise one is made with :func:`national_client`
    (``scheduler`` address, or a local cluster of ``workers`` x ``memory_limit``) and closed
    after. A force that fails is reported in ``failures`` (its error) and the others go on.
    ``options`` go to :func:`force_job`.
    """
    from dask.distributed import as_completed

    if not stores:
        raise InputError("no force stores to run")
    own = client is None
    if own:
        client = national_client(scheduler=scheduler, workers=workers,
                                 memory_limit=memory_limit)
    started = time.perf_counter()
    try:
        address = str(client.scheduler.address)
        stamp = time.time_ns()
        futures = {}
        for code in _largest_first(stores):
            fut = client.submit(force_job, code, stores[code], **options,
                                key=f"lpt-force-{code}-{stamp}", pure=False, retries=1)
            futures[fut] = code
        out: dict[str, ForceResult] = {}
        failures: dict[str, str] = {}
        for n, fut in enumerate(as_completed(futures), start=1):
            code = futures[fut]
            try:
                out[code] = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported per force, the rest go on
                failures[code] = f"{type(exc).__name__}: {exc}"
                log.error("national run: force %s failed: %s", code, failures[code])
            if progress:
                progress(n / len(futures), f"{n}/{len(futures)} forces ({code})")
    finally:
        if own:
            close_client(client)
    workers_peak: dict[int, int] = {}
    for r in out.values():
        workers_peak[r.worker_pid] = max(workers_peak.get(r.worker_pid, 0), r.peak_rss_bytes)
    return NationalRun(dict(sorted(out.items())), failures, time.perf_counter() - started,
                       workers_peak, address)


# --- the aggregate-only national store ------------------------------------------------------

def _representation_disclosed(r: ForceResult, k: int) -> pd.DataFrame:
    """A force's representation with the counts disclosure-controlled: every group's count
    and a force total row (group ``*``) form one equation per count, to which
    :func:`~spatial_core.analytics.disclosure.suppress_counts` applies; the shares, ratios,
    intervals and flags of a withheld count are withheld with it."""
    from spatial_core.analytics.disclosure import suppress_counts

    rep = r.representation.copy()
    counts = [c for c in REPRESENTATION_COUNTS if c in rep.columns]
    for c in counts:
        rep[c] = rep[c].fillna(0).astype("int64")
    total = {c: int(rep[c].sum()) for c in counts}
    frame = pd.concat([
        pd.DataFrame([{"area_id": "*", "parent_id": None, "group": "*",
                       "group_name": "all groups", **total}]),
        rep.assign(area_id="g:" + rep["group"].astype(str), parent_id="*"),
    ], ignore_index=True)
    shown = suppress_counts(frame, counts, k=k, level_column=None)
    for c in counts:
        withheld = shown[c].isna().to_numpy()
        for d in _DERIVED.get(c, ()):
            if d in shown.columns:
                shown[d] = shown[d].astype(object)
                shown.loc[withheld, d] = None
    shown.insert(0, "force_code", r.code)
    shown = shown.drop(columns=["area_id", "parent_id", "area_name", "note"], errors="ignore")
    return shown


def _suppress_flat(frame: pd.DataFrame, column: str, k: int) -> pd.Series:
    """Counts of ``column`` with ``1 .. k-1`` withheld: rows that are no equation's terms
    (the votes of each priority; their sum is not published)."""
    from spatial_core.analytics.disclosure import suppress_counts

    f = pd.DataFrame({"area_id": range(len(frame)), "parent_id": None,
                      column: frame[column].fillna(0).astype("int64").to_numpy()})
    return pd.Series(suppress_counts(f, [column], k=k, level_column=None)[column].to_numpy(),
                     index=frame.index, dtype=object)


def national_tables(run: NationalRun, *, k: int = 5) -> dict[str, pd.DataFrame]:
    """The national store's layers as frames (``national_forces`` a GeoDataFrame), counts
    disclosure-controlled with threshold ``k``.

    - ``national_forces``: per force its outline, name, run id, day, profile, streets scored,
      beats with low coverage and its disclosed households, members and crimes;
    - ``national_area_counts``: households, members and crimes per force, npa, beat and
      ward (:func:`~spatial_core.analytics.disclosure.suppress_counts` with the beat/npa x
      ward overlaps, per force);
    - ``national_priorities``: per force, and for the nation (``force_code`` ``national``:
      :func:`~spatial_core.analytics.priorities.priority_summary` over every force's beats),
      on how many beats each priority is a local priority; votes withheld below ``k``;
    - ``national_representation``: per force and group, population, member and respondent
      counts, shares and ratios; a withheld count takes its shares and ratios with it;
    - ``national_run``: when, how many forces, ``k``.
    """
    import geopandas as gpd

    from spatial_core.analytics.disclosure import COUNT_COLUMNS, suppress_counts
    from spatial_core.analytics.priorities import priority_summary
    from spatial_core.geo.crs import STORE_SRID

    counts, forces, priorities, reps, beats = [], [], [], [], []
    for code, r in sorted(run.forces.items()):
        disclosed = suppress_counts(r.area_counts, COUNT_COLUMNS, k=k, overlaps=r.area_overlaps)
        disclosed.insert(0, "force_code", code)
        counts.append(disclosed)
        top = disclosed[disclosed["level"] == "force"]
        row = {"force_code": code, "force_name": r.name, "run_id": r.run_id, "as_of": r.as_of,
               "profile": r.profile, "streets_scored": len(r.streets),
               "beats": int((r.area_counts["level"] == "beat").sum()),
               "low_coverage_beats": r.low_coverage_beats}
        for c in COUNT_COLUMNS:
            row[c] = top[c].iloc[0] if len(top) else None
        row["geometry"] = shapely.from_wkb(r.outline_wkb) if r.outline_wkb else None
        forces.append(row)
        s = r.priority_summary.copy()
        s.insert(0, "force_code", code)
        priorities.append(s)
        reps.append(_representation_disclosed(r, k))
        p = r.priorities.copy()
        p["area_id"] = code + "/" + p["area_id"].astype(str)  # beat ids repeat across forces
        beats.append(p)
    if beats:
        nation = priority_summary(None, level="beat", priorities=pd.concat(beats,
                                                                           ignore_index=True))
        nation.insert(0, "force_code", "national")
        priorities.append(nation)
    pri = pd.concat(priorities, ignore_index=True) if priorities else pd.DataFrame()
    if len(pri):
        pri["votes"] = _suppress_flat(pri, "votes", k)
    fdf = pd.DataFrame(forces)
    out = {
        "national_forces": gpd.GeoDataFrame(fdf, geometry="geometry", crs=STORE_SRID),
        "national_area_counts": pd.concat(counts, ignore_index=True),
        "national_priorities": pri,
        "national_representation": pd.concat(reps, ignore_index=True),
        "national_run": pd.DataFrame([{
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "forces": len(run.forces), "failed_forces": ",".join(sorted(run.failures)),
            "k": k, "scheduler": run.scheduler, "seconds": round(run.seconds, 3)}]),
    }
    return out


def _nullable(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of counts (ints and None) as nullable integers, flags as nullable
    booleans, so the GeoPackage gets INTEGER columns with NULLs."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype != object or c == "geometry":
            continue
        vals = [v for v in out[c].tolist() if v is not None and not
                (isinstance(v, float) and np.isnan(v))]
        if vals and all(isinstance(v, bool | np.bool_) for v in vals):
            out[c] = out[c].astype("boolean")
        elif vals and all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                          for v in vals):
            out[c] = out[c].astype("Int64")
        elif vals and all(isinstance(v, int | float | np.integer | np.floating) for v in vals):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out


def write_national_store(path: str | os.PathLike, run: NationalRun, *, k: int = 5) -> Path:
    """Write :func:`national_tables` to a new GeoPackage at ``path`` (replacing it)."""
    import pyogrio

    p = Path(path)
    if p.exists():
        p.unlink()
    p.parent.mkdir(parents=True, exist_ok=True)
    for name, frame in national_tables(run, k=k).items():
        pyogrio.write_dataframe(_nullable(frame), p, layer=name, driver="GPKG")
    return p
