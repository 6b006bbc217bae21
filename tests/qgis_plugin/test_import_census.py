# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_census: the demo force's census tables through Processing, equal to the core's
import of the same files; a table named wrongly is the core's error and writes nothing."""
from __future__ import annotations

import pandas as pd
import pytest

HOUSEHOLDS = 1_500


def _emptied(demo_builds, dest):
    """A copy of the demo store without its census base."""
    from spatial_core import open_store

    path = demo_builds.copy(dest, households=HOUSEHOLDS, months=2)
    with open_store(path) as store, store.begin() as conn:
        from sqlalchemy import delete

        from spatial_core.store import schema

        conn.execute(delete(schema.table("census_counts")))
    return path


def _counts(path) -> pd.DataFrame:
    from spatial_core import open_store

    with open_store(path) as store:
        frame = store.read("census_counts")
    return frame.drop(columns=["fid"]).sort_values(list(frame.columns.drop("fid"))
                                                    ).reset_index(drop=True)


def test_import_census_through_processing_equals_the_core(run, demo_builds, tmp_path):
    from spatial_core import open_store
    from spatial_core.demo.census import census_files
    from spatial_core.io.imports import import_files

    plugin = _emptied(demo_builds, tmp_path / "plugin")
    core = _emptied(demo_builds, tmp_path / "core")
    files = census_files(plugin.parent / "files")
    ts021 = str(files["TS021"])
    out = run("import_census", {"STORE": str(plugin), "FILES": [ts021], "TABLE": 1})
    with open_store(core) as store:
        report = import_files(store, "census", [ts021], table="TS021")
    assert (out["READ"], out["IMPORTED"], out["SKIPPED"]) == (
        report.read, report.imported, report.skipped)
    # every output area of the file, one row per category
    oas = pd.read_csv(ts021)
    assert out["READ"] == len(oas) and out["IMPORTED"] > 0
    got, want = _counts(plugin), _counts(core)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert set(got["census_table"]) == {"TS021"}
    # imported twice: nothing new
    again = run("import_census", {"STORE": str(plugin), "FILES": [ts021]})
    assert again["IMPORTED"] == 0


def test_import_census_table_named_wrongly_is_the_core_error(run, demo_builds, tmp_path):
    from qgis.core import QgsProcessingException

    from spatial_core import open_store
    from spatial_core.demo.census import census_files
    from spatial_core.errors import InputError
    from spatial_core.io.imports import import_files

    plugin = _emptied(demo_builds, tmp_path / "plugin")
    ts021 = str(census_files(plugin.parent / "files")["TS021"])
    with open_store(_emptied(demo_builds, tmp_path / "core")) as store, \
            pytest.raises(InputError) as core_error:
        import_files(store, "census", [ts021], table="TS024")
    with pytest.raises(QgsProcessingException) as info:
        run("import_census", {"STORE": str(plugin), "FILES": [ts021], "TABLE": 2})  # TS024
    assert str(info.value) == str(core_error.value)
    assert len(_counts(plugin)) == 0
