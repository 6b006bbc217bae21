# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force's census base and its members' answers: :func:`write_census`.

Synthetic Census 2021 tables per output area, in the bulk CSV layout ONS/Nomis publish
(``census2021-ts021-oa.csv`` TS021 ethnic group, ``…-ts024-oa.csv`` TS024 main language,
``…-ts030-oa.csv`` TS030 religion) and an Origins base (``origins-oa.csv``), plus
``member_answers.csv``: a member export with each member's self-declared main language and
religion and their Origins code, which the member importer adds to the stored members.

The model: every household has a size (its usual residents) and the broad ethnic group of the
demo's resident (:func:`spatial_core.demo.people.residents`); the detailed group of the 19
follows the same mix as the members' answers within the broad group, and language, religion
and Origins follow the detailed group (:data:`_LANGUAGE` …). A members' answer is drawn from
the same mix, from their own stated ethnic group.

**The planted community**: a cluster of neighbouring output areas (about
:data:`POLISH_SHARE` of the households) where three in five households are a Polish community
(White: Other White, Polish-speaking, Eastern European Origins) who have not joined: the
members there answer like anyone else. So Polish speakers and White: Other White residents
are well under 70% of their proportionate share among members in the beats around it.

Everything is drawn from its own random stream (seeded from the demo's seed and size), so the
demo's other files are byte-for-byte what they were.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from spatial_core.demo.people import _ETHNIC_WORDING, ETHNIC_GROUPS
from spatial_core.demo.writers import write_csv
from spatial_core.io.census import ETHNIC_19
from spatial_core.io.members import normalise_ethnicities

__all__ = ["POLISH_SHARE", "LANGUAGE_COLUMNS", "RELIGION_COLUMNS", "write_census",
           "census_files"]

POLISH_SHARE = 0.10
"""The share of the force's households in the output areas of the planted Polish community."""

LANGUAGE_COLUMNS = {
    "english": "English (English or Welsh in Wales)",
    "polish": "Other European language (EU): Polish",
    "romanian": "Other European language (EU): Romanian",
    "portuguese": "Other European language (EU): Portuguese",
    "urdu": "South Asian language: Urdu",
    "panjabi": "South Asian language: Panjabi",
    "bengali": "South Asian language: Bengali (with Sylheti and Chatgaya)",
    "gujarati": "South Asian language: Gujarati",
    "cantonese_chinese": "East Asian language: Cantonese Chinese",
    "somali": "African language: Somali",
    "arabic": "Arabic",
}
"""The demo's TS024 categories (a subset of the real table's; the importer reads any)."""

RELIGION_COLUMNS = {
    "no_religion": "No religion", "christian": "Christian", "buddhist": "Buddhist",
    "hindu": "Hindu", "jewish": "Jewish", "muslim": "Muslim", "sikh": "Sikh",
    "other_religion": "Other religion", "not_stated": "Not answered",
}
"""TS030's categories (all of them)."""

ORIGINS = {"british": "British", "irish": "Irish", "eastern_european": "Eastern European",
           "western_european": "Western European", "south_asian": "South Asian",
           "east_asian": "East Asian", "african": "African", "caribbean": "Caribbean",
           "middle_eastern": "Middle Eastern", "other": "Other"}

_ENGLISH = {"english": 1.0}
_LANGUAGE = {
    "white_other": {"english": 0.65, "polish": 0.15, "romanian": 0.1, "portuguese": 0.1},
    "asian_pakistani": {"english": 0.5, "urdu": 0.35, "panjabi": 0.15},
    "asian_indian": {"english": 0.6, "panjabi": 0.2, "gujarati": 0.2},
    "asian_bangladeshi": {"english": 0.5, "bengali": 0.5},
    "asian_chinese": {"english": 0.7, "cantonese_chinese": 0.3},
    "black_african": {"english": 0.8, "somali": 0.2},
    "other_arab": {"english": 0.5, "arabic": 0.5},
    "polish": {"english": 0.15, "polish": 0.85},
}
_WHITE_RELIGION = {"christian": 0.5, "no_religion": 0.42, "jewish": 0.01,
                   "other_religion": 0.01, "not_stated": 0.06}
_RELIGION = {
    "asian_pakistani": {"muslim": 0.9, "no_religion": 0.05, "not_stated": 0.05},
    "asian_bangladeshi": {"muslim": 0.9, "no_religion": 0.05, "not_stated": 0.05},
    "other_arab": {"muslim": 0.85, "christian": 0.1, "not_stated": 0.05},
    "asian_indian": {"hindu": 0.45, "sikh": 0.25, "muslim": 0.15, "christian": 0.05,
                     "no_religion": 0.05, "not_stated": 0.05},
    "asian_chinese": {"no_religion": 0.55, "buddhist": 0.15, "christian": 0.2,
                      "not_stated": 0.1},
    "black_african": {"christian": 0.65, "muslim": 0.25, "no_religion": 0.05,
                      "not_stated": 0.05},
    "black_caribbean": {"christian": 0.7, "no_religion": 0.25, "not_stated": 0.05},
    "mixed_white_black_caribbean": {"christian": 0.4, "no_religion": 0.5, "not_stated": 0.1},
    "mixed_white_asian": {"christian": 0.35, "no_religion": 0.45, "muslim": 0.1,
                          "not_stated": 0.1},
    "other_any": {"muslim": 0.3, "christian": 0.3, "no_religion": 0.3, "not_stated": 0.1},
    "polish": {"christian": 0.85, "no_religion": 0.1, "not_stated": 0.05},
}
_ORIGINS = {
    "white_british": {"british": 0.95, "irish": 0.03, "western_european": 0.02},
    "white_irish": {"irish": 0.8, "british": 0.2},
    "white_other": {"eastern_european": 0.6, "western_european": 0.4},
    "asian_pakistani": {"south_asian": 1.0}, "asian_indian": {"south_asian": 1.0},
    "asian_bangladeshi": {"south_asian": 1.0}, "asian_chinese": {"east_asian": 1.0},
    "black_african": {"african": 1.0}, "black_caribbean": {"caribbean": 0.7, "british": 0.3},
    "mixed_white_black_caribbean": {"british": 0.8, "caribbean": 0.2},
    "mixed_white_asian": {"british": 0.7, "south_asian": 0.3},
    "other_arab": {"middle_eastern": 1.0}, "other_any": {"other": 1.0},
    "polish": {"eastern_european": 1.0},
}


def _detailed_mix() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per broad group (index into ETHNIC_GROUPS): the detailed slugs and their chances, the
    members' wording mix (:func:`spatial_core.demo.people._wording`)."""
    out = {}
    for k, g in enumerate(ETHNIC_GROUPS):
        words = _ETHNIC_WORDING[g]
        slugs_, _ = normalise_ethnicities(words)
        p = np.linspace(2, 1, len(words))
        out[k] = (np.asarray(slugs_, dtype=object), p / p.sum())
    return out


def _draw(keys: np.ndarray, table: dict, default: dict, rng: np.random.Generator
          ) -> np.ndarray:
    """One category per row from the mix of its key (``default`` for keys not in ``table``)."""
    out = np.empty(len(keys), dtype=object)
    for key in pd.unique(keys):
        sel = np.flatnonzero(keys == key)
        mix = table.get(key, default)
        cats = np.asarray(list(mix), dtype=object)
        p = np.asarray(list(mix.values()), dtype="float64")
        out[sel] = cats[rng.choice(len(cats), len(sel), p=p / p.sum())]
    return out


def _cluster(oa_geom: np.ndarray, hh_oa: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Output areas of the planted community: the nearest to a busy output area, until they
    hold :data:`POLISH_SHARE` of the households."""
    n_oa = len(oa_geom)
    size = np.bincount(hh_oa, minlength=n_oa)
    busy = np.flatnonzero(size >= np.quantile(size, 0.75))
    centre = busy[rng.integers(0, len(busy))]
    c = shapely.centroid(oa_geom)
    d = shapely.distance(c, c[centre])
    order = np.argsort(d, kind="stable")
    take = np.cumsum(size[order]) <= max(POLISH_SHARE * len(hh_oa), size[centre])
    take[0] = True
    return order[take]


def _nomis(path: Path, topic: str, total: str, oa_codes: np.ndarray, columns: dict[str, str],
           counts: np.ndarray, groups: dict[str, list[str]] | None = None) -> Path:
    """A Nomis bulk CSV: date, geography, geography code, the total, then the categories
    (with the subtotal of each broad group before its categories, when ``groups`` is given)."""
    frame = {"date": np.full(len(oa_codes), "2021", dtype=object), "geography": oa_codes,
             "geography code": oa_codes, f"{topic}: Total: {total}": counts.sum(axis=1)}
    keys = list(columns)
    if groups is None:
        for j, key in enumerate(keys):
            frame[f"{topic}: {columns[key]}"] = counts[:, j]
    else:
        for broad, kids in groups.items():
            idx = [keys.index(k) for k in kids]
            frame[f"{topic}: {broad}"] = counts[:, idx].sum(axis=1)
            for j in idx:
                frame[f"{topic}: {columns[keys[j]]}"] = counts[:, j]
    return write_csv(path, pd.DataFrame(frame))


def census_files(out: Path) -> dict[str, Path]:
    """Where :func:`write_census` writes each table (``TS021``, ``TS024``, ``TS030``,
    ``origins``) and the members' answers (``member_answers``)."""
    return {"TS021": out / "census2021-ts021-oa.csv", "TS024": out / "census2021-ts024-oa.csv",
            "TS030": out / "census2021-ts030-oa.csv", "origins": out / "origins-oa.csv",
            "member_answers": out / "member_answers.csv"}


def write_census(out: Path, *, oa_codes: np.ndarray, oa_geom: np.ndarray, hh_oa: np.ndarray,
                 resident_eth: np.ndarray, members: pd.DataFrame, seed: int,
                 households: int) -> dict[str, Path]:
    """Write the census tables and the members' answers (:func:`census_files`).

    ``resident_eth`` is the broad group (index into ETHNIC_GROUPS) of each household's
    resident; ``members`` the demo's member export (with ``_household``, the location columns
    as written and ``ethnicity`` as worded).
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(households), 21]))
    paths = census_files(out)
    n = len(hh_oa)
    size = rng.choice(np.arange(1, 6), n, p=[0.3, 0.34, 0.16, 0.13, 0.07])
    mix = _detailed_mix()
    detailed = np.empty(n, dtype=object)
    for k, (slugs_, p) in mix.items():
        sel = np.flatnonzero(resident_eth == k)
        detailed[sel] = slugs_[rng.choice(len(slugs_), len(sel), p=p)]
    cluster = _cluster(oa_geom, hh_oa, rng)
    planted = np.isin(hh_oa, cluster) & (rng.random(n) < 0.6)
    kind = np.where(planted, "polish", detailed).astype(object)
    eth19 = np.where(planted, "white_other", detailed).astype(object)
    language = _draw(kind, _LANGUAGE, _ENGLISH, rng)
    religion = _draw(kind, _RELIGION, _WHITE_RELIGION, rng)
    origins = _draw(kind, _ORIGINS, {"other": 1.0}, rng)
    n_oa = len(oa_codes)

    def counts(values: np.ndarray, keys: list[str]) -> np.ndarray:
        at = pd.Index(keys).get_indexer(values)
        flat = np.bincount(hh_oa * len(keys) + at, weights=size, minlength=n_oa * len(keys))
        return flat.reshape(n_oa, len(keys)).astype("int64")

    broad_names = {"asian": "Asian, Asian British or Asian Welsh",
                   "black": "Black, Black British, Black Welsh, Caribbean or African",
                   "mixed": "Mixed or Multiple ethnic groups", "white": "White",
                   "other": "Other ethnic group"}
    groups = {name: [k for k in ETHNIC_19 if k.split("_")[0] == b]
              for b, name in broad_names.items()}
    codes = np.asarray(oa_codes, dtype=object)
    _nomis(paths["TS021"], "Ethnic group", "All usual residents", codes, ETHNIC_19,
           counts(eth19, list(ETHNIC_19)), groups)
    _nomis(paths["TS024"], "Main language (detailed)", "All usual residents aged 3 and over",
           codes, LANGUAGE_COLUMNS, counts(language, list(LANGUAGE_COLUMNS)))
    _nomis(paths["TS030"], "Religion", "All usual residents", codes, RELIGION_COLUMNS,
           counts(religion, list(RELIGION_COLUMNS)))
    oc = counts(origins, list(ORIGINS))
    r, c = np.nonzero(oc)
    write_csv(paths["origins"], pd.DataFrame({
        "oa_code": codes[r], "origins": np.asarray(list(ORIGINS.values()), dtype=object)[c],
        "count": oc[r, c]}))

    # The members' answers: from their own stated ethnic group (else their household's), as
    # anyone else's; nobody in the planted community has joined.
    stated, _ = normalise_ethnicities(members["ethnicity"].to_numpy(dtype=object))
    own = np.where(np.isin(stated, list(ETHNIC_19)), stated,
                   detailed[members["_household"].to_numpy()]).astype(object)
    m = len(members)
    lang = _draw(own, _LANGUAGE, _ENGLISH, rng)
    faith = _draw(own, _RELIGION, _WHITE_RELIGION, rng)
    orig = _draw(own, _ORIGINS, {"other": 1.0}, rng)
    names = {**{k: v.split(":")[-1].split("(")[0].strip() for k, v in LANGUAGE_COLUMNS.items()},
             "english": "English"}
    lang_text = np.array([names[v] for v in lang], dtype=object)
    lang_text[rng.random(m) < 0.15] = ""  # not everyone answers
    faith_text = np.array([RELIGION_COLUMNS[v] for v in faith], dtype=object)
    faith_text[faith == "not_stated"] = "Prefer not to say"
    answers = pd.DataFrame({
        "member_id": members["member_id"].to_numpy(),
        "uprn": members["uprn"].to_numpy(), "postcode": members["postcode"].to_numpy(),
        "latitude": members["latitude"].to_numpy(), "longitude": members["longitude"].to_numpy(),
        "main_language": lang_text, "religion": faith_text,
        "origins": np.array([ORIGINS[v] for v in orig], dtype=object)})
    write_csv(paths["member_answers"], answers)
    return paths
