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


def test_replies_surveys_and_actions_on_both_backends(store, tmp_path):
    """The engagement writes through the store API alike on GeoPackage and PostGIS."""
    from spatial_core.demo import build_demo
    from spatial_core.engagement.actions import add_action, list_actions
    from spatial_core.engagement.messages import create_message
    from spatial_core.engagement.replies import list_replies, record_reply
    from spatial_core.engagement.surveys import record_door_survey, record_online_survey
    from spatial_core.engagement.tokens import link_secret, make_link_token
    from spatial_core.io.visits import record_visit

    build_demo(store, tmp_path / "files", households=1_000, months=3)
    beat = store.read("addresses", ["beat_id"])["beat_id"].value_counts().index[0]
    p = create_message(store, created_by="PC 1", scope_areas=None, kind="survey", subject=None,
                       body="Please answer.", areas=[beat], now="2026-10-05T10:00:00")
    member = sorted(store.read("message_recipients", ["member_id", "message_id"]).query(
        "message_id == @p.message_id")["member_id"])[0]
    secret = link_secret(store)
    r = record_reply(store, make_link_token(secret, p.message_id, member, "reply",
                                            "2030-01-01T00:00:00"), "Please help us",
                     now="2026-10-05T11:00:00")
    assert r.urgent and list_replies(store)["reply_id"].iloc[0] == r.reply_id
    online = record_online_survey(store, make_link_token(secret, p.message_id, member, "survey",
                                                         "2030-01-01T00:00:00"),
                                  {"priorities": ["drugs"], "understands": 2},
                                  now="2026-10-05T12:00:00")
    uprn = store.read("addresses", ["uprn"])["uprn"].iloc[0]
    visit = record_visit(store, uprn=uprn, outcome="surveyed", visited_at="2026-10-04T18:00:00")
    door = record_door_survey(store, visit_id=visit, uprn=uprn, answers={"confidence": 5},
                              officer="PCSO 1", registration={})
    s = store.read("surveys", ["response_id", "channel", "understands", "x"]).set_index(
        "response_id")
    assert s.loc[online, "channel"] == "online" and s.loc[online, "understands"] == 2
    assert s.loc[door, "channel"] == "door_knock" and s.loc[door, "x"] > 0
    assert store.count("door_registrations") == 1
    a = add_action(store, done_on="2026-09-01", priority="drugs", area_id=beat, what="Warrant",
                   recorded_by="PC 1", now="2026-10-05T10:00:00")
    assert a in set(list_actions(store, area_id=beat)["action_id"])
