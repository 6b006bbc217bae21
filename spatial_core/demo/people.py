# SPDX-License-Identifier: GPL-3.0-or-later
"""Residents, members, survey responses and door-knock visits of the demo force.

Members are under-represented where they are in real engagement schemes: the chance that a
household has a member depends on the output area's OAC supergroup (students, multicultural
and constrained city areas join at a fraction of the rate of suburban and rural ones), on the
resident's age band (the young rarely join) and ethnic group. The factors below are the
model; ``docs/demo.md`` shows the shares they produce.

Survey priorities follow local crime: the chance of naming a priority grows with the rate of
the matching crime in the respondent's beat, relative to the force. Confidence and feeling
safe fall with the beat's crime rate; a few beats are outliers (low confidence whatever
their crime). A panel of members answers in several quarters, so change over time can be
measured on the same people.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from spatial_core.demo.names import FIRST_NAMES, LAST_NAMES
from spatial_core.io.surveys import PRIORITIES

__all__ = [
    "SUPERGROUP_FACTOR",
    "AGE_FACTOR",
    "ETHNIC_FACTOR",
    "residents",
    "members",
    "visits",
    "surveys",
    "MEMBERSHIP_RATE",
]

log = logging.getLogger(__name__)

MEMBERSHIP_RATE = 0.133

AGE_BANDS = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"], dtype=object)
_AGE_BASE = np.array([0.11, 0.17, 0.16, 0.17, 0.15, 0.13, 0.11])
_AGE_BY_SG = {  # supergroup -> multipliers of the base age mix
    1: [0.5, 0.6, 0.8, 1.0, 1.3, 1.5, 1.4],
    2: [4.0, 2.0, 0.8, 0.5, 0.4, 0.3, 0.3],
    3: [1.5, 1.8, 1.3, 0.9, 0.6, 0.5, 0.4],
    4: [1.4, 1.4, 1.3, 1.0, 0.8, 0.6, 0.5],
    5: [0.9, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0],
    6: [0.7, 0.7, 0.9, 1.1, 1.2, 1.3, 1.3],
    7: [1.3, 1.2, 1.0, 0.9, 0.9, 1.0, 1.1],
    8: [1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 0.9],
}
ETHNIC_GROUPS = np.array(["white", "asian", "black", "mixed", "other"], dtype=object)
_ETHNIC_BY_SG = {
    1: [0.97, 0.01, 0.005, 0.01, 0.005],
    2: [0.70, 0.15, 0.06, 0.04, 0.05],
    3: [0.45, 0.28, 0.13, 0.05, 0.09],
    4: [0.40, 0.40, 0.10, 0.05, 0.05],
    5: [0.88, 0.05, 0.02, 0.03, 0.02],
    6: [0.93, 0.04, 0.01, 0.015, 0.005],
    7: [0.78, 0.07, 0.07, 0.04, 0.04],
    8: [0.90, 0.04, 0.02, 0.03, 0.01],
}
_ETHNIC_WORDING = {  # census 2021 wordings, as a member export would carry them
    "white": [
        "White: English, Welsh, Scottish, Northern Irish or British",
        "White: Irish",
        "White: Any other White background",
    ],
    "asian": [
        "Asian or Asian British: Pakistani",
        "Asian or Asian British: Indian",
        "Asian or Asian British: Bangladeshi",
        "Asian or Asian British: Chinese",
    ],
    "black": [
        "Black, Black British, Caribbean or African: African",
        "Black, Black British, Caribbean or African: Caribbean",
    ],
    "mixed": [
        "Mixed or Multiple ethnic groups: White and Black Caribbean",
        "Mixed or Multiple ethnic groups: White and Asian",
    ],
    "other": ["Other ethnic group: Arab", "Other ethnic group: Any other ethnic group"],
}

SUPERGROUP_FACTOR = {1: 1.5, 2: 0.3, 3: 0.55, 4: 0.5, 5: 1.15, 6: 1.6, 7: 0.45, 8: 0.6}
"""Relative chance that a household in each OAC 2011 supergroup has a member."""
AGE_FACTOR = np.array([0.3, 0.6, 0.9, 1.1, 1.4, 1.6, 1.2])
"""Relative chance of joining by age band (:data:`AGE_BANDS` order)."""
ETHNIC_FACTOR = np.array([1.0, 0.6, 0.5, 0.6, 0.5])
"""Relative chance of joining by broad ethnic group (:data:`ETHNIC_GROUPS` order)."""

_GROUPS = (
    ("Neighbourhood Watch", 0.30),
    ("Key Individual Network", 0.08),
    ("Independent Advisory Group", 0.015),
)
_CONSENTS = (("Police", 0.95), ("Local council", 0.40), ("Fire and rescue service", 0.30))
_MALE_FIRST = FIRST_NAMES[: FIRST_NAMES.index("Olivia")]
_FEMALE_FIRST = FIRST_NAMES[FIRST_NAMES.index("Olivia") :]


def _pick_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row from a (rows, k) probability matrix, vectorised."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    return (rng.random((len(probs), 1)) > cum).sum(axis=1).clip(0, probs.shape[1] - 1)


def _table(by_sg: dict, base: np.ndarray | None = None) -> np.ndarray:
    t = np.array([by_sg[k] for k in range(1, 9)], dtype="float64")
    return t * base if base is not None else t


def residents(supergroup: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """An adult resident per household: age band and ethnic group by the area's supergroup."""
    sg = supergroup - 1
    age = _pick_rows(_table(_AGE_BY_SG, _AGE_BASE)[sg], rng)
    eth = _pick_rows(_table(_ETHNIC_BY_SG)[sg], rng)
    male = rng.random(len(sg)) < 0.48
    return {"age": age, "eth": eth, "male": male}


def _wording(eth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(eth), dtype=object)
    for k, g in enumerate(ETHNIC_GROUPS):  # five groups
        sel = eth == k
        words = np.asarray(_ETHNIC_WORDING[g], dtype=object)
        p = np.linspace(2, 1, len(words))
        out[sel] = words[rng.choice(len(words), int(sel.sum()), p=p / p.sum())]
    return out


def _dates(
    start: np.datetime64, end: np.datetime64, n: int, rng: np.random.Generator, skew: float = 1.0
) -> np.ndarray:
    days = int((end - start) / np.timedelta64(1, "D"))
    return start + (days * rng.random(n) ** skew).astype("int64").astype("timedelta64[D]")


def members(
    hh: dict,
    res: dict,
    supergroup: np.ndarray,
    forced: np.ndarray,
    forced_joined: np.ndarray,
    end: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Members in the canonical CSV columns (with contact details the importer must drop).

    ``forced`` households get a member whatever the model says (registered on a door-knock,
    ``forced_joined`` is then the join date).
    """
    n = len(supergroup)
    f = (
        np.vectorize(SUPERGROUP_FACTOR.get)(supergroup)
        * AGE_FACTOR[res["age"]]
        * ETHNIC_FACTOR[res["eth"]]
    )
    want = max(MEMBERSHIP_RATE * n - forced.sum(), 0.01 * n)  # door-knock sign-ups count too
    c = want / f.sum()
    for _ in range(3):  # the cap at 0.9 loses a little: rescale
        p = np.minimum(c * f, 0.9)
        c *= want / p.sum()
    p = np.minimum(c * f, 0.9)
    is_member = (rng.random(n) < p) | forced
    h = np.flatnonzero(is_member)
    m = len(h)
    male = res["male"][h]
    first = np.where(
        male,
        np.asarray(_MALE_FIRST, dtype=object)[rng.integers(0, len(_MALE_FIRST), m)],
        np.asarray(_FEMALE_FIRST, dtype=object)[rng.integers(0, len(_FEMALE_FIRST), m)],
    )
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), m)]
    num = rng.integers(1, 999, m).astype(str)
    email = (
        pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + num + "@example.invalid"
    ).to_numpy(dtype=object)
    phone = np.char.add("07700 900", np.char.zfill(rng.integers(0, 1000, m).astype(str), 3))
    how = rng.random(m)
    uprn = np.where(how < 0.85, hh["uprn"][h], "")
    postcode = np.where(how < 0.96, hh["postcode"][h], "")
    lat = np.where(how >= 0.96, np.round(hh["lat"][h] + rng.normal(0, 2e-5, m), 6), np.nan)
    lng = np.where(how >= 0.96, np.round(hh["lng"][h] + rng.normal(0, 3e-5, m), 6), np.nan)
    gender = np.where(male, "Male", "Female").astype(object)
    undeclared = rng.random(m) < 0.08
    gender = np.where(undeclared, "Prefer not to say", gender)
    gender = np.where(rng.random(m) < 0.01, "Non-binary", gender)
    age = np.where(rng.random(m) < 0.06, "", AGE_BANDS[res["age"][h]])
    eth = np.where(rng.random(m) < 0.1, "Prefer not to say", _wording(res["eth"][h], rng))
    groups = _multi(_GROUPS, m, rng)
    consents = _multi(_CONSENTS, m, rng)
    joined = _dates(np.datetime64("2012-01-01"), end, m, rng, skew=0.6)
    joined = np.where(forced[h], forced_joined[h], joined)
    leaves = (rng.random(m) < 0.07) & ~forced[h]
    span = (end - joined).astype("int64")
    left = np.where(
        leaves,
        joined + (span * rng.random(m)).astype("int64").astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
    ids = rng.permutation(m) + 100_001
    frame = pd.DataFrame(
        {
            "member_id": np.char.add("M", ids.astype(str)),
            "name": first + " " + last,
            "email": email,
            "phone": phone,
            "uprn": uprn,
            "postcode": postcode,
            "latitude": lat,
            "longitude": lng,
            "gender": gender,
            "age_band": age,
            "ethnicity": eth,
            "groups": groups,
            "consents": consents,
            "joined": pd.Series(joined).dt.strftime("%Y-%m-%d").to_numpy(),
            "left": pd.Series(left).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        }
    )
    frame["_household"] = h
    return frame


def _multi(options, n: int, rng: np.random.Generator) -> np.ndarray:
    out = pd.Series([""] * n, dtype=object)
    for label, p in options:
        has = rng.random(n) < p
        out = out.where(~has, np.where(out == "", label, out + ";" + label))
    return out.to_numpy(dtype=object)


# priority -> (chance of ticking it where its crime runs at the force rate, police.uk
# categories whose local rate drives it)
_PRIORITY_DRIVERS = {
    "asb": (0.35, ["Anti-social behaviour"]),
    "road_safety": (0.35, []),
    "drugs": (0.18, ["Drugs"]),
    "burglary": (0.2, ["Burglary"]),
    "vehicle_crime": (0.14, ["Vehicle crime"]),
    "violence": (0.12, ["Violence and sexual offences", "Public order"]),
    "criminal_damage": (0.1, ["Criminal damage and arson"]),
    "theft": (0.1, ["Other theft", "Shoplifting", "Theft from the person", "Bicycle theft"]),
    "robbery": (0.03, ["Robbery"]),
    "weapons": (0.05, ["Possession of weapons"]),
    "environmental": (0.15, []),
}
_COMMENTS = np.array(
    [
        "Cars speeding on {s} most evenings",
        "Groups gathering near {s} late at night",
        "Drug dealing seen around {s}",
        "Please more patrols on {s}",
        "Fly-tipping behind {s}",
        "Feel safe here, thank you",
        "Bins set on fire near {s}",
        "Parking on the pavement on {s}",
    ],
    dtype=object,
)


def surveys(
    quarters: list[tuple[np.datetime64, np.datetime64]],
    mem: pd.DataFrame,
    hh: dict,
    res: dict,
    beat_of_hh: np.ndarray,
    beat_rates: pd.DataFrame,
    beat_outlier: np.ndarray,
    street_name_of_hh: np.ndarray,
    door_knock: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Quarterly survey responses in the canonical CSV columns.

    ``beat_rates`` is crimes per household by beat (rows) and category (columns);
    ``door_knock`` is (household, date) of visits whose outcome was "surveyed".
    """
    active = mem["left"].to_numpy() == ""
    m_hh = mem["_household"].to_numpy()
    panel = active & (rng.random(len(mem)) < 0.2)
    parts = []
    for start, end in quarters:
        take = (panel & (rng.random(len(mem)) < 0.6)) | (active & (rng.random(len(mem)) < 0.03))
        take &= pd.to_datetime(mem["joined"]).to_numpy() < end
        idx = np.flatnonzero(take)
        n_anon = int(len(idx) * 0.25)
        anon_hh = rng.integers(0, len(beat_of_hh), n_anon)
        ch_m = np.where(
            rng.random(len(idx)) < 0.8,
            "Online",
            np.where(rng.random(len(idx)) < 0.5, "Door knock", "Staff"),
        )
        ch_a = np.where(
            rng.random(n_anon) < 0.4,
            "Online",
            np.where(rng.random(n_anon) < 0.65, "Door knock", "Staff"),
        )
        in_q = (door_knock[1] >= start) & (door_knock[1] < end)
        dk_hh = door_knock[0][in_q]
        parts.append(
            pd.DataFrame(
                {
                    "_hh": np.concatenate([m_hh[idx], anon_hh, dk_hh]),
                    "_member": np.concatenate([idx, np.full(n_anon + len(dk_hh), -1)]),
                    "date": np.concatenate(
                        [_dates(start, end, len(idx) + n_anon, rng), door_knock[1][in_q]]
                    ),
                    "channel": np.concatenate([ch_m, ch_a, np.full(len(dk_hh), "Door knock")]),
                }
            )
        )
    s = pd.concat(parts, ignore_index=True)
    n = len(s)
    hh_i = s["_hh"].to_numpy()
    beat = beat_of_hh[hh_i]
    rel = beat_rates.to_numpy() / np.maximum(beat_rates.to_numpy().mean(axis=0), 1e-12)
    cols = list(beat_rates.columns)
    keys = list(_PRIORITY_DRIVERS)
    w = np.empty((n, len(keys)))
    for k, key in enumerate(keys):
        base, drivers = _PRIORITY_DRIVERS[key]
        if drivers:
            r = rel[:, [cols.index(d) for d in drivers]].mean(axis=1)
            w[:, k] = base * r[beat] ** 1.3
        else:
            w[:, k] = base
    # each priority is ticked on its own (a multi-select), more often where its crime is
    # common; a respondent who ticks nothing gets their strongest concern
    p = np.minimum(w, 0.9)
    ticked = rng.random(w.shape) < p
    none = ~ticked.any(axis=1)
    best = np.argmax(
        np.log(np.maximum(w[none], 1e-9)) + rng.gumbel(size=(int(none.sum()), w.shape[1])), axis=1
    )
    ticked[np.flatnonzero(none), best] = True
    names = np.asarray([PRIORITIES[k] for k in keys], dtype=object)
    prio = pd.Series([""] * n, dtype=object)
    for k in range(len(keys)):
        t = ticked[:, k]
        prio = prio.where(~t, np.where(prio == "", names[k], prio + ";" + names[k]))
    total = np.log(np.maximum(beat_rates.to_numpy().sum(axis=1), 1e-9))
    z = (total - total.mean()) / (total.std() or 1.0)
    shift = np.where(beat_outlier[beat], -1.3, 0.0)
    older = res["age"][hh_i] >= 4
    conf = np.clip(
        np.rint(3.5 - 0.55 * z[beat] + 0.25 * older + shift + rng.normal(0, 0.8, n)), 1, 5
    )
    safe = np.clip(
        np.rint(
            3.7 - 0.65 * z[beat] + 0.3 * res["male"][hh_i] + 0.6 * shift + rng.normal(0, 0.8, n)
        ),
        1,
        5,
    )
    has_comment = rng.random(n) < 0.12
    tmpl = _COMMENTS[rng.integers(0, len(_COMMENTS), n)]
    comment = np.where(
        has_comment, pd.Series(tmpl).str.replace("{s}", "", regex=False).to_numpy(dtype=object), ""
    )
    with_street = has_comment & pd.Series(tmpl).str.contains("{s}", regex=False).to_numpy()
    comment[with_street] = [
        t.replace("{s}", st)
        for t, st in zip(tmpl[with_street], street_name_of_hh[hh_i[with_street]], strict=True)
    ]
    member = s["_member"].to_numpy()
    is_m = member >= 0
    mi = np.maximum(member, 0)
    anon_age = AGE_BANDS[res["age"][hh_i]]
    order = np.argsort(s["date"].to_numpy(), kind="stable")
    out = (
        pd.DataFrame(
            {
                "response_id": "",
                "date": pd.Series(s["date"].to_numpy()).dt.strftime("%Y-%m-%d").to_numpy(),
                "channel": s["channel"].to_numpy(),
                "member_id": np.where(is_m, mem["member_id"].to_numpy()[mi], ""),
                "postcode": np.where(is_m, mem["postcode"].to_numpy()[mi], hh["postcode"][hh_i]),
                "priorities": prio.to_numpy(dtype=object),
                "confidence": conf.astype(int),
                "feel_safe": safe.astype(int),
                "comments": comment,
                "gender": np.where(
                    is_m,
                    mem["gender"].to_numpy()[mi],
                    np.where(res["male"][hh_i], "Male", "Female"),
                ),
                "age_band": np.where(is_m, mem["age_band"].to_numpy()[mi], anon_age),
                "ethnicity": np.where(
                    is_m, mem["ethnicity"].to_numpy()[mi], _wording(res["eth"][hh_i], rng)
                ),
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    # a member located by coordinates only answers with their household's postcode
    out["postcode"] = np.where(out["postcode"] == "", hh["postcode"][hh_i[order]], out["postcode"])
    out["response_id"] = np.char.add("R", (np.arange(len(out)) + 1_000_001).astype(str))
    out["_beat"] = beat[order]
    return out


VISIT_OUTCOMES = np.array(
    ["Not in", "Spoke", "Surveyed", "Registered", "Declined", "No access"], dtype=object
)
_VISIT_P = np.array([0.45, 0.15, 0.15, 0.08, 0.12, 0.05])


def visits(
    quarters,
    beat_of_hh: np.ndarray,
    beat_codes: np.ndarray,
    target_score: np.ndarray,
    hh: dict,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Door-knock campaigns: each quarter a few beats (high crime, low membership) are
    targeted and about a quarter of their households knocked on."""
    n_beats = len(beat_codes)
    per_q = max(1, n_beats // 30)
    hh_by_beat = np.argsort(beat_of_hh, kind="stable")
    starts = np.searchsorted(beat_of_hh[hh_by_beat], np.arange(n_beats + 1))
    parts = []
    officer_no = rng.permutation(9000)[: n_beats * 4] + 1000
    surnames = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n_beats * 4)]
    for start, end in quarters:
        quarter = f"{str(start)[:4]}Q{(int(str(start)[5:7]) - 1) // 3 + 1}"
        p = np.exp(target_score + rng.gumbel(size=n_beats) * 0.5)
        beats = np.argsort(-p)[:per_q]
        for b in beats:
            pool = hh_by_beat[starts[b] : starts[b + 1]]
            pick = pool[rng.random(len(pool)) < 0.25]
            k = len(pick)
            day = _dates(start, end, k, rng)
            minute = rng.integers(10 * 60, 20 * 60, k)
            when = day.astype("datetime64[m]") + minute.astype("timedelta64[m]")
            off = 4 * b + rng.integers(0, 4, k)
            parts.append(
                pd.DataFrame(
                    {
                        "_hh": pick,
                        "visited_at": when,
                        "officer": np.char.add(
                            np.char.add("PCSO ", officer_no[off].astype(str)),
                            (" " + surnames[off]).astype(str),
                        ),
                        "outcome": VISIT_OUTCOMES[rng.choice(len(VISIT_OUTCOMES), k, p=_VISIT_P)],
                        "setup_id": f"{quarter}-{beat_codes[b]}",
                    }
                )
            )
    if not parts:
        return pd.DataFrame(
            columns=[
                "visit_id",
                "uprn",
                "visited_at",
                "officer",
                "outcome",
                "setup_id",
                "notes",
                "_hh",
                "_when",
            ]
        )
    v = pd.concat(parts, ignore_index=True)
    v = v.sort_values(["visited_at", "_hh"], kind="stable").reset_index(drop=True)
    notes = np.where(v["outcome"] == "Not in", "Calling card left", "")
    return pd.DataFrame(
        {
            "visit_id": np.char.add("V", (np.arange(len(v)) + 1_000_001).astype(str)),
            "uprn": hh["uprn"][v["_hh"].to_numpy()],
            "visited_at": pd.Series(v["visited_at"]).dt.strftime("%Y-%m-%dT%H:%M:00").to_numpy(),
            "officer": v["officer"].to_numpy(),
            "outcome": v["outcome"].to_numpy(),
            "setup_id": v["setup_id"].to_numpy(),
            "notes": notes,
            "_hh": v["_hh"].to_numpy(),
            "_when": v["visited_at"].to_numpy().astype("datetime64[D]"),
        }
    )


def simulate_people(quarters, end, hh, hh_beat, beat_codes, hh_sg, beat_counts, cats,
                    hh_street_names, rngs):
    """The demo's people model, in order: residents, door-knock visits (more where crime is
    high and engagement low), members (door-knock registrations become members), surveys
    whose priorities follow each beat's crime. Returns ``(residents, visits, members,
    surveys)``; the random streams ``rngs[3]`` to ``rngs[7]`` are used in that order."""
    n_beats = len(beat_codes)
    res = residents(hh_sg, rngs[3])
    hh_per_beat = np.bincount(hh_beat, minlength=n_beats)
    rate = beat_counts.sum(axis=1) / np.maximum(hh_per_beat, 1)
    engaged = np.bincount(
        hh_beat, weights=np.vectorize(SUPERGROUP_FACTOR.get)(hh_sg), minlength=n_beats
    ) / np.maximum(hh_per_beat, 1)
    target = np.log(np.maximum(rate, 1e-6)) - np.log(np.maximum(engaged, 1e-6))
    vis = visits(quarters, hh_beat, beat_codes, target, hh, rngs[4])
    n = len(hh_beat)
    forced = np.zeros(n, dtype=bool)
    forced_joined = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    reg = vis["outcome"].to_numpy() == "Registered"
    forced[vis["_hh"].to_numpy()[reg]] = True
    forced_joined[vis["_hh"].to_numpy()[reg]] = vis["_when"].to_numpy()[reg]
    mem = members(hh, res, hh_sg, forced, forced_joined, end, rngs[5])
    surveyed = vis["outcome"].to_numpy() == "Surveyed"
    beat_rates = pd.DataFrame(beat_counts / np.maximum(hh_per_beat, 1)[:, None], columns=cats)
    outlier = np.zeros(n_beats, dtype=bool)
    low = np.argsort(rate)[: max(1, n_beats // 4)]
    outlier[rngs[6].choice(low, max(1, n_beats // 20), replace=False)] = True
    sur = surveys(quarters, mem, hh, res, hh_beat, beat_rates, outlier, hh_street_names,
                  (vis["_hh"].to_numpy()[surveyed], vis["_when"].to_numpy()[surveyed]), rngs[7])
    return res, vis, mem, sur
