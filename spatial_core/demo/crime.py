# SPDX-License-Identifier: GPL-3.0-or-later
"""Street-level crime for the demo force, as police.uk publishes it.

Each street gets an intensity: more households, main roads and town centres attract more
crime, and a heavy-tailed (log-normal) street effect concentrates it, as real crime is (about
half of it on about 5% of streets). Categories follow police.uk's national proportions,
shifted by place: shoplifting and theft from the person in town centres, drugs and
anti-social behaviour where deprivation is higher. Counts are Poisson per street, category
and month; each crime sits on one of its street's snap points ("On or near <street>"),
a few on named points of interest, and about 3% have no location, as in police.uk files.

Volume: 87 crimes and ASB incidents per 1,000 residents a year at 2.3 residents a household
(0.2 a household a year), between Leicestershire (~93) and the England and Wales average.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["CATEGORIES", "CrimeModel", "make_crime_model", "month_crimes", "PER_HOUSEHOLD_YEAR"]

log = logging.getLogger(__name__)

PER_HOUSEHOLD_YEAR = 0.2
NO_LOCATION_SHARE = 0.03

# category: (national share, town-centre pull, deprivation pull)
CATEGORIES: dict[str, tuple[float, float, float]] = {
    "Anti-social behaviour": (0.26, 0.8, 1.0),
    "Violence and sexual offences": (0.30, 0.8, 0.8),
    "Criminal damage and arson": (0.075, 0.2, 0.8),
    "Other theft": (0.065, 1.0, 0.3),
    "Shoplifting": (0.065, 3.0, 0.2),
    "Burglary": (0.045, 0.0, 0.5),
    "Vehicle crime": (0.055, 0.3, 0.5),
    "Public order": (0.06, 1.2, 0.6),
    "Drugs": (0.025, 0.8, 1.6),
    "Other crime": (0.017, 0.3, 0.5),
    "Theft from the person": (0.013, 2.5, 0.2),
    "Bicycle theft": (0.01, 1.5, 0.0),
    "Robbery": (0.007, 1.5, 0.8),
    "Possession of weapons": (0.007, 0.8, 1.0),
}

_OUTCOMES = np.array(
    [
        "Investigation complete; no suspect identified",
        "Unable to prosecute suspect",
        "Status update unavailable",
        "Local resolution",
        "Court result unavailable",
        "Offender given a caution",
        "Awaiting court outcome",
        "Further investigation is not in the public interest",
        "Formal action is not in the public interest",
        "Action to be taken by another organisation",
        "Suspect charged as part of another case",
        "Offender given a drugs possession warning",
    ],
    dtype=object,
)
_OUTCOME_P = np.array([0.42, 0.31, 0.06, 0.04, 0.04, 0.02, 0.03, 0.02, 0.02, 0.015, 0.01, 0.005])
_POI = np.array(
    [
        "Supermarket",
        "Shopping Area",
        "Parking Area",
        "Petrol Station",
        "Nightclub",
        "Sports/Recreation Area",
        "Pedestrian Subway",
        "Further/Higher Educational Building",
    ],
    dtype=object,
)


@dataclass
class CrimeModel:
    """Per-street expected crimes a month by category, and where to put them."""

    rate: np.ndarray  # (streets, categories) expected crimes a month
    seg_start: np.ndarray  # first snap point of each street
    seg_count: np.ndarray
    centre: np.ndarray  # (streets,) town-centre closeness 0..1


def make_crime_model(
    street_households: np.ndarray,
    street_highway: np.ndarray,
    centre: np.ndarray,
    deprivation: np.ndarray,
    snap_street: np.ndarray,
    households: int,
    rng: np.random.Generator,
) -> CrimeModel:
    """Street intensities scaled to :data:`PER_HOUSEHOLD_YEAR` for the whole force."""
    n = len(street_households)
    share = np.array([v[0] for v in CATEGORIES.values()])
    share = share / share.sum()
    pull_c = np.array([v[1] for v in CATEGORIES.values()])
    pull_d = np.array([v[2] for v in CATEGORIES.values()])
    road = np.select([street_highway == "primary", street_highway == "tertiary"], [3.0, 1.8], 1.0)
    street_effect = np.exp(rng.normal(0.0, 1.4, n))
    w = (street_households + 2.0) ** 0.8 * road * street_effect * (1 + 5 * centre)
    mix = share[None, :] * np.exp(
        pull_c[None, :] * centre[:, None] + pull_d[None, :] * deprivation[:, None]
    )
    mix /= mix.sum(axis=1, keepdims=True)
    # keep the force-wide category mix at the national shares
    mix *= share / (w @ mix / w.sum())
    rate = w[:, None] * mix
    rate *= PER_HOUSEHOLD_YEAR * households / 12 / rate.sum()
    seg_count = np.bincount(snap_street, minlength=n)
    seg_start = np.concatenate([[0], np.cumsum(seg_count)[:-1]])
    return CrimeModel(rate, seg_start, seg_count, centre)


def month_crimes(
    model: CrimeModel, month: str, month_index: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The crimes of one month: street, category index, snap point, outcome, Crime ID."""
    season = 1 + 0.12 * np.sin(2 * np.pi * (int(month[5:7]) - 4) / 12)  # summer peak
    counts = rng.poisson(model.rate * season)
    street, cat = np.nonzero(counts)
    reps = counts[street, cat]
    street, cat = np.repeat(street, reps), np.repeat(cat, reps)
    n = len(street)
    snap = model.seg_start[street] + (rng.random(n) * model.seg_count[street]).astype("int64")
    cats = np.array(list(CATEGORIES), dtype=object)
    names = cats[cat]
    asb = names == "Anti-social behaviour"
    outcome = _OUTCOMES[rng.choice(len(_OUTCOMES), n, p=_OUTCOME_P / _OUTCOME_P.sum())]
    recent = rng.random(n) < (0.6 if month_index >= 10 else 0.05)
    outcome = np.where(recent, "Under investigation", outcome)
    outcome = np.where(asb, "", outcome)
    hexes = np.frombuffer(b"0123456789abcdef", dtype="S1")
    raw = rng.integers(0, 16, (n, 64), dtype="uint8")
    crime_id = hexes[raw].view("S64").ravel().astype(str).astype(object)
    crime_id = np.where(asb, "", crime_id)
    located = rng.random(n) >= NO_LOCATION_SHARE
    poi = np.full(n, None, dtype=object)
    shop = (names == "Shoplifting") & (rng.random(n) < 0.7)
    poi[shop] = np.where(rng.random(int(shop.sum())) < 0.7, "Supermarket", "Shopping Area")
    other = ~shop & (rng.random(n) < 0.04)
    poi[other] = _POI[rng.integers(0, len(_POI), int(other.sum()))]
    return {
        "street": street,
        "category": names,
        "snap": snap,
        "outcome": outcome,
        "crime_id": crime_id,
        "located": located,
        "poi": poi,
    }
