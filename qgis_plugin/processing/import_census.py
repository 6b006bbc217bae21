# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_census."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterEnum

from ._importing import ImportAlgorithm, enum_choice


def _tables() -> list[str]:
    """"Detect", then the tables the core reads (:data:`spatial_core.io.census.CENSUS_TABLES`)."""
    from spatial_core.io.census import CENSUS_TABLES

    return ["detect from the header", *CENSUS_TABLES]


class ImportCensusAlgorithm(ImportAlgorithm):
    """Import census tables"""

    NAME = "import_census"
    DISPLAY_NAME = "Import census tables (population base)"
    KIND = "census"
    SPATIAL = False
    HELP = ("ONS Census 2021 output-area tables in the bulk CSV layout ONS and Nomis publish "
            "(TS021 ethnic group, TS024 main language, TS004 country of birth, TS030 "
            "religion), or an Origins-style base (oa_code, origins, count): the population "
            "base that representation by ethnicity, language, religion or Origins compares "
            "members with. Output areas the store does not hold are skipped and counted; any "
            "other layout is an error naming the file, row and column. See "
            "docs/analytics/representation.md.")

    TABLE = "TABLE"

    def add_kind_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterEnum(
            self.TABLE, self.tr("Table (checked against the file)"), options=_tables(),
            defaultValue=0))

    def kind_options(self, parameters, context) -> dict:
        return {"table": enum_choice(self, parameters, self.TABLE, context, _tables())}
