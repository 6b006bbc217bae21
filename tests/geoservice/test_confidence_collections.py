# SPDX-License-Identifier: GPL-3.0-or-later
"""``area_confidence`` and ``area_change`` against a running service: every role sees the rows
its scope allows (police: their areas, exact; partners and the public: every area,
disclosure-controlled at k), single items inside 200 / outside 404, ``?level=`` and its
error, and a differencing attack on what the public sees. Expected ids come from the store's
area tree and expected values from spatial_core called on the same store (the values
themselves are checked by hand in tests/core/test_api_confidence.py).

The service here is its own: a demo force with two quarters of surveys (six months), so
that there is a change and a panel to show, and k = 10 so that some of it is withheld.
"""
from __future__ import annotations

import json
import math
import urllib.parse

import pandas as pd
import pytest

K = 10
KEYS = {"force_analyst": ("analyst-key-0123456789", []),
        "supervisor": ("supervisor-key-0123456789", ["DM01"]),
        "beat_officer": ("officer-key-0123456789", ["beat:DM01B01"]),
        "partner": ("partner-key-0123456789", [])}
ROLES = [*KEYS, "public"]
POLICE = ("force_analyst", "supervisor", "beat_officer")
COLLECTIONS = ("area_confidence", "area_change")
COUNTS = {"area_confidence": ("confidence_n", "feel_safe_n", "households", "crimes"),
          "area_change": ("responses", "confidence_n", "feel_safe_n", "crimes",
                          "panel_confidence_n", "panel_feel_safe_n")}
DERIVED = {  # a value published only with the counts it comes from
    "area_confidence": {"confidence": ["confidence_n"], "feel_safe": ["feel_safe_n"],
                        "feel_safe_ci_low": ["feel_safe_n"],
                        "crime_rate": ["crimes", "households"],
                        "safe_z": ["feel_safe_n", "crimes", "households"],
                        "confidence_z": ["confidence_n", "feel_safe_n"]},
    "area_change": {"confidence": ["confidence_n"], "feel_safe": ["feel_safe_n"],
                    "panel_confidence_change": ["panel_confidence_n"],
                    "panel_feel_safe_ci_low": ["panel_feel_safe_n"]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_builds, running_service):
    from geoservice.auth import hash_api_key

    d = tmp_path_factory.mktemp("confidence-service")
    store = demo_builds.copy(d, households=3_000, months=6)
    keys = "\n".join(f"""    - name: {role}
      sha256: {hash_api_key(key)}
      role: {role}
      areas: {json.dumps(areas)}
      purpose: testing""" for role, (key, areas) in KEYS.items())
    (d / "service.yml").write_text(f"""store: demo.gpkg
auth:
  api_keys:
{keys}
disclosure:
  k: {K}
audit:
  path: audit.jsonl
""")
    with running_service(d / "service.yml", workers=1) as (url, proc, log):
        yield {"url": url, "store": store}


def _get(server, role: str, path: str):
    import urllib.error
    import urllib.request

    headers = {"X-API-Key": KEYS[role][0]} if role in KEYS else {}
    req = urllib.request.Request(server["url"] + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _frame(server, role: str, cid: str, **params) -> pd.DataFrame:
    q = urllib.parse.urlencode({"limit": 1000, "skipGeometry": "true", **params})
    status, body = _get(server, role, f"/collections/{cid}/items?{q}")
    assert status == 200, body
    assert body["numberMatched"] == len(body["features"])
    return pd.DataFrame([f["properties"] for f in body["features"]]).set_index("area_id")


@pytest.fixture(scope="module")
def truth(server):
    """The area tree, the core's tables (exact and at k) and the overlap counts of the
    survey answers per beat/npa x ward pair."""
    from spatial_core import open_store
    from spatial_core.analytics.disclosure import counts_and_overlaps
    from spatial_core.analytics.population import area_table, respondents_frame
    from spatial_core.api.confidence import area_change_table, area_confidence_table

    s = open_store(server["store"], create=False)
    try:
        tree = area_table(s).set_index("area_id")
        dtree, points = counts_and_overlaps(s)
        every, newest = respondents_frame(s), respondents_frame(s, period="2026Q3")
        core = {("area_confidence", None): area_confidence_table(s),
                ("area_confidence", K): area_confidence_table(s, k=K),
                ("area_change", None): area_change_table(s),
                ("area_change", K): area_change_table(s, k=K)}
    finally:
        s.close()
    pairs = {"area_confidence": [points.set_index(["area_a", "area_b"])[["households",
                                                                        "crimes"]]],
             "area_change": []}
    for cid, r in (("area_confidence", every), ("area_change", newest)):
        for m in ("confidence", "feel_safe"):
            pairs[cid].append(_pairs_of(r[r[m].notna()], f"{m}_n"))
    pairs["area_change"].append(_pairs_of(newest, "responses"))
    pairs = {cid: pd.concat(p, axis=1).fillna(0).astype("int64") for cid, p in pairs.items()}
    return {"tree": tree, "dtree": dtree.set_index("area_id"), "pairs": pairs,
            "core": {key: f.set_index("area_id") for key, f in core.items()}}


def _pairs_of(r: pd.DataFrame, name: str) -> pd.Series:
    """How many rows of ``r`` lie in each beat x ward and npa x ward pair."""
    p = pd.concat([r.groupby(["beat_id", "ward_id"]).size(),
                   r.groupby(["npa_id", "ward_id"]).size()])
    p.index.names = ["area_a", "area_b"]
    return p.rename(name)


def _visible(truth, role: str) -> set[str]:
    t = truth["tree"]
    every = set(t.index)
    if role in ("partner", "public", "force_analyst"):
        return every
    if role == "beat_officer":
        return {"beat:DM01B01"}
    return set(t.index[(t["parent_id"] == "npa:DM01") & (t["level"] == "beat")]) | {"npa:DM01"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_each_role_sees_its_rows_with_the_cores_values(server, truth, cid, role):
    got = _frame(server, role, cid)
    assert set(got.index) == _visible(truth, role)
    k = None if role in POLICE else K
    want = truth["core"][(cid, k)].loc[got.index]
    assert (got["disclosure"] == ("exact" if k is None else f"k={K}")).all()
    for col in (*COUNTS[cid], *DERIVED[cid]):
        w = pd.to_numeric(want[col], errors="coerce")
        g = pd.to_numeric(got[col], errors="coerce")
        assert (w.isna() == g.isna()).all(), col
        assert ((w - g).abs()[w.notna()] < 1e-9).all(), col
    if cid == "area_confidence":
        flags = want["safe_outlier"].fillna("").replace("", None)
        assert got["safe_outlier"].tolist() == flags.tolist()
    else:
        assert got["series"].map(len).eq(want["quarters"]).all()
        assert got["quarter_to"].eq("2026Q3").all() and got["quarter_from"].eq("2026Q2").all()


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_police_rows_are_exact_and_the_public_ones_withheld_where_small(server, truth, cid):
    exact = _frame(server, "force_analyst", cid)
    public = _frame(server, "public", cid)
    withheld = 0
    for col in COUNTS[cid]:
        shown = public[col].notna()
        withheld += int((~shown).sum())
        ex = exact[col].astype("int64")
        assert (public.loc[shown, col].astype("int64") == ex[shown]).all(), col
        assert not public.loc[shown, col].astype("int64").between(1, K - 1).any(), col
    for col, needs in DERIVED[cid].items():
        hidden = public[needs].isna().any(axis=1)
        assert public.loc[hidden, col].isna().all(), col
    assert withheld > 0  # k = 10 on the small demo: something to withhold
    assert exact[list(COUNTS[cid])].notna().all().all()  # and police see it all


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_no_small_count_can_be_worked_out_from_overlapping_areas(server, truth, cid):
    """A beat (npa) and a ward: a - b = (a outside b) - (b outside a); when one part is
    empty, the published difference is the other part."""
    public = _frame(server, "public", cid)
    exact = _frame(server, "force_analyst", cid)
    checked = 0
    for col in truth["pairs"][cid].columns:
        shown = public[col].notna()
        ex = exact[col].astype("int64")
        for (a, b), both in truth["pairs"][cid][col].items():
            if not (shown[a] and shown[b]):
                continue
            checked += 1
            a_only, b_only = int(ex[a] - both), int(ex[b] - both)
            if a_only == 0:
                assert not 1 <= b_only < K, (col, a, b, b_only)
            if b_only == 0:
                assert not 1 <= a_only < K, (col, a, b, a_only)
    assert checked > 0


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_no_small_count_can_be_worked_out_from_the_public_tree(server, truth, cid):
    public = _frame(server, "public", cid)
    exact = _frame(server, "force_analyst", cid)
    tree = truth["dtree"]
    for col in COUNTS[cid]:
        shown = public[col].notna()
        ex = exact[col].astype("int64")
        for (parent, _level), kids in tree[tree["parent_id"].notna()].groupby(
                ["parent_id", "level"]):
            children = list(kids.index)
            residual = int(ex[parent] - ex[children].sum())
            unknown = [a for a in [parent, *children] if not shown[a]]
            small_residual = 1 <= residual < K
            if len(unknown) + small_residual == 1:
                worked_out = residual if small_residual else int(ex[unknown[0]])
                assert not 1 <= worked_out < K, (col, parent, unknown, worked_out)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_single_item_inside_200_outside_404(server, truth, cid, role):
    for area, inside in (("beat:DM01B01", True), ("beat:DM02B04", role not in
                                                   ("supervisor", "beat_officer"))):
        status, body = _get(server, role, f"/collections/{cid}/items/"
                                          f"{urllib.parse.quote(area, safe='')}?f=json")
        if inside:
            assert status == 200 and body["id"] == area
            assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
        else:
            assert status == 404


@pytest.mark.parametrize("cid", COLLECTIONS)
def test_level_picks_the_areas_and_a_wrong_level_is_a_clear_400(server, truth, cid):
    beats = _frame(server, "partner", cid, level="beat")
    t = truth["tree"]
    assert set(beats.index) == set(t.index[t["level"] == "beat"])
    status, body = _get(server, "partner", f"/collections/{cid}/items?level=street")
    assert status == 400
    assert "beat, ward, npa, force" in body["description"]


def test_outliers_are_those_the_cli_prints(server, truth, tmp_path):
    """The analyst's beat outliers are what ``lpt confidence --level beat --json`` flags."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(server["store"]),
                          "confidence", "--level", "beat", "--json"], capture_output=True,
                         text=True, check=True)
    cli = {a["area_id"]: (a["safe_outlier"] or None, a["confidence_outlier"] or None,
                          a["feel_safe"]) for a in json.loads(out.stdout)["areas"]}
    got = _frame(server, "force_analyst", "area_confidence", level="beat")
    for area, (safe, conf, mean) in cli.items():
        assert got.loc[area, "safe_outlier"] == safe
        assert got.loc[area, "confidence_outlier"] == conf
        assert math.isclose(got.loc[area, "feel_safe"], mean, abs_tol=1e-9)


@pytest.mark.parametrize("fmt", ["html", "csv"])
@pytest.mark.parametrize("cid", COLLECTIONS)
def test_html_and_csv_pages_of_the_collection(server, cid, fmt):
    """A browser's page and a spreadsheet's download: the public's beat rows, with their
    names."""
    import urllib.request

    url = f"{server['url']}/collections/{cid}/items?level=beat&limit=100&f={fmt}"
    with urllib.request.urlopen(url, timeout=120) as resp:
        assert resp.status == 200
        text = resp.read().decode("utf-8")
    assert "Wexcombe West 1" in text and "beat:DM01B01" in text
    if fmt == "csv":
        assert text.splitlines()[0].count(",") > 10 and len(text.splitlines()) == 9


def test_change_and_panel_are_those_the_cli_prints(server):
    """A supervisor's phone reads what ``lpt change --level beat --json`` prints: the change
    since the quarter before and the same people's change, beat by beat."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(server["store"]),
                          "change", "--level", "beat", "--no-representation", "--json"],
                         capture_output=True, text=True, check=True)
    cli = json.loads(out.stdout)
    last = cli["quarters"][-1]
    got = _frame(server, "supervisor", "area_change", level="beat")
    assert len(got) == 4  # the four beats of npa DM01
    changes = pd.DataFrame(cli["changes"])
    changes = changes[changes["quarter_to"] == last].set_index(["area_id", "measure"])
    paired = pd.DataFrame(cli["paired"]["rows"]).set_index(["area_id", "measure"])
    assert (cli["paired"]["first"], cli["paired"]["second"]) == (got["panel_first"].iloc[0],
                                                                 got["panel_second"].iloc[0])
    for area, row in got.iterrows():
        for name, measure in (("confidence", "confidence_mean"), ("feel_safe", "feel_safe_mean"),
                              ("crimes", "crimes")):
            c = changes.loc[(area, measure)]
            assert math.isclose(row[f"{name}_change"], c["change"], abs_tol=1e-9)
            assert math.isclose(row[f"{name}_change_ci_low"], c["ci_low"], abs_tol=1e-9)
        for m in ("confidence", "feel_safe"):
            p = paired.loc[(area, m)]
            assert row[f"panel_{m}_n"] == p["n"]
            if p["n"] > 1:
                assert math.isclose(row[f"panel_{m}_change"], p["mean_change"], abs_tol=1e-9)
                assert math.isclose(row[f"panel_{m}_ci_high"], p["ci_high"], abs_tol=1e-9)
