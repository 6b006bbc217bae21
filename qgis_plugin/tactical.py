# SPDX-License-Identifier: GPL-3.0-or-later
"""The tactical document of a beat or neighbourhood policing area: a QGIS print layout.

Page 1: the map of the recommended streets (graduated by score), the under-represented
households (red) and where members already are (green cells), with a legend and a scale
bar, beside the table of recommended streets and their reasons. Page 2: the area's local
priorities (share and 95% interval) and its representation against the target, the profile
used and the data attributions. Both pages carry the date.
Pages 3 and on: the further sections (:class:`spatial_core.api.tactical.TacticalSection`).

:func:`gather` asks spatial_core for the content (:func:`spatial_core.api.tactical.
tactical_content`; no analytics here), :func:`build_layout` lays it out, :func:`export_pdf`
writes the PDF.
"""
from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsLayoutExporter,
    QgsLayoutFrame,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemPage,
    QgsLayoutItemScaleBar,
    QgsLayoutItemTextTable,
    QgsLayoutMultiFrame,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLayoutTable,
    QgsLayoutTableColumn,
    QgsLegendStyle,
    QgsPrintLayout,
    QgsProject,
    QgsRectangle,
    QgsTextFormat,
    QgsUnitTypes,
)
from qgis.PyQt.QtCore import QRectF, QSize
from qgis.PyQt.QtGui import QColor, QFont

from spatial_core.api.attribution import DEMO_DOCUMENT_LINE, DOCUMENT_LINES
from spatial_core.api.tactical import TacticalContent, tactical_content

from .convert import frame_to_layer

__all__ = ["TacticalData", "ATTRIBUTIONS", "DEMO_ATTRIBUTION", "gather", "build_layout",
           "export_pdf", "render_page", "MAP_RECT", "PAGE_SIZE"]

PAGE_SIZE = (297.0, 210.0)  # A4 landscape, mm
MAP_RECT = (10.0, 28.0, 168.0, 150.0)  # x, y, width, height on page 1, mm

ATTRIBUTIONS = DOCUMENT_LINES  # by kind of import (spatial_core.api.attribution)
DEMO_ATTRIBUTION = (DEMO_DOCUMENT_LINE,)


TacticalData = TacticalContent
"""What the document shows (:class:`spatial_core.api.tactical.TacticalContent`)."""


def gather(store, area_id: str, profile, *, top: int = 10, period: str | None = None,
           min_n: int = 10, target: float = 0.7, data: str = "detect",
           progress=None) -> TacticalData:
    """Ask spatial_core for the document's content
    (:func:`spatial_core.api.tactical.tactical_content`)."""
    return tactical_content(store, area_id, profile, top=top, period=period, min_n=min_n,
                            target=target, data=data, progress=progress)


# -- layout -------------------------------------------------------------------------------------

def _label(layout, text: str, page: int, x: float, y: float, w: float, h: float,
           size: float = 9, bold: bool = False, html: bool = False) -> QgsLayoutItemLabel:
    item = QgsLayoutItemLabel(layout)
    item.setText(text)
    if html:
        item.setMode(QgsLayoutItemLabel.ModeHtml)
    font = QFont("DejaVu Sans")
    font.setBold(bold)
    font.setPointSizeF(size)
    item.setFont(font)  # QGIS 3.22 labels take a QFont (setTextFormat came in 3.24)
    layout.addLayoutItem(item)
    item.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
    item.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters), True, False, page)
    return item


def _table(layout, headings, widths, rows, page: int, x: float, y: float, w: float, h: float,
           size: float = 7) -> QgsLayoutItemTextTable:
    table = QgsLayoutItemTextTable(layout)
    layout.addMultiFrame(table)
    columns = []
    for heading, width in zip(headings, widths, strict=True):
        col = QgsLayoutTableColumn(heading)
        col.setWidth(width)
        columns.append(col)
    table.setColumns(columns)
    table.setContents([[str(v) for v in r] for r in rows] or [["none"] + [""] * (len(headings)
                                                                            - 1)])
    table.setWrapBehavior(QgsLayoutTable.WrapText)
    table.setResizeMode(QgsLayoutMultiFrame.UseExistingFrames)
    table.setEmptyTableBehavior(QgsLayoutTable.ShowMessage)
    for kind, bold in (("Header", True), ("Content", False)):
        font = QFont("DejaVu Sans")
        font.setBold(bold)
        font.setPointSizeF(size)
        fmt = QgsTextFormat.fromQFont(font)
        fmt.setSize(size)
        getattr(table, f"set{kind}TextFormat")(fmt)
    table.setCellMargin(0.8)
    table.setGridStrokeWidth(0.1)
    table.setGridColor(QColor("#888888"))
    frame = QgsLayoutFrame(layout, table)
    frame.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
    frame.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters), True, False, page)
    table.addFrame(frame)
    return table


def _pct(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if f != f else f"{100 * f:.0f}%"


def _num(v, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if f != f else f"{f:.{digits}f}"


def _short(text, n: int = 150) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def build_layout(data: TacticalData, project: QgsProject | None = None
                 ) -> tuple[QgsPrintLayout, QgsProject]:
    """The print layout (two pages, and one more per two further sections) of ``data`` (layers added to ``project``, a new one by
    default; keep the project alive as long as the layout)."""
    from .layers import apply_style
    from .processing._outputs import explain_scores

    project = project or QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:27700"))
    noun = {"beat": "Beat", "npa": "Neighbourhood policing area", "ward": "Ward",
            "force": "Force"}[data.level]
    layers = []
    # Bottom to top; an empty result (no members stored, nothing recommended) is left out.
    parts = ((data.members, "Members (per H3 cell)", "member_cells"),
             (data.area, noun, "areas"),
             (data.streets, "Other streets", "streets"),
             (data.households, "Under-represented households, no member", "under_represented"),
             (data.recommended, "Recommended streets (score)", "streets_by_score"))
    for frame, title, style in parts:
        if not len(frame):
            continue
        layer = frame_to_layer(frame, title, style)
        if style in ("member_cells", "streets_by_score"):
            apply_style(layer, style, classes=3)  # a short legend beside the map
        if style == "streets_by_score":
            explain_scores(layer)
        layers.append(layer)
    project.addMapLayers(layers)

    layout = QgsPrintLayout(project)
    layout.initializeDefaults()  # one A4 page
    layout.setName(f"Tactical document {data.area_id}")
    page = layout.pageCollection().page(0)
    page.setPageSize(QgsLayoutSize(*PAGE_SIZE, QgsUnitTypes.LayoutMillimeters))
    second = QgsLayoutItemPage(layout)
    second.setPageSize(QgsLayoutSize(*PAGE_SIZE, QgsUnitTypes.LayoutMillimeters))
    layout.pageCollection().addPage(second)

    p = data.profile
    title = f"Tactical document: {data.area_name} ({data.area_id})"
    sub = (f"{noun} · prepared {data.prepared} · data as of {data.as_of} · profile "
           f"{p.name} · target {data.target:g} of the proportionate share")
    footer = "Sources: " + " ".join(data.attributions)

    # page 1: map and recommended streets
    _label(layout, title, 0, 10, 7, 277, 10, size=16, bold=True)
    _label(layout, sub, 0, 10, 18, 277, 7, size=9)
    x, y, w, h = MAP_RECT
    m = QgsLayoutItemMap(layout)
    m.attemptSetSceneRect(QRectF(x, y, w, h))
    m.setFrameEnabled(True)
    m.setCrs(project.crs())
    m.setLayers(list(reversed(layers)))  # first = top
    m.setKeepLayerSet(True)
    # The map shows the streets and households of the area (an area polygon may take in
    # empty moor or water), the whole area when it has none.
    shown = [f for f in (data.streets, data.households) if len(f)]
    bounds = (QgsRectangle(*shown[0].total_bounds) if shown
              else QgsRectangle(*data.area.total_bounds))
    for f in shown[1:]:
        bounds.combineExtentWith(QgsRectangle(*f.total_bounds))
    extent = bounds
    extent.scale(1.1)
    layout.addLayoutItem(m)
    m.zoomToExtent(extent)
    legend = QgsLayoutItemLegend(layout)
    legend.setLinkedMap(m)
    legend.setTitle("Legend")
    legend.setAutoUpdateModel(True)
    layout.addLayoutItem(legend)
    legend.attemptMove(QgsLayoutPoint(183, 28, QgsUnitTypes.LayoutMillimeters), True, False, 0)
    legend.setResizeToContents(True)
    legend.setSymbolHeight(3)
    legend.setSymbolWidth(5)
    for style, size, bold in ((QgsLegendStyle.Title, 9, True), (QgsLegendStyle.Group, 7, True),
                              (QgsLegendStyle.Subgroup, 7, True),
                              (QgsLegendStyle.SymbolLabel, 6, False)):
        font = QFont("DejaVu Sans")
        font.setBold(bold)
        font.setPointSizeF(size)
        legend.setStyleFont(style, font)
    legend.setColumnCount(2)
    legend.setSplitLayer(True)
    legend.adjustBoxSize()
    bar = QgsLayoutItemScaleBar(layout)
    bar.setStyle("Single Box")
    bar.setLinkedMap(m)
    bar.applyDefaultSize()
    bar.setUnits(QgsUnitTypes.DistanceMeters)
    bar.setNumberOfSegments(3)
    bar.setUnitLabel("m")
    layout.addLayoutItem(bar)
    bar.attemptMove(QgsLayoutPoint(12, 180, QgsUnitTypes.LayoutMillimeters), True, False, 0)
    rows = [(r.rank, _short(r.name or r.street_id, 40), _num(r.score), _short(r.reasons, 120))
            for r in data.recommended.itertuples()]
    _label(layout, f"Recommended streets (top {len(rows)} by score)", 0, 183, 92, 104, 6,
           size=10, bold=True)
    _table(layout, ["#", "Street", "Score", "Why"], [5, 24, 9, 62], rows, 0, 183, 99, 104, 92,
           size=6)
    _label(layout, footer, 0, 10, 193, 277, 12, size=6)

    # page 2: priorities, representation, profile
    _label(layout, f"{data.area_name}: local priorities and representation", 1, 10, 7, 277, 10,
           size=14, bold=True)
    _label(layout, sub, 1, 10, 18, 277, 7, size=9)
    pri = data.priorities
    n = int(pri["n"].max()) if len(pri) else 0
    _label(layout, f"Local priorities ({n} respondents naming a priority)", 1, 10, 27, 135, 6,
           size=10, bold=True)
    rows = [(r.label, r.votes, _pct(r.share), f"{_pct(r.ci_low)}-{_pct(r.ci_high)}",
             "yes" if r.is_priority else "")
            for r in pri[pri["votes"] > 0].itertuples()]
    if len(pri) and not bool(pri["enough"].iloc[0]):
        rows.append((str(pri["note"].iloc[0]), "", "", "", ""))
    _table(layout, ["Priority", "Votes", "Share", "95% interval", "Local priority"],
           [50, 14, 14, 26, 22], rows, 1, 10, 34, 135, 110)
    _label(layout, f"Representation against the target ({data.target:g})", 1, 152, 27, 135, 6,
           size=10, bold=True)
    rep = data.representation
    rows = [(_short(f"{r.group} {r.group_name}", 30), _pct(r.population_share),
             _pct(r.member_share), _num(r.member_ratio),
             "below" if r.member_below is True or r.member_below == 1 else "",
             _pct(r.respondent_share))
            for r in rep.itertuples()]
    _table(layout, ["Group", "Households", "Members", "Ratio", "Target", "Respondents"],
           [40, 20, 18, 14, 14, 20], rows, 1, 152, 34, 135, 110)
    weights = ", ".join(f"{k} {v:g}" for k, v in p.weights.items())
    profile_text = (f"Profile used: {p.name}" + (f" ({p.description})" if p.description else "")
                    + f". Weights: {weights}; scaled within the {p.scale_within}; harm half-life "
                    f"{p.half_life_days:g} days; community voice within {p.voice_radius_m:g} m "
                    f"(at least {p.voice_min_n} respondents); groups {p.scheme} level "
                    f"{p.level}. Households shown in red belong to groups whose share of "
                    f"members is below {data.target:g} times their share of households, and "
                    f"have no member; green cells count members where they already are.")
    _label(layout, profile_text, 1, 10, 150, 277, 28, size=8)
    _label(layout, footer, 1, 10, 193, 277, 12, size=6)
    _section_pages(layout, data, sub, footer)
    return layout, project


def _section_pages(layout, data: TacticalData, sub: str, footer: str) -> None:
    """The further sections (:class:`spatial_core.api.tactical.TacticalSection`), two to a
    page after page 2, each a title, a table and its note."""
    for first in range(0, len(data.sections), 2):
        page = QgsLayoutItemPage(layout)
        page.setPageSize(QgsLayoutSize(*PAGE_SIZE, QgsUnitTypes.LayoutMillimeters))
        layout.pageCollection().addPage(page)
        number = layout.pageCollection().pageCount() - 1
        _label(layout, f"{data.area_name}: further analysis", number, 10, 7, 277, 10,
               size=14, bold=True)
        _label(layout, sub, number, 10, 18, 277, 7, size=9)
        for slot, section in enumerate(data.sections[first:first + 2]):
            x = 10 + slot * 142
            _label(layout, section.title, number, x, 27, 135, 6, size=10, bold=True)
            width = 135 / max(1, len(section.columns))
            _table(layout, list(section.columns), [width] * len(section.columns),
                   [tuple(_short(v, 60) for v in r) for r in section.rows], number, x, 34,
                   135, 120, size=6)
            if section.note:
                _label(layout, section.note, number, x, 157, 135, 30, size=7)
        _label(layout, footer, number, 10, 193, 277, 12, size=6)


def export_pdf(layout: QgsPrintLayout, path: str, dpi: float = 150) -> None:
    """Write the layout to a PDF (vector, text kept as text)."""
    exporter = QgsLayoutExporter(layout)
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = dpi
    settings.rasterizeWholeImage = False
    settings.forceVectorOutput = False
    result = exporter.exportToPdf(path, settings)
    if result != QgsLayoutExporter.Success:
        raise RuntimeError(f"exporting the tactical document to {path} failed "
                           f"({exporter.errorMessage() or result})")


def render_page(layout: QgsPrintLayout, page: int = 0, dpi: float = 100):
    """A page of the layout as a QImage."""
    return QgsLayoutExporter(layout).renderPageToImage(page, QSize(), dpi)
