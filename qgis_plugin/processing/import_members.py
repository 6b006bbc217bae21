# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_members."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportMembersAlgorithm(ImportAlgorithm):
    """Import members"""

    NAME = "import_members"
    DISPLAY_NAME = "Import members"
    KIND = "members"
    SPATIAL = False
    HELP = ("Member exports (CSV). Personal columns stay in the store. See "
            "docs/formats/members.md.")
