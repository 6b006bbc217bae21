# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:load_store_layers."""
from __future__ import annotations

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingParameterEnum,
)

from ..layers import STORE_LAYERS, apply_style, store_layer
from ._base import LptAlgorithm


class LoadStoreLayersAlgorithm(LptAlgorithm):
    """Add the store's tables to the project as styled layers."""

    NAME = "load_store_layers"
    DISPLAY_NAME = "Load store layers"
    HELP = ("Adds the store's tables that hold rows as layers styled by the plugin: areas "
            "(one layer per level), streets, households, crimes, survey responses, visits and "
            "members (green). Works on a GeoPackage store and on PostGIS.")

    TABLES = "TABLES"
    OUTPUT = "OUTPUT"

    def flags(self):
        # Layers are created for the project, so this runs in the main thread.
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.TABLES, self.tr("Tables (all that hold rows when none is chosen)"),
            options=[s.table for s in STORE_LAYERS], allowMultiple=True, optional=True))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.OUTPUT, self.tr("Layers")))

    def processAlgorithm(self, parameters: dict, context: QgsProcessingContext,  # noqa: N802
                         feedback) -> dict:
        from spatial_core.store.status import store_status

        given = parameters.get(self.TABLES) not in (None, "", [])
        # parameterAsEnums gives [0] for an empty optional value, so look at the value itself
        chosen = self.parameterAsEnums(parameters, self.TABLES, context) if given else []
        wanted = [STORE_LAYERS[i] for i in sorted(chosen)] if chosen else list(STORE_LAYERS)
        location = self.store_location(parameters, context)
        with self.opened_store(parameters, context) as store:
            status = store_status(store)
        ids = []
        for spec in wanted:
            if not status["counts"].get(spec.table):
                feedback.pushInfo(f"{spec.table}: empty, not loaded")
                continue
            if spec.table == "areas":
                parts = [(f"{spec.title}: {level}", f"\"level\" = '{level}'")
                         for level in sorted(status["areas_by_level"])]
            else:
                parts = [(spec.title, "")]
            for title, subset in parts:
                layer = store_layer(location, spec.table, title, subset)
                if not layer.isValid():
                    raise QgsProcessingException(f"cannot open table {spec.table} of {location} "
                                                 "as a layer")
                apply_style(layer, spec.style)
                context.temporaryLayerStore().addMapLayer(layer)
                context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(
                    title, context.project(), self.OUTPUT))
                ids.append(layer.id())
                feedback.pushInfo(f"{title}: {layer.featureCount()} features")
        return {self.OUTPUT: ids}
