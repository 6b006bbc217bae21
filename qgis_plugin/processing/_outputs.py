# SPDX-License-Identifier: GPL-3.0-or-later
"""What the analytics algorithms share: result sinks styled on load, geometries for results.

A result goes to a Processing feature sink (a temporary layer or a file the user picks) with
:func:`styled_sink`; when Processing loads it into the project, a post-processor applies the
plugin's style (and, for street scores, the form and map tip that show the reasons). The
geometry helpers only look up stored geometries (areas, streets) or draw H3 cells: no
analytics happens here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from qgis.core import (
    QgsEditFormConfig,
    QgsEditorWidgetSetup,
    QgsProcessingContext,
    QgsProcessingLayerPostProcessorInterface,
    QgsVectorLayer,
)

from ..convert import frame_to_sink
from ..layers import apply_style

__all__ = ["styled_sink", "explain_scores", "area_geometries", "street_geometries",
           "cell_polygons", "SCORE_ALIASES"]

# Post-processors must outlive the algorithm run: Processing holds plain pointers to them.
_KEEP: list[QgsProcessingLayerPostProcessorInterface] = []

SCORE_ALIASES = {
    "street_id": "Street id", "name": "Street", "beat_id": "Beat", "score": "Score",
    "rank_in_beat": "Rank in beat", "reasons": "Why this street",
    "harm": "Harm (0-1 in beat)", "harm_raw": "Expected harm (CCHI days a month)",
    "voice": "Community voice (0-1)", "voice_raw": "Community voice (share)",
    "representation": "Representation (0-1)",
    "representation_raw": "Under-represented households without a member",
    "coverage": "Coverage (0-1)", "coverage_raw": "Households not visited or registered",
    "fatigue": "Fatigue penalty (0-1)", "fatigue_raw": "Fatigue (raw)",
    "voice_n": "Respondents nearby", "profile": "Profile",
    "action": "Action (code)", "action_label": "Recommended action",
    "action_reason": "Why this action",
}


class _StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, style: str | None,
                 configure: Callable[[QgsVectorLayer], None] | None) -> None:
        super().__init__()
        self.style = style
        self.configure = configure

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802 - QGIS API
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            if self.style:
                apply_style(layer, self.style)
            if self.configure is not None:
                self.configure(layer)


def styled_sink(alg, frame, parameters: dict, key: str, context: QgsProcessingContext,
                title: str, style: str | None = None,
                configure: Callable[[QgsVectorLayer], None] | None = None) -> str:
    """:func:`convert.frame_to_sink`, and the style applied when the result is loaded."""
    dest = frame_to_sink(alg, frame, parameters, key, context, title)
    if (style or configure) and context.willLoadLayerOnCompletion(dest):
        details = context.layerToLoadOnCompletionDetails(dest)
        details.name = title
        proc = _StyleOnLoad(style, configure)
        _KEEP.append(proc)
        details.setPostProcessor(proc)
    return dest


def explain_scores(layer: QgsVectorLayer) -> None:
    """Make a street-scores layer read at a glance: the reasons as display expression, map tip
    and the first, multi-line field of a drag-and-drop form, the recommended action and its
    reason (when the layer has them) in the map tip and that tab; readable aliases."""
    fields = layer.fields()
    for name, alias in SCORE_ALIASES.items():
        i = fields.indexOf(name)
        if i >= 0:
            layer.setFieldAlias(i, alias)
    for name in ("reasons", "action_reason"):
        i = fields.indexOf(name)
        if i >= 0:
            layer.setEditorWidgetSetup(i, QgsEditorWidgetSetup(
                "TextEdit", {"IsMultiline": True, "UseHtml": False}))
    has_action = fields.indexOf("action_label") >= 0 and fields.indexOf("action_reason") >= 0
    layer.setDisplayExpression(
        "coalesce(\"name\", \"street_id\") || ' (' || format_number(\"score\", 2) || '): ' "
        "|| coalesce(\"reasons\", '')")
    layer.setMapTipTemplate(
        "<b>[% coalesce(\"name\", \"street_id\") %]</b> - score [% format_number(\"score\", 2) %],"
        " rank [% \"rank_in_beat\" %] in [% \"beat_id\" %]<br/>"
        "[% replace(coalesce(\"reasons\", 'no reason: every component is 0'), '; ', '<br/>') %]"
        + ("<br/><b>[% \"action_label\" %]</b>: [% \"action_reason\" %]" if has_action
           else ""))
    form = layer.editFormConfig()
    form.setLayout(QgsEditFormConfig.TabLayout)
    form.clearTabs()
    from qgis.core import QgsAttributeEditorContainer, QgsAttributeEditorField

    root = form.invisibleRootContainer()
    groups = (("Why this street", ("name", "score", "rank_in_beat", "beat_id", "reasons",
                                   "action_label", "action_reason")),
              ("Components", ("harm", "voice", "representation", "coverage", "fatigue")),
              ("Raw values", ("harm_raw", "voice_raw", "voice_n", "representation_raw",
                              "coverage_raw", "fatigue_raw")),
              ("Run", ("street_id", "profile", "run_id", "as_of", "action")))
    for title, names in groups:
        box = QgsAttributeEditorContainer(title, root)
        for name in names:
            j = fields.indexOf(name)
            if j >= 0:
                box.addChildElement(QgsAttributeEditorField(name, j, box))
        form.addTab(box)
    layer.setEditFormConfig(form)


def _geoseries(series):
    import geopandas as gpd

    return gpd.GeoSeries(series.to_numpy(), index=series.index.to_numpy(), crs=27700)


def area_geometries(store, ids: Sequence[str]):
    """Stored polygons of areas by ``area_id`` (a GeoSeries indexed by id, EPSG:27700); an
    area stored in several boundary sets gives its newest
    (:func:`spatial_core.api.export.area_geometries`)."""
    from spatial_core.api.export import area_geometries as core

    return _geoseries(core(store, sorted({str(i) for i in ids if i is not None})))


def street_geometries(store, ids: Sequence[str]):
    """Stored lines of streets by ``street_id`` (a GeoSeries indexed by id, EPSG:27700)."""
    from spatial_core.api.export import street_geometries as core

    return _geoseries(core(store, sorted({str(i) for i in ids if i is not None})))


def cell_polygons(cells):
    """H3 cells (int64) as hexagons in EPSG:27700 (a GeoSeries in the order given;
    :func:`spatial_core.api.tactical.cell_polygons`)."""
    from spatial_core.api.tactical import cell_polygons as core

    return core(cells)


def with_geometry(frame, geoms):
    """A GeoDataFrame of ``frame`` with ``geoms`` (aligned arrays) as geometry, EPSG:27700."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    return gpd.GeoDataFrame(pd.DataFrame(frame).reset_index(drop=True),
                            geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=27700),
                            crs=27700)
