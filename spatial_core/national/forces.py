# SPDX-License-Identifier: GPL-3.0-or-later
"""The 43 territorial police forces of England and Wales, for sizing the synthetic nation.

``households`` is an approximate household count of each police force area (Census 2021
local authority household counts grouped by force area, rounded to the nearest 5,000; City
of London about 5,000): good for sizing a synthetic nation, not for publishing.
``easting``/``northing`` are a rough middle of each force area in British National Grid, so
the synthetic forces lie roughly where the real ones do. The codes are police.uk's force ids.
"""
from __future__ import annotations

from dataclasses import dataclass

from spatial_core.errors import InputError

__all__ = ["ForceSpec", "FORCES", "national_forces", "TOTAL_HOUSEHOLDS"]


@dataclass(frozen=True)
class ForceSpec:
    """One force: police.uk id, name, approximate households, rough middle (BNG)."""

    code: str
    name: str
    households: int
    easting: float
    northing: float


FORCES: tuple[ForceSpec, ...] = tuple(ForceSpec(*row) for row in (
    ("avon-and-somerset", "Avon and Somerset Constabulary", 740_000, 350_000, 150_000),
    ("bedfordshire", "Bedfordshire Police", 270_000, 505_000, 235_000),
    ("cambridgeshire", "Cambridgeshire Constabulary", 370_000, 530_000, 280_000),
    ("cheshire", "Cheshire Constabulary", 470_000, 360_000, 365_000),
    ("city-of-london", "City of London Police", 5_000, 532_500, 181_300),
    ("cleveland", "Cleveland Police", 250_000, 450_000, 520_000),
    ("cumbria", "Cumbria Constabulary", 230_000, 340_000, 520_000),
    ("derbyshire", "Derbyshire Constabulary", 450_000, 425_000, 360_000),
    ("devon-and-cornwall", "Devon and Cornwall Police", 790_000, 240_000, 70_000),
    ("dorset", "Dorset Police", 340_000, 370_000, 95_000),
    ("durham", "Durham Constabulary", 280_000, 420_000, 535_000),
    ("dyfed-powys", "Dyfed-Powys Police", 230_000, 260_000, 260_000),
    ("essex", "Essex Police", 760_000, 570_000, 215_000),
    ("gloucestershire", "Gloucestershire Constabulary", 280_000, 385_000, 215_000),
    ("greater-manchester", "Greater Manchester Police", 1_190_000, 385_000, 400_000),
    ("gwent", "Gwent Police", 260_000, 330_000, 200_000),
    ("hampshire", "Hampshire and Isle of Wight Constabulary", 850_000, 450_000, 120_000),
    ("hertfordshire", "Hertfordshire Constabulary", 480_000, 520_000, 215_000),
    ("humberside", "Humberside Police", 410_000, 500_000, 440_000),
    ("kent", "Kent Police", 770_000, 580_000, 150_000),
    ("lancashire", "Lancashire Constabulary", 640_000, 360_000, 440_000),
    ("leicestershire", "Leicestershire Police", 450_000, 460_000, 305_000),
    ("lincolnshire", "Lincolnshire Police", 330_000, 510_000, 370_000),
    ("merseyside", "Merseyside Police", 620_000, 340_000, 392_000),
    ("metropolitan", "Metropolitan Police Service", 3_420_000, 530_000, 180_000),
    ("norfolk", "Norfolk Constabulary", 400_000, 610_000, 310_000),
    ("north-wales", "North Wales Police", 300_000, 290_000, 360_000),
    ("north-yorkshire", "North Yorkshire Police", 360_000, 440_000, 480_000),
    ("northamptonshire", "Northamptonshire Police", 320_000, 475_000, 265_000),
    ("northumbria", "Northumbria Police", 650_000, 420_000, 570_000),
    ("nottinghamshire", "Nottinghamshire Police", 490_000, 465_000, 355_000),
    ("south-wales", "South Wales Police", 580_000, 290_000, 190_000),
    ("south-yorkshire", "South Yorkshire Police", 590_000, 440_000, 400_000),
    ("staffordshire", "Staffordshire Police", 480_000, 395_000, 325_000),
    ("suffolk", "Suffolk Constabulary", 330_000, 610_000, 260_000),
    ("surrey", "Surrey Police", 480_000, 505_000, 150_000),
    ("sussex", "Sussex Police", 730_000, 520_000, 115_000),
    ("thames-valley", "Thames Valley Police", 950_000, 470_000, 200_000),
    ("warwickshire", "Warwickshire Police", 250_000, 430_000, 265_000),
    ("west-mercia", "West Mercia Police", 560_000, 370_000, 260_000),
    ("west-midlands", "West Midlands Police", 1_150_000, 405_000, 285_000),
    ("west-yorkshire", "West Yorkshire Police", 970_000, 420_000, 430_000),
    ("wiltshire", "Wiltshire Police", 300_000, 400_000, 160_000),
))

TOTAL_HOUSEHOLDS = sum(f.households for f in FORCES)
"""About 24.8 million households in England and Wales."""


def national_forces(n: int | None = None, *, scale: float = 0.01,
                    min_households: int = 1_000) -> list[tuple[ForceSpec, int]]:
    """The first ``n`` forces (all 43 when None), in police.uk id order, each with its
    synthetic size: ``households * scale``, at least ``min_households`` (the demo's smallest).

    >>> [(f.code, h) for f, h in national_forces(2, scale=0.01)]
    [('avon-and-somerset', 7400), ('bedfordshire', 2700)]
    >>> sum(h for _, h in national_forces(scale=0.01))  # City of London raised to 1,000
    248700
    """
    if n is not None and not 1 <= n <= len(FORCES):
        raise InputError(f"forces must be between 1 and {len(FORCES)}, got {n}")
    if not 0 < scale <= 1:
        raise InputError(f"scale must be in (0, 1], got {scale}")
    chosen = FORCES if n is None else FORCES[:n]
    return [(f, max(min_households, int(round(f.households * scale)))) for f in chosen]
