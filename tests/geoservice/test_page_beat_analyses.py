# SPDX-License-Identifier: GPL-3.0-or-later
"""The officer page's Beat tab analyses (issue 11, "every analysis in every front"), in a
real headless Chromium against a real ``lpt serve`` with the demo sign-in.

The page shows, for the beat (and for a supervisor, their npa too), what the service
returns: ``area_confidence``, ``area_change``, ``network_gaps``, ``network_groups`` and the
``priorities-by-group`` process (the values themselves are checked by hand in the core's
tests). Here every figure the page shows is compared with the service's answer to the same
user, fetched by the test: the raw value the page holds (a data attribute) equals the
collection's, and the words are that value as the page rounds it (JavaScript's
``toFixed``: half away from zero on the exact binary value). "Within noise" is said exactly
where the 95% interval holds zero. A partner (a demo user added here, k = 10) sees withheld
counts as "fewer than 10*" (the "*" note: or a figure withheld so as not to reveal one); a
beat with no row anywhere shows the empty messages; a collection that errors shows its error,
a process the service lacks "Not published", and the other sections still show.

The demo force has six months (two quarters) of surveys, so there is a change and a panel.
"""
from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "geoservice" / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e" / "beat_analyses.js"
ARTIFACTS = ROOT / "test-artifacts" / "beat-analyses"
K = 10
OFFICER, OFFICER_BEAT = "pc-dm01b01", "beat:DM01B01"
SUPERVISOR, NPA = "ps-dm01", "npa:DM01"
PARTNER = "partner-demo"
EMPTY_BEAT = "beat:DM01B03"


# ---------------------------------------------------------------- the page's rounding
def dec(v, d: int) -> str:
    """JavaScript's ``Number(v).toFixed(d)`` (no "-" on a value rounding to zero)."""
    q = Decimal(float(v)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)
    s = f"{q:.{d}f}"
    return f"{Decimal(0):.{d}f}" if Decimal(s) == 0 else s


def signed(v, d: int) -> str:
    s = dec(v, d)
    return "+" + s if Decimal(s) > 0 else s


def whole(v) -> str:
    return f"{int(Decimal(float(v)).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"


def noise(lo, hi) -> str:
    return "a real rise" if lo > 0 else "a real fall" if hi < 0 else "within noise"


def same(shown: str, value) -> bool:
    """A data attribute the page wrote (String(v), or "null") is the service's value."""
    if value is None:
        return shown == "null"
    if isinstance(value, bool):
        return shown == str(value).lower()
    return float(shown) == float(value)


# ---------------------------------------------------------------- the service
@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_builds, running_service):
    """``lpt serve`` with the demo sign-in on the demo force with two quarters of surveys,
    disclosure k = 10 and a partner demo user."""
    import yaml

    from geoservice.demo_idp import write_demo_service

    d = tmp_path_factory.mktemp("beat-analyses")
    store = demo_builds.copy(d, households=3_000, months=6)
    config = write_demo_service(d, store)
    raw = yaml.safe_load(config.read_text())
    raw["auth"]["demo_idp"]["users"].append(
        {"sub": PARTNER, "name": "Council Demo", "role": "partner", "areas": []})
    raw["disclosure"] = {"k": K}
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    with running_service(config) as (url, proc, log):
        yield {"url": url, "store": store}


class Caller:
    """The service as one demo user sees it."""

    def __init__(self, url: str, sub: str) -> None:
        self.url = url
        req = urllib.request.Request(url + "/auth/demo-login", method="POST",
                                     data=json.dumps({"sub": sub}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def _open(self, path: str, body: dict | None = None):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, headers=headers,
                                     data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST")
        with urllib.request.urlopen(req, timeout=300) as resp:
            return json.loads(resp.read())

    def rows(self, collection: str, **params) -> list[dict]:
        q = urllib.parse.urlencode({"f": "json", "limit": 5000, "skipGeometry": "true",
                                    **params})
        return [f["properties"] for f in self._open(f"/collections/{collection}/items?{q}")
                ["features"]]

    def one(self, collection: str, area_id: str) -> dict:
        rows = self.rows(collection, area_id=area_id)
        assert len(rows) == 1, (collection, area_id, rows)
        return rows[0]

    def channels(self, level: str) -> dict:
        return self._open("/processes/priorities-by-group/execution",
                          {"inputs": {"by": "channel", "level": level}})


@pytest.fixture(scope="module")
def page(server):
    """The browser run (tests/geoservice/e2e/beat_analyses.js): what the page showed (each
    test asks for ``need_browser`` first, so that this runs only with a browser)."""
    partner = Caller(server["url"], PARTNER)
    # A beat with figures the partner is not shown: the panel of people who answered twice
    # is small in every demo beat, so its n is withheld; one whose newest quarter's
    # confidence n is shown when there is one (a beat with any small quarter of answers has
    # every quarter withheld, since the all-time total is published).
    change = partner.rows("area_change", level="beat")
    withheld = [r for r in change if r["panel_confidence_n"] is None]
    beat = next((r["area_id"] for r in withheld if r["confidence_n"] is not None),
                withheld[0]["area_id"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LPT_BASE_URL=server["url"], LPT_OFFICER=OFFICER,
               LPT_SUPERVISOR=SUPERVISOR, LPT_PARTNER=PARTNER, LPT_PARTNER_BEAT=beat,
               LPT_EMPTY_BEAT=EMPTY_BEAT, LPT_SHOTS=str(ARTIFACTS),
               LPT_NODE_MODULES=str(NODE_MODULES), LPT_CHROMIUM=str(CHROMIUM))
    run = subprocess.run(["node", str(E2E)], env=env, capture_output=True, text=True,
                         timeout=900, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ok"], out.get("error_text")
    out["partner_beat"] = beat
    return out


def facts(shown: dict, section: str) -> dict[str, dict]:
    """The facts of a section by name (the last one of a name wins; see ``all_facts``)."""
    return {f["data"]["fact"]: f for f in shown[section]["facts"]}


# ---------------------------------------------------------------- what each section shows
def check_confidence(shown: dict, row: dict) -> None:
    f = facts(shown, "an-confidence")
    for m, label in (("confidence", "Confidence in the police"), ("feel_safe", "Feeling safe")):
        d = f[m]["data"]
        for attr, col in (("value", m), ("low", f"{m}_ci_low"), ("high", f"{m}_ci_high"),
                          ("n", f"{m}_n")):
            assert same(d[attr], row[col]), (m, attr, d, row)
        if row[f"{m}_n"] is None:
            assert f[m]["text"] == f"{label}: fewer than {K} answers*"
        elif row[m] is None:
            assert f[m]["text"] == f"{label}: no answers yet"
        else:
            assert f[m]["head"] == f"{label}: {dec(row[m], 2)} out of 5"
            assert f[m]["text"].endswith(
                f"95% range {dec(row[f'{m}_ci_low'], 2)} to {dec(row[f'{m}_ci_high'], 2)}"
                f" · {whole(row[f'{m}_n'])} answers")
    crime = f["crime"]
    if row["crimes"] is None:
        assert crime["text"] == f"Crime: fewer than {K}*"
    else:
        assert same(crime["data"]["value"], row["crimes"])
        assert crime["head"] == f"Crime: {whole(row['crimes'])} recorded"
        assert f"{dec(row['crime_rate'], 1)} per 1,000 households a year" in crime["text"]
    for name, z in (("safe_outlier", "safe_z"), ("confidence_outlier", "confidence_z")):
        d = f[name]["data"]
        assert same(d["flag"], row[name]) and same(d["z"], row[z])
        if row[name]:  # the outlier in plain words
            assert f[name]["head"] == row[name][0].upper() + row[name][1:] + "."
        elif row[z] is not None:
            assert "(not an outlier)" in f[name]["head"]
            assert f[name]["text"].endswith(f"z {dec(row[z], 1)}")


def check_change(shown: dict, row: dict) -> None:
    f = facts(shown, "an-change")
    q = f["quarters"]["data"]
    assert (q["from"], q["to"]) == (row["quarter_from"], row["quarter_to"])
    before = next(s for s in row["series"] if s["quarter"] == row["quarter_from"])
    labels = {"confidence": ("Confidence", 2), "feel_safe": ("Feeling safe", 2),
              "crimes": ("Crimes", 0), "members_per_100": ("Members per 100 households", 1)}
    for m, (label, d) in labels.items():
        got = f[m]
        for attr, col in (("value", m), ("change", f"{m}_change"),
                          ("low", f"{m}_change_ci_low"), ("high", f"{m}_change_ci_high")):
            assert same(got["data"][attr], row[col]), (m, attr, got["data"], row)
        assert same(got["data"]["before"], before[m])
        police = row["disclosure"] == "exact"
        now = dec(row[m], d) if row[m] is not None else \
            "none" if police else f"fewer than {K}*"
        was = f"was {dec(before[m], d)}" if before[m] is not None else \
            "none before" if police else "before: withheld*"
        assert got["head"] == f"{label}: {now} ({was})"
        c, lo, hi = (row[f"{m}_change{s}"] for s in ("", "_ci_low", "_ci_high"))
        if c is None:
            assert "Change withheld*." in got["text"] or "No change to show." in got["text"]
        else:
            assert (f"Change {signed(c, d)} (95% range {signed(lo, d)} to {signed(hi, d)}): "
                    f"{noise(lo, hi)}.") in got["text"]
        if m in ("confidence", "feel_safe", "crimes") and row[f"{m}_trend"] is not None:
            assert same(got["data"]["trend"], row[f"{m}_trend"])
            assert f"Trend {signed(row[f'{m}_trend'], d)} a quarter" in got["text"]
    for m, label in (("confidence", "Their confidence"), ("feel_safe", "Their feeling safe")):
        got = f[f"panel_{m}"]
        n, c, lo, hi = (row[f"panel_{m}_{s}"] for s in ("n", "change", "ci_low", "ci_high"))
        for attr, v in (("n", n), ("change", c), ("low", lo), ("high", hi)):
            assert same(got["data"][attr], v)
        if n is None:
            assert got["text"] == f"{label}: fewer than {K} people*"
        elif c is not None:
            assert got["head"] == f"{label}: {signed(c, 2)} from {whole(n)} people"
            assert got["text"].endswith(
                f"95% range {signed(lo, 2)} to {signed(hi, 2)}: {noise(lo, hi)}.")


def per_thousand(count, rate, label: str) -> str:
    if count is None:
        return f"fewer than {K} {label}s*"
    return (f"{whole(count)} {label}{'' if count == 1 else 's'}"
            + (f" ({dec(rate, 1)} per 1,000 households)" if rate is not None else ""))


def check_network_row(got: dict, row: dict) -> None:
    d = got["data"]
    assert d["area"] == row["area_id"]
    for attr in ("key_individual", "key_individual_per_1000", "iag", "iag_per_1000"):
        assert same(d[attr], row[attr]), (attr, d, row)
    assert same(d["gap"], row["no_key_individual"]) and same(d["below"], row["below_min"])
    if row["no_key_individual"]:
        assert "No key individual network" in got["head"] and got["gap"]
    elif row["below_min"]:
        assert "Gap:" in got["head"] and got["gap"]
    elif row["no_key_individual"] is False:
        assert "Has a key individual network." in got["head"] and not got["gap"]
    assert got["text"].endswith(
        f"{per_thousand(row['key_individual'], row['key_individual_per_1000'], 'key individual')}"
        f" · {per_thousand(row['iag'], row['iag_per_1000'], 'IAG member')}")


def check_groups(shown: dict, rows: list[dict]) -> None:
    f = facts(shown, "an-network")
    for net in ("key_individual", "iag"):
        mine = [r for r in rows if r["network"] == net]
        below = [r["group"] for r in mine if r["network_member_below"] is True]
        assert f[f"groups-{net}"]["data"]["below"] == ",".join(below)
        for r in mine:
            if r["network_member_below"] is True:
                assert r["group_name"] in f[f"groups-{net}"]["text"]


def check_channels(shown: dict, body: dict, area: str) -> None:
    items = [x for x in shown["an-channels"]["facts"] if x["data"]["fact"] == "channel"]
    people = [r for r in body["people"] if r["area_id"] == area]
    assert [x["data"]["group"] for x in items] == [r["group"] for r in people]
    names = {"door_knock": "At the door (door-knocking)",
             "staff": "By staff (street, events, paper)", "online": "Online"}
    for got, r in zip(items, people, strict=True):
        for attr in ("people", "responses", "issues"):
            assert same(got["data"][attr], r[attr])
        counts = [f"{whole(r[c])} {w}" if r[c] is not None else f"fewer than {K} {w}*"
                  for c, w in (("people", "people"), ("responses", "responses"),
                               ("issues", "issues raised"))]
        assert got["text"].startswith(names[r["group"]] + " · ".join(counts))
        pri = [p for p in body["priorities"] if p["area_id"] == area and p["group"] == r["group"]]
        top = sorted([p for p in pri if p["votes"] is not None and p["votes"] > 0],
                     key=lambda p: p["rank"])[:3]  # stable: the service's order on ties
        if any(p["enough"] for p in pri):
            assert got["data"]["top"] == ",".join(f"{p['priority']}:{p['votes']}" for p in top)
            for p in top:
                assert (f"{p['label']} {round(100 * p['share'])}% "
                        f"({round(100 * p['ci_low'])}–{round(100 * p['ci_high'])}%)") in got["text"]
        else:
            assert f"Too few answers to rank priorities (under {body['min_n']})." in got["text"]
        s = next(x for x in body["scores"] if x["area_id"] == area and x["group"] == r["group"])
        assert same(got["data"]["confidence"], s["confidence"])
        for m, label in (("confidence", "Confidence"), ("feel_safe", "Feeling safe")):
            if s[m] is not None:
                lo, hi, n = s[f"{m}_ci_low"], s[f"{m}_ci_high"], s[f"{m}_n"]
                assert (f"{label} {dec(s[m], 2)} ({dec(lo, 2)} to {dec(hi, 2)}), "
                        f"{whole(n)} answers.") in got["text"]
            elif s[f"{m}_n"] is None:
                assert f"{label}: fewer than {K} answers*." in got["text"]


def check_all(shown: dict, caller: Caller, area: str, level: str) -> None:
    assert shown["area"] == area
    for section in ("an-confidence", "an-change", "an-network", "an-channels"):
        assert shown[section]["state"] == "shown", (section, shown[section])
    check_confidence(shown, caller.one("area_confidence", area))
    check_change(shown, caller.one("area_change", area))
    gaps = caller.rows("network_gaps", **({"npa_id": area} if level == "npa" else
                                          {"area_id": area}))
    net = [x for x in shown["an-network"]["facts"] if x["data"]["fact"] == "network"]
    assert sorted(x["data"]["area"] for x in net) == sorted(r["area_id"] for r in gaps)
    by_area = {r["area_id"]: r for r in gaps}
    for got in net:
        check_network_row(got, by_area[got["data"]["area"]])
    if level == "npa":  # the beats without a network first, and counted
        flagged = [x["data"]["area"] for x in net if x["data"]["below"] == "true"]
        assert [x["data"]["area"] for x in net][:len(flagged)] == flagged
        summary = facts(shown, "an-network")["network-summary"]
        without = sum(r["no_key_individual"] is True for r in gaps)
        assert summary["text"] == f"{without} of {len(gaps)} beats have no key individual network."
    check_groups(shown, caller.rows("network_groups", by="class", area_level=level,
                                    area_id=area))
    check_channels(shown, caller.channels(level), area)


# ---------------------------------------------------------------- the tests
def test_a_beat_officer_sees_their_beats_figures_as_the_service_returns_them(need_browser, server,
                                                                            page):
    shown = page["officer"]
    assert page["foreign"] == [] and page["page_errors"] == []
    assert shown["options"] == [OFFICER_BEAT] and shown["bar_hidden"] is True
    assert shown["disclosure"] == ""  # police see exact figures
    check_all(shown, Caller(server["url"], OFFICER), OFFICER_BEAT, "beat")


def test_a_supervisor_sees_the_beat_and_their_npa(need_browser, server, page):
    sup = Caller(server["url"], SUPERVISOR)
    assert [(o["value"], o["level"]) for o in page["supervisor_options"]] == [
        (page["supervisor_beat"]["area"], "beat"), (NPA, "npa")]
    assert page["supervisor_options"][1]["text"] == "My area: Wexcombe West (DM01)"
    check_all(page["supervisor_beat"], sup, page["supervisor_beat"]["area"], "beat")
    check_all(page["supervisor_npa"], sup, NPA, "npa")


def test_a_partner_sees_withheld_figures_as_fewer_than_k(need_browser, server, page):
    shown, beat = page["partner"], page["partner_beat"]
    partner = Caller(server["url"], PARTNER)
    assert shown["streets"] == "Street scores are not shown to your role."
    assert shown["disclosure"] == (f"* Withheld from partners and the public: a count under {K},"
                                   " or a figure that would reveal one.")
    check_all(shown, partner, beat, "beat")
    # The beat was chosen for its withheld panel: it reads "fewer than 10", nothing else.
    panel = facts(shown, "an-change")["panel_confidence"]
    assert panel["data"]["withheld"] == "1" and panel["data"]["n"] == "null"
    assert panel["text"] == f"Their confidence: fewer than {K} people*"
    withheld = [x for s in ("an-confidence", "an-change", "an-network", "an-channels")
                for x in shown[s]["facts"] if x["data"].get("withheld") == "1"]
    assert withheld and all("*" in x["text"] for x in withheld)
    # No count from 1 to k-1 is on the page: every count shown is 0 or at least k.
    row = partner.one("area_change", beat)
    assert row["disclosure"] == f"k={K}"
    for x in shown["an-channels"]["facts"]:
        for c in ("people", "responses", "issues"):
            v = x["data"][c]
            assert v == "null" or int(v) == 0 or int(v) >= K


def test_a_beat_without_rows_shows_the_empty_messages_and_errors_stay_in_their_section(
        need_browser, page):
    empty = page["empty"]
    assert empty["area"] == EMPTY_BEAT
    assert {s: (empty[s]["state"], empty[s]["note"]) for s in
            ("an-confidence", "an-change", "an-network", "an-channels")} == {
        "an-confidence": ("empty", "No confidence figures for this area yet."),
        "an-change": ("empty", "No change figures for this area yet."),
        "an-network": ("empty", "No key individual network figures for this area yet."),
        "an-channels": ("empty", "No survey answers by channel for this area yet.")}
    broken = page["error"]
    assert broken["an-change"]["state"] == "error"
    assert broken["an-change"]["note"] == "Could not read these figures: the test broke it"
    assert broken["an-channels"]["state"] == "unpublished"
    assert broken["an-channels"]["note"] == "Not published by this service."
    assert broken["an-confidence"]["state"] == broken["an-network"]["state"] == "shown"
    assert (ARTIFACTS / "beat-analyses-supervisor-npa.png").stat().st_size > 5_000
