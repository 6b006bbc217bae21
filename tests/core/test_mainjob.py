# SPDX-License-Identifier: GPL-3.0-or-later
"""The main job on a small demo force: scored streets stored, priorities, representation."""
from __future__ import annotations

import re

import pytest

from spatial_core.api.mainjob import run_main_job
from spatial_core.store import schema


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_builds):
    from spatial_core import open_store

    store = open_store(demo_builds.copy(tmp_path_factory.mktemp("demo"), households=4_000, seed=7))
    yield store
    store.close()


def test_main_job_scores_every_street_and_stores_the_run(demo_store):
    job = run_main_job(demo_store, top=2)
    assert job.streets_scored == demo_store.count("streets")
    runs = demo_store.read("score_runs", ["run_id", "profile_name"])
    assert job.run_id in set(runs["run_id"])
    t = schema.table("street_scores")
    assert demo_store.count("street_scores", t.c.run_id == job.run_id) == job.streets_scored
    per_beat = job.top_streets.groupby("beat_id")["rank_in_beat"].agg(["min", "max", "count"])
    assert (per_beat["min"] == 1).all() and (per_beat["max"] <= 2).all()
    assert job.top_streets["reasons"].str.len().gt(0).all()


def test_main_job_answers_priorities_and_representation(demo_store):
    job = run_main_job(demo_store)
    beats = demo_store.count("areas", schema.areas.c.level == "beat")
    assert job.priority_sentences
    for sentence in job.priority_sentences:
        m = re.search(r"is a local priority on (\d+) of our (\d+) beats", sentence)
        assert m and int(m[1]) <= int(m[2]) <= beats
    assert len(job.underrepresented) >= 1
    assert (job.underrepresented["member_ratio"] < 0.7).all()
