# SPDX-License-Identifier: GPL-3.0-or-later
"""Re-scoring every street of a one-force demo with new weights, against a geopandas baseline.

``spatial_core.targeting.scoring`` does the spatial work once (``prepare_inputs``) and re-weights in
numpy (``score_streets``). The baseline is what an analyst would write in geopandas and
re-run whenever the weights change: buffer every street (50 m for crime and households,
250 m for survey respondents), ``sjoin`` the points, ``groupby`` the street, weigh, scale
within the beat and rank. Both start from frames already in memory (reading the store is
timed separately, once).

    .venv/bin/python benchmarks/bench_scoring.py                     # builds a 450k demo
    .venv/bin/python benchmarks/bench_scoring.py --store demo.gpkg --json out/bench_scoring.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatial_core import open_store  # noqa: E402
from spatial_core.analytics.harm import CATEGORY_NAMES, category_weights  # noqa: E402
from spatial_core.targeting.profiles import load_profile  # noqa: E402
from spatial_core.targeting.scoring import prepare_inputs, score_streets  # noqa: E402

NEW_WEIGHTS = [
    {"harm": 2.0, "voice": 0.25, "representation": 0.5, "coverage": 0.25, "fatigue": 1.0},
    {"harm": 0.5, "voice": 1.0, "representation": 1.0, "coverage": 0.75, "fatigue": 0.5},
    {"harm": 1.0, "voice": 0.0, "representation": 2.0, "coverage": 1.0, "fatigue": 0.25},
]


def _timed(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _baseline_frames(store, as_of: str, scheme: str, level: int) -> dict:
    """The frames an analyst would hold in memory (read once, not timed in the baseline)."""
    import geopandas as gpd

    from spatial_core.analytics.population import households

    streets = store.read("streets", ["street_id", "beat_id", "households", "length_m", "geom"])
    cr = store.read("crimes", ["month", "category", "x", "y", "is_outlier"])
    cr = cr[cr["x"].notna() & (cr["is_outlier"] == 0) & (cr["month"] <= as_of[:7])]
    crimes = gpd.GeoDataFrame(cr, geometry=gpd.points_from_xy(cr["x"], cr["y"]), crs=27700)
    sv = store.read("surveys", ["response_id", "responded", "x", "y", "confidence", "feel_safe"])
    sv = sv[sv["x"].notna() & (sv["responded"] <= as_of)]
    pri = store.read("survey_priorities", ["response_id", "priority"])
    flags = pd.crosstab(pri["response_id"], pri["priority"]).clip(upper=1)
    sv = sv.join(flags, on="response_id").fillna({c: 0 for c in flags.columns})
    resp = gpd.GeoDataFrame(sv, geometry=gpd.points_from_xy(sv["x"], sv["y"]), crs=27700)
    hh = households(store, scheme=scheme, level=level, as_of=as_of)
    visits = store.read("visits", ["uprn", "visited_at"])
    hh["visited"] = hh["uprn"].isin(set(visits.loc[visits["visited_at"] <= as_of, "uprn"]))
    homes = gpd.GeoDataFrame(hh[["uprn", "group", "members", "visited"]],
                             geometry=gpd.points_from_xy(hh["x"], hh["y"]), crs=27700)
    return {"streets": streets, "crimes": crimes, "respondents": resp, "homes": homes,
            "priorities": list(flags.columns), "visits": visits}


def _baseline_score(f: dict, weights: dict, as_of: str, profile) -> pd.DataFrame:
    """Buffer, sjoin, groupby, weigh: the straightforward geopandas way, from scratch."""
    import geopandas as gpd

    streets = f["streets"]
    day = pd.Timestamp(as_of)
    near = gpd.GeoDataFrame(streets[["street_id"]], geometry=streets.geometry.buffer(
        profile.crime_distance_m), crs=27700)
    j = gpd.sjoin(f["crimes"], near, predicate="within")
    age = (day - pd.to_datetime(j["month"] + "-15")).dt.days.clip(lower=0)
    w = dict(zip(CATEGORY_NAMES, category_weights(profile.harm_overrides), strict=True))
    j["harm"] = j["category"].map(w) * 0.5 ** (age / profile.half_life_days)
    j = j[age <= profile.lookback_days]
    harm = j.groupby("street_id")["harm"].sum()
    wide = gpd.GeoDataFrame(streets[["street_id"]], geometry=streets.geometry.buffer(
        profile.voice_radius_m), crs=27700)
    r = gpd.sjoin(f["respondents"], wide, predicate="within")
    r["low_conf"] = r["confidence"] <= 2
    r["low_safe"] = r["feel_safe"] <= 2
    g = r.groupby("street_id")
    n = g.size()
    votes = g[f["priorities"]].sum()
    top = votes.max(axis=1) / n
    voice = (top + 0.5 * g["low_conf"].mean() + 0.5 * g["low_safe"].mean()) / 2
    voice[n < profile.voice_min_n] = 0.0
    h = gpd.sjoin(f["homes"], near, predicate="within")
    counts = h.groupby("group")["uprn"].count()
    mem = h.groupby("group")["members"].sum()
    ratio = (mem / mem.sum()) / (counts / counts.sum())
    target = set(ratio[ratio < profile.representation_target].index)
    rep = h[h["group"].isin(target) & (h["members"] == 0)].groupby("street_id").size()
    cov = h[~h["visited"] & (h["members"] == 0)].groupby("street_id").size()
    out = pd.DataFrame({"street_id": streets["street_id"], "beat_id": streets["beat_id"]})
    out["households"] = np.maximum(streets["households"].to_numpy(), profile.min_households)
    out["harm"] = out["street_id"].map(harm).fillna(0) / out["households"]
    out["voice"] = out["street_id"].map(voice).fillna(0)
    out["representation"] = out["street_id"].map(rep).fillna(0)
    out["coverage"] = out["street_id"].map(cov).fillna(0)
    beat = out["beat_id"].fillna("")
    for c in ("harm", "voice", "representation", "coverage"):
        mx = out.groupby(beat)[c].transform("max")
        out[c] = (out[c] / mx.where(mx > 0)).fillna(0)
    out["score"] = sum(weights[c] * out[c] for c in ("harm", "voice", "representation",
                                                     "coverage"))
    out["rank_in_beat"] = out.groupby(beat)["score"].rank(ascending=False, method="first")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="an existing store (default: build a demo force)")
    ap.add_argument("--households", type=int, default=450_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the fast paths")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    if args.store:
        location = args.store
    else:
        from spatial_core.demo import build_demo

        out = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
        location = str(out / "demo.gpkg")
        t = time.perf_counter()
        build_demo(open_store(location), out / "files", households=args.households)
        print(f"demo built in {time.perf_counter() - t:.1f} s: {location}")
    store = open_store(location, create=False)
    profile = load_profile("default")
    t = time.perf_counter()
    inputs = prepare_inputs(store, scheme=profile.scheme, level=profile.level)
    prepare = time.perf_counter() - t
    t = time.perf_counter()
    score_streets(inputs, profile)
    first = time.perf_counter() - t
    times = []
    for weights in NEW_WEIGHTS:
        sec, scores = _timed(lambda w=weights: score_streets(inputs, profile.with_weights(**w)),
                             args.repeat)
        times.append(sec)
    new_settings = profile.__class__(**{**{f: getattr(profile, f) for f in (
        "name", "weights", "voice_min_n", "normalisation")}, "half_life_days": 60.0})
    recompute, _ = _timed(lambda: score_streets(inputs, new_settings), 1)

    t = time.perf_counter()
    frames = _baseline_frames(store, inputs.as_of, profile.scheme, profile.level)
    baseline_read = time.perf_counter() - t
    t = time.perf_counter()
    base = _baseline_score(frames, NEW_WEIGHTS[0], inputs.as_of, profile)
    baseline = time.perf_counter() - t
    store.close()

    mine = score_streets(inputs, profile.with_weights(**NEW_WEIGHTS[0]))
    merged = mine.merge(base[["street_id", "score"]], on="street_id", suffixes=("", "_base"))
    agreement = float(merged["score"].corr(merged["score_base"], method="spearman"))
    reweight = max(times)
    result = {
        "store": location, "streets": inputs.n_streets,
        "households": int(inputs.streets["households"].sum()),
        "crimes": int(len(inputs.crime_street)), "respondent_pairs": int(len(inputs.pair_street)),
        "prepare_inputs_s": round(prepare, 3), "first_score_s": round(first, 3),
        "reweight_s": [round(x, 3) for x in times], "reweight_worst_s": round(reweight, 3),
        "new_harm_settings_s": round(recompute, 3),
        "baseline_read_s": round(baseline_read, 3), "baseline_s": round(baseline, 3),
        "ratio_baseline_over_reweight": round(baseline / reweight, 1),
        "ratio_baseline_over_first_score": round(baseline / first, 1),
        "spearman_scores_vs_baseline": round(agreement, 3),
    }
    print(f"{result['streets']:,} streets, {result['households']:,} households, "
          f"{result['crimes']:,} crimes, {result['respondent_pairs']:,} respondent-street pairs")
    print(f"  prepare_inputs (once)                  {prepare:8.2f} s")
    print(f"  score_streets, first call              {first:8.3f} s")
    print(f"  score_streets, new weights (worst of {len(times)}) {reweight:8.3f} s")
    print(f"  score_streets, new harm half-life      {recompute:8.3f} s")
    print(f"  geopandas baseline, reading (once)     {baseline_read:8.2f} s")
    print(f"  geopandas baseline, per weight change  {baseline:8.2f} s")
    print(f"  ratio baseline / re-weighting          {baseline / reweight:8.1f} x")
    print(f"  Spearman correlation of the two scores {agreement:8.3f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
