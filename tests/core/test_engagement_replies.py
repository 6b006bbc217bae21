# SPDX-License-Identifier: GPL-3.0-or-later
"""Replies without login: a genuine link token stores the reply, urgent words put it first,
an officer answers it inside their areas, and bad input stores nothing."""
from __future__ import annotations

import pandas as pd
import pytest

from spatial_core import open_store
from spatial_core.engagement.messages import create_message
from spatial_core.engagement.replies import (
    MAX_REPLY_CHARS,
    answer_reply,
    find_urgent_words,
    list_replies,
    record_reply,
)
from spatial_core.engagement.tokens import InvalidLink, link_secret, make_link_token
from spatial_core.errors import InputError, NotFoundError

NOW = "2026-10-05T10:00:00"
LATER = "2030-01-01T00:00:00"


@pytest.fixture
def demo(demo_builds, tmp_path):
    store = open_store(demo_builds.copy(tmp_path, households=2_000, months=6))
    yield store
    store.close()


def _message(store):
    """A message to the beat with most members, and two of its recipients (id, beat)."""
    rec = store.read("members", ["member_id"])
    assert len(rec)
    beats = store.read("addresses", ["beat_id"])["beat_id"].value_counts()
    beat = beats.index[0]
    preview = create_message(store, created_by="PC 101", scope_areas=None, kind="update",
                             subject="Patrols this week", body="We will patrol the park.",
                             areas=[beat], now=NOW)
    r = store.read("message_recipients", ["member_id", "area_id"])
    r = r[r["area_id"] == beat].sort_values("member_id")
    assert len(r) >= 2
    return preview.message_id, beat, r["member_id"].tolist()[:2]


def _token(store, message_id, member_id, purpose="reply"):
    return make_link_token(link_secret(store), message_id, member_id, purpose, LATER)


def test_a_reply_is_stored_with_the_members_beat_and_the_same_link_may_reply_again(demo):
    message_id, beat, (m1, _) = _message(demo)
    first = record_reply(demo, _token(demo, message_id, m1), "  The park is quieter now.  ",
                         now=NOW)
    second = record_reply(demo, _token(demo, message_id, m1), "And thank you.", now=NOW)
    assert first.message_id == message_id and not first.urgent
    got = demo.read("replies", ["reply_id", "message_id", "member_id", "area_id", "text",
                                "urgent"]).query("message_id == @message_id")
    assert sorted(got["reply_id"]) == sorted([first.reply_id, second.reply_id])
    assert set(got["area_id"]) == {beat} and set(got["member_id"]) == {m1}
    assert "The park is quieter now." in set(got["text"])
    assert got["urgent"].tolist() == [0, 0]


@pytest.mark.parametrize("text, message", [("", "empty"), ("   ", "empty"),
                                           ("x" * (MAX_REPLY_CHARS + 1), "too long")])
def test_an_empty_or_oversized_reply_is_refused_and_nothing_is_stored(demo, text, message):
    message_id, _, (m1, _) = _message(demo)
    token = _token(demo, message_id, m1)
    before = demo.fingerprint()
    with pytest.raises(InputError, match=message):
        record_reply(demo, token, text, now=NOW)
    assert demo.fingerprint() == before


def test_a_tampered_expired_or_wrong_purpose_token_stores_nothing(demo):
    message_id, _, (m1, _) = _message(demo)
    body, sig = _token(demo, message_id, m1).split(".")
    survey = _token(demo, message_id, m1, purpose="survey")
    expired = make_link_token(link_secret(demo), message_id, m1, "reply", "2026-10-01T00:00:00")
    before = demo.fingerprint()
    for bad in (body + "." + sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB"), survey, "",
                "not-a-token"):
        with pytest.raises(InvalidLink):
            record_reply(demo, bad, "hello", now=NOW)
    with pytest.raises(InputError, match="expired"):
        record_reply(demo, expired, "hello", now=NOW)
    assert demo.fingerprint() == before


def test_urgent_words_are_whole_words_any_case_and_flag_the_reply_first(demo):
    message_id, beat, (m1, m2) = _message(demo)
    assert find_urgent_words("Very HELPFUL officers") == []
    calm = record_reply(demo, _token(demo, message_id, m1), "Thanks for the update",
                        now="2026-10-05T11:00:00")
    urgent = record_reply(demo, _token(demo, message_id, m2),
                          "My neighbour THREATENED me with a knife. Please help.", now=NOW)
    assert urgent.urgent and not calm.urgent
    listed = list_replies(demo, scope_areas=[beat], message_id=message_id)
    assert listed["reply_id"].tolist() == [urgent.reply_id, calm.reply_id]  # urgent first
    assert listed["urgent_words"].iloc[0] == "threatened,knife,help"
    assert listed["subject"].tolist() == ["Patrols this week"] * 2
    assert not {"name", "email", "mobile", "email_enc"} & set(listed.columns)


def test_answer_reply_only_inside_the_callers_areas(demo):
    message_id, beat, (m1, _) = _message(demo)
    reply = record_reply(demo, _token(demo, message_id, m1), "When is the next meeting?",
                         now=NOW)
    other = demo.read("areas", ["area_id", "level"])
    other_beat = other.loc[(other["level"] == "beat") & (other["area_id"] != beat),
                           "area_id"].iloc[0]
    before = demo.fingerprint()
    with pytest.raises(NotFoundError):
        answer_reply(demo, reply.reply_id, "Tuesday", by="PC 7", scope_areas=[other_beat])
    with pytest.raises(InputError):
        answer_reply(demo, reply.reply_id, "  ", by="PC 7", scope_areas=[beat])
    assert list_replies(demo, scope_areas=[other_beat], message_id=message_id).empty
    assert demo.fingerprint() == before
    answer_reply(demo, reply.reply_id, "Tuesday at 7pm, the library", by="PC 7",
                 scope_areas=[beat], now="2026-10-06T09:00:00")
    got = list_replies(demo, message_id=message_id)
    assert got[["answer", "answered_by", "answered_at"]].iloc[0].tolist() == [
        "Tuesday at 7pm, the library", "PC 7", "2026-10-06T09:00:00"]
    assert isinstance(got, pd.DataFrame) and len(got) == 1
