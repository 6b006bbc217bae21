# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared shape of the import algorithms: files or a project layer, CRS, encoding, report."""
from __future__ import annotations

import json
import os
import re
import tempfile

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterCrs,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ._base import LptAlgorithm, progress_callable

__all__ = ["ImportAlgorithm", "layer_to_file", "crs_to_epsg", "enum_choice"]


def crs_to_epsg(crs) -> int | None:
    """An EPSG code from a QGIS CRS parameter (None when not given)."""
    if crs is None or not crs.isValid():
        return None
    auth = crs.authid()
    if not auth.upper().startswith("EPSG:"):
        raise QgsProcessingException(f"CRS {auth or crs.description()} has no EPSG code; "
                                     "choose an EPSG CRS (27700 = British National Grid)")
    return int(auth.split(":", 1)[1])


def enum_choice(alg, parameters: dict, name: str, context, options: list[str]) -> str | None:
    """The chosen enum option; the first option means "detect" (None)."""
    i = alg.parameterAsEnum(parameters, name, context)
    return None if i <= 0 else options[i]


def layer_to_file(layer: QgsVectorLayer, folder: str, spatial: bool, context) -> str:
    """Write a project layer to a GeoPackage (``spatial``) or a CSV of its attributes.

    The file is named after the layer, so the core's messages name something the analyst
    recognises; CSV row numbers count the header as row 1, like the original file's.
    """
    base = re.sub(r"[^\w.-]+", "_", layer.name()).strip("_") or "layer"
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.fileEncoding = "UTF-8"
    if spatial:
        options.driverName = "GPKG"
        options.layerName = base
        path = os.path.join(folder, f"{base}.gpkg")
    else:
        options.driverName = "CSV"
        options.skipAttributeCreation = False
        path = os.path.join(folder, f"{base}.csv")
    err, msg, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, path, context.transformContext(), options)
    if err != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"cannot write layer {layer.name()} to {path}: {msg}")
    return path


class ImportAlgorithm(LptAlgorithm):
    """Import files (or a project layer) of one kind into the store with spatial_core."""

    GROUP = "Import"
    GROUP_ID = "import"

    KIND = ""  # spatial_core.io.imports.KINDS key
    SPATIAL = False  # a layer is written as a GeoPackage (True) or as CSV attributes (False)

    FILES = "FILES"
    LAYER = "LAYER"
    CRS = "CRS"
    ENCODING = "ENCODING"
    READ = "READ"
    IMPORTED = "IMPORTED"
    SKIPPED = "SKIPPED"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.FILES, self.tr("Files"), QgsProcessing.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(
            self.LAYER, self.tr("…or a layer of the project"),
            [QgsProcessing.TypeVectorAnyGeometry if self.SPATIAL else QgsProcessing.TypeVector],
            optional=True))
        self.addParameter(QgsProcessingParameterCrs(
            self.CRS, self.tr("CRS of the coordinates, when the file does not say or says wrongly"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.ENCODING, self.tr("Text encoding of CSV files (default UTF-8; cp1252 for Excel)"),
            optional=True))
        self.add_kind_parameters()
        self.addOutput(QgsProcessingOutputNumber(self.READ, self.tr("Rows read")))
        self.addOutput(QgsProcessingOutputNumber(self.IMPORTED, self.tr("Rows imported")))
        self.addOutput(QgsProcessingOutputNumber(self.SKIPPED, self.tr("Rows skipped")))
        self.addOutput(QgsProcessingOutputString(self.REPORT, self.tr("Import report (JSON)")))

    def add_kind_parameters(self) -> None:
        """Parameters only this kind has (subclasses)."""

    def kind_options(self, parameters: dict, context: QgsProcessingContext) -> dict:
        """Keyword options for the core importer from the kind's own parameters."""
        return {}

    def processAlgorithm(self, parameters: dict, context: QgsProcessingContext,  # noqa: N802
                         feedback: QgsProcessingFeedback) -> dict:
        from spatial_core.io.imports import import_files

        # An absent optional FILES must stay empty (never the current folder).
        given = parameters.get(self.FILES) not in (None, "", [])
        paths = [p for p in self.parameterAsFileList(parameters, self.FILES, context) or []
                 if p] if given else []
        layer = self.parameterAsVectorLayer(parameters, self.LAYER, context)
        options = {"crs": crs_to_epsg(self.parameterAsCrs(parameters, self.CRS, context)),
                   "encoding": self.parameterAsString(parameters, self.ENCODING, context) or None,
                   **self.kind_options(parameters, context)}
        options = {k: v for k, v in options.items() if v is not None}
        with tempfile.TemporaryDirectory(prefix="lpt-layer-") as folder:
            if layer is not None:
                spatial = self.SPATIAL or (self.SPATIAL is None and layer.isSpatial())
                paths.append(layer_to_file(layer, folder, bool(spatial), context))
                feedback.pushInfo(f"layer {layer.name()} written to {paths[-1]} for the import")
            if not paths:
                raise QgsProcessingException("Give files to import or a layer of the project.")
            with self.opened_store(parameters, context, create=True) as store:
                report = import_files(store, self.KIND, paths,
                                      progress=progress_callable(feedback), **options)
        feedback.pushInfo(report.summary())
        return {self.READ: report.read, self.IMPORTED: report.imported,
                self.SKIPPED: report.skipped, self.REPORT: json.dumps(report.to_dict())}
