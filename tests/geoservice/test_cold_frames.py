# SPDX-License-Identifier: GPL-3.0-or-later
"""Cold answers (issue 13): area profiles and street scores are computed once per data
version, before the first request, into the runtime folder all workers read; new data is
computed once again for every worker; a throwaway parameter cannot force a computation."""
from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _computed(service) -> list[dict]:
    m = re.search(r"runtime (\S+)", service.log.read_text())
    assert m, service.log.read_text()[-2000:]
    path = Path(m.group(1)) / "frames" / "computed.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _profiles(service, token=None):
    return service.json("/collections/area_profiles/items?limit=500", token=token)


def _settled(service, quiet_s: float = 1.5, limit_s: float = 60.0) -> list[dict]:
    """The computed frames once no preparation has noted one for ``quiet_s`` seconds (an
    earlier test's new data version may still be being prepared in the background)."""
    deadline = time.monotonic() + limit_s
    seen = _computed(service)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = _computed(service)
        if len(now) == len(seen):
            return now
        seen = now
    return seen


def _prepared(computed: list[dict]) -> list[dict]:
    """The frames ``lpt serve`` computed before the workers started (the first entries:
    the first data version, the serving process); workers add the scopes asked for later
    (a beat officer's ``crime_cells``)."""
    first = computed[0]
    return [c for c in computed
            if c["version"] == first["version"] and c["pid"] == first["pid"]]


def test_frames_are_ready_before_the_first_request_and_shared(service):
    start = _settled(service)
    initial = _prepared(start)
    kinds = {(c["key"][0], c["key"][-1]) for c in initial}
    assert ("area_profiles", "40") in kinds  # as partners and the public see them (k=40)
    assert ("area_profiles", "None") in kinds  # as police see them (exact)
    assert any(c["key"][0] == "ScoreProvider" for c in initial)
    cells = {c["key"][3] for c in initial if c["key"][0] == "crime_cells"}
    assert cells == {"disclosed", "exact"}  # the public's and the force analyst's
    counts = {c["key"][1] for c in initial if c["key"][0] == "area_counts"}
    assert counts == {"disclosed", "exact"}  # the areas collection's counts, both views
    networks = {c["key"][0] for c in initial} & {"network_gaps", "network_groups"}
    assert networks == {"network_gaps", "network_groups"}
    # the rest of the first version's frames are scopes the preparation does not compute
    later = [c for c in start if c["version"] == initial[0]["version"] and c not in initial]
    assert {tuple(c["key"]) for c in later}.isdisjoint({tuple(c["key"]) for c in initial})
    # and every frame of every data version was computed once for all workers
    keys = [(tuple(c["key"]), c["version"]) for c in start]
    assert len(keys) == len(set(keys))
    analyst = service.token("force_analyst")
    # many clients on both workers, public and police: nothing more is computed
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda i: _profiles(service, analyst if i % 2 else None)[0],
                            range(32)))
    assert got == [200] * 32
    time.sleep(0.5)  # a preparation started by a version change would show by now
    now = _computed(service)
    again = [(tuple(c["key"]), c["version"]) for c in now]
    assert len(again) == len(set(again))
    assert {c["version"] for c in now[len(start):]} <= {now[-1]["version"]}


def test_new_data_is_computed_once_for_every_worker(service):
    from spatial_core import open_store
    from spatial_core.store.data_version import bump_data_version, data_version

    before = _settled(service)
    shared = {tuple(c["key"]) for c in _prepared(before)}
    assert len(shared) >= 3  # public and police profiles, scores (and any other shared frame)
    s = open_store(service.store, create=False)
    try:
        bump_data_version(s)
        version = str(data_version(s))
    finally:
        s.close()
    analyst = service.token("force_analyst")
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda i: _profiles(service, analyst if i % 2 else None)[0],
                            range(32)))
    assert got == [200] * 32
    deadline = time.monotonic() + 60  # the background preparation may finish after the
    while True:  # answers, and later still on a machine shared with other work
        # (an earlier test's preparation may still be noting older versions)
        new = [c for c in _computed(service)[len(before):] if c["version"] == version]
        if {tuple(c["key"]) for c in new} >= shared or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    keys = [tuple(c["key"]) for c in new]
    assert len(keys) == len(set(keys))  # each shared frame once for every worker
    assert set(keys) >= shared


def test_a_throwaway_parameter_computes_nothing(service):
    before = _computed(service)
    for i in range(5):
        assert service.get(f"/collections/area_profiles/items?x{i}=1")[0] == 400
    assert _computed(service) == before
