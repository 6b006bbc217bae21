#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build a store from the real Leeds data and write ``docs/leeds-evaluation.md``: how
concentrated crime harm is on Leeds city-centre streets in July 2016 and July 2017, how
much of July 2017's harm the streets ranked by July 2016's harm captured, and how the default
score's crime component compares with counting (issue 12), on 2016-07 -> 2017-07 and on
2016-07 + 2017-07 -> February 2025 (the Leeds-only police.uk file).

Run from the repository root::

    .venv/bin/python scripts/leeds_evaluation.py

Options: ``--real`` (the real data folder, default ``../shared/data/real``), ``--store``
(default ``build/leeds-evaluation.gpkg``, rebuilt from scratch every run), ``--out``
(default ``docs/leeds-evaluation.md``), ``--max-distance`` (metres from a street unit,
default 50). The store is a build product: never commit it.
"""
from __future__ import annotations

import argparse
import logging
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from spatial_core import open_store  # noqa: E402
from spatial_core.analytics.harm import recency_weights  # noqa: E402
from spatial_core.analytics.hotspots import find_hotspots  # noqa: E402
from spatial_core.io.boundaries import import_boundaries  # noqa: E402
from spatial_core.io.classification import import_classification  # noqa: E402
from spatial_core.io.crimes import import_crimes  # noqa: E402
from spatial_core.io.postcodes import import_postcodes  # noqa: E402
from spatial_core.io.streets import import_streets  # noqa: E402
from spatial_core.targeting.evaluation import (  # noqa: E402
    DEFAULT_FRACTIONS,
    backtest,
    concentration,
    street_harm,
)
from spatial_core.targeting.profiles import load_profile  # noqa: E402

log = logging.getLogger("leeds_evaluation")

TRAIN, TEST = "2016-07", "2017-07"
LATER = "2025-02"  # crimedataleeds_2025-02.csv: Leeds only, months written "Feb-25"


def build_store(real: Path, location: Path) -> tuple[object, list[tuple[str, str, float]]]:
    """A fresh store holding the Leeds layers; returns it and (step, summary, seconds)."""
    if location.exists():
        location.unlink()
    store = open_store(location)
    leeds = real / "leeds"
    wards = leeds / "boundaries" / "leeds_wards_2017.geojson"
    oas = leeds / "geodemographics" / "leeds_oa_oac2011.geojson"
    steps = [
        # No police beat boundaries are published for Leeds: the 33 wards stand in for beats,
        # and are stored as wards as well, so both beat_id and ward_id are filled.
        ("wards as beats", lambda: import_boundaries(store, [wards], crs=27700, level="beat",
                                                     id_field="wd17cd", name_field="wd17nm")),
        ("wards", lambda: import_boundaries(store, [wards], crs=27700, level="ward",
                                            id_field="wd17cd", name_field="wd17nm")),
        ("output areas", lambda: import_boundaries(store, [oas], crs=27700, level="oa",
                                                   id_field="oa_code")),
        ("OAC 2011", lambda: import_classification(store, [oas], crs=27700, scheme="oac2011")),
        ("postcodes", lambda: import_postcodes(store, [leeds / "postcodes" /
                                                       "codepoint_open_2014_ls.csv"])),
        ("streets", lambda: import_streets(store, [leeds / "streets" /
                                                   "leeds_central_osm_2022.gpkg"])),
        ("crimes", lambda: import_crimes(store, [leeds / "crime" / f"{m}-west-yorkshire-street.csv"
                                                 for m in (TRAIN, TEST)])),
        ("crimes February 2025 (Leeds)", lambda: import_crimes(
            store, [leeds / "crime" / "crimedataleeds_2025-02.csv"])),
    ]
    done = []
    for name, step in steps:
        started = time.perf_counter()
        report = step()
        seconds = time.perf_counter() - started
        done.append((name, f"{report.read:,} read, {report.imported:,} imported, "
                           f"{report.skipped:,} skipped", seconds))
        log.info("%s: %s (%.1f s)", name, done[-1][1], seconds)
    return store, done


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: float, digits: int = 1) -> str:
    return "n/a" if _missing(v) else f"{100 * v:.{digits}f}%"


def _num(v: float, digits: int = 2) -> str:
    return "n/a" if _missing(v) else f"{v:.{digits}f}"


def _versus_tables(w, splits) -> None:
    """One table per train -> test split: each ranking's share of the test month's harm and
    crimes on the top streets, and its PAI by length."""
    for (train, test), rows in splits.items():
        w(f"**Train {' + '.join(train)} -> test {test}**"
          + (" (the February 2025 file holds Leeds only, 7.5 years later)"
             if test == LATER else ""))
        w("")
        w("| Ranking | Harm captured | Crimes captured | PAI (length) |")
        w("|---|---:|---:|---:|")
        for label, hit_h, hit_c, pai, *_ in rows:
            w(f"| {label} | {_pct(hit_h)} | {_pct(hit_c)} | {_num(pai)} |")
        w("")


def _frac_cols(fractions) -> list[str]:
    return [f"top_{f * 100:g}pct".replace(".", "_") for f in fractions]


def _versus_counting(store, train, test, md) -> list[tuple[str, float, float, float, int]]:
    """(ranking, harm hit rate, crime hit rate, PAI by length, selected, then for all but the
    oracle: the two hit rates with ties broken by street_id, streets tied at the cut, places
    they share) at the top 5% of street units: the default score, its crime component, the
    naive prior count, prior harm and the oracle."""
    prior = street_harm(store, train, max_distance=md)
    count = prior.groupby("street_id")["crimes"].sum()
    harm = prior.groupby("street_id")["harm"].sum()
    rows = []
    for label, kw in (("default score (lpt score, composite)", {"score": "scoring"}),
                      ("its crime component (harm_raw)", {"score": "scoring-harm"}),
                      ("naive prior count", {"scores": count}),
                      ("prior harm (CCHI days)", {"scores": harm})):
        r_h = backtest(store, train, test, max_distance=md, **kw)[0]
        r_c = backtest(store, train, test, weight="count", max_distance=md, **kw)[0]
        rows.append((label, r_h.hit_rate, r_c.hit_rate, r_h.pai_length, r_h.selected,
                     r_h.hit_rate_by_id, r_c.hit_rate_by_id, r_h.tied_at_cut, r_h.tied_places))
    rows.append(("oracle (the test month itself)", r_h.oracle_hit_rate, r_c.oracle_hit_rate,
                 r_h.oracle_pai_length, r_h.selected))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    p.add_argument("--store", type=Path, default=ROOT / "build" / "leeds-evaluation.gpkg")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "leeds-evaluation.md")
    p.add_argument("--max-distance", type=float, default=50.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.real / "leeds").exists():
        p.error(f"no Leeds data under {args.real}")

    t0 = time.perf_counter()
    store, steps = build_store(args.real, args.store)
    build_s = time.perf_counter() - t0
    md = args.max_distance
    fractions = DEFAULT_FRACTIONS

    t1 = time.perf_counter()
    conc = {m: concentration(store, [m], level="beat", max_distance=md) for m in (TRAIN, TEST)}
    conc_count = {m: concentration(store, [m], level="beat", weight="count", max_distance=md)
                  for m in (TRAIN, TEST)}
    coverage = street_harm(store, [TRAIN, TEST], max_distance=md).attrs
    per_month_cov = {m: street_harm(store, [m], max_distance=md).attrs for m in (TRAIN, TEST)}
    results = {}
    for weight in ("harm", "count"):
        for top in (0.01, 0.05, 0.10):
            results[(weight, top)] = backtest(store, [TRAIN], [TEST], top=top, weight=weight,
                                              max_distance=md)[0]
    results[("harm, lpt score's harm component", 0.05)] = backtest(
        store, [TRAIN], [TEST], top=0.05, max_distance=md, score="scoring-harm")[0]
    detail = backtest(store, [TRAIN], [TEST], top=0.05, max_distance=md)[1]
    versus = {(tuple(tr), te): _versus_counting(store, tr, [te], md)
              for tr, te in (([TRAIN], TEST), ([TRAIN, TEST], LATER))}
    # Issue 12's set-up: streets from the OSM extract and the crimes, no other input (no
    # wards, so the street units are not cut at ward boundaries and there is one beat).
    bare_path = args.store.with_name(args.store.stem + "-streets-crimes.gpkg")
    if bare_path.exists():
        bare_path.unlink()
    bare = open_store(bare_path)
    leeds = args.real / "leeds"
    import_streets(bare, [leeds / "streets" / "leeds_central_osm_2022.gpkg"])
    import_crimes(bare, [leeds / "crime" / f"{m}-west-yorkshire-street.csv"
                         for m in (TRAIN, TEST)] + [leeds / "crime" / "crimedataleeds_2025-02.csv"])
    bare_streets = len(bare.read("streets", ["street_id"]))
    versus_bare = {(tuple(tr), te): _versus_counting(bare, tr, [te], md)
                   for tr, te in (([TRAIN], TEST), ([TRAIN, TEST], LATER))}
    # The same default with decay alone (long_run_months = 0), as before issue 12's fix.
    decay_profile = replace(load_profile(None), long_run_months=0.0)
    decay_only = {wt: backtest(bare, [TRAIN, TEST], [LATER], weight=wt, score="scoring",
                               profile=decay_profile, max_distance=md)[0].hit_rate
                  for wt in ("harm", "count")}
    bare.close()
    hot = {m: find_hotspots(store, months=[m], weight="count") for m in (TRAIN, TEST)}
    hot9 = {m: find_hotspots(store, months=[m], weight="count", resolution=9)
            for m in (TRAIN, TEST)}
    analysis_s = time.perf_counter() - t1

    n_streets = int(conc[TRAIN].iloc[0]["streets"])
    total_len = results[("harm", 0.05)].total_length_m
    lines: list[str] = []
    w = lines.append
    w("# Leeds: concentration of crime harm on streets, and a backtest (July 2016 -> July 2017)")
    w("")
    w("Generated by `scripts/leeds_evaluation.py` from the real public data in "
      "`../shared/data/real` (see its `SOURCES.md`). Reproduce with:")
    w("")
    w("```sh")
    w(".venv/bin/python scripts/leeds_evaluation.py   # writes this file; the store goes to "
      "build/ (not committed)")
    w("```")
    w("")
    w(f"Built and analysed in {build_s:.0f} s + {analysis_s:.0f} s on {platform.machine()} "
      f"(Python {platform.python_version()}).")
    w("")
    w("## What the data allow, honestly")
    w("")
    w("- **Only two West Yorkshire months exist** in the real data: July 2016 and July 2017 "
      "(police.uk street-level files for West Yorkshire Police), plus a Leeds-only February "
      "2025 file. The backtest therefore trains on "
      "one month and tests on the same month **a year later**, not on the next month. It measures "
      "how stable the street pattern of harm is over a year, and the score is a single month's "
      "harm per street (the recency decay of the baseline score has nothing to decay with one "
      "month). More months (for example the monthly files for 2016-2017) would give a proper "
      "rolling t -> t+1 backtest; the code (`spatial_core.targeting.evaluation.backtest`, "
      "`rolling_backtest`) takes any lists of training and test months. The Leeds-only "
      "February 2025 file is loaded too, for one more honest split (below).")
    w("- **Streets cover central Leeds only**: the OSM extract is every way within 2.5 km of the "
      "city centre (2022). Street units are the named residential-to-trunk roads "
      "(`spatial_core.io.streets.DEFAULT_HIGHWAYS`) cut at the ward boundaries, with their "
      "2022 OSM names (Marcelo Bielsa Way was named in 2019). A crime counts when "
      f"its police.uk map point lies within {md:g} m of a street unit (the nearest one); the "
      "others (the rest of West Yorkshire, and central points far from a named street) are left "
      "out. police.uk moves every crime to an anonymised snap point, usually on a street, so a "
      "crime on a street unit here means \"at a snap point on or near that street\".")
    w("- **Wards stand in for beats**: no police beat or neighbourhood boundaries are published "
      "for Leeds, so the 33 electoral wards (2017) are stored as beats (and as wards).")
    w("- Harm is the project's documented approximation of the Cambridge Crime Harm Index "
      "(`spatial_core/analytics/harm.py`, `spatial_core/data/harm_weights.csv`): days of "
      "imprisonment per police.uk category; anti-social behaviour weighs 1 day. police.uk "
      "gives no Home Office offence codes, so each crime takes its category's weight. Counts "
      "are shown beside harm.")
    w("- Members and surveys are not needed for these measures and none are loaded.")
    w("")
    w("## The store")
    w("")
    w("| Step | Result | Seconds |")
    w("|---|---|---:|")
    for name, summary, seconds in steps:
        w(f"| {name} | {summary} | {seconds:.1f} |")
    w("")
    w(f"{n_streets:,} street units ({total_len / 1000:,.1f} km) in "
      f"{int((conc[TRAIN]['area_id'] != 'force').sum())} wards.")
    w("")
    w("| Month | Located crimes (West Yorkshire) | On a Leeds street unit (within "
      f"{md:g} m) | Harm on street units (CCHI days) |")
    w("|---|---:|---:|---:|")
    for m in (TRAIN, TEST):
        a = per_month_cov[m]
        w(f"| {m} | {a['crimes_read']:,} | {a['crimes_on_streets']:,} | "
          f"{a['harm_on_streets']:,.0f} |")
    w("")
    w(f"Both months together: {coverage['crimes_on_streets']:,} of {coverage['crimes_read']:,} "
      "located crimes are on a street unit.")
    w("")
    w("## Concentration of harm on streets")
    w("")
    w("Share of the month's harm on the top x% of street units (ranked by that month's harm; "
      "every street unit counts, those without crime too), and the Gini coefficient of harm "
      "across street units. Force = all street units of the study area.")
    w("")
    head = " | ".join(f"top {f * 100:g}%" for f in fractions)
    w(f"| Month | Weight | Streets with crime | {head} | Gini |")
    w("|---|---|---:|" + "---:|" * len(fractions) + "---:|")
    for m in (TRAIN, TEST):
        for label, frame in (("harm", conc[m]), ("count", conc_count[m])):
            r = frame.iloc[0]
            shares = " | ".join(_pct(r[c]) for c in _frac_cols(fractions))
            w(f"| {m} | {label} | {int(r['streets_with_harm']):,} of {int(r['streets']):,} | "
              f"{shares} | {_num(r['gini'])} |")
    w("")
    w("### Per ward (as beat), harm, wards with at least 20 street units")
    w("")
    w("| Ward | Month | Streets | With crime | Harm | top 5% | top 10% | top 20% | Gini |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    names = store.read("areas", ["area_id", "name", "level"])
    names = dict(zip(names["area_id"], names["name"], strict=True))
    for m in (TRAIN, TEST):
        f = conc[m]
        f = f[(f["area_id"] != "force") & (f["streets"] >= 20)]
        f = f.sort_values("harm", ascending=False)
        for _, r in f.iterrows():
            w(f"| {names.get(r['area_id'], r['area_id'])} | {m} | {int(r['streets'])} | "
              f"{int(r['streets_with_harm'])} | {r['harm']:,.0f} | {_pct(r['top_5pct'])} | "
              f"{_pct(r['top_10pct'])} | {_pct(r['top_20pct'])} | {_num(r['gini'])} |")
    w("")
    w("## Backtest: rank by July 2016, measure on July 2017")
    w("")
    w("Streets are ranked by their July 2016 harm; the top x% of street "
      "units are selected; the *hit rate* is their share of July 2017's harm; the *PAI* "
      "(predictive accuracy index) is the hit rate divided by their share of the total street "
      "length (`pai_length`) or of the number of streets (`pai_streets`). A PAI of 1 is no "
      "better than picking streets at random. The *oracle* picks the same number of streets by "
      "July 2017's harm itself: the most any ranking could capture.")
    w("")
    w("| Weight | Top | Streets selected | Length share | Hit rate | PAI (length) | "
      "PAI (streets) | Oracle hit rate | Oracle PAI (length) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (weight, top), r in results.items():
        w(f"| {weight} | {top * 100:g}% | {r.selected} | {_pct(r.length_share)} | "
          f"{_pct(r.hit_rate)} | {_num(r.pai_length)} | {_num(r.pai_streets)} | "
          f"{_pct(r.oracle_hit_rate)} | {_num(r.oracle_pai_length)} |")
    r5 = results[("harm", 0.05)]
    w("")
    w("Rows marked *lpt score's harm component* rank by `harm_raw` of "
      "`spatial_core.targeting.scoring.score_streets` (default profile, as of 2016-07-31: the "
      "expected harm, crimes within the profile's 50 m); the other rows by the evaluation "
      "module's baseline (harm per street).")
    w("")
    w(f"**Headline (harm, top 5%)**: the {r5.selected} street units with the most harm in July "
      f"2016 ({_pct(r5.length_share)} of the street length) held {_pct(r5.hit_rate)} of July "
      f"2017's harm on street units: PAI {_num(r5.pai_length)} by length, "
      f"{_num(r5.pai_streets)} by number of streets. Knowing July 2017 in advance would have "
      f"captured {_pct(r5.oracle_hit_rate)} with as many streets. "
      f"{r5.train_streets_with_harm:,} street units had crime in July 2016 and "
      f"{r5.test_streets_with_harm:,} in July 2017.")
    w("")
    w("The ten highest-ranked street units (harm, July 2016 vs July 2017):")
    w("")
    w("| Rank | Street unit | Length (m) | Harm 2016-07 | Harm 2017-07 |")
    w("|---:|---|---:|---:|---:|")
    for _, r in detail.head(10).iterrows():
        w(f"| {int(r['rank'])} | `{r['street_id']}` | {r['length_m']:,.0f} | "
          f"{r['train_harm']:,.0f} | {r['test_harm']:,.0f} |")
    w("")
    w("## The default score's crime component against counting (issue 12)")
    w("")
    w("Every ranking selects the top 5% of street units and is measured on the test month's "
      "harm (CCHI days) and crimes on street units; streets tied at the cut share the places "
      "left (the expected hit rate over every order of the tie, "
      "`evaluation.selection_share`), so no ranking gets the luck of the street ids. "
      "*Default score*: "
      "`lpt score` with the shipped default profile as of the last day of the last training "
      "month (`backtest(score=\"scoring\")`: composite score); *crime component*: its "
      "`harm_raw` (expected harm, `score=\"scoring-harm\"`); *naive prior count*: the plain "
      "number of crimes per street unit in the training months; *prior harm*: their CCHI "
      "days; *oracle*: the test month's harm itself. No households, members, surveys or "
      "visits are loaded, so the default score's other components are 0.")
    w("")
    w(f"### Streets and crimes only ({bare_streets:,} street units): issue 12's set-up")
    w("")
    w("A second store holds only the OSM street units and the crimes (no wards), as issue 12 "
      "states its check: there is one beat, so the default score is its crime component "
      "scaled to 0..1 and ranks the streets exactly as the crime component does.")
    w("")
    _versus_tables(w, versus_bare)
    w(f"### With the wards as beats (the store above, {n_streets:,} street units)")
    w("")
    w("Here the street units are cut at ward boundaries and the 33 wards are the beats. The "
      "default score scales each component **within the beat** (each ward's top street gets "
      "1), so ranking every street of the study area by the composite score mixes beats that "
      "were scaled separately: it is meant to rank streets within a beat, and its force-wide "
      "hit rate says little. The crime component (`harm_raw`) is comparable across beats.")
    w("")
    _versus_tables(w, versus)
    w("**In short** (streets and crimes only, issue 12's set-up; 4 decimals):")
    w("")
    for (train, test), rows in versus_bare.items():
        sc, naive = rows[0], rows[2]
        more = {"harm": sc[1] >= naive[1], "crimes": sc[2] >= naive[2]}
        verdict = ("at least as much harm and crimes as counting" if all(more.values())
                   else "less harm and fewer crimes than counting" if not any(more.values())
                   else "at least as many crimes as counting but less harm"
                   if more["crimes"] else "at least as much harm as counting but fewer crimes")
        w(f"- {' + '.join(train)} -> {test}: the default score captures {sc[1]:.4f} of the "
          f"harm and {sc[2]:.4f} of the crimes, the naive prior count {naive[1]:.4f} and "
          f"{naive[2]:.4f}: {verdict}. Counting ties {naive[7]} streets for the last "
          f"{naive[8]} places; broken by street_id it would capture {naive[5]:.4f} / "
          f"{naive[6]:.4f}.")
    for (train, test), rows in versus.items():
        comp, naive = rows[1], rows[2]
        w(f"- With wards as beats, {' + '.join(train)} -> {test}: the crime component "
          f"{comp[1]:.4f} / {comp[2]:.4f}, the naive count {naive[1]:.4f} / {naive[2]:.4f}.")
    w("")
    prof = load_profile(None)
    later_naive = versus_bare[((TRAIN, TEST), LATER)][2]
    w2 = recency_weights([16, 381], prof.half_life_days, prof.long_run_months)
    w0 = recency_weights([16, 381], prof.half_life_days)
    w("Scored as of 2017-07-31, the default profile weighs July 2017 and July 2016 "
      f"{w2[0]:.2f} and {w2[1]:.2f}: the recent rate (half-life {prof.half_life_days:g} days) "
      f"is blended with the long-run rate, worth {prof.long_run_months:g} months of data "
      "(`long_run_months`, `docs/analytics/scoring.md`), so two months a year apart are two "
      "looks at the lasting rate. Decay alone weighed them "
      f"{w0[0]:.2f} and {w0[1]:.2f} (a quarter), and captured {_pct(decay_only['harm'], 2)} "
      f"of February 2025's harm and {_pct(decay_only['count'], 2)} of its crimes against "
      f"counting's {_pct(later_naive[1], 2)} and {_pct(later_naive[2], 2)}. Whether the "
      "default or counting captures more of one test month is decided by a handful of "
      "streets at the edge of the top 5% (8-10 crimes each in the two Julys); the "
      "Leicestershire backtests, with many origins, show the average.")
    w("")
    w("Reproduce the rolling form with `lpt --store build/leeds-evaluation.gpkg evaluate "
      "--rolling --min-history 1` (origins 2016-07 and 2017-07, each tested on the next stored "
      "month); the default profile's crime parameters and how they were chosen are in "
      "`docs/analytics/scoring.md`.")
    w("")
    w("## Hot spots (Getis-Ord Gi*, crime counts, FDR q = 0.05)")
    w("")
    w("Study area: the H3 cells of the 33 Leeds wards (zero-crime cells included); all located "
      "Leeds crimes, not only those near the central streets. With two months, the "
      "classification over months (new, persistent, intensifying, diminishing) is not "
      "meaningful and is not reported.")
    w("")
    w("| Month | Resolution | Cells in study area | Cells with crime | Hot cells | Cold cells | "
      "Crimes outside the wards |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for res, table in ((10, hot), (9, hot9)):
        for m in (TRAIN, TEST):
            h = table[m]
            w(f"| {m} | {res} | {len(h):,} | {int((h['value'] > 0).sum()):,} | "
              f"{int(h['hot'].sum()):,} | {int(h['cold'].sum()):,} | "
              f"{h.attrs['value_outside']:,.0f} |")
    both = (set(hot9[TRAIN].loc[hot9[TRAIN]["hot"], "cell"])
            & set(hot9[TEST].loc[hot9[TEST]["hot"], "cell"]))
    w("")
    w(f"At resolution 9, {len(both)} cells are hot in both months.")
    w("")
    w("## Method references")
    w("")
    w("- `spatial_core.targeting.evaluation` (`docs/analytics/evaluation.md`): concentration "
      "curve, Gini, top share, PAI, backtest, rolling backtest.")
    w("- `spatial_core.analytics.hotspots` (`docs/analytics/hotspots.md`): Gi*, "
      "Benjamini-Hochberg.")
    w("- Attribution: contains public sector information licensed under the Open Government "
      "Licence v3.0; contains OS data © Crown copyright and database right; contains National "
      "Statistics data © Crown copyright and database right; © OpenStreetMap contributors (ODbL).")
    w("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    log.info("wrote %s (build %.0f s, analysis %.0f s)", args.out, build_s, analysis_s)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
