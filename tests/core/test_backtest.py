# SPDX-License-Identifier: GPL-3.0-or-later
"""The crime component's estimator (expected harm) by hand, and rolling-origin backtests on a
small synthetic store against a brute-force computation (issue 12)."""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.analytics.harm import crimes_to_harm, expected_harm
from spatial_core.errors import InputError
from spatial_core.geo.cells import cells_to_parents, points_to_cells
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.targeting.evaluation import (
    ROLLING_METHODS,
    rolling_backtest,
    rolling_summary,
    tune_crime_parameters,
    unit_months,
)
from spatial_core.targeting.profiles import Profile, load_profile, profile_from_toml
from spatial_core.targeting.scoring import prepare_inputs, score_streets

X0, Y0 = 430000.0, 433000.0


# -- the estimator by hand ------------------------------------------------------------------------

def test_expected_harm_poisson_gamma_and_mix_shrinkage_by_hand():
    # Four streets, one month: 4 burglaries (40 days each), none, 2 robberies (365), none.
    # Streets 0-1 are beat 0, streets 2-3 beat 1.
    n = [4, 0, 2, 0]
    h = [160, 0, 730, 0]
    e = expected_harm(n, h, [1.0], group=[0, 0, 1, 1], prior_crimes=2)
    # Rates: mean m = 1.5, variance v = (16 + 4) / 4 - 1.5 ** 2 = 2.75, beyond chance
    # t = 2.75 - 1.5 = 1.25; prior b = m / t = 1.2, a = m b = 1.8; posterior (a + n) / (b + 1).
    assert (e.prior_shape, e.prior_rate) == pytest.approx((1.8, 1.2))
    assert e.rate.tolist() == pytest.approx([5.8 / 2.2, 1.8 / 2.2, 3.8 / 2.2, 1.8 / 2.2])
    # Harm per crime: beat 0's mix is 160 / 4 = 40 days, beat 1's 730 / 2 = 365; k = 2 crimes.
    assert e.harm_per_crime.tolist() == pytest.approx(
        [(160 + 2 * 40) / 6, (0 + 2 * 40) / 2, (730 + 2 * 365) / 4, 365.0])
    assert e.harm.tolist() == pytest.approx((e.rate * e.harm_per_crime).tolist())
    # Smoothing: half of street 0's rate from its one neighbour, street 1 (and back).
    s = expected_harm(n, h, [1.0], group=[0, 0, 1, 1], prior_crimes=2, smoothing=0.5,
                      neighbours=([0, 1], [1, 0]))
    assert s.rate.tolist() == pytest.approx([3.8 / 2.2, 3.8 / 2.2, 3.8 / 2.2, 1.8 / 2.2])


def test_expected_harm_extremes_and_month_weights():
    n = np.array([3.0, 1.0, 0.0, 8.0])
    h = np.array([30.0, 365.0, 0.0, 80.0])
    # k = 0: the street's own harm per crime; k = inf: the area's (475 / 12) for every street.
    assert expected_harm(n, h, [1.0], prior_crimes=0).harm_per_crime[:2].tolist() == [10, 365]
    assert expected_harm(n, h, [1.0], prior_crimes=math.inf).harm_per_crime.tolist() == (
        pytest.approx([475 / 12] * 4))
    # Two months weighted 1 and 1 are two months: the same as counts over two plain months.
    two = expected_harm(n, h, [1.0, 1.0])
    r, m = n / 2, n.mean() / 2
    t = r.var() - m / 2
    b = m / t
    assert two.rate.tolist() == pytest.approx(((m * b + r * 2) / (b + 2)).tolist())
    # The rate's weights scale away: halving every month's weight and the counts gives the
    # same rates (prior_crimes is in weighted crimes, so the harm mix's shrinkage does not).
    assert expected_harm(n / 2, h / 2, [0.5, 0.5]).rate.tolist() == pytest.approx(
        two.rate.tolist())
    with pytest.raises(InputError, match="month_weights"):
        expected_harm(n, h, [0.0])
    with pytest.raises(InputError, match="smoothing"):
        expected_harm(n, h, [1.0], smoothing=2)


# -- a synthetic store -------------------------------------------------------------------------

MONTHS = [f"2024-{m:02d}" for m in range(1, 9)]
N_STREETS = 30
CATEGORIES = ["Burglary", "Anti-social behaviour", "Robbery", "Vehicle crime"]


def _synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 parallel 100 m streets 100 m apart in two beats; crimes over 8 months, each 5 m
    from its street (street = round(dy / 100)), the rates varying by street."""
    rng = np.random.default_rng(12)
    ids = [f"s{i:02d}" for i in range(N_STREETS)]
    streets = pd.DataFrame({
        "street_id": ids, "name": ids, "beat_id": ["beat:A"] * 15 + ["beat:B"] * 15,
        "ward_id": "ward:W", "length_m": 100.0, "households": 10,
        "geom": [shapely.multilinestrings([[(X0, Y0 + 100 * i), (X0 + 100, Y0 + 100 * i)]])
                 for i in range(N_STREETS)]})
    rate = rng.gamma(0.8, 2.0, N_STREETS)
    rows = []
    for month in MONTHS:
        for s in range(N_STREETS):
            for _ in range(rng.poisson(rate[s])):
                rows.append((month, CATEGORIES[rng.choice(4, p=[0.3, 0.5, 0.05, 0.15])],
                             X0 + rng.uniform(5, 95), Y0 + 100 * s + 5.0))
    cr = pd.DataFrame(rows, columns=["month", "category", "x", "y"])
    lng, lat = bng_to_lnglat(cr["x"].to_numpy(), cr["y"].to_numpy())
    cr = cr.assign(crime_key=[f"k{i}" for i in range(len(cr))], lat=lat, lng=lng,
                   cell=points_to_cells(lat, lng, 10).astype("int64"),
                   is_outlier=0, geom=shapely.points(cr["x"], cr["y"]))
    return streets, cr


@pytest.fixture
def synthetic(gpkg_store):
    streets, crimes = _synthetic()
    areas = pd.DataFrame({"area_id": ["beat:A", "beat:B"], "level": "beat",
                          "code": ["A", "B"], "boundary_set": "default"})
    with gpkg_store.begin() as conn:
        gpkg_store.insert_new(conn, "streets", streets)
        gpkg_store.insert_new(conn, "crimes", crimes)
        gpkg_store.insert_new(conn, "areas", areas)
    return gpkg_store, crimes


def _brute_hits(values: dict[str, float], test_harm: dict[str, float],
                test_crimes: dict[str, float], k: int) -> tuple[float, float, float]:
    """(harm, crimes) captured by the top k averaged over every choice of the streets tied at
    the cut (each choice as likely), and the harm captured with ties broken by id."""
    ranked = sorted(values, key=lambda sid: (-values[sid], sid))
    cut = values[ranked[k - 1]]
    above = [s for s in ranked if values[s] > cut]
    tied = [s for s in ranked if values[s] == cut]
    choices = list(itertools.combinations(tied, k - len(above)))
    assert len(choices) < 200_000

    def share(test, chosen):
        return sum(test.get(s, 0.0) for s in [*above, *chosen]) / sum(test.values())

    return (sum(share(test_harm, c) for c in choices) / len(choices),
            sum(share(test_crimes, c) for c in choices) / len(choices),
            share(test_harm, ranked[len(above):k]))


def test_rolling_backtest_origins_and_hit_rates_match_brute_force(synthetic):
    store, crimes = synthetic
    data = unit_months(store)
    assert data.months == tuple(MONTHS)
    assert data.units.tolist() == [f"s{i:02d}" for i in range(N_STREETS)]
    profile = load_profile("default")
    rows = rolling_backtest(data, min_history=3, horizon=2, top=0.1, profile=profile)
    # Origins: every month with 3 months up to it and 2 after it.
    assert sorted(set(rows["origin"])) == MONTHS[2:6]
    assert rows.groupby("origin")["method"].apply(tuple).tolist() == [ROLLING_METHODS] * 4
    k = math.ceil(0.1 * N_STREETS)
    assert set(rows["selected"]) == {k}

    street = [f"s{int(round((y - Y0) / 100)):02d}" for y in crimes["y"]]
    harm = crimes_to_harm(crimes["category"])
    ids = [f"s{i:02d}" for i in range(N_STREETS)]
    for origin in MONTHS[2:6]:
        t = MONTHS.index(origin)
        train, test = set(MONTHS[:t + 1]), set(MONTHS[t + 1:t + 3])
        count = dict.fromkeys(ids, 0.0)
        prior = dict.fromkeys(ids, 0.0)
        test_h: dict[str, float] = {}
        test_c: dict[str, float] = {}
        for s, m, w in zip(street, crimes["month"], harm, strict=True):
            if m in train:
                count[s] += 1
                prior[s] += w
            elif m in test:
                test_h[s] = test_h.get(s, 0.0) + w
                test_c[s] = test_c.get(s, 0.0) + 1
        # The score: lpt score's crime component (in total per street) as of the origin's
        # last day, from the scoring module itself.
        day = pd.Period(origin, freq="M").end_time.date().isoformat()
        scored = score_streets(prepare_inputs(store, as_of=day),
                               replace(profile, normalisation="total"))
        score = dict(zip(scored["street_id"], scored["harm_raw"], strict=True))
        got = rows[rows["origin"] == origin].set_index("method")
        for method, values in (("count", count), ("harm", prior), ("score", score),
                               ("oracle", {s: test_h.get(s, 0.0) for s in ids})):
            hit, hit_c, by_id = _brute_hits(values, test_h, test_c, k)
            assert got.loc[method, "hit_rate"] == pytest.approx(hit), (origin, method)
            assert got.loc[method, "hit_rate_crimes"] == pytest.approx(hit_c), (origin, method)
            assert got.loc[method, "hit_rate_by_id"] == pytest.approx(by_id), (origin, method)
            assert got.loc[method, "pai"] == pytest.approx(hit / (k / N_STREETS))
        assert got.loc["oracle", "hit_rate"] >= got[["hit_rate"]].max().item() - 1e-12

    summary = rolling_summary(rows).set_index("method")
    for method in ROLLING_METHODS:
        hits = rows.loc[rows["method"] == method, "hit_rate"].to_numpy()
        assert summary.loc[method, "hit_rate"] == pytest.approx(hits.mean())
        assert summary.loc[method, "hit_rate_sd"] == pytest.approx(hits.std(ddof=1))
        pai = rows.loc[rows["method"] == method, "pai"].to_numpy()
        assert summary.loc[method, "pai_sd"] == pytest.approx(pai.std(ddof=1))
    count_hits = rows.loc[rows["method"] == "count", "hit_rate"].to_numpy()
    score_hits = rows.loc[rows["method"] == "score", "hit_rate"].to_numpy()
    assert summary.loc["score", "beats_count"] == int((score_hits > count_hits).sum())


def test_rolling_backtest_on_cells_and_the_origin_rules(synthetic):
    store, crimes = synthetic
    for res in (10, 9):
        data = unit_months(store, units="cells", resolution=res)
        cell = crimes["cell"].to_numpy().astype("uint64")
        cell = cell if res == 10 else cells_to_parents(cell, res)
        assert data.units.tolist() == sorted(set(cell.tolist()))
        held = set(data.units.tolist())
        for i, c in enumerate(data.units.tolist()):  # ring-1 neighbours among the units
            ring = {h3.str_to_int(x) for x in h3.grid_ring(h3.int_to_str(c), 1)}
            assert set(data.units[data.neighbour_j[data.neighbour_i == i]].tolist()) == (
                ring & held)
        frame = pd.DataFrame({"cell": cell, "month": crimes["month"],
                              "harm": crimes_to_harm(crimes["category"])})
        rows = rolling_backtest(data, min_history=6, top=0.2)
        k = math.ceil(0.2 * len(data.units))
        for origin in ("2024-06", "2024-07"):
            train = frame[frame["month"] <= origin].groupby("cell")["harm"].size()
            train = train.reindex(data.units).fillna(0)
            nxt = MONTHS[MONTHS.index(origin) + 1]
            test = frame[frame["month"] == nxt].groupby("cell")["harm"].sum()
            test = test.reindex(data.units).fillna(0)
            # Count ranking, ties by cell: brute force with a stable sort on -count.
            pick = sorted(range(len(data.units)), key=lambda i: (-train.iloc[i], i))[:k]
            got = rows[(rows["origin"] == origin) & (rows["method"] == "count")]
            assert got["hit_rate"].item() == pytest.approx(test.iloc[pick].sum() / test.sum())
            assert got["pai"].item() == pytest.approx(
                got["hit_rate"].item() / (k / len(data.units)))
    with pytest.raises(InputError, match="finer"):
        unit_months(store, units="cells", resolution=11)
    with pytest.raises(InputError, match="cannot be tested"):
        rolling_backtest(unit_months(store), origins=["2024-08"])
    with pytest.raises(InputError, match="units"):
        unit_months(store, units="hexagons")


def test_rolling_backtest_on_police_uk_locations(gpkg_store):
    """units="locations": one unit per LSOA and police.uk location text, crimes summed per
    month as a groupby gives them, neighbours the locations within 100 m (brute force)."""
    _, crimes = _synthetic()
    street = np.round((crimes["y"].to_numpy() - Y0) / 100).astype(int)
    # Two LSOAs; "On or near Street 7" in both LSOAs is two places; 3 crimes have no name.
    crimes = crimes.assign(location=[f"On or near Street {s % 12}" for s in street],
                           lsoa_code=np.where(street < 15, "E01000001", "E01000002"))
    crimes.loc[crimes.index[:3], "location"] = None
    with gpkg_store.begin() as conn:
        gpkg_store.insert_new(conn, "crimes", crimes)
    data = unit_months(gpkg_store, units="locations")
    key = (crimes["lsoa_code"] + " | " + crimes["location"].fillna("")).to_numpy()
    assert data.kind == "locations" and data.units.tolist() == sorted(set(key))
    by_hand = (pd.DataFrame({"u": key, "m": crimes["month"], "h": crimes_to_harm(
        crimes["category"])}).groupby(["u", "m"])["h"].agg(["size", "sum"]))
    u = pd.Index(data.units).get_indexer(by_hand.index.get_level_values(0))
    m = pd.Index(data.months).get_indexer(by_hand.index.get_level_values(1))
    assert np.array_equal(data.crimes[u, m], by_hand["size"].to_numpy())
    assert data.crimes.sum() == len(crimes)
    assert np.allclose(data.harm[u, m], by_hand["sum"].to_numpy())
    at = (pd.DataFrame({"u": key, "x": crimes["x"], "y": crimes["y"]}).groupby("u")[["x", "y"]]
          .median().reindex(data.units))
    dist = np.hypot(at["x"].to_numpy()[:, None] - at["x"].to_numpy()[None, :],
                    at["y"].to_numpy()[:, None] - at["y"].to_numpy()[None, :])
    near = {(i, j) for i, j in zip(*np.nonzero(dist <= 100.0), strict=True) if i != j}
    assert set(zip(data.neighbour_i.tolist(), data.neighbour_j.tolist(), strict=True)) == near
    assert near  # the test has neighbours to check
    rows = rolling_backtest(data, min_history=6, top=0.2)
    assert set(rows["units"]) == {len(data.units)}
    assert rows.groupby("origin")["method"].apply(tuple).tolist() == [ROLLING_METHODS] * 2
    assert rows["area_share"].tolist() == pytest.approx(
        [math.ceil(0.2 * len(data.units)) / len(data.units)] * len(rows))


def test_tuning_picks_the_best_mean_hit_rate_and_writes_a_profile(synthetic, tmp_path):
    store, _ = synthetic
    data = unit_months(store)
    grid = {"half_life_days": (30.0, 365.0), "prior_crimes": (0.0, math.inf),
            "smoothing": (0.0,)}
    tuned, table = tune_crime_parameters(data, grid=grid, min_history=3, top=0.1)
    assert len(table) == 4
    assert table["hit_rate"].is_monotonic_decreasing
    best = table.iloc[0]
    assert (tuned.half_life_days, tuned.prior_crimes) == (best["half_life_days"],
                                                          best["prior_crimes"])
    assert tuned.name == "default-tuned"
    assert tune_crime_parameters(data, profile=tuned, grid=grid, min_history=3,
                                 top=0.1)[0].name == "default-tuned"
    assert tuned.description.endswith(
        f"tuned by rolling backtest on 5 origins 2024-03..2024-07, street units, top 0.1: "
        f"mean hit rate {best['hit_rate']:.4f} (in-sample).")
    # Each row's hit rate is what a rolling backtest with those parameters gives.
    for row in table.itertuples():
        prof = replace(load_profile("default"), half_life_days=row.half_life_days,
                       prior_crimes=row.prior_crimes, lookback_days=row.lookback_days)
        rows = rolling_backtest(data, min_history=3, top=0.1, profile=prof)
        assert rows.loc[rows["method"] == "score", "hit_rate"].mean() == pytest.approx(
            row.hit_rate)

    from lpt_cli.main import main

    out = tmp_path / "tuned.toml"
    assert main(["--store", str(store.location), "evaluate", "--tune", "--min-history", "3",
                 "--top", "0.1", "--write-profile", str(out), "--json"]) == 0
    written = profile_from_toml(out.read_text("utf-8"))
    assert isinstance(written, Profile) and written.harm_model == "expected"


def test_cli_rolling_json(synthetic, capsys):
    from lpt_cli.main import main

    store, _ = synthetic
    assert main(["--store", str(store.location), "evaluate", "--rolling", "--min-history", "4",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in out["summary"]] == list(ROLLING_METHODS)
    assert sorted({r["origin"] for r in out["origins"]}) == MONTHS[3:7]
    assert out["crime_parameters"]["half_life_days"] == load_profile().half_life_days


def test_crime_backtest_use_case_is_the_rolling_backtest(synthetic):
    from spatial_core.api.backtest import crime_backtest

    store, _ = synthetic
    b = crime_backtest(store, min_history=4, lead=2, origins=["2024-04..2024-06"])
    rows = rolling_backtest(unit_months(store), min_history=4, lead=2,
                            origins=["2024-04", "2024-05", "2024-06"])
    pd.testing.assert_frame_equal(b.rows, rows)
    pd.testing.assert_frame_equal(b.summary, rolling_summary(rows))
    assert (b.units, b.unit_count, b.where, b.tuned, b.tuning) == (
        "streets", N_STREETS, "street units", False, None)
    tuned = crime_backtest(store, min_history=4, tune=True,
                           grid={"half_life_days": [30.0, 365.0], "smoothing": [0.0, 0.2]})
    assert len(tuned.tuning) == 4 and tuned.tuned
    assert tuned.profile.half_life_days == tuned.tuning.iloc[0]["half_life_days"]
    assert tuned.to_dict()["tuning"][0]["hit_rate"] == pytest.approx(
        tuned.summary.set_index("method").loc["score", "hit_rate"])
    with pytest.raises(InputError, match="unknown units 'hexagons'"):
        crime_backtest(store, units="hexagons")


def test_smoothing_and_the_beat_mix_agree_between_lpt_score_and_the_backtest(gpkg_store):
    """A spine street touching the left end of all 30 streets: each street's only neighbour
    is the spine, the spine's are all 30. With smoothing and the beat's mix, the rolling
    backtest's crime component equals lpt score's harm_raw (in total per street)."""
    from spatial_core.targeting.evaluation import crime_component

    streets, crimes = _synthetic()
    spine = pd.DataFrame({"street_id": ["spine"], "name": ["Spine"], "beat_id": ["beat:A"],
                          "ward_id": "ward:W", "length_m": 100.0 * (N_STREETS - 1),
                          "households": 10,
                          "geom": [shapely.multilinestrings(
                              [[(X0, Y0), (X0, Y0 + 100 * (N_STREETS - 1))]])]})
    with gpkg_store.begin() as conn:
        gpkg_store.insert_new(conn, "streets", pd.concat([streets, spine], ignore_index=True))
        gpkg_store.insert_new(conn, "crimes", crimes)
    data = unit_months(gpkg_store)
    s = data.units.tolist().index("spine")
    assert sorted(data.neighbour_j[data.neighbour_i == s].tolist()) == [
        i for i in range(N_STREETS + 1) if i != s]
    assert data.neighbour_j[data.neighbour_i == 0].tolist() == [s]
    profile = replace(load_profile("default"), smoothing=0.5, mix_within="beat",
                      prior_crimes=10.0, normalisation="total")
    for origin in ("2024-03", "2024-06"):
        day = pd.Period(origin, freq="M").end_time.date().isoformat()
        inputs = prepare_inputs(gpkg_store, as_of=day)
        pairs = sorted(zip(inputs.neighbour_i.tolist(), inputs.neighbour_j.tolist(),
                           strict=True))
        assert pairs == sorted(zip(data.neighbour_i.tolist(), data.neighbour_j.tolist(),
                                   strict=True))
        scored = score_streets(inputs, profile).set_index("street_id")["harm_raw"]
        got = crime_component(data, origin, profile)
        assert got.tolist() == pytest.approx(scored.reindex(data.units).tolist())
        plain = crime_component(data, origin, replace(profile, smoothing=0.0))
        assert not np.allclose(got, plain)  # the smoothing does something
        # The reasons say where the smoothed part comes from: the spine has no crime of its
        # own, and all the crimes so far are on the 30 streets it touches.
        reasons = score_streets(inputs, profile).set_index("street_id")["reasons"]
        so_far = int((crimes["month"] <= origin).sum())
        assert reasons["spine"].startswith(
            f"no crime recorded here; {so_far} crimes on the streets it touches (smoothing)")
        assert "touches" not in reasons["s00"]  # its only neighbour, the spine, has none
        plain_reasons = score_streets(inputs, replace(profile, smoothing=0.0)).set_index(
            "street_id")["reasons"]
        assert "crime" not in plain_reasons["spine"]


def test_rolling_backtest_lead_and_history_by_hand():
    """Four months, three cells. ``history=(2, 0)``: the rankings see only the origin and the
    month two before it; ``lead=2``: the test month is two after the origin."""
    from spatial_core.targeting.evaluation import UnitMonths, crime_component

    crimes = np.array([[9.0, 0, 1, 0, 5],    # cell 1: 9 in the first month, 1 in the third
                       [0, 6, 2, 1, 0],      # cell 2: its 6 are in the month history skips
                       [2, 0, 4, 3, 1]])     # cell 3
    months = ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05")
    data = UnitMonths(kind="cells", units=np.array([1, 2, 3], dtype="uint64"), months=months,
                      crimes=crimes, harm=10 * crimes, group=np.zeros(3, dtype="int64"),
                      length=np.ones(3), neighbour_i=np.zeros(0, dtype="int64"),
                      neighbour_j=np.zeros(0, dtype="int64"))
    rows = rolling_backtest(data, history=[2, 0], lead=2, min_history=1, top=0.3)
    # Origins need two months before them and a month two after them: 2024-03 only.
    assert rows["origin"].unique().tolist() == ["2024-03"]
    got = rows.set_index("method")
    assert got.loc["count", "test_months"] == "2024-05..2024-05"
    # Counts seen: cell 1 9 + 1 = 10, cell 2 0 + 2 = 2, cell 3 2 + 4 = 6: cell 1 is the top
    # one, and holds 5 of May's 6 crimes. (With every month: 10, 8, 6, the same top cell.)
    assert got.loc["count", "hit_rate_crimes"] == pytest.approx(5 / 6)
    assert got.loc["oracle", "hit_rate"] == pytest.approx(5 / 6)
    # The score is the crime component of a store holding only January and March.
    seen = replace(data, months=("2024-01", "2024-03"), crimes=crimes[:, [0, 2]],
                   harm=10 * crimes[:, [0, 2]])
    profile = load_profile("default")
    top_cell = int(np.argmax(crime_component(seen, "2024-03", profile)))
    assert got.loc["score", "hit_rate_crimes"] == pytest.approx(crimes[top_cell, 4] / 6)
    # Without history the ranking sees February too; lead 1 tests April.
    plain = rolling_backtest(data, min_history=3, top=0.3).set_index(["origin", "method"])
    assert plain.loc[("2024-03", "count"), "test_months"] == "2024-04..2024-04"
    assert plain.loc[("2024-03", "count"), "hit_rate_crimes"] == pytest.approx(0 / 4)
    with pytest.raises(InputError, match="history"):
        rolling_backtest(data, history=[2], min_history=1)
    with pytest.raises(InputError, match="cannot be tested"):
        rolling_backtest(data, origins=["2024-02"], history=[2, 0], min_history=1)
    with pytest.raises(InputError, match="lead"):
        rolling_backtest(data, lead=0)
