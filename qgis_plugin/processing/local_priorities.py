# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:local_priorities."""
from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm
from ._outputs import area_geometries, styled_sink, with_geometry

RULES = ("top", "share")


def per_area(marked):
    """One row per area from the long :func:`spatial_core.analytics.priorities.local_priorities`
    frame:
    its priorities in order with their shares (a reshape for display, nothing computed)."""
    import pandas as pd

    chosen = marked[marked["is_priority"]].sort_values(["area_id", "rank", "priority"])
    text = (chosen["label"] + " " + (100 * chosen["share"]).round().astype(int).astype(str)
            + "%").groupby(chosen["area_id"]).agg("; ".join)
    first = chosen.drop_duplicates("area_id").set_index("area_id")
    areas = marked.drop_duplicates("area_id").set_index("area_id")
    return pd.DataFrame({
        "area_id": areas.index.to_numpy(),
        "name": areas["area_name"].to_numpy(),
        "respondents": areas["n"].to_numpy(),
        "responses": areas["responses"].to_numpy(),
        "enough": areas["enough"].to_numpy(dtype=bool),
        "priority": first["label"].reindex(areas.index).to_numpy(),
        "share": first["share"].reindex(areas.index).to_numpy(dtype="float64"),
        "ci_low": first["ci_low"].reindex(areas.index).to_numpy(dtype="float64"),
        "ci_high": first["ci_high"].reindex(areas.index).to_numpy(dtype="float64"),
        "priorities": text.reindex(areas.index).fillna("").to_numpy(),
        "count": chosen.groupby("area_id").size().reindex(areas.index).fillna(0).astype(
            "int64").to_numpy(),
        "note": areas["note"].to_numpy(),
    })


def per_area_group(out, min_n: int):
    """One row per (area, group) from
    :func:`spatial_core.api.groups.group_priorities`: people, responses, issues, confidence
    and feeling safe with n and intervals, and the group's top priorities (a reshape for
    display, nothing computed)."""
    import pandas as pd

    key = ["area_id", "group"]
    people = out["people"]
    scores = out["scores"].drop(columns=["area_name", "note"], errors="ignore")
    pri = out["priorities"]
    top = pri[(pri["rank"] <= 3) & pri["enough"].astype(bool) & (pri["votes"].fillna(0) > 0)]
    top = top.sort_values([*key, "rank", "priority"])
    text = (top["label"] + " " + (100 * top["share"].astype(float)).round().astype(int)
            .astype(str) + "%").groupby([top["area_id"], top["group"]]).agg("; ".join)
    frame = people.merge(scores, on=key, how="left")
    frame["priorities"] = pd.MultiIndex.from_frame(frame[key]).map(text.to_dict()) \
        if len(frame) else []
    frame["priorities"] = frame["priorities"].fillna(f"(fewer than {min_n} respondents)")
    return frame


def _levels() -> tuple[str, ...]:
    """The reporting levels, in the enum's order
    (:data:`spatial_core.analytics.population.AREA_LEVELS`)."""
    from spatial_core.analytics.population import AREA_LEVELS

    return AREA_LEVELS


def _by() -> tuple[str, ...]:
    """The BY enum's options: every area's respondents together, then the groupings of
    :data:`spatial_core.analytics.priorities.PRIORITY_GROUPINGS`."""
    from spatial_core.analytics.priorities import PRIORITY_GROUPINGS

    return ("all respondents", *PRIORITY_GROUPINGS)


class LocalPrioritiesAlgorithm(LptAlgorithm):
    """Local priorities per beat (or ward, npa, force) from survey responses."""

    NAME = "local_priorities"
    DISPLAY_NAME = "Local priorities per beat"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("What survey respondents name as their local priorities, per beat (or ward, "
            "neighbourhood policing area, force) over a period (2026Q1, 2026-01..2026-06; "
            "empty: every response). RULE top: the TOP_N most named (ties included); share: "
            "every priority named by at least THRESHOLD of respondents. Areas with fewer than "
            "MIN_N respondents get none. OUTPUT: one polygon per area with its priorities and "
            "the share of the first (graduated, labelled); TABLE: every (area, priority) with "
            "votes, n, share and its Wilson 95% interval. BY splits respondents by a group "
            "(channel; community group: KIN, IAG, Neighbourhood Watch; gender, age band, "
            "ethnicity, language, religion, Origins): OUTPUT then has one polygon per area "
            "and group with distinct people, responses, issues raised, confidence and "
            "feeling safe with n and 95% intervals and the group's top priorities; TABLE "
            "every (area, group, priority).")

    LEVEL = "LEVEL"
    PERIOD = "PERIOD"
    RULE = "RULE"
    TOP_N = "TOP_N"
    THRESHOLD = "THRESHOLD"
    MIN_N = "MIN_N"
    BY = "BY"
    OUTPUT = "OUTPUT"
    TABLE = "TABLE"
    SUMMARY = "SUMMARY"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterEnum(self.LEVEL, self.tr("Areas"),
                                                     options=list(_levels()), defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Period (e.g. 2026Q1; empty: all responses)"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.RULE, self.tr("Rule"),
                                                     options=list(RULES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.TOP_N, self.tr("Top N"),
                                                       defaultValue=3, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Share threshold (rule share)"),
            type=QgsProcessingParameterNumber.Double, defaultValue=0.25, minValue=0.0,
            maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_N, self.tr("Minimum respondents per area"), defaultValue=10, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.BY, self.tr("Split by group of respondents"), options=list(_by()),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Local priorities per area"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.TABLE, self.tr("Votes per area and priority"), QgsProcessing.TypeVector,
            optional=True, createByDefault=True))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, self.tr("Summary sentences")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.analytics.priorities import local_priorities, priority_summary

        level = _levels()[self.parameterAsEnum(parameters, self.LEVEL, context)]
        options = dict(
            level=level,
            period=self.parameterAsString(parameters, self.PERIOD, context).strip() or None,
            rule=RULES[self.parameterAsEnum(parameters, self.RULE, context)],
            top_n=self.parameterAsInt(parameters, self.TOP_N, context),
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            min_n=self.parameterAsInt(parameters, self.MIN_N, context))
        by = _by()[self.parameterAsEnum(parameters, self.BY, context)]
        if by != _by()[0]:
            return self._by_group(parameters, context, feedback, by, options)
        with self.opened_store(parameters, context) as store:
            marked = local_priorities(store, **options)
            geoms = area_geometries(store, marked["area_id"])
        summary = priority_summary(None, level=level, min_n=options["min_n"], priorities=marked)
        for sentence in summary["sentence"].head(5):
            feedback.pushInfo(sentence)
        areas = per_area(marked)
        layer = with_geometry(areas, geoms.reindex(areas["area_id"]).to_numpy())
        out = {self.SUMMARY: "\n".join(summary["sentence"])}
        out[self.OUTPUT] = styled_sink(self, layer, parameters, self.OUTPUT, context,
                                       f"Local priorities per {level}", "priorities_per_beat")
        if parameters.get(self.TABLE) is not None:
            out[self.TABLE] = styled_sink(self, marked, parameters, self.TABLE, context,
                                          f"Votes per {level} and priority")
        return out

    def _by_group(self, parameters, context, feedback, by: str, options: dict) -> dict:
        from spatial_core.api.groups import group_priorities

        with self.opened_store(parameters, context) as store:
            out = group_priorities(store, by=by, level=options["level"],
                                   period=options["period"], min_n=options["min_n"])
            frame = per_area_group(out, options["min_n"])
            geoms = area_geometries(store, frame["area_id"])
        people = out["people"]
        feedback.pushInfo(f"{len(people)} (area, group) rows by {by}")
        layer = with_geometry(frame, geoms.reindex(frame["area_id"]).to_numpy())
        level = options["level"]
        result = {self.SUMMARY: "\n".join(
            f"{r.area_name} {r.group}: {r.people} people, {r.responses} responses, "
            f"{r.issues} issues" for r in people.itertuples())}
        result[self.OUTPUT] = styled_sink(self, layer, parameters, self.OUTPUT, context,
                                          f"Local priorities per {level} by {by}")
        if parameters.get(self.TABLE) is not None:
            result[self.TABLE] = styled_sink(self, out["priorities"], parameters, self.TABLE,
                                             context, f"Votes per {level}, {by} and priority")
        return result
