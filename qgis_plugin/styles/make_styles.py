# SPDX-License-Identifier: GPL-3.0-or-later
"""Regenerate the shipped ``*.qml`` styles (a development tool; not part of the built zip).

Run: ``QT_QPA_PLATFORM=offscreen python qgis_plugin/styles/make_styles.py``.
"""
from __future__ import annotations

import os

from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsClassificationQuantile,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGraduatedSymbolRenderer,
    QgsLineSymbol,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsRendererCategory,
    QgsSingleSymbolRenderer,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor

HERE = os.path.dirname(os.path.abspath(__file__))


def _layer(geom: str, fields: str) -> QgsVectorLayer:
    return QgsVectorLayer(f"{geom}?crs=EPSG:27700&{fields}", "style", "memory")


def _points(color: str, size: float, outline: str = "white") -> QgsSingleSymbolRenderer:
    return QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple(
        {"name": "circle", "color": color, "size": str(size), "outline_color": outline,
         "outline_width": "0.1"}))


def _labels(layer: QgsVectorLayer, expression: str, max_scale: float = 0) -> None:
    settings = QgsPalLayerSettings()
    settings.fieldName = expression
    settings.isExpression = True
    fmt = QgsTextFormat()
    fmt.setSize(8)
    settings.setFormat(fmt)
    if max_scale:
        settings.scaleVisibility = True
        settings.minimumScale = max_scale
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def _graduated(field: str, symbol, start: str, stop: str) -> QgsGraduatedSymbolRenderer:
    r = QgsGraduatedSymbolRenderer(field, [])
    r.setSourceSymbol(symbol)
    r.setSourceColorRamp(QgsGradientColorRamp(QColor(start), QColor(stop)))
    r.setClassificationMethod(QgsClassificationQuantile())
    return r


def make() -> list[str]:
    styles = {}
    areas = _layer("MultiPolygon", "field=name:string&field=code:string")
    areas.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
        {"color": "0,0,0,0", "outline_color": "#1f3a93", "outline_width": "0.4"})))
    _labels(areas, "coalesce(\"name\", \"code\")", 50000)
    styles["areas"] = areas

    streets = _layer("MultiLineString", "field=name:string&field=highway:string")
    streets.setRenderer(QgsSingleSymbolRenderer(QgsLineSymbol.createSimple(
        {"line_color": "#9a9a9a", "line_width": "0.3"})))
    styles["streets"] = streets

    scored = _layer("MultiLineString", "field=name:string&field=score:double&field=reasons:string")
    scored.setRenderer(_graduated("score", QgsLineSymbol.createSimple(
        {"line_color": "#fee08b", "line_width": "0.9", "capstyle": "round"}), "#fee08b", "#b30000"))
    _labels(scored, "\"name\"", 10000)
    styles["streets_by_score"] = scored

    cells = _layer("Polygon", "field=cell:string&field=value:double")
    cells.setRenderer(_graduated("value", QgsFillSymbol.createSimple(
        {"color": "#deebf7", "outline_color": "255,255,255,120", "outline_width": "0.05"}),
        "#deebf7", "#08519c"))
    cells.setOpacity(0.75)
    styles["h3_cells"] = cells

    priorities = _layer("MultiPolygon",
                        "field=name:string&field=priority:string&field=share:double")
    priorities.setRenderer(_graduated("share", QgsFillSymbol.createSimple(
        {"color": "#fff5eb", "outline_color": "#1f3a93", "outline_width": "0.5"}),
        "#fff5eb", "#d94801"))
    priorities.setOpacity(0.8)
    _labels(priorities, "\"name\" || '\\n' || coalesce(\"priority\", '')")
    styles["priorities_per_beat"] = priorities

    member_cells = _layer("Polygon", "field=cell:string&field=members:integer")
    member_cells.setRenderer(_graduated("members", QgsFillSymbol.createSimple(
        {"color": "#c7e9c0", "outline_color": "#1a9641", "outline_width": "0.1"}),
        "#c7e9c0", "#1a9641"))  # existing members, aggregated: green
    member_cells.setOpacity(0.7)
    styles["member_cells"] = member_cells

    hotspots = _layer("Polygon", "field=spot:string&field=z:double")
    spots = []
    for value, color, label in (("hot", "215,25,28,200", "hot spot"),
                                ("cold", "44,123,182,200", "cold spot"),
                                ("not significant", "200,200,200,40", "not significant")):
        spots.append(QgsRendererCategory(value, QgsFillSymbol.createSimple(
            {"color": color, "outline_color": "255,255,255,90", "outline_width": "0.05"}),
            label))
    hotspots.setRenderer(QgsCategorizedSymbolRenderer("spot", spots))
    styles["hotspots"] = hotspots

    for name, color, size in (("households", "#b0b0b0", 0.8), ("postcodes", "#6a51a3", 0.9),
                              ("crimes", "#54278f", 1.2), ("surveys", "#ff7f00", 1.6),
                              ("visits", "#3182bd", 1.4),
                              ("members", "#1a9641", 2.0),  # members in green
                              ("under_represented", "#d7191c", 1.6)):  # under-represented: red
        layer = _layer("Point", "field=id:string")
        layer.setRenderer(_points(color, size))
        styles[name] = layer

    written = []
    for name, layer in styles.items():
        path = os.path.join(HERE, f"{name}.qml")
        msg, ok = layer.saveNamedStyle(path)
        if not ok:
            raise RuntimeError(f"{name}: {msg}")
        written.append(path)
    return written


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    for path in make():
        print(path)
    app.exitQgis()
