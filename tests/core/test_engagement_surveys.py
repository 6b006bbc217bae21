# SPDX-License-Identifier: GPL-3.0-or-later
"""Surveys without an import: online answers through a survey link and at the door go into
the same tables as imported responses (so local priorities change), door registrations are
counted once a member appears at the address, and quarterly invitations reach members due."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from spatial_core import open_store
from spatial_core.analytics.priorities import count_votes
from spatial_core.engagement.delivery import EmlFolderDelivery
from spatial_core.engagement.messages import create_message
from spatial_core.engagement.surveys import (
    SURVEY_FORM,
    check_answers,
    door_registrations,
    invite_due,
    members_due,
    record_door_survey,
    record_online_survey,
)
from spatial_core.engagement.tokens import InvalidLink, link_secret, make_link_token
from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.imports import import_files
from spatial_core.io.surveys import PRIORITIES
from spatial_core.io.visits import record_visit
from spatial_core.store.contacts import contact_cipher, store_contacts
from spatial_core.store.data_version import data_version

NOW = "2026-10-05T10:00:00"
DAY = NOW[:10]


@pytest.fixture
def demo(demo_builds, tmp_path):
    store = open_store(demo_builds.copy(tmp_path, households=2_000, months=6))
    yield store
    store.close()


def _survey_link(store):
    members = store.read("members", ["member_id", "uprn", "gender", "age_band", "ethnicity"])
    member = members.dropna(subset=["uprn", "age_band"]).sort_values("member_id").iloc[0]
    beat = store.read("addresses", ["uprn", "beat_id"]).set_index("uprn").loc[
        member["uprn"], "beat_id"]
    preview = create_message(store, created_by="PC 101", scope_areas=None, kind="survey",
                             subject=None, body="Please answer our survey.", areas=[beat],
                             now=NOW)
    token = make_link_token(link_secret(store), preview.message_id, member["member_id"],
                            "survey", "2030-01-01T00:00:00")
    return token, member, beat


def test_the_form_offers_the_priority_vocabulary_and_five_point_scales():
    names = [q["name"] for q in SURVEY_FORM]
    assert names == ["priorities", "confidence", "feel_safe", "understands", "free_text"]
    assert [v for v, _ in SURVEY_FORM[0]["options"]] == list(PRIORITIES)
    assert SURVEY_FORM[0]["max"] == 3
    assert [v for v, _ in SURVEY_FORM[1]["options"]] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("answers, message", [
    ({"priorities": ["asb", "drugs", "theft", "robbery"]}, "at most 3"),
    ({"priorities": ["noisy neighbours"]}, "not one of"),
    ({"confidence": 6}, "from 1 to 5"),
    ({"feel_safe": "2.5"}, "from 1 to 5"),
    ({"understands": True}, "from 1 to 5"),
    ({}, "empty"),
    ({"priorities": [], "free_text": "   "}, "empty"),
    ({"favourite_colour": "blue"}, "unknown question"),
    ({"free_text": "x" * 4001}, "too long"),
])
def test_bad_answers_are_refused(answers, message):
    with pytest.raises(InputError, match=message):
        check_answers(answers)


def test_an_online_survey_is_stored_like_an_import_and_changes_the_beats_priorities(demo):
    token, member, beat = _survey_link(demo)
    before = count_votes(demo, level="beat", period=DAY)
    before = before[before["area_id"] == beat].set_index("priority")
    assert before.loc["asb", "votes"] == 0 and before.loc["asb", "n"] == 0
    version = data_version(demo)
    response_id = record_online_survey(
        demo, token, {"priorities": ["asb", "Road safety and speeding"], "confidence": "4",
                      "feel_safe": 2, "understands": 5, "free_text": "Speeding on the main road"},
        now=NOW)
    assert data_version(demo) != version
    after = count_votes(demo, level="beat", period=DAY)
    after = after[after["area_id"] == beat].set_index("priority")
    assert after.loc["asb", "votes"] == 1 and after.loc["road_safety", "votes"] == 1
    assert after.loc["asb", "n"] == 1 and after.loc["asb", "share"] == 1.0
    row = demo.read("surveys", ["response_id", "responded", "channel", "member_id",
                                "confidence", "feel_safe", "understands", "age_band",
                                "gender", "cell"],
                    where=None).set_index("response_id").loc[response_id]
    assert row[["responded", "channel", "member_id"]].tolist() == [DAY, "online",
                                                                   member["member_id"]]
    assert row[["confidence", "feel_safe", "understands"]].tolist() == [4, 2, 5]
    assert row["age_band"] == member["age_band"] and row["gender"] == member["gender"]
    assert row["cell"] != 0
    # the same invitation cannot answer twice; a reply token cannot answer at all
    before = demo.fingerprint()
    with pytest.raises(InputError, match="already answered"):
        record_online_survey(demo, token, {"confidence": 1}, now=NOW)
    reply = make_link_token(link_secret(demo), "msg-x", member["member_id"], "reply",
                            "2030-01-01T00:00:00")
    with pytest.raises(InvalidLink):
        record_online_survey(demo, reply, {"confidence": 1}, now=NOW)
    assert demo.fingerprint() == before


def _visit(store, outcome="surveyed"):
    uprn = store.read("addresses", ["uprn"]).sort_values("uprn")["uprn"].iloc[7]
    return record_visit(store, uprn=uprn, outcome=outcome, visited_at="2026-10-04T18:00:00",
                        officer="PCSO 4021"), uprn


def test_a_door_survey_is_linked_to_its_visit_and_a_registration_counts_once_a_member_joins(
        demo, tmp_path, monkeypatch):
    monkeypatch.delenv("LPT_CONTACTS_KEY", raising=False)
    monkeypatch.delenv("LPT_CONTACTS_KEY_FILE", raising=False)
    visit_id, uprn = _visit(demo)
    before = demo.fingerprint()
    with pytest.raises(NotFoundError):
        record_door_survey(demo, visit_id=visit_id, uprn="999", answers={"confidence": 3},
                           officer="PCSO 4021")
    with pytest.raises(InputError):
        record_door_survey(demo, visit_id=visit_id, uprn=uprn, answers={"confidence": 9},
                           officer="PCSO 4021")
    assert demo.fingerprint() == before
    response_id = record_door_survey(
        demo, visit_id=visit_id, uprn=uprn, officer="PCSO 4021",
        answers={"priorities": ["drugs"], "confidence": 2, "age_band": "25 to 34"},
        registration={"organisation": "Police", "email": "resident@example.org"}, now=NOW)
    s = demo.read("surveys", ["response_id", "channel", "member_id", "age_band", "responded"])
    s = s.set_index("response_id").loc[response_id]
    assert s.tolist() == ["door_knock", None, "25-34", "2026-10-04"]
    reg = door_registrations(demo)
    assert len(reg) == 1 and not reg["matched"].iloc[0]
    # no contacts key: the contact is dropped, nothing in member_contacts
    assert reg["has_contact"].iloc[0] == 0 and demo.count("member_contacts") == 0
    assert reg[["visit_id", "uprn", "organisation"]].iloc[0].tolist() == [visit_id, uprn,
                                                                          "police"]
    csv = tmp_path / "new_members.csv"
    csv.write_text(f"Member ID,UPRN,Joined\nM990001,{uprn},2026-10-10\n", encoding="utf-8")
    import_files(demo, "members", [csv])
    reg = door_registrations(demo)
    assert reg["matched"].iloc[0] and reg["member_id"].iloc[0] == "M990001"


def test_a_door_registration_keeps_its_contact_encrypted_when_messaging_is_on(demo, monkeypatch):
    monkeypatch.setenv("LPT_CONTACTS_KEY", Fernet.generate_key().decode())
    visit_id, uprn = _visit(demo, "registered")
    record_door_survey(demo, visit_id=visit_id, uprn=uprn, officer="PCSO 4021",
                       answers={"feel_safe": 4},
                       registration={"email": "resident@example.org"}, now=NOW)
    reg = door_registrations(demo)
    assert reg["has_contact"].tolist() == [1]
    c = demo.read("member_contacts", ["member_id", "email_enc"])
    assert c["member_id"].tolist() == reg["registration_id"].tolist()
    assert "resident@example.org" not in c["email_enc"].iloc[0]


def test_invite_due_invites_members_due_once_within_the_cap(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("LPT_CONTACTS_KEY", Fernet.generate_key().decode())
    now = "2026-12-20T09:00:00"  # the demo history invited everyone on 2026-09-09
    due = members_due(demo, every_months=3, now=now)
    responded = demo.read("surveys", ["member_id", "responded"]).dropna()
    recent = set(responded.loc[responded["responded"] >= "2026-09-20", "member_id"])
    assert len(due) >= 25 and not set(due["member_id"]) & recent
    chosen = due["member_id"].sort_values().tolist()[:25]
    with demo.begin() as conn:
        store_contacts(demo, conn, _contacts(chosen + sorted(recent)[:5]), contact_cipher())
    folder = tmp_path / "outbox"
    report = invite_due(demo, EmlFolderDelivery(folder), public_url="https://lpt.example",
                        every_months=3, now=now)
    assert report.due == len(due)
    assert report.sent == report.invited and report.failed == 0
    consent = demo.read("member_consents", ["member_id", "organisation"])
    with_consent = set(consent.loc[consent["organisation"] == "police", "member_id"])
    assert report.invited == len(set(chosen) & with_consent) > 0
    assert len(list((folder / report.message_id).glob("*.eml"))) == report.sent
    rec = demo.read("message_recipients", ["message_id", "member_id", "state"])
    rec = rec[rec["message_id"] == report.message_id]
    assert not set(rec["member_id"]) & recent  # members not due are not on the list
    invited = set(rec.loc[rec["state"] == "sent", "member_id"])
    assert len(invited) == report.sent
    later = "2026-12-27T10:00:00"
    assert not invited & set(members_due(demo, every_months=3, now=later)["member_id"])
    again = invite_due(demo, EmlFolderDelivery(folder), public_url="https://lpt.example",
                       every_months=3, now=later)
    rec = demo.read("message_recipients", ["message_id", "member_id"])
    assert not invited & set(rec.loc[rec["message_id"] == again.message_id, "member_id"])
    assert again.sent < report.sent and again.held_back["no_contact"] > 0


def _contacts(ids):
    import pandas as pd

    return pd.DataFrame({"member_id": ids, "email": [f"m{i}@example.org" for i in
                                                      range(len(ids))]})
