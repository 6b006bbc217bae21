# SPDX-License-Identifier: GPL-3.0-or-later
"""The national run on Dask equals the one-machine run, value for value.

A real ``dask scheduler`` and two ``dask worker`` processes are started here (Dask's own
commands, listening on 127.0.0.1 only), three small synthetic forces are built once, copied,
and run both ways: on the cluster (:func:`run_national`) and one after another in this
process (:func:`run_sequential`). Select with ``pytest -k "national or dask"``.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from spatial_core.analytics.disclosure import COUNT_COLUMNS, DEFAULT_K  # noqa: E402
from spatial_core.national import FORCES as FORCES_TABLE  # noqa: E402
from spatial_core.national import (  # noqa: E402
    build_national_demo,
    national_forces,
    read_manifest,
    run_national,
    run_sequential,
    write_national_store,
)
from spatial_core.national.run import NATIONAL_LAYERS, REPRESENTATION_COUNTS  # noqa: E402
from spatial_core.store import open_store  # noqa: E402
from spatial_core.targeting.scoring import load_scores  # noqa: E402

FORCES = 3
SCALE = 0.004  # 2,960, 1,080 and 1,480 households
MONTHS = 3


@pytest.fixture(scope="module")
def nation(tmp_path_factory):
    """Three forces built once; identical copies of their stores."""
    root = tmp_path_factory.mktemp("nation")
    built = build_national_demo(root / "built", forces=FORCES, scale=SCALE, months=MONTHS)
    copies = {}
    for name in ("one_machine", "dask", "dask_parts", "parts_here"):
        d = root / name
        d.mkdir()
        shutil.copy(root / "built" / "forces.json", d / "forces.json")
        for r in built:
            shutil.copy(r["store"], d / Path(r["store"]).name)
        copies[name] = read_manifest(d)
    return {"root": root, "built": built, **copies}


@pytest.fixture(scope="module")
def runs(nation, cluster):
    one = run_sequential(nation["one_machine"])
    on_dask = run_national(nation["dask"], client=cluster["client"])
    return one, on_dask


def test_national_synthetic_forces_sized_and_placed(nation):
    sizes = dict((f.code, h) for f, h in national_forces(FORCES, scale=SCALE))
    assert sizes == {"avon-and-somerset": 2960, "bedfordshire": 1080, "cambridgeshire": 1480}
    for r in nation["built"]:
        assert r["counts"]["addresses"] == sizes[r["code"]]
        assert r["counts"]["streets"] > 0 and r["counts"]["crimes"] > 0
        store = open_store(r["store"], create=False)
        try:
            force = store.read("areas", ["area_id", "name", "geom"])
        finally:
            store.close()
        row = force[force["area_id"] == f"force:{r['code']}"]
        assert len(row) == 1 and row["name"].iloc[0] == r["name"]
        # each force lies around the middle of the real one
        spec = next(f for f in FORCES_TABLE if f.code == r["code"])
        middle = row.geometry.iloc[0].centroid
        assert abs(middle.x - spec.easting) < 5_000 and abs(middle.y - spec.northing) < 5_000
    manifest = json.loads((nation["root"] / "built" / "forces.json").read_text())
    assert [f["code"] for f in manifest["forces"]] == list(sizes)


def test_dask_national_run_equals_one_machine(runs, cluster):
    one, on_dask = runs
    assert on_dask.failures == {} and one.failures == {}
    assert list(on_dask.forces) == list(one.forces) == sorted(one.forces)
    # every force ran on one of the two worker processes, not here, and both were used
    worker_pids = set(cluster["client"].run(os.getpid).values())
    pids = {r.worker_pid for r in on_dask.forces.values()}
    assert pids <= worker_pids and os.getpid() not in pids
    assert len(pids) == 2
    assert on_dask.scheduler == cluster["address"]
    assert one.forces["avon-and-somerset"].priority_summary["areas"].sum() > 0
    for code, a in one.forces.items():
        b = on_dask.forces[code]
        assert (b.name, b.as_of, b.profile) == (a.name, a.as_of, a.profile)
        assert len(a.streets) > 50
        for frame in ("streets", "priorities", "priority_summary", "representation",
                      "area_counts", "area_overlaps"):
            pd.testing.assert_frame_equal(getattr(b, frame), getattr(a, frame),
                                          check_exact=True, obj=f"{code} {frame}")
        assert b.low_coverage_beats == a.low_coverage_beats
        assert b.priority_summary["votes"].sum() > 0
        assert b.representation["members"].sum() > 0


def test_dask_national_run_in_parts_equals_one_machine(nation, runs, cluster):
    """Each force's scoring inputs prepared in parts cut at H3 resolution 8 (tasks of
    their own on the cluster, and in this process one after another): the same results."""
    one, _ = runs
    on_dask = run_national(nation["dask_parts"], client=cluster["client"], parts_res=8)
    here = run_sequential(nation["parts_here"], parts_res=8, parts=3)
    assert on_dask.failures == {} and here.failures == {}
    for code, a in one.forces.items():
        for run in (on_dask, here):
            b = run.forces[code]
            for frame in ("streets", "priorities", "representation", "area_counts"):
                pd.testing.assert_frame_equal(getattr(b, frame), getattr(a, frame),
                                              check_exact=True, obj=f"{code} {frame}")


def test_dask_national_scores_written_back_to_force_stores(nation, runs):
    _, on_dask = runs
    for code, r in on_dask.forces.items():
        store = open_store(nation["dask"][code], create=False)
        try:
            head, stored = load_scores(store, r.run_id)
            meta = json.loads(store.get_meta("national_run"))
        finally:
            store.close()
        assert meta["run_id"] == r.run_id == head["run_id"]
        pd.testing.assert_frame_equal(stored, r.streets, check_exact=True)


def test_national_store_aggregate_only_and_disclosed(runs, tmp_path):
    import pyogrio

    _, on_dask = runs
    path = write_national_store(tmp_path / "national.gpkg", on_dask)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == set(NATIONAL_LAYERS)
    personal = {"uprn", "member_id", "email", "phone", "postcode", "lat", "lng", "latitude",
                "longitude", "x", "y", "street_id", "name", "address", "respondent_id"}
    tables = {name: pyogrio.read_dataframe(path, layer=name) for name in layers}
    for name, t in tables.items():
        assert not personal & set(t.columns), (name, personal & set(t.columns))
    k = DEFAULT_K

    def small(values) -> int:
        v = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
        return int(((v >= 1) & (v < k)).sum())

    counts = tables["national_area_counts"]
    rep = tables["national_representation"]
    for col in COUNT_COLUMNS:
        assert small(counts[col]) == 0, col
    for col in REPRESENTATION_COUNTS:
        assert small(rep[col]) == 0, col
    assert small(tables["national_priorities"]["votes"]) == 0
    # something was withheld (these forces are small), and what is shown is the true count
    assert counts[list(COUNT_COLUMNS)].isna().any().any()
    raw = pd.concat([r.area_counts.assign(force_code=c) for c, r in on_dask.forces.items()])
    merged = counts.merge(raw, on=["force_code", "area_id"], suffixes=("", "_raw"))
    assert len(merged) == len(counts) == len(raw)
    for col in COUNT_COLUMNS:
        shown = merged[col].notna()
        assert (merged.loc[shown, col] == merged.loc[shown, f"{col}_raw"]).all()
    # a withheld representation count takes its share and ratio with it
    gone = rep["members"].isna()
    assert rep.loc[gone, ["member_share", "member_ratio"]].isna().all().all()
    # forces: one row each, with its outline; the nation's priorities add up the forces'
    forces = tables["national_forces"]
    assert sorted(forces["force_code"]) == sorted(on_dask.forces)
    assert forces.geometry.notna().all() and forces.crs.to_epsg() == 27700
    pri = tables["national_priorities"]
    per_force = pri[pri["force_code"] != "national"].groupby("priority")["areas"].sum()
    nation = pri[pri["force_code"] == "national"].set_index("priority")["areas"]
    assert nation.sort_index().tolist() == per_force.reindex(nation.index).sort_index().tolist()
    assert set(pri.loc[pri["force_code"] == "national", "areas_total"]) == {
        int(sum((r.area_counts["level"] == "beat").sum() for r in on_dask.forces.values()))}


def test_national_cli_demo_and_run_on_the_cluster(tmp_path, cluster, capsys):
    import pyogrio

    from lpt_cli.main import main

    out = tmp_path / "nation"
    assert main(["demo", "--national", "--forces", "2", "--scale", "0.001",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 synthetic forces, 2,000 households" in printed
    assert sorted(read_manifest(out)) == ["avon-and-somerset", "bedfordshire"]
    national = tmp_path / "national.gpkg"
    assert main(["national", "run", "--scheduler", cluster["address"], "--forces-dir",
                 str(out), "--out", str(national), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["forces"] == 2 and summary["failed"] == {}
    assert summary["scheduler"] == cluster["address"]
    f = pyogrio.read_dataframe(national, layer="national_forces")
    assert sorted(f["force_code"]) == ["avon-and-somerset", "bedfordshire"]


def test_national_cli_local_cluster_with_memory_limit(nation, tmp_path, capsys):
    """The default: a LocalCluster on 127.0.0.1 with a memory limit per worker; one force,
    its inputs prepared in parts (tasks on the one worker, which its force task leaves free
    while it waits for them)."""
    from lpt_cli.main import main

    forces_dir = tmp_path / "forces"
    forces_dir.mkdir()
    shutil.copy(nation["one_machine"]["bedfordshire"], forces_dir / "bedfordshire.gpkg")
    national = tmp_path / "national.gpkg"
    assert main(["national", "run", "--workers", "1", "--memory-limit", "2GB",
                 "--forces-dir", str(forces_dir), "--parts-res", "8", "--parts", "4",
                 "--out", str(national)]) == 0
    printed = capsys.readouterr().out
    assert "1 forces scored" in printed and "tcp://127.0.0.1:" in printed
    assert national.exists()
