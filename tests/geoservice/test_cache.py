# SPDX-License-Identifier: GPL-3.0-or-later
"""The response cache (geoservice/cache.py): unit tests on a stand-in WSGI app, then the
real service (``lpt serve``, two gunicorn workers) with real tokens."""
from __future__ import annotations

import gzip
import json
import os
import threading
import time

import pytest

from geoservice import cache as cache_mod
from geoservice.cache import CACHEABLE, ResponseCache, _accepts_gzip
from geoservice.context import ANONYMOUS, Principal

# -- unit: a stand-in app, principal and scope ------------------------------------------


class _Auth:
    """Authenticator stand-in: the X-API-Key header names the principal."""

    principals = {
        "a": Principal(sub="officer-a", role="beat_officer", areas=("beat:A",), via="api_key"),
        "a2": Principal(sub="officer-a2", role="beat_officer", areas=("beat:A",),
                        via="api_key"),
        "b": Principal(sub="officer-b", role="beat_officer", areas=("beat:B",), via="api_key"),
    }

    def authenticate(self, headers):
        key = headers.get("X-API-Key")
        if key is None:
            return ANONYMOUS
        if key not in self.principals:
            raise cache_mod.AuthError("unknown API key")
        return self.principals[key]


class _App:
    """A WSGI app whose answer names the path, query and caller, counting its calls."""

    def __init__(self, status: str = "200 OK", cookie: bool = False, delay: float = 0.0):
        self.calls = 0
        self.status, self.cookie, self.delay = status, cookie, delay

    def __call__(self, environ, start_response):
        self.calls += 1
        time.sleep(self.delay)
        body = json.dumps({"path": environ["PATH_INFO"], "q": environ.get("QUERY_STRING"),
                           "key": environ.get("HTTP_X_API_KEY"), "n": self.calls,
                           "pad": "x" * 2000}).encode()
        headers = [("Content-Type", "application/geo+json"), ("X-Request-ID", "r1"),
                   ("Content-Length", str(len(body)))]
        if self.cookie:
            headers.append(("Set-Cookie", "s=1"))
        start_response(self.status, headers)
        return [body]


@pytest.fixture()
def unit(monkeypatch):
    """A cache around :class:`_App` whose data version and scopes the test controls."""
    version = {"v": ("1",)}
    monkeypatch.setattr(cache_mod.ResponseCache, "_scope",
                        lambda self, p: ("*all*",) if p.role == "force_analyst"
                        else tuple(sorted(p.areas)))
    monkeypatch.setattr(cache_mod.stores, "forget_cached", lambda: None)

    def make(app=None, **kw):
        app = app or _App()
        c = ResponseCache(app, "/nonexistent.gpkg", _Auth(), **kw)
        c.version.current = lambda: version["v"]  # type: ignore[method-assign]
        return c, app

    make.version = version  # type: ignore[attr-defined]
    return make


def _call(app, path, query="", method="GET", **headers):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    for k, v in headers.items():
        env["HTTP_" + k.upper()] = v
    out = {}

    def start_response(status, hdrs, exc_info=None):
        out["status"], out["headers"] = status, dict(hdrs)

    body = b"".join(app(env, start_response))
    return out["status"], out["headers"], body


def test_cache_unit_repeat_is_served_from_memory_identical(unit):
    c, app = unit()
    s1, h1, b1 = _call(c, "/collections/street_scores/items", "f=json", x_api_key="a")
    s2, h2, b2 = _call(c, "/collections/street_scores/items", "f=json", x_api_key="a")
    assert (s1, s2, app.calls) == ("200 OK", "200 OK", 1)
    assert b1 == b2 and h1["X-Cache"] == "MISS" and h2["X-Cache"] == "HIT"
    assert h1["X-Request-ID"] == "r1" and h2["X-Request-ID"] != "r1"
    assert h2["Content-Type"] == "application/geo+json"
    assert h2["Content-Length"] == str(len(b2))


def test_cache_unit_query_order_is_normalised_but_values_are_not(unit):
    c, app = unit()
    _call(c, "/collections/areas/items", "limit=5&f=json", x_api_key="a")
    _call(c, "/collections/areas/items", "f=json&limit=5", x_api_key="a")
    assert app.calls == 1
    _call(c, "/collections/areas/items", "f=json&limit=6", x_api_key="a")
    _call(c, "/collections/areas/items", "f=html&limit=5", x_api_key="a")
    _call(c, "/collections/areas/items", "f=json&limit=5", x_api_key="a", accept="text/html")
    assert app.calls == 4


def test_cache_unit_scope_is_part_of_the_key(unit):
    c, app = unit()
    _, _, a = _call(c, "/collections/street_scores/items", x_api_key="a")
    _, _, b = _call(c, "/collections/street_scores/items", x_api_key="b")
    assert app.calls == 2 and json.loads(b)["key"] == "b"  # B never gets A's answer
    _, h, a2 = _call(c, "/collections/street_scores/items", x_api_key="a2")
    assert h["X-Cache"] == "HIT" and a2 == a  # same beat, same scope: shared
    _, _, pub = _call(c, "/collections/street_scores/items")
    assert app.calls == 3 and json.loads(pub)["key"] is None


def test_cache_unit_bad_credentials_pass_through(unit):
    c, app = unit()
    _call(c, "/collections/areas/items", x_api_key="a")
    _call(c, "/collections/areas/items", x_api_key="wrong")
    assert app.calls == 2  # the app (which answers 401) sees the bad key


@pytest.mark.parametrize("path,method", [
    ("/collections/visits/items", "GET"), ("/collections/walk_lists/items", "GET"),
    ("/collections/key_contacts/items", "GET"), ("/collections/setups/items", "GET"),
    ("/collections/visits/items/v1", "GET"), ("/processes/score-area", "GET"),
    ("/jobs", "GET"), ("/jobs/abc/results", "GET"), ("/collections/street_scores/items", "POST"),
    ("/collections/street_scores/items", "HEAD"), ("/health", "GET"), ("/app/", "GET"),
])
def test_cache_unit_personal_and_other_paths_are_never_cached(unit, path, method):
    c, app = unit()
    for _ in range(3):
        status, headers, _ = _call(c, path, method=method, x_api_key="a")
        assert "X-Cache" not in headers
    assert app.calls == 3


def test_cache_unit_no_personal_collection_is_cacheable():
    from geoservice.config import COLLECTIONS

    personal = {"visits", "walk_lists", "key_contacts", "members", "setups"}
    assert not CACHEABLE & personal
    for cid in CACHEABLE:  # and the providers agree that none is personal
        mod, cls = COLLECTIONS[cid]["provider"].rsplit(".", 1)
        provider = getattr(__import__(mod, fromlist=[cls]), cls)
        assert not getattr(provider, "personal", False), cid


@pytest.mark.parametrize("app", [_App(status="404 NOT FOUND"), _App(cookie=True),
                                 _App(status="500 INTERNAL SERVER ERROR")])
def test_cache_unit_only_plain_200_answers_are_kept(unit, app):
    c, _ = unit(app)
    for _ in range(2):
        _, headers, _ = _call(c, "/collections/areas/items", x_api_key="a")
        assert "X-Cache" not in headers
    assert app.calls == 2


def test_cache_unit_new_data_version_invalidates(unit):
    c, app = unit()
    _call(c, "/collections/street_scores/items", x_api_key="a")
    _call(c, "/collections/street_scores/items", x_api_key="a")
    unit.version["v"] = ("2",)
    _, h, b = _call(c, "/collections/street_scores/items", x_api_key="a")
    assert app.calls == 2 and h["X-Cache"] == "MISS" and json.loads(b)["n"] == 2
    assert c.stats["invalidated"] == 1


def test_cache_unit_entries_expire_after_ttl(unit):
    c, app = unit(ttl=0.05)
    _call(c, "/collections/areas/items", x_api_key="a")
    time.sleep(0.08)
    _call(c, "/collections/areas/items", x_api_key="a")
    assert app.calls == 2


def test_cache_unit_lru_bounded_by_bytes(unit):
    c, app = unit(max_bytes=20_000, max_entry_bytes=10_000)
    for i in range(20):
        _call(c, "/collections/areas/items", f"offset={i}", x_api_key="a")
    assert c.size_bytes <= 20_000 and 0 < len(c) < 20 and c.stats["evicted"] > 0
    calls = app.calls
    _call(c, "/collections/areas/items", "offset=19", x_api_key="a")  # newest: kept
    assert app.calls == calls
    _call(c, "/collections/areas/items", "offset=0", x_api_key="a")  # oldest: evicted
    assert app.calls == calls + 1


def test_cache_unit_gzip_when_accepted(unit):
    c, _ = unit()
    _, h0, plain = _call(c, "/collections/areas/items", x_api_key="a")
    _, h1, packed = _call(c, "/collections/areas/items", x_api_key="a",
                          accept_encoding="gzip, deflate")
    _, h2, plain2 = _call(c, "/collections/areas/items", x_api_key="a",
                          accept_encoding="gzip;q=0, identity")
    assert h1["Content-Encoding"] == "gzip" and gzip.decompress(packed) == plain
    assert len(packed) < len(plain) and h1["Content-Length"] == str(len(packed))
    assert "Content-Encoding" not in h2 and plain2 == plain
    assert h1["Vary"] == "Accept-Encoding"


def test_cache_unit_gzip_is_quick_first_and_small_once_asked_again(unit):
    c, _ = unit()
    key = "/collections/areas/items"
    _, h1, first = _call(c, key, "f=json", x_api_key="a", accept_encoding="gzip")
    entry = next(iter(c._entries.values()))
    assert h1["X-Cache"] == "MISS" and entry.level == cache_mod.FIRST_LEVEL
    size = c.size_bytes
    _, h2, again = _call(c, key, "f=json", x_api_key="a", accept_encoding="gzip")
    entry = next(iter(c._entries.values()))
    assert h2["X-Cache"] == "HIT" and entry.level == cache_mod.BEST_LEVEL
    assert gzip.decompress(first) == gzip.decompress(again)
    assert c.size_bytes == size - len(first) + len(again)  # the byte count follows
    _, _, plain = _call(c, key, "f=json", x_api_key="a2")  # no gzip: the body as it was
    assert plain == gzip.decompress(again)


def test_cache_unit_a_miss_without_gzip_compresses_nothing(unit):
    c, _ = unit()
    _call(c, "/collections/areas/items", x_api_key="a")
    assert next(iter(c._entries.values())).level == 0


def test_cache_unit_answers_name_their_worker():
    tag = cache_mod.worker_tag()
    assert tag == cache_mod.worker_tag() and len(tag) == 8 and str(os.getpid()) not in tag
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked worker gets a tag of its own
        os.write(w, cache_mod.worker_tag().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 8).decode() != tag


@pytest.mark.parametrize("header,ok", [("gzip", True), ("deflate, gzip;q=0.5", True),
                                       ("gzip;q=0", False), ("identity", False), ("", False),
                                       ("*", True), ("br", False)])
def test_cache_unit_accepts_gzip(header, ok):
    assert _accepts_gzip(header) is ok


def test_cache_unit_concurrent_misses_compute_once(unit):
    c, app = unit(_App(delay=0.2))
    out = []

    def get():
        out.append(_call(c, "/collections/areas/items", x_api_key="a"))

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert app.calls == 1 and len({b for _, _, b in out}) == 1
    assert sorted(h["X-Cache"] for _, h, _ in out) == ["MISS"] + ["WAIT"] * 7


def test_store_version_is_the_data_version_not_the_file_time(tmp_path):
    from geoservice import stores
    from spatial_core import open_store
    from spatial_core.store.data_version import bump_data_version, data_version

    path = str(tmp_path / "v.gpkg")
    open_store(path).close()
    v = cache_mod.StoreVersion(path, racy_s=0.0)
    first = v.current()
    assert v.current() == first
    bump_data_version(stores.store(path))
    second = v.current()
    assert second != first and second == (data_version(stores.store(path)),)
    # A write that bumps nothing (a visit) changes the file, not the version.
    before = os.stat(path).st_mtime_ns, os.stat(path).st_size
    with stores.store(path).begin() as conn:
        stores.store(path).set_meta("unrelated", "x", conn=conn)
    assert (os.stat(path).st_mtime_ns, os.stat(path).st_size) != before
    assert v.current() == second
    stores.clear()


# -- the real service ----------------------------------------------------------------------

SCORES = "/collections/street_scores/items?f=json&limit=1000"


def _beats(service):
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        a = s.read("areas", ["area_id", "level"])
    finally:
        s.close()
    return sorted(a.loc[a["level"] == "beat", "area_id"])


def _until(service, path, want: str, tries: int = 12, **kw):
    """GET ``path`` until the X-Cache header is ``want`` (two workers: each has its own)."""
    seen = []
    for _ in range(tries):
        status, headers, body = service.get(path, **kw)
        seen.append(headers.get("X-Cache"))
        if headers.get("X-Cache") == want:
            return status, headers, body
    raise AssertionError(f"no {want} in {tries} requests: {seen}")


def _features(body: bytes) -> dict:
    doc = json.loads(body)
    doc.pop("timeStamp", None)
    return doc


def test_service_cached_answer_equals_the_uncached_one(service):
    tok = service.token("beat_officer", [_beats(service)[0]], sub="cache-eq")
    path = SCORES + "&sortby=-score"
    _, h_miss, miss = _until(service, path, "MISS", token=tok)
    _, h_hit, hit = _until(service, path, "HIT", token=tok)
    assert _features(hit) == _features(miss) and json.loads(hit)["numberReturned"] > 0
    assert h_hit["Content-Type"] == h_miss["Content-Type"]
    # the bypassed path (a query parameter the cache keys differently is still computed)
    # gives the same features as the cached one
    _, _, fresh = service.get(SCORES + "&sortby=-score&limit=1000", token=tok)
    assert _features(fresh)["features"] == _features(hit)["features"]


def test_service_scope_is_part_of_the_key(service):
    a, b = _beats(service)[:2]
    ta = service.token("beat_officer", [a], sub="cache-a")
    tb = service.token("beat_officer", [b], sub="cache-b")
    _until(service, SCORES, "HIT", token=ta)
    for _ in range(4):  # beat B's officer, while A's answer is cached in both workers
        status, headers, body = service.get(SCORES, token=tb)
        beats = {f["properties"]["beat_id"] for f in json.loads(body)["features"]}
        assert status == 200 and beats == {b}
    _until(service, SCORES, "HIT", token=tb)
    for _ in range(4):
        _, _, body = service.get(SCORES, token=ta)
        assert {f["properties"]["beat_id"] for f in json.loads(body)["features"]} == {a}
    # the public caller and a partner never get the police layer from the cache
    for _ in range(4):
        assert service.get(SCORES)[0] == 401
        assert service.get(SCORES, api_key=service.partner_key)[0] == 403
    # public and police answers of the same aggregate collection differ and are both cached
    path = "/collections/areas/items?f=json&limit=1000"
    _, _, police = _until(service, path, "HIT", token=ta)
    _, _, public = _until(service, path, "HIT")
    assert {f["id"] for f in json.loads(police)["features"]} != \
           {f["id"] for f in json.loads(public)["features"]}


def test_service_bad_token_is_never_served_from_cache(service):
    tok = service.token("force_analyst", sub="cache-bad")
    _until(service, SCORES, "HIT", token=tok)
    bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    for _ in range(4):
        assert service.get(SCORES, token=bad)[0] == 401


def test_service_gzip_answer(service):
    tok = service.token("force_analyst", sub="cache-gz")
    _, _, plain = _until(service, SCORES, "HIT", token=tok)
    _, headers, packed = _until(service, SCORES, "HIT", token=tok,
                                headers={"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    # (two workers: each computed its own answer, which differ only in timeStamp)
    assert _features(gzip.decompress(packed)) == _features(plain)
    assert len(packed) < len(plain) / 3


def _visit_uprn(service, beat):
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        a = s.read("addresses", ["uprn", "street_id"])
        st = s.read("streets", ["street_id", "beat_id"])
    finally:
        s.close()
    ok = st.loc[st["beat_id"] == beat, "street_id"]
    return str(a.loc[a["street_id"].isin(ok), "uprn"].iloc[0])


def _hits_per_worker(service, path: str, tok: str, workers: int = 2,
                     limit: int = 300) -> dict[str, list[str]]:
    """``X-Cache`` answers of ``path`` per worker (``X-Cache-Worker``; the test service runs
    two) until every worker has answered HIT, or ``limit`` requests: which worker a new
    connection reaches is the kernel's choice, so eight HITs in a row may all be one's."""
    seen: dict[str, list[str]] = {}
    for _ in range(limit):
        headers = service.get(path, token=tok)[1]
        seen.setdefault(headers["X-Cache-Worker"], []).append(headers["X-Cache"])
        if len(seen) >= workers and all("HIT" in v for v in seen.values()):
            break
    return seen


def test_service_visit_creation_keeps_every_workers_cached_aggregates(service):
    beat = _beats(service)[0]
    tok = service.token("beat_officer", [beat], sub="cache-visit")
    path = "/collections/areas/items?f=json&limit=7"
    warm = _hits_per_worker(service, path, tok)  # cached in every worker: each said HIT
    assert len(warm) == 2 and all("HIT" in v for v in warm.values()), warm
    feature = {"type": "Feature", "geometry": None, "properties": {
        "uprn": _visit_uprn(service, beat), "outcome": "spoke",
        "visited_at": "2026-10-01T18:05:00"}}
    status, _, body = service.request(
        "POST", "/collections/visits/items", body=json.dumps(feature).encode(), token=tok,
        headers={"Content-Type": "application/geo+json", "X-Purpose": "cache test"})
    assert status == 201, body
    # Nothing cached is computed from visits: every worker keeps answering from its cache
    # (asked until each has answered: a MISS would be a worker that dropped its cache).
    after = _hits_per_worker(service, path, tok)
    assert set(after) == set(warm), (warm, after)
    assert all(v == ["HIT"] * len(v) for v in after.values()), after


def test_service_new_score_run_invalidates_and_is_served(service):
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, run_scores, save_scores

    tok = service.token("force_analyst", sub="cache-run")
    _, _, before = _until(service, SCORES, "HIT", token=tok)
    old_run = json.loads(before)["features"][0]["properties"]["run_id"]
    s = open_store(service.store, create=False)
    try:
        profile = load_profile("default")
        inputs = prepare_inputs(s, scheme=profile.scheme, level=profile.level,
                                crime_distance_m=profile.crime_distance_m,
                                voice_radius_m=profile.voice_radius_m)
        new_run = save_scores(s, run_scores(inputs, profile))
    finally:
        s.close()
    assert new_run != old_run
    for _ in range(4):  # every worker, at once: no answer of the old run
        _, headers, body = service.get(SCORES, token=tok)
        runs = {f["properties"]["run_id"] for f in json.loads(body)["features"]}
        assert runs == {new_run}, headers.get("X-Cache")


def test_service_personal_reads_are_never_cached_and_always_audited(service):
    beat = _beats(service)[0]
    tok = service.token("beat_officer", [beat], sub="cache-audit")
    path = "/collections/visits/items?f=json&limit=5"
    def reads() -> int:
        if not service.audit.exists():
            return 0
        lines = [json.loads(x) for x in service.audit.read_text().splitlines() if x.strip()]
        return sum(1 for x in lines if x.get("sub") == "cache-audit"
                   and x.get("collection") == "visits" and x.get("action") == "read")

    before = reads()
    for _ in range(5):
        status, headers, _ = service.get(path, token=tok, headers={"X-Purpose": "cache test"})
        assert status == 200 and "X-Cache" not in headers
    assert reads() - before == 5


# -- computed frames (geoservice.stores.cached) ------------------------------------------
def _together(n: int, fn) -> list:
    """``fn()`` in ``n`` threads started at once; what each returned or raised."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the test compares what each thread saw
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_frames_missed_at_once_are_computed_once():
    from geoservice import stores

    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return {"frame": len(calls)}

    got = _together(8, lambda: stores.cached(("test-single-flight",), 60, compute))
    assert len(calls) == 1 and all(g is got[0] for g in got) and got[0] == {"frame": 1}
    assert stores.cached(("test-single-flight",), 60, compute) is got[0]  # kept
    stores.forget_cached()


def test_a_failed_frame_fails_every_waiter_and_is_not_kept():
    from geoservice import stores

    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        raise ValueError("store unreadable")

    got = _together(6, lambda: stores.cached(("test-single-flight-error",), 60, compute))
    assert len(calls) == 1
    assert all(isinstance(g, ValueError) and str(g) == "store unreadable" for g in got)
    assert stores.cached(("test-single-flight-error",), 60, lambda: "later") == "later"
    stores.forget_cached()


def test_a_frame_computed_across_new_data_is_not_kept():
    from geoservice import stores

    def compute():
        stores.forget_cached()  # new data arrive while the old frame is being built
        return "old"

    assert stores.cached(("test-generation",), 60, compute) == "old"  # its caller gets it
    assert stores.cached(("test-generation",), 60, lambda: "new") == "new"  # not kept
    stores.forget_cached()
