# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups and communities (issue 11): key individual network gaps and membership by group,
and local priorities, confidence and feeling safe by group. Plain declarations."""
from __future__ import annotations

from typing import Any

COLLECTIONS: dict[str, dict[str, Any]] = {
    "network_gaps": {
        "title": "Key individual networks per beat",
        "description": "Beats with their households, members and current members of the key "
                       "individual network and the independent advisory group; beats with "
                       "none (or fewer than ?min_members=) flagged. Aggregates, no names: "
                       "police roles their beats, partners and the public every beat with "
                       "small counts withheld.",
        "provider": "geoservice.providers.groups.NetworkGapProvider",
        "id_field": "area_id", "title_field": "area_name", "keywords": ["networks"],
    },
    "network_groups": {
        "title": "Key individual networks against the population",
        "description": "Each network's membership (KIN, IAG) against the population per area "
                       "and group (?by=class|ethnicity|language|religion|origins, "
                       "?area_level=force|npa|ward|beat): shares, ratios with 95% intervals, "
                       "groups below the 70% target. Aggregates: police roles their areas, "
                       "partners and the public every area with small counts withheld.",
        "provider": "geoservice.providers.groups.NetworkGroupProvider",
        "id_field": "row_id", "title_field": "group_name", "keywords": ["networks"],
    },
}

PROCESSES: dict[str, str] = {
    "priorities-by-group": "geoservice.processes.priorities_by_group.PrioritiesByGroupProcessor",
}
