# SPDX-License-Identifier: GPL-3.0-or-later
"""Engagement figures and the effect of "You said, we did" on the demo force's history:
counts add up to the stored rows, small counts are withheld, and the matched difference in
differences recovers the effect planted in the demo."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spatial_core import open_store
from spatial_core.demo.history import HISTORY_META_KEY, PLANTED_EFFECT
from spatial_core.engagement.replies import list_replies
from spatial_core.engagement.tracking import COUNT_COLUMNS, engagement, feedback_effect
from spatial_core.errors import InputError

HOUSEHOLDS = 40_000  # the size at which the planted effect is told apart from none


@pytest.fixture(scope="module")
def demo(demo_builds, tmp_path_factory):
    store = open_store(demo_builds.copy(tmp_path_factory.mktemp("track"),
                                        households=HOUSEHOLDS))
    yield store
    store.close()


def test_the_effect_analysis_recovers_the_planted_effect(demo):
    effect = feedback_effect(demo)
    history = json.loads(demo.get_meta(HISTORY_META_KEY))
    assert history["planted_effect"] == PLANTED_EFFECT
    # the rise planted in the first answer after the message: the wave's answers carry
    # PLANTED_EFFECT, answers the demo made before the history carry none
    planted = history["first_answer_effect"]
    assert 0.6 * PLANTED_EFFECT < planted < 1.2 * PLANTED_EFFECT  # a sample of the rises
    assert effect.ci_low < planted < effect.ci_high
    assert effect.ci_low > 0
    assert effect.treated >= 200 and effect.controls >= 200 and effect.strata >= 20
    assert effect.ci_high - effect.ci_low == pytest.approx(2 * 1.959964 * effect.se, rel=1e-5)
    assert "Observational" in effect.statement
    # the table's strata are what the estimate is made of
    t = effect.table
    est = float((t["treated"] * (t["change_treated"] - t["change_controls"])).sum()
                / t["treated"].sum())
    assert est == pytest.approx(effect.estimate)
    assert json.loads(json.dumps(effect.as_dict()))["treated"] == effect.treated
    # nothing to compare for a kind never sent
    none = feedback_effect(demo, kind="appeal")
    assert np.isnan(none.estimate) and none.treated == 0


def test_counts_per_message_add_up_to_the_stored_rows(demo):
    per = engagement(demo, by="message", k=None)
    rec = demo.read("message_recipients", ["message_id", "state"])
    rep = demo.read("replies", ["message_id", "member_id"]).drop_duplicates()
    per = per.set_index("message_id")
    states = rec.groupby(["message_id", "state"]).size().unstack(fill_value=0)
    assert per["delivered"].to_dict() == states["sent"].reindex(per.index).to_dict()
    assert per["bounced"].to_dict() == states.get("failed", pd.Series(0, index=per.index)
                                                  ).reindex(per.index).fillna(0).to_dict()
    assert (per["sent"] == per["delivered"] + per["bounced"]).all()
    assert per["replied"].sum() == len(rep)
    history = json.loads(demo.get_meta(HISTORY_META_KEY))
    assert per["unsubscribed"].sum() == history["opt_outs"]  # all within days of a message
    survey = per[per["kind"] == "survey"].iloc[0]
    assert survey["surveys"] >= history["surveys"]
    assert per.loc[per["kind"] == "you_said_we_did", "reply_rate"].between(0.02, 0.12).all()


def test_senders_and_areas_sum_to_the_same_totals(demo):
    by_sender = engagement(demo, by="sender", k=None)
    by_npa = engagement(demo, by="area", level="npa", k=None)
    by_beat = engagement(demo, by="area", level="beat", k=None)
    for col in COUNT_COLUMNS:
        assert by_sender[col].sum() == by_npa[col].sum() == by_beat[col].sum()
    assert set(by_beat["area_id"]).issubset(set(demo.read("areas", ["area_id"])["area_id"]))
    u = by_sender.set_index("created_by")
    assert (u["unsubscribe_rate"] == u["unsubscribed"] / u["delivered"]).all()


@pytest.mark.parametrize("by", ["area", "message", "sender", "group"])
def test_small_counts_are_withheld(demo, by):
    out = engagement(demo, by=by, k=5)
    counts = [c for c in [*COUNT_COLUMNS, "delivered", "replied"] if c in out.columns]
    values = pd.to_numeric(out[counts].stack(), errors="coerce")
    assert not values.between(1, 4).any()
    exact = engagement(demo, by=by, k=None)
    assert pd.to_numeric(exact[counts].stack(), errors="coerce").between(1, 4).any()


def test_repliers_against_those_reached_by_group(demo):
    g = engagement(demo, by="group", k=None)
    assert set(g["dimension"]) == {"oac", "age_band"}
    for _, part in g.groupby("dimension"):
        assert part["share_delivered"].sum() == pytest.approx(1.0)
        assert part["share_replied"].sum() == pytest.approx(1.0)
    row = g.dropna(subset=["ratio"]).iloc[0]
    assert row["ratio"] == pytest.approx(row["share_replied"] / row["share_delivered"])


def test_the_history_has_urgent_replies_listed_first(demo):
    r = list_replies(demo)
    assert r["urgent"].any() and r["urgent"].iloc[0]
    assert r["urgent"].is_monotonic_decreasing


def test_bad_arguments_are_clear_errors(demo):
    with pytest.raises(InputError, match="by"):
        engagement(demo, by="colour")
    with pytest.raises(InputError, match="level"):
        engagement(demo, level="street")
    with pytest.raises(InputError, match="measure"):
        feedback_effect(demo, measure="happiness")
