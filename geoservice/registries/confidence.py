# SPDX-License-Identifier: GPL-3.0-or-later
"""Confidence, feeling safe and change over time per area (``docs/analytics/confidence.md``,
``docs/analytics/change.md``)."""
from __future__ import annotations

from typing import Any

COLLECTIONS: dict[str, dict[str, Any]] = {
    "area_confidence": {
        "title": "Confidence and feeling safe",
        "description": "Force, npas, beats and wards with the mean confidence in the police "
                       "and feeling safe (n, 95% intervals), crime and harm rates, and the "
                       "areas that feel less or more safe than their crime suggests "
                       "(aggregates; small counts withheld for partners and the public).",
        "provider": "geoservice.providers.confidence.AreaConfidenceProvider",
        "id_field": "area_id", "title_field": "area_name",
        "keywords": ["confidence", "feeling safe"],
    },
    "area_change": {
        "title": "Change over time",
        "description": "Force, npas, beats and wards: the newest quarter, the change since "
                       "the quarter before and the trend (95% intervals) of confidence, "
                       "feeling safe, members and crime, and the panel of people who "
                       "answered in both quarters (aggregates; small counts withheld for "
                       "partners and the public).",
        "provider": "geoservice.providers.confidence.AreaChangeProvider",
        "id_field": "area_id", "title_field": "area_name",
        "keywords": ["change", "confidence", "panel"],
    },
}
