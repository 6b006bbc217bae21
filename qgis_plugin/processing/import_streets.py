# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_streets."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportStreetsAlgorithm(ImportAlgorithm):
    """Import streets"""

    NAME = "import_streets"
    DISPLAY_NAME = "Import streets"
    KIND = "streets"
    SPATIAL = True
    HELP = ("Road lines (OpenStreetMap .osm.pbf/.gpkg/.geojson or OS Open Roads) cut into street "
            "units. See docs/formats/streets.md.")
