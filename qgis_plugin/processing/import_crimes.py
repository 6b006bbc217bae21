# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_crimes."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportCrimesAlgorithm(ImportAlgorithm):
    """Import crimes"""

    NAME = "import_crimes"
    DISPLAY_NAME = "Import crimes"
    KIND = "crimes"
    SPATIAL = False
    HELP = ("police.uk street-level crime CSVs (files, .csv.gz or a folder of months) or a force "
            "extract. Rows whose key is already stored are skipped, so importing a month twice "
            "changes nothing. See docs/formats/crimes.md.")
