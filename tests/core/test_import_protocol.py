# SPDX-License-Identifier: GPL-3.0-or-later
"""The one importer protocol (``spatial_core.io.imports.run_import``): read → validate →
locate → write in one transaction, the rows already stored skipped, the import recorded with
each file's SHA-256, progress through one callable."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from spatial_core.errors import InputError
from spatial_core.io.imports import (
    ALREADY,
    ImportReport,
    import_files,
    import_options,
    run_import,
    skip_rows,
    stored_keys,
)
from spatial_core.io.postcodes import import_postcodes

CODEPOINT = ('"LS1 1AZ",10,429323,433421,"E92000001","E19000003","E18000003","","E08000035",'
             '"E05011414"\n'
             '"LS1 1BA",10,429900,433500,"E92000001","E19000003","E18000003","","E08000035",'
             '"E05011414"\n')


def _write(path, text: str):
    path.write_text(text)
    return path


def test_a_second_import_of_the_same_file_skips_every_row_as_stored(gpkg_store, tmp_path):
    path = _write(tmp_path / "cp.csv", CODEPOINT)
    first = import_postcodes(gpkg_store, [path])
    before = gpkg_store.read("postcodes").drop(columns="fid", errors="ignore")
    again = import_postcodes(gpkg_store, [path])
    assert (first.imported, first.skipped) == (2, 0)
    assert (again.read, again.imported, again.skipped) == (2, 0, 2)
    assert again.reasons == {ALREADY: {"count": 2, "rows": [1, 2]}}
    after = gpkg_store.read("postcodes").drop(columns="fid", errors="ignore")
    pd.testing.assert_frame_equal(before, after)
    recorded = gpkg_store.read("lpt_imports", ["kind", "file_name", "sha256", "imported"])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert recorded["sha256"].tolist() == [sha, sha]
    assert recorded["imported"].tolist() == [2, 0]
    assert set(recorded["kind"]) == {"postcodes"}


def test_run_import_reads_everything_then_writes_once_with_progress(gpkg_store, tmp_path):
    a = _write(tmp_path / "a.csv", "k\n1\n2\n")
    b = _write(tmp_path / "b.csv", "k\n3\n")
    calls, steps = [], []

    def read(path, report):
        steps.append(("read", path.name))
        keys = path.read_text().split()[1:]
        report.read += len(keys)
        return pd.DataFrame({"k": keys, "_file": str(path), "_line": np.arange(2, len(keys) + 2)})

    def locate(conn, batch, report):
        steps.append(("locate", len(batch)))
        return batch.assign(even=batch["k"].astype(int) % 2 == 0)

    def write(conn, batch, report):
        steps.append(("write", len(batch)))
        skip_rows(report, "even", batch, batch["even"].to_numpy())
        report.imported = int((~batch["even"]).sum())

    report = run_import(gpkg_store, "test", [a, b, a], read=read, locate=locate, write=write,
                        progress=lambda f, m: calls.append((f, m)))
    assert steps == [("read", "a.csv"), ("read", "b.csv"), ("locate", 3), ("write", 3)]
    assert (report.kind, report.read, report.imported, report.skipped) == ("test", 3, 2, 1)
    assert report.reasons == {"even": {"count": 1, "rows": ["a.csv:3"]}}
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert calls[-1][1] == "test: read 3, imported 2, skipped 1"
    shas = gpkg_store.read("lpt_imports", ["file_name", "sha256"])
    assert shas["file_name"].tolist() == [str(a), str(b)]  # a file given twice is read once
    assert shas["sha256"].tolist() == [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)]


def test_a_file_given_twice_is_read_twice_when_asked(gpkg_store, tmp_path):
    a = _write(tmp_path / "a.csv", "k\n1\n")
    names = []
    run_import(gpkg_store, "test", [a, a], read=lambda p, r: names.append(p.name),
               validate=lambda parts, r: parts, write=lambda c, b, r: None, once=False)
    assert names == ["a.csv", "a.csv"]


def test_an_error_while_writing_stores_and_records_nothing(gpkg_store, tmp_path):
    a = _write(tmp_path / "a.csv", "k\n1\n")

    def write(conn, batch, report):
        gpkg_store.insert_new(conn, "class_codes",
                              pd.DataFrame({"scheme": ["x"], "level": [1], "code": ["a"]}))
        raise InputError("refused", file=str(a), row=2)

    before = gpkg_store.fingerprint()
    with pytest.raises(InputError, match="refused"):
        run_import(gpkg_store, "test", [a], read=lambda p, r: pd.DataFrame({"k": ["1"]}),
                   write=write)
    assert gpkg_store.fingerprint() == before
    assert gpkg_store.count("lpt_imports") == 0


def test_no_files_is_an_error(gpkg_store):
    with pytest.raises(InputError, match="no files given to import as postcodes"):
        import_files(gpkg_store, "postcodes", [])
    with pytest.raises(InputError, match="unknown import kind 'nope'"):
        import_files(gpkg_store, "nope", ["x.csv"])


def test_stored_keys_marks_the_values_already_stored(gpkg_store, tmp_path):
    import_postcodes(gpkg_store, [_write(tmp_path / "cp.csv", CODEPOINT)])
    with gpkg_store.begin() as conn:
        got = stored_keys(gpkg_store, conn, "postcodes", "postcode",
                          np.array(["LS1 1BA", "LS9 9ZZ", None, "LS1 1AZ"], dtype=object))
    assert got.tolist() == [True, False, False, True]


def test_skip_rows_lists_rows_per_file():
    report = ImportReport("test", files=["/d/a.csv", "/d/b.csv"])
    frame = pd.DataFrame({"_file": ["/d/a.csv", "/d/b.csv", "/d/a.csv"], "_line": [2, 2, 3]})
    skip_rows(report, ALREADY, frame, np.array([True, True, False]))
    assert report.skipped == 2
    assert report.reasons[ALREADY] == {"count": 2, "rows": ["a.csv:2", "b.csv:2"]}


def test_import_options_are_the_importers_keywords():
    assert import_options("boundaries") >= {"crs", "level", "boundary_set", "progress"}
    assert "full_snapshot" in import_options("members")
    assert "level" not in import_options("crimes")
