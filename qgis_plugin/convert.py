# SPDX-License-Identifier: GPL-3.0-or-later
"""Core results (GeoDataFrames, data frames) to QGIS layers and Processing sinks.

A frame is written once to a GeoPackage with pyogrio (vectorised), then opened by OGR; a
sink receives its features in one ``addFeatures`` call, so no Python loop runs per feature.
"""
from __future__ import annotations

import os
import re
import uuid

from qgis.core import QgsFeatureSink, QgsProcessingException, QgsProcessingUtils, QgsVectorLayer

from .layers import apply_style

__all__ = ["frame_to_layer", "frame_to_sink"]


def frame_to_layer(frame, title: str, style: str | None = None) -> QgsVectorLayer:
    """A (Geo)DataFrame as a layer in Processing's temporary folder, styled when asked."""
    import geopandas as gpd

    name = re.sub(r"\W+", "_", title).strip("_").lower() or "result"
    path = os.path.join(QgsProcessingUtils.tempFolder(), f"{name}_{uuid.uuid4().hex[:8]}.gpkg")
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    else:
        gpd.GeoDataFrame(frame).to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    layer = QgsVectorLayer(f"{path}|layername={name}", title, "ogr")
    if not layer.isValid():
        raise QgsProcessingException(f"cannot open the result {title} written to {path}")
    if style:
        apply_style(layer, style)
    return layer


def frame_to_sink(alg, frame, parameters: dict, key: str, context, title: str) -> str:
    """Send a (Geo)DataFrame to the algorithm's feature sink ``key``; returns the sink id."""
    layer = frame_to_layer(frame, title)
    sink, dest = alg.parameterAsSink(parameters, key, context, layer.fields(), layer.wkbType(),
                                     layer.crs())
    if sink is None:
        raise QgsProcessingException(alg.invalidSinkError(parameters, key))
    sink.addFeatures(layer.getFeatures(), QgsFeatureSink.FastInsert)
    return dest
