# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_addresses."""
from __future__ import annotations

from ._importing import ImportAlgorithm


class ImportAddressesAlgorithm(ImportAlgorithm):
    """Import addresses"""

    NAME = "import_addresses"
    DISPLAY_NAME = "Import addresses"
    KIND = "addresses"
    SPATIAL = False
    HELP = ("Households: OS Open UPRN or a CSV of addresses with UPRN and coordinates or "
            "postcode. See docs/formats/addresses.md.")
