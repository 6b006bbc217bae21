# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
import shapely

from spatial_core import SchemaVersionError, StoreError, open_store
from spatial_core.store.schema import SCHEMA_VERSION


def _postcodes(codes):
    n = len(codes)
    return pd.DataFrame({
        "postcode": codes, "lat": [53.8] * n, "lng": [-1.5] * n,
        "x": [430000.0 + i for i in range(n)], "y": [433000.0] * n, "cell": [1] * n,
        "geom": shapely.points([430000.0 + i for i in range(n)], [433000.0] * n),
    })


def test_insert_new_skips_rows_already_stored(store):
    with store.begin() as conn:
        assert store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ", "LS1 1BA"])) == 2
    with store.begin() as conn:
        assert store.insert_new(conn, "postcodes", _postcodes(["LS1 1BA", "LS2 7AB"])) == 1
    got = store.read("postcodes", order_by=["postcode"])
    assert got["postcode"].tolist() == ["LS1 1AZ", "LS1 1BA", "LS2 7AB"]
    assert got.crs.to_epsg() == 27700
    assert got.geometry.x.tolist() == [430000.0, 430001.0, 430001.0]


def test_failed_transaction_leaves_store_unchanged(store):
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ"]))
    before = store.fingerprint()
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.insert_new(conn, "postcodes", _postcodes(["LS9 9ZZ"]))
        raise RuntimeError("simulated failure after a write")
    assert store.fingerprint() == before


def test_update_by_key_sets_columns(store):
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ", "LS1 1BA"]))
        n = store.update_by_key(conn, "postcodes", "postcode",
                                pd.DataFrame({"postcode": ["LS1 1BA"], "ward_code": ["E05001420"]}))
    assert n == 1
    got = store.read("postcodes", ["postcode", "ward_code"], order_by=["postcode"])
    assert got["ward_code"].tolist() == [None, "E05001420"]


def test_update_by_key_sets_geometry_on_both_backends(store):
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ", "LS1 1BA"]))
        n = store.update_by_key(conn, "postcodes", "postcode", pd.DataFrame({
            "postcode": ["LS1 1BA"], "x": [431234.5], "geom": [shapely.Point(431234.5, 433000)]}))
    assert n == 1
    got = store.read("postcodes", ["postcode", "x", "geom"], order_by=["postcode"])
    assert got["x"].tolist() == [430000.0, 431234.5]
    assert [(p.x, p.y) for p in got.geometry] == [(430000.0, 433000.0), (431234.5, 433000.0)]


def test_geopackage_is_a_real_geopackage(gpkg_store):
    with gpkg_store.begin() as conn:
        gpkg_store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ"]))
    path = gpkg_store.location
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
    assert kinds["crimes"] == "features" and kinds["lpt_meta"] == "attributes"
    con.close()
    pyogrio = pytest.importorskip("pyogrio")
    frame = pyogrio.read_dataframe(path, layer="postcodes")
    assert frame.crs.to_epsg() == 27700
    assert frame["postcode"].tolist() == ["LS1 1AZ"]
    assert frame.geometry.iloc[0].x == 430000.0


def test_store_records_schema_version_and_refuses_newer(tmp_path):
    path = tmp_path / "s.gpkg"
    store = open_store(path)
    assert store.schema_version == SCHEMA_VERSION
    assert store.h3_resolution == 10
    store.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(SchemaVersionError, match="upgrade"):
        open_store(path)


def test_opening_a_file_that_is_not_a_geopackage_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.gpkg"
    bad.write_text("hello")
    with pytest.raises(StoreError, match="not a GeoPackage"):
        open_store(bad)


def test_importing_spatial_core_loads_no_front_end_modules():
    code = (
        "import sys, spatial_core, spatial_core.store, spatial_core.geo.cells;"
        "bad=[m for m in sys.modules if m.split('.')[0] in "
        "('qgis','PyQt5','pygeoapi','flask','starlette')];print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_opening_a_version_1_store_migrates_it(store):
    """Version 2 added tables; a version-1 store gets them when opened, keeping its data."""
    from spatial_core.store import schema

    v1_tables = set(schema.metadata.tables)  # the fixture store is current: fake a v1 store
    added = [t for t in schema.metadata.sorted_tables if t.info.get("since", 1) >= 2]
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", _postcodes(["LS1 1AZ"]))
        for t in reversed(added):
            t.drop(conn)
            if store.backend == "geopackage":
                conn.exec_driver_sql("DELETE FROM gpkg_geometry_columns WHERE table_name = ?",
                                     (t.name,))
                conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = ?", (t.name,))
        store.set_meta("schema_version", "1", conn=conn)
    location = store.location
    store.close()
    reopened = open_store(location)
    try:
        assert reopened.schema_version == SCHEMA_VERSION == 3
        counts = reopened.fingerprint()
        assert set(counts) == v1_tables
        assert counts["postcodes"] == 1
    finally:
        reopened.close()
