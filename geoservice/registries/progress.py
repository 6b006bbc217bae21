# SPDX-License-Identifier: GPL-3.0-or-later
"""Supervisors' progress collections (:mod:`geoservice.providers.progress`)."""
from __future__ import annotations

from typing import Any

__all__ = ["COLLECTIONS"]

_P = "geoservice.providers.progress."

COLLECTIONS: dict[str, dict[str, Any]] = {
    "progress_headline": {
        "title": "Progress headline",
        "description": "Houses visited, visits, registered, joined as members, surveyed at "
                       "the door and online later (?since=YYYY-MM-DD). Police roles: their "
                       "beats (the force for an analyst); partners and the public: the force "
                       "in whole months, counts below the disclosure threshold withheld.",
        "provider": _P + "ProgressHeadlineProvider",
        "id_field": "headline_id", "title_field": "headline_id", "keywords": ["progress"],
    },
    "progress_setups": {
        "title": "Set-up progress",
        "description": "Each live targeting set-up against its targets and whether it is "
                       "falling behind (police roles, set-ups with a street in their beats).",
        "provider": _P + "ProgressSetupProvider",
        "id_field": "setup_id", "title_field": "name", "keywords": ["progress", "setups"],
    },
    "progress_beats": {
        "title": "Set-up progress per beat",
        "description": "Each live set-up's beats with their share of its targets and whether "
                       "they are falling behind (police roles, their beats).",
        "provider": _P + "ProgressBeatProvider",
        "id_field": "progress_id", "title_field": "beat_id", "keywords": ["progress"],
    },
    "progress_officers": {
        "title": "Set-up progress per officer",
        "description": "Visits, registrations and surveys per set-up and officer id as "
                       "recorded (police roles, visits in their beats; every read is "
                       "audited, with an X-Purpose).",
        "provider": _P + "ProgressOfficerProvider",
        "id_field": "progress_id", "title_field": "officer", "keywords": ["progress"],
    },
    "progress_days": {
        "title": "Set-up progress per day",
        "description": "Visits, registrations and surveys per set-up and day (police roles, "
                       "visits in their beats).",
        "provider": _P + "ProgressDayProvider",
        "id_field": "progress_id", "title_field": "day", "keywords": ["progress"],
    },
}
