# SPDX-License-Identifier: GPL-3.0-or-later
"""National inputs partitioned on import (:mod:`spatial_core.national.partition`).

Two small synthetic forces, a real ``dask scheduler`` and two ``dask worker`` processes
(``tests/core/conftest.py``); a police.uk "all forces" file made from the real Leicestershire
file with some rows reassigned to the two forces, and Code-Point Open rows placed inside
each force. Each store must get exactly the rows a direct import of its own rows gives, the
others none; a second run imports nothing; a bad row stops everything.
"""
from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("distributed")

from spatial_core.errors import InputError  # noqa: E402
from spatial_core.io.imports import import_files  # noqa: E402
from spatial_core.national import build_national_demo, read_manifest  # noqa: E402
from spatial_core.national.partition import (  # noqa: E402
    force_outlines,
    partition_import,
)
from spatial_core.store import open_store  # noqa: E402

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
LEICS = REAL / "leicester" / "crime" / "2019-12-leicestershire-street.csv.gz"
NAMES = {"avon-and-somerset": "Avon and Somerset Constabulary",
         "bedfordshire": "Bedfordshire Police"}


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def forces(tmp_path_factory):
    root = tmp_path_factory.mktemp("partition")
    build_national_demo(root / "forces", forces=2, scale=0.003, months=2)
    return root


def _copy(root: Path, name: str) -> Path:
    d = root / name
    shutil.copytree(root / "forces", d, ignore=shutil.ignore_patterns("files"))
    return d


def _keys(location: str, table: str, key: str) -> set:
    store = open_store(location)
    try:
        return set(store.read(table, [key])[key])
    finally:
        store.close()


@pytest.fixture(scope="module")
def national_crimes(forces, tmp_path_factory):
    """Two 'all forces' files: 120 rows to Avon and Somerset, 90 (as a police.uk id) and 60
    to Bedfordshire, the rest stay Leicestershire's (not in the run)."""
    d = tmp_path_factory.mktemp("national-crimes")
    header, rows = _rows(LEICS)
    falls = header.index("Falls within")
    first, second = [list(r) for r in rows[:400]], [list(r) for r in rows[400:700]]
    for r in first[:120]:
        r[falls] = NAMES["avon-and-somerset"]
    for r in first[120:210]:
        r[falls] = "bedfordshire"
    for r in second[:60]:
        r[falls] = NAMES["bedfordshire"].upper()
    files = [_write(d / "2019-12-all-street.csv", header, first),
             _write(d / "2019-12-more-street.csv", header, second)]
    own = {"avon-and-somerset": [first[:120]],
           "bedfordshire": [first[120:210], second[:60]]}
    singles = {}
    for code, parts in own.items():
        singles[code] = [_write(d / f"{code}-{k}.csv", header, part)
                         for k, part in enumerate(parts)]
    return {"files": files, "singles": singles, "header": header, "rows": first}


def test_national_crimes_partitioned_equal_direct_import(forces, national_crimes, cluster):
    on_dask = _copy(forces, "dask")
    direct = _copy(forces, "direct")
    stores, plain = read_manifest(on_dask), read_manifest(direct)
    before = {c: _keys(s, "crimes", "crime_key") for c, s in stores.items()}

    report = partition_import("crimes", national_crimes["files"], on_dask,
                              client=cluster["client"])

    assert report.rows == 700
    assert report.assigned == {"avon-and-somerset": 120, "bedfordshire": 150}
    assert report.unassigned == 700 - 270
    assert not report.failures
    assert not (on_dask / "staging").exists() or not any((on_dask / "staging").iterdir())
    for code, location in plain.items():
        store = open_store(location)
        try:
            import_files(store, "crimes", national_crimes["singles"][code])
        finally:
            store.close()
    for code in stores:
        got = _keys(stores[code], "crimes", "crime_key") - before[code]
        want = _keys(plain[code], "crimes", "crime_key") - before[code]
        assert got == want and len(got) == report.imported[code] > 0
    # no Leicestershire row reached either force
    leics = {r[0] for r in national_crimes["rows"][210:] if r[0]}
    for code in stores:
        store = open_store(stores[code])
        try:
            ids = set(store.read("crimes", ["crime_id"])["crime_id"].dropna())
        finally:
            store.close()
        assert not ids & leics

    again = partition_import("crimes", national_crimes["files"], on_dask,
                             client=cluster["client"])
    assert again.imported == {"avon-and-somerset": 0, "bedfordshire": 0}
    assert again.skipped == {"avon-and-somerset": 120, "bedfordshire": 150}


def test_national_crimes_bad_row_imports_nothing_anywhere(forces, national_crimes, cluster,
                                                          tmp_path):
    d = _copy(forces, "bad")
    stores = read_manifest(d)
    before = {c: _keys(s, "crimes", "crime_key") for c, s in stores.items()}
    rows = [list(r) for r in national_crimes["rows"][:50]]
    rows[6][national_crimes["header"].index("Month")] = "2019-13"
    bad = _write(tmp_path / "2019-12-bad-street.csv", national_crimes["header"], rows)
    with pytest.raises(InputError) as err:
        partition_import("crimes", [national_crimes["files"][0], bad], d,
                         client=cluster["client"])
    assert err.value.file == str(bad)
    assert err.value.row == 8  # the header is line 1, row index 6 is line 8
    assert err.value.column == "Month"
    assert {c: _keys(s, "crimes", "crime_key") for c, s in stores.items()} == before


def _codepoint_rows(stores: dict[str, str]) -> tuple[list[list[str]], dict[str, set]]:
    """Code-Point Open rows (no header; BNG): 15 inside each force's outline, 5 far away."""
    rng = np.random.default_rng(7)
    outlines = force_outlines(stores)
    rows, inside = [], {}
    for k, (code, outline) in enumerate(sorted(outlines.items())):
        minx, miny, maxx, maxy = outline.bounds
        inside[code] = set()
        while len(inside[code]) < 15:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if not shapely.contains_xy(outline, x, y):
                continue
            i = len(inside[code])
            pc = f"XA{k + 1} {i % 10}{'ABD'[i // 10]}A"
            inside[code].add(pc)
            rows.append([pc, "10", f"{x:.0f}", f"{y:.0f}", "E92000001", "", "", "", "", ""])
    for i in range(5):  # the Shetlands: no force in the run
        rows.append([f"ZE{i + 1} 0AA", "10", "445000", "1140000", "S92000003", "", "", "", "",
                     ""])
    return rows, inside


def test_national_postcodes_partitioned_by_force_outline(forces, cluster, tmp_path):
    d = _copy(forces, "postcodes")
    stores = read_manifest(d)
    rows, inside = _codepoint_rows(stores)
    f = tmp_path / "xa.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    before = {c: _keys(s, "postcodes", "postcode") for c, s in stores.items()}
    report = partition_import("postcodes", [f], d, client=cluster["client"])
    assert report.assigned == {c: 15 for c in inside}
    assert report.unassigned == 5
    for code, location in stores.items():
        new = _keys(location, "postcodes", "postcode") - before[code]
        assert new == inside[code]


def test_national_import_cli(forces, national_crimes, capsys):
    """``lpt national import`` on a local cluster, JSON summary; --force limits the run."""
    import json

    from lpt_cli.main import main

    d = _copy(forces, "cli")
    code = main(["national", "import", "crimes", *map(str, national_crimes["files"]),
                 "--forces-dir", str(d), "--workers", "1", "--memory-limit", "1GB",
                 "--force", "bedfordshire", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["assigned"] == {"bedfordshire": 150}
    assert out["unassigned"] == 700 - 150
    assert out["imported"]["bedfordshire"] == out["assigned"]["bedfordshire"] - out[
        "skipped"]["bedfordshire"]
    with pytest.raises(SystemExit):
        main(["national", "import", "visits", "x.csv", "--forces-dir", str(d)])
    assert pd.notna(out["seconds"])
