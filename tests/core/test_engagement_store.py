# SPDX-License-Identifier: GPL-3.0-or-later
"""The engagement additions to the store: a version-3 store made before ``surveys.understands``
and ``door_registrations`` existed gets them when opened, keeping its rows."""
from __future__ import annotations

from sqlalchemy import inspect

from spatial_core import open_store
from spatial_core.store import schema


def test_a_version_3_store_without_the_new_column_and_table_gets_them(store):
    with store.begin() as conn:
        conn.exec_driver_sql("INSERT INTO surveys (response_id, responded, channel, cell) "
                             "VALUES ('R1', '2026-01-05', 'online', 0)")
        schema.door_registrations.drop(conn)
        if store.backend == "geopackage":
            conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = "
                                 "'door_registrations'")
        conn.exec_driver_sql("ALTER TABLE surveys DROP COLUMN understands")  # SQLite >= 3.35
    with store.connect() as conn:
        cols = {c["name"] for c in inspect(conn).get_columns("surveys")}
    assert "understands" not in cols
    location = store.location
    store.close()
    reopened = open_store(location)
    try:
        with reopened.connect() as conn:
            cols = {c["name"] for c in inspect(conn).get_columns("surveys")}
            assert "door_registrations" in inspect(conn).get_table_names()
        assert "understands" in cols
        got = reopened.read("surveys", ["response_id", "understands"])
        assert got["response_id"].tolist() == ["R1"]
        assert got["understands"].isna().all()
        assert reopened.schema_version == 3
    finally:
        reopened.close()


def test_a_version_2_store_migrates_to_3_with_the_understands_column(store):
    added = [t for t in schema.metadata.sorted_tables if t.info.get("since", 1) >= 3]
    with store.begin() as conn:
        for t in reversed(added):
            t.drop(conn)
            if store.backend == "geopackage":
                conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = ?", (t.name,))
        conn.exec_driver_sql("ALTER TABLE surveys DROP COLUMN understands")
        store.set_meta("schema_version", "2", conn=conn)
    location = store.location
    store.close()
    reopened = open_store(location)
    try:
        assert reopened.schema_version == 3
        assert set(reopened.fingerprint()) == set(schema.metadata.tables)
        with reopened.connect() as conn:
            assert "understands" in {c["name"] for c in inspect(conn).get_columns("surveys")}
    finally:
        reopened.close()
