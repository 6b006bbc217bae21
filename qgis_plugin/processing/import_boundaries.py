# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:import_boundaries."""
from __future__ import annotations

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterString

from ._importing import ImportAlgorithm


class ImportBoundariesAlgorithm(ImportAlgorithm):
    """Import boundaries."""

    NAME = "import_boundaries"
    DISPLAY_NAME = "Import boundaries"
    KIND = "boundaries"
    SPATIAL = True
    HELP = ("Area polygons of one level (force, neighbourhood policing area, beat, ward, LSOA, "
            "OA) from GeoJSON, GeoPackage, Shapefile or police.uk KML. A GeoJSON in British "
            "National Grid without a crs member needs CRS = EPSG:27700. See "
            "docs/formats/boundaries.md.")

    LEVEL = "LEVEL"
    ID_FIELD = "ID_FIELD"
    NAME_FIELD = "NAME_FIELD"
    PARENT_FIELD = "PARENT_FIELD"
    BOUNDARY_SET = "BOUNDARY_SET"
    VALID_FROM = "VALID_FROM"
    FILE_LAYER = "FILE_LAYER"

    def add_kind_parameters(self) -> None:
        from spatial_core.io.boundaries import LEVELS

        self.addParameter(QgsProcessingParameterEnum(
            self.LEVEL, self.tr("Level"), options=list(LEVELS), defaultValue=LEVELS.index("beat")))
        for key, label in ((self.ID_FIELD, "Field holding the area code (detected when empty)"),
                           (self.NAME_FIELD, "Field holding the name (detected when empty)"),
                           (self.PARENT_FIELD, "Field holding the parent area's code"),
                           (self.BOUNDARY_SET, "Name of a dated boundary set"),
                           (self.VALID_FROM, "Date the set starts (YYYY-MM-DD)"),
                           (self.FILE_LAYER, "Layer inside a GeoPackage holding several")):
            self.addParameter(QgsProcessingParameterString(key, self.tr(label), optional=True))

    def kind_options(self, parameters, context) -> dict:
        from spatial_core.io.boundaries import LEVELS

        def text(key: str) -> str | None:
            return self.parameterAsString(parameters, key, context) or None

        return {"level": LEVELS[self.parameterAsEnum(parameters, self.LEVEL, context)],
                "id_field": text(self.ID_FIELD), "name_field": text(self.NAME_FIELD),
                "parent_field": text(self.PARENT_FIELD), "boundary_set": text(self.BOUNDARY_SET),
                "valid_from": text(self.VALID_FROM), "layer": text(self.FILE_LAYER)}
