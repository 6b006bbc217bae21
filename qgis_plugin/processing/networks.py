# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:networks."""
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
from ._outputs import area_geometries, styled_sink, with_geometry


def _levels() -> tuple[str, ...]:
    """The reporting levels, force first (:data:`spatial_core.analytics.population.AREA_LEVELS`)."""
    from spatial_core.analytics.population import AREA_LEVELS

    return ("force", *[lv for lv in AREA_LEVELS if lv != "force"])


def _by() -> tuple[str, ...]:
    """The groupings (:data:`spatial_core.analytics.representation.BY`)."""
    from spatial_core.analytics.representation import BY

    return BY


def _colour_gaps(layer) -> None:
    """Beats without a current key individual red, fewer than the minimum amber, else green."""
    from qgis.core import QgsFillSymbol, QgsRuleBasedRenderer

    root = QgsRuleBasedRenderer.Rule(None)
    for label, expr, colour in (
            ("No key individual", '"no_key_individual"', "215,48,39,160"),
            ("Fewer than the minimum", 'NOT "no_key_individual" AND "below_min"',
             "252,174,97,160"),
            ("Enough key individuals", 'NOT "below_min"', "26,152,80,120")):
        symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "60,60,60"})
        root.appendChild(QgsRuleBasedRenderer.Rule(symbol, filterExp=expr, label=label))
    layer.setRenderer(QgsRuleBasedRenderer(root))


class NetworksAlgorithm(LptAlgorithm):
    """Beats without a key individual network, and the KIN and IAG against the population."""

    NAME = "networks"
    DISPLAY_NAME = "Key individual networks: gaps and representation"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("BEATS: every beat with its households, current members and current members of "
            "the key individual network (KIN) and the independent advisory group (IAG), per "
            "1,000 households; beats with no key individual (red) or fewer than MIN_MEMBERS "
            "(amber) are the beats without a network list. GROUPS: each network's membership "
            "against the population per area (COMPARE_WITHIN) and group (BY: geodemographic "
            "class, or members' self-declared ethnicity, language, religion, Origins against "
            "the census base), with shares, ratios, Wilson 95% intervals and the groups below "
            "TARGET (default 0.7), all members alongside. Counts only: no names.")

    MIN_MEMBERS = "MIN_MEMBERS"
    BY = "BY"
    AREA_LEVEL = "AREA_LEVEL"
    SCHEME = "SCHEME"
    CLASS_LEVEL = "CLASS_LEVEL"
    TARGET = "TARGET"
    MIN_N = "MIN_N"
    AS_OF = "AS_OF"
    BEATS = "BEATS"
    GROUPS = "GROUPS"
    WITHOUT = "WITHOUT"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_MEMBERS, self.tr("Flag beats with fewer key individuals than"),
            defaultValue=1, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.BY, self.tr("Groups"), options=list(_by()), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.AREA_LEVEL, self.tr("Compare within"), options=list(_levels()),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.SCHEME, self.tr("Classification scheme"), defaultValue="oac2011"))
        self.addParameter(QgsProcessingParameterNumber(
            self.CLASS_LEVEL, self.tr("Classification level (1 = coarsest)"), defaultValue=1,
            minValue=1, maxValue=3))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET, self.tr("Target ratio"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.7, minValue=0.01, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_N, self.tr("Judge a group only when this many network members are "
                                "expected"), type=QgsProcessingParameterNumber.Double,
            defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterString(
            self.AS_OF, self.tr("Members current on (YYYY-MM-DD; default today)"),
            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.BEATS, self.tr("Key individual networks per beat"),
            QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.GROUPS, self.tr("Networks against the population"), QgsProcessing.TypeVector))
        self.addOutput(QgsProcessingOutputNumber(
            self.WITHOUT, self.tr("Beats without a key individual")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        import pandas as pd

        from spatial_core.analytics.networks import NETWORKS
        from spatial_core.api.networks import network_gaps, network_groups

        as_of = self.parameterAsString(parameters, self.AS_OF, context).strip() or None
        options = dict(
            by=_by()[self.parameterAsEnum(parameters, self.BY, context)],
            area_level=_levels()[self.parameterAsEnum(parameters, self.AREA_LEVEL, context)],
            scheme=self.parameterAsString(parameters, self.SCHEME, context).strip() or "oac2011",
            level=self.parameterAsInt(parameters, self.CLASS_LEVEL, context),
            target=self.parameterAsDouble(parameters, self.TARGET, context),
            min_n=self.parameterAsDouble(parameters, self.MIN_N, context), as_of=as_of)
        with self.opened_store(parameters, context) as store:
            gaps = network_gaps(store, min_members=self.parameterAsInt(
                parameters, self.MIN_MEMBERS, context), as_of=as_of)
            groups = pd.concat([network_groups(store, network=net, **options)
                                for net in NETWORKS], ignore_index=True)
            geoms = area_geometries(store, gaps["area_id"])
        without = int(gaps["no_key_individual"].astype(bool).sum())
        feedback.pushInfo(f"{without} of {len(gaps)} beats have no current key individual; "
                          f"{int(gaps['below_min'].astype(bool).sum())} fewer than the minimum")
        layer = with_geometry(gaps, geoms.reindex(gaps["area_id"]).to_numpy())
        return {
            self.BEATS: styled_sink(self, layer, parameters, self.BEATS, context,
                                    "Key individual networks per beat",
                                    configure=_colour_gaps),
            self.GROUPS: styled_sink(self, groups, parameters, self.GROUPS, context,
                                     f"Networks against the population by {options['by']}"),
            self.WITHOUT: without,
        }
