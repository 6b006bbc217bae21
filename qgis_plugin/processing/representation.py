# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:representation."""
from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import cell_polygons, styled_sink, with_geometry


def _levels() -> tuple[str, ...]:
    """The reporting levels, in the enum's order
    (:data:`spatial_core.analytics.population.AREA_LEVELS`)."""
    from spatial_core.analytics.population import AREA_LEVELS

    return AREA_LEVELS


def _by() -> tuple[str, ...]:
    """The groupings, in the enum's order (:data:`spatial_core.analytics.representation.BY`)."""
    from spatial_core.analytics.representation import BY

    return BY


class RepresentationAlgorithm(LptAlgorithm):
    """Whom the team hears against who lives there; the households it is not hearing."""

    NAME = "representation"
    DISPLAY_NAME = "Representation and under-represented households"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Compares each geodemographic group's share of households with its share of "
            "members and of survey respondents, per area (ratio = member share / household "
            "share, Wilson 95% interval; below TARGET, default 0.7, is flagged). TABLE: the "
            "comparison; HOUSEHOLDS: households of below-target groups with no member (red); "
            "MEMBERS: existing members counted per H3 cell (green; never their points). "
            "Together they are the map of whom the team is not hearing. AREAS restricts the "
            "households to some area ids (comma-separated). GROUPS: geodemographic class "
            "(default), or self-declared gender, age band, ethnicity (5 ONS groups or the "
            "detailed 19), language, religion or Origins against the census base imported "
            "with lpt import census; HOUSEHOLDS is drawn for class only.")

    SCHEME = "SCHEME"
    CLASS_LEVEL = "CLASS_LEVEL"
    AREA_LEVEL = "AREA_LEVEL"
    TARGET = "TARGET"
    MIN_N = "MIN_N"
    AREAS = "AREAS"
    BY = "BY"
    TABLE = "TABLE"
    HOUSEHOLDS = "HOUSEHOLDS"
    MEMBERS = "MEMBERS"
    UNDER_REPRESENTED = "UNDER_REPRESENTED"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(
            self.SCHEME, self.tr("Classification scheme"), defaultValue="oac2011"))
        self.addParameter(QgsProcessingParameterNumber(
            self.CLASS_LEVEL, self.tr("Classification level (1 = coarsest)"), defaultValue=1,
            minValue=1, maxValue=3))
        self.addParameter(QgsProcessingParameterEnum(
            self.AREA_LEVEL, self.tr("Compare within"), options=list(_levels()),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.BY, self.tr("Groups"), options=list(_by()), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET, self.tr("Target ratio"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.7, minValue=0.01, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_N, self.tr("Judge a group only when this many members are expected"),
            type=QgsProcessingParameterNumber.Double, defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterString(
            self.AREAS, self.tr("Only households in these areas (ids, comma-separated)"),
            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.TABLE, self.tr("Representation per area and group"), QgsProcessing.TypeVector))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.HOUSEHOLDS, self.tr("Under-represented households"),
            QgsProcessing.TypeVectorPoint))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.MEMBERS, self.tr("Members per H3 cell"), QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.UNDER_REPRESENTED,
                                                 self.tr("Under-represented households")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.analytics.representation import (
            member_locations,
            representation,
            underrepresented_households,
        )

        scheme = self.parameterAsString(parameters, self.SCHEME, context).strip() or "oac2011"
        level = self.parameterAsInt(parameters, self.CLASS_LEVEL, context)
        area_level = _levels()[self.parameterAsEnum(parameters, self.AREA_LEVEL, context)]
        target = self.parameterAsDouble(parameters, self.TARGET, context)
        by = _by()[self.parameterAsEnum(parameters, self.BY, context)]
        min_n = self.parameterAsDouble(parameters, self.MIN_N, context)
        areas = [a.strip() for a in self.parameterAsString(parameters, self.AREAS,
                                                           context).split(",") if a.strip()]
        with self.opened_store(parameters, context) as store:
            table = representation(store, scheme=scheme, level=level,
                                   area_level=area_level, target=target, by=by,
                                   min_n=min_n)
            under = underrepresented_households(
                store, scheme=scheme, level=level, area_level=area_level, target=target,
                areas=areas or None, table=table)
            members = member_locations(store, by="cell", scheme=scheme, level=level)
        feedback.pushInfo(f"{int(table['member_below'].fillna(False).sum())} (area, group) "
                          f"pairs below target {target:g}; {len(under)} under-represented "
                          f"households; members in {len(members)} cells")
        cells = with_geometry(members.assign(cell=members["cell"].astype("int64")),
                              cell_polygons(members["cell"]).to_numpy())
        return {
            self.TABLE: styled_sink(self, table, parameters, self.TABLE, context,
                                    f"Representation per {area_level}"),
            self.HOUSEHOLDS: styled_sink(self, under, parameters, self.HOUSEHOLDS, context,
                                         "Under-represented households", "under_represented"),
            self.MEMBERS: styled_sink(self, cells, parameters, self.MEMBERS, context,
                                      "Members per cell", "member_cells"),
            self.UNDER_REPRESENTED: len(under),
        }
