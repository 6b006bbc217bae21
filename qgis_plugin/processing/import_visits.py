# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_visits."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportVisitsAlgorithm(ImportAlgorithm):
    """Import visits"""

    NAME = "import_visits"
    DISPLAY_NAME = "Import visits"
    KIND = "visits"
    SPATIAL = False
    HELP = ("Door-knock visit logs (CSV). See docs/formats/visits.md.")
