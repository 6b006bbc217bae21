# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``lpt`` command as a user runs it: exit codes, one-line errors, JSON reports."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
ROWS = [
    "abc123,2025-02,West Yorkshire Police,West Yorkshire Police,-1.549100,53.799600,"
    "On or near Park Row,E01011365,Leeds 111B,Burglary,Under investigation,",
    ",2025-02,West Yorkshire Police,West Yorkshire Police,-1.550000,53.800000,"
    "On or near Briggate,E01011365,Leeds 111B,Anti-social behaviour,,",
    ",2025-02,West Yorkshire Police,West Yorkshire Police,,,No location,,,Drugs,,",
]


def lpt(*args, store=None, env_store=None):
    import os

    env = dict(os.environ)
    env.pop("LPT_STORE", None)
    if env_store:
        env["LPT_STORE"] = str(env_store)
    cmd = [sys.executable, "-m", "lpt_cli.main"]
    if store:
        cmd += ["--store", str(store)]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env)


@pytest.fixture
def month(tmp_path):
    path = tmp_path / "2025-02-west-yorkshire-street.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return path


def test_lpt_import_json_report_counts_rows_and_reasons(tmp_path, month):
    out = lpt("import", "crimes", month, "--json", store=tmp_path / "s.gpkg")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["read"], report["imported"], report["skipped"]) == (3, 3, 0)
    again = json.loads(lpt("import", "crimes", month, "--json", store=tmp_path / "s.gpkg").stdout)
    assert (again["imported"], again["skipped"]) == (0, 3)
    assert again["reasons"]["already in the store"]["count"] == 3


def test_lpt_status_json_counts_what_was_imported(tmp_path, month):
    lpt("import", "crimes", month, store=tmp_path / "s.gpkg")
    status = json.loads(lpt("status", "--json", store=tmp_path / "s.gpkg").stdout)
    assert status["counts"]["crimes"] == 3
    assert status["crimes_without_location"] == 1
    assert status["date_ranges"]["crimes"] == {"from": "2025-02", "to": "2025-02"}
    assert status["h3_resolution"] == 10


def test_lpt_store_comes_from_environment(tmp_path, month):
    out = lpt("import", "crimes", month, env_store=tmp_path / "env.gpkg")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "env.gpkg").exists()


def test_lpt_bad_input_exits_2_with_one_line_naming_row_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, ROWS[0].replace("53.799600", "53.79x")]) + "\n")
    out = lpt("import", "crimes", bad, store=tmp_path / "s.gpkg")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert ("bad.csv, row 2, column 'Latitude': value '53.79x': expected a latitude in degrees"
            in lines[0])


def test_lpt_option_that_does_not_apply_is_refused(tmp_path, month):
    out = lpt("import", "crimes", month, "--level", "beat", store=tmp_path / "s.gpkg")
    assert out.returncode == 2
    assert "--level does not apply to 'import crimes'" in out.stderr


def test_lpt_status_of_missing_store_exits_1_and_creates_nothing(tmp_path):
    out = lpt("status", store=tmp_path / "none.gpkg")
    assert out.returncode == 1
    assert "does not exist" in out.stderr
    assert not (tmp_path / "none.gpkg").exists()


def test_lpt_unknown_kind_lists_the_kinds(tmp_path, month):
    out = lpt("import", "crime", month, store=tmp_path / "s.gpkg")
    assert out.returncode == 2
    assert "expected one of crimes, postcodes, boundaries" in out.stderr
