# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_surveys."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportSurveysAlgorithm(ImportAlgorithm):
    """Import surveys"""

    NAME = "import_surveys"
    DISPLAY_NAME = "Import surveys"
    KIND = "surveys"
    SPATIAL = False
    HELP = ("Survey responses with priorities (CSV). See docs/formats/surveys.md.")
