# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_classification."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterString

from ._importing import ImportAlgorithm, enum_choice

_DETECT = "(detect)"


class ImportClassificationAlgorithm(ImportAlgorithm):
    """Import a geodemographic classification."""

    NAME = "import_classification"
    DISPLAY_NAME = "Import geodemographic classification"
    KIND = "classification"
    SPATIAL = None  # a layer with geometry goes as a GeoPackage, a table as CSV
    HELP = ("OAC 2011/2021, Mosaic or Acorn: lookup CSVs, Parquet tables or polygons carrying "
            "the class (polygons also become OA or LSOA areas). See "
            "docs/formats/classification.md.")

    SCHEME = "SCHEME"
    KEY_TYPE = "KEY_TYPE"
    BOUNDARY_SET = "BOUNDARY_SET"

    def add_kind_parameters(self) -> None:
        from spatial_core.io.classification import KEY_TYPES, SCHEMES

        self.addParameter(QgsProcessingParameterEnum(
            self.SCHEME, self.tr("Scheme"), options=[_DETECT, *SCHEMES], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.KEY_TYPE, self.tr("Key type"), options=[_DETECT, *KEY_TYPES], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.BOUNDARY_SET, self.tr("Boundary set of areas made from polygons"), optional=True))

    def kind_options(self, parameters, context) -> dict:
        from spatial_core.io.classification import KEY_TYPES, SCHEMES

        return {
            "scheme": enum_choice(self, parameters, self.SCHEME, context, [_DETECT, *SCHEMES]),
            "key_type": enum_choice(self, parameters, self.KEY_TYPE, context,
                                    [_DETECT, *KEY_TYPES]),
            "boundary_set": self.parameterAsString(parameters, self.BOUNDARY_SET, context) or None,
        }
