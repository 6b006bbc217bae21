# SPDX-License-Identifier: GPL-3.0-or-later
"""A nation whose force stores are on PostGIS as well as GeoPackage (``forces.json`` with a
``postgresql://`` URL): the Dask run (a real scheduler and two workers, which open the
PostGIS store themselves) equals the one-machine run value for value, writes its score run
back into the PostGIS database, and a national input is partitioned into it on import.
Select with ``pytest -k "national or dask"``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed")

from spatial_core.national import (  # noqa: E402
    build_force,
    read_manifest,
    run_national,
    run_sequential,
)
from spatial_core.national.partition import partition_import  # noqa: E402
from spatial_core.store import open_store  # noqa: E402
from spatial_core.targeting.scoring import load_scores  # noqa: E402

OPTIONS = {"seed": 20261125, "months": 2}
FORCES = {"bedfordshire": 1200, "city-of-london": 1000}  # bedfordshire on PostGIS


def _nation(root: Path, url: str) -> Path:
    """Bedfordshire into the PostGIS database ``url``, the City of London in a GeoPackage."""
    root.mkdir()
    entries = []
    for code, hh in FORCES.items():
        where = url if code == "bedfordshire" else None
        r = build_force(code, hh, str(root), location=where, **OPTIONS)
        entries.append({"code": code, "name": r["name"], "households": hh,
                        "store": r["store"] if where else Path(r["store"]).name})
    (root / "forces.json").write_text(json.dumps({"forces": entries}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def nations(postgres, tmp_path_factory):
    import os

    if postgres is None:
        pytest.skip("two fresh databases are needed (LPT_TEST_POSTGIS_URL gives one)")
    root = tmp_path_factory.mktemp("pg-nation")
    one = _nation(root / "one", postgres.new_database())
    two = _nation(root / "two", postgres.new_database())
    assert os.path.exists(one / "city-of-london.gpkg")
    return {"one_machine": read_manifest(one), "dask": read_manifest(two), "dirs": (one, two)}


def test_national_run_with_a_postgis_force_equals_one_machine(nations, cluster):
    assert nations["dask"]["bedfordshire"].startswith("postgresql://")
    one = run_sequential(nations["one_machine"])
    on_dask = run_national(nations["dask"], client=cluster["client"])
    assert not on_dask.failures and set(on_dask.forces) == set(FORCES)
    for code in FORCES:
        a, b = one.forces[code], on_dask.forces[code]
        assert len(b.streets) > 0
        for frame in ("streets", "priorities", "representation", "area_counts"):
            pd.testing.assert_frame_equal(getattr(b, frame), getattr(a, frame),
                                          check_exact=True, obj=f"{code} {frame}")
    store = open_store(nations["dask"]["bedfordshire"], create=False)
    try:
        head, stored = load_scores(store, on_dask.forces["bedfordshire"].run_id)
    finally:
        store.close()
    assert head["run_id"] == on_dask.forces["bedfordshire"].run_id
    pd.testing.assert_frame_equal(stored, on_dask.forces["bedfordshire"].streets,
                                  check_exact=True)


def test_national_import_into_a_postgis_force(nations, cluster, tmp_path):
    import csv

    _, two = nations["dirs"]
    header = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
              "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
              "Context"]
    rows = []
    for i, force in enumerate(["Bedfordshire Police"] * 7 + ["City of London Police"] * 3
                              + ["Kent Police"] * 2):
        rows.append([f"{i:064x}", "2026-08", force, force, "-0.46", "52.13", "On or near X",
                     "", "", "Burglary", "", ""])
    f = tmp_path / "2026-08-all-street.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    stores = read_manifest(two)
    before = {}
    for code, location in stores.items():
        s = open_store(location, create=False)
        try:
            before[code] = set(s.read("crimes", ["crime_id"])["crime_id"].dropna())
        finally:
            s.close()
    report = partition_import("crimes", [f], two, client=cluster["client"])
    assert report.assigned == {"bedfordshire": 7, "city-of-london": 3}
    assert report.unassigned == 2 and report.imported == report.assigned
    for code, n in report.assigned.items():
        s = open_store(stores[code], create=False)
        try:
            ids = set(s.read("crimes", ["crime_id"])["crime_id"].dropna()) - before[code]
        finally:
            s.close()
        assert len(ids) == n
