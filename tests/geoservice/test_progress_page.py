# SPDX-License-Identifier: GPL-3.0-or-later
"""The officer page's Progress tab and the recommended action under each street, in a real
headless Chromium against a real server with the demo sign-in.

A supervisor's page must show what the core reports for their scope
(:func:`spatial_core.api.progress.progress`, whose counts are checked by hand in
tests/core/test_progress.py): the headline, the live set-ups with a bar per target, the
beats falling behind, one table row per officer and per day. A beat officer has no
Progress tab. Streets carrying ``action`` (and ``action_reason``) show "Recommended: …"
under them; streets without show nothing.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "geoservice" / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e" / "progress_page.js"
ARTIFACTS = ROOT / "test-artifacts" / "progress-page"
CREATED = "2026-07-01T09:00:00"


@pytest.fixture(scope="module")
def progress_server(service, tmp_path_factory, running_service):
    """``lpt serve`` with the demo sign-in on a copy of the demo store holding a live set-up
    (made in the past, so the demo's visits count) on the beat with the most visits."""
    from geoservice.demo_idp import write_demo_service
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    d = tmp_path_factory.mktemp("progress-page")
    store = d / "demo.gpkg"
    src, dst = sqlite3.connect(service.store), sqlite3.connect(store)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    s = open_store(store, create=False)
    try:
        addr = s.read("addresses", ["uprn", "beat_id"])
        visits = s.read("visits", ["uprn"]).merge(addr, on="uprn")
        busy = visits["beat_id"].value_counts().index[0]
        areas = s.read("areas", ["area_id", "code", "level", "parent_id"])
        npa = areas.loc[areas["area_id"] == busy, "parent_id"].iloc[0]
        create_setup(s, "Summer drive", areas=[busy], setup_id="summer-drive", now=CREATED,
                     max_streets=40, targets={"visits": 300, "registrations": 5})
    finally:
        s.close()
    config = write_demo_service(d, store)
    with running_service(config) as (url, proc, log):
        yield {"url": url, "store": store, "busy": busy, "npa": npa,
               "supervisor": "ps-" + npa.split(":", 1)[1].lower(),
               "officer": "pc-" + busy.split(":", 1)[1].lower(), "areas": areas}


def test_progress_tab_shows_the_supervisors_setups_targets_and_beats_behind(
        progress_server, need_browser):
    from spatial_core import open_store
    from spatial_core.api import Scope
    from spatial_core.api.progress import progress

    ps = progress_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LPT_BASE_URL=ps["url"], LPT_SUPERVISOR=ps["supervisor"],
               LPT_OFFICER=ps["officer"], LPT_SHOTS=str(ARTIFACTS),
               LPT_NODE_MODULES=str(NODE_MODULES), LPT_CHROMIUM=str(CHROMIUM))
    run = subprocess.run(["node", str(E2E)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("error")
    assert out["foreign"] == [] and out["page_errors"] == []

    s = open_store(ps["store"], create=False)
    try:
        tree = ps["areas"][["area_id", "level", "parent_id"]]
        report = progress(s, Scope.for_caller(tree, "supervisor", [ps["npa"]]))
    finally:
        s.close()

    # The recommended action under the two streets given one; nothing under the others.
    assert out["actions"][0] == ("Recommended: door knock — households of under-represented "
                                 "groups without a member")
    assert out["actions"][1] == "Recommended: visible patrol"
    assert all(a is None for a in out["actions"][2:]) and len(out["streets"]) > 2

    assert out["progress_tab_hidden"] is False and out["officer_progress_hidden"] is True
    assert out["message"] == ""
    assert out["headline_households"] == str(report.headline["households_visited"])
    assert f"{report.headline['households_visited']:,} houses visited" in out["headline"]
    assert "period elapsed" in out["rule"] and "80%" in out["rule"]
    assert [x["id"] for x in out["setups"]] == report.setups["setup_id"].tolist()
    mine = next(x for x in out["setups"] if x["id"] == "summer-drive")
    row = report.setups.set_index("setup_id").loc["summer-drive"]
    bars = {b["measure"]: b for b in mine["bars"]}
    assert set(bars) == {"visits", "registered"}  # the two targets set; no survey target
    assert bars["visits"]["now"] == round(100 * min(row["visits"] / 300, 1))
    assert bars["visits"]["label"].startswith(f"visits: {row['visits']} of 300")
    assert bars["registered"]["now"] == round(100 * min(row["registered"] / 5, 1))
    assert mine["behind"] == bool(row["behind"])
    assert out["behind"] == report.behind[["setup_id", "beat_id"]].values.tolist()
    assert out["officers"] == len(report.officers) > 0
    assert set(out["officer_names"]) == set(report.officers["officer"])
    assert out["days"] == len(report.days) > 0
    assert (ARTIFACTS / "progress-01.png").stat().st_size > 5_000
