# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_postcodes."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportPostcodesAlgorithm(ImportAlgorithm):
    """Import postcodes"""

    NAME = "import_postcodes"
    DISPLAY_NAME = "Import postcodes"
    KIND = "postcodes"
    SPATIAL = False
    HELP = ("Postcode centroids: OS Code-Point Open or ONS Postcode Directory CSVs. See "
            "docs/formats/postcodes.md.")
