# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:setup_create."""
from __future__ import annotations

import json

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProcessing,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterGeometry,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm, core_call, progress_callable
from ._outputs import explain_scores, styled_sink, with_geometry


def _goals() -> tuple[str, ...]:
    """The set-up goals, in the enum's order (:data:`spatial_core.targeting.setups.GOALS`)."""
    from spatial_core.targeting.setups import GOALS

    return GOALS


PROFILES = ("the goal's profile", "default", "harm", "engagement")


def setup_layers(alg, store, setup_id, parameters, context, streets_key, households_key,
                 now=None) -> dict:
    """The set-up's recommended streets and its walk list (doors still to knock) as sinks."""
    import shapely

    from spatial_core.targeting.setups import stored_recommendation
    from spatial_core.targeting.walklists import walk_list

    with core_call():
        streets, _ = stored_recommendation(store, setup_id)
        walk = walk_list(store, setup_id, now=now)
    street_frame = with_geometry(streets.drop(columns=["geom"]), streets["geom"].to_numpy())
    doors = with_geometry(walk, shapely.points(walk["x"].to_numpy("float64"),
                                               walk["y"].to_numpy("float64")))
    return {
        streets_key: styled_sink(alg, street_frame, parameters, streets_key, context,
                                 f"Set-up {setup_id}: recommended streets", "streets_by_score",
                                 explain_scores),
        households_key: styled_sink(alg, doors, parameters, households_key, context,
                                    f"Set-up {setup_id}: walk list", "under_represented"),
    }


class SetupCreateAlgorithm(LptAlgorithm):
    """Create a targeting set-up: score its area, pick streets, build walk lists, store it."""

    NAME = "setup_create"
    DISPLAY_NAME = "Create a targeting set-up"
    GROUP = "Targeting set-ups"
    GROUP_ID = "setups"
    HELP = ("Creates a named targeting set-up for some areas (ids such as beat:…, ward:…, "
            "comma-separated) and/or a drawn POLYGON: scores its streets with a profile (the "
            "goal's by default, a shipped one or a TOML file), resolves the target groups "
            "('auto': groups under-represented among members at TARGET, or class codes), "
            "recommends up to MAX_STREETS streets and builds walk lists that leave out "
            "households visited in the last VISITED_DAYS days, declined in DECLINED_DAYS "
            "or not in within NOT_IN_HOURS hours. Everything is stored with the profile text "
            "and an input fingerprint. COMMUNITY (BY:GROUP, e.g. language:polish, "
            "religion:jewish, ethnicity_detailed:white_other, origins:eastern_european) "
            "targets a community instead: the streets where its census share (else the "
            "members' self-declared share) is highest. Outputs: the recommended streets "
            "(with reasons) and the walk list (doors to knock, in walking order).")

    NAME_PARAM = "NAME"
    AREAS = "AREAS"
    POLYGON = "POLYGON"
    GOAL = "GOAL"
    PROFILE = "PROFILE"
    PROFILE_FILE = "PROFILE_FILE"
    TARGET_GROUPS = "TARGET_GROUPS"
    TARGET = "TARGET"
    COMMUNITY = "COMMUNITY"
    MAX_STREETS = "MAX_STREETS"
    VISITED_DAYS = "VISITED_DAYS"
    DECLINED_DAYS = "DECLINED_DAYS"
    NOT_IN_HOURS = "NOT_IN_HOURS"
    REVISIT_REGISTERED = "REVISIT_REGISTERED"
    TARGET_VISITS = "TARGET_VISITS"
    TARGET_REGISTRATIONS = "TARGET_REGISTRATIONS"
    TARGET_SURVEYS = "TARGET_SURVEYS"
    AS_OF = "AS_OF"
    NOW = "NOW"
    ID = "ID"
    SETUP_ID = "SETUP_ID"
    STREETS = "STREETS"
    WALK_LIST = "WALK_LIST"
    SETUP = "SETUP"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(self.NAME_PARAM, self.tr("Name")))
        self.addParameter(QgsProcessingParameterString(
            self.AREAS, self.tr("Area ids (comma-separated)"), optional=True))
        self.addParameter(QgsProcessingParameterGeometry(
            self.POLYGON, self.tr("Drawn area (polygon)"), optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.GOAL, self.tr("Goal"),
                                                     options=list(_goals()), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.PROFILE, self.tr("Profile"),
                                                     options=list(PROFILES), defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            self.PROFILE_FILE, self.tr("Profile file (TOML)"), extension="toml", optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.TARGET_GROUPS, self.tr("Target groups ('auto' or class codes, comma-separated)"),
            defaultValue="auto"))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET, self.tr("Representation target"),
            type=QgsProcessingParameterNumber.Double, defaultValue=0.7, minValue=0.01,
            maxValue=1.0))
        self.addParameter(QgsProcessingParameterString(
            self.COMMUNITY, self.tr("Community (BY:GROUP, e.g. language:polish; instead of "
                                    "target groups)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_STREETS, self.tr("Streets to recommend"), defaultValue=20, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.VISITED_DAYS, self.tr("Hold back visited households (days)"), defaultValue=28,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.DECLINED_DAYS, self.tr("Hold back households that declined (days)"),
            defaultValue=90, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.NOT_IN_HOURS, self.tr("Hold back 'not in' (hours)"),
            type=QgsProcessingParameterNumber.Double, defaultValue=4.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.REVISIT_REGISTERED, self.tr("Keep households with a member"),
            defaultValue=False))
        for key, what in ((self.TARGET_VISITS, "visits"),
                          (self.TARGET_REGISTRATIONS, "registrations"),
                          (self.TARGET_SURVEYS, "surveys")):
            self.addParameter(QgsProcessingParameterNumber(
                key, self.tr(f"Target: {what}"), optional=True, minValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.AS_OF, self.tr("Data date (YYYY-MM-DD; default the day before now)"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.NOW, self.tr("Created at (default the clock)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.ID, self.tr("Set-up id (default from the name)"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.STREETS, self.tr("Recommended streets"), QgsProcessing.TypeVectorLine))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.WALK_LIST, self.tr("Walk list"), QgsProcessing.TypeVectorPoint))
        self.addOutput(QgsProcessingOutputString(self.SETUP_ID, self.tr("Set-up id")))
        self.addOutput(QgsProcessingOutputString(self.SETUP, self.tr("Set-up (JSON)")))

    def _text(self, parameters, key, context) -> str | None:
        return self.parameterAsString(parameters, key, context).strip() or None

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.targeting.setups import create_setup

        areas: list = [a.strip() for a in (self._text(parameters, self.AREAS, context) or "")
                       .split(",") if a.strip()]
        if parameters.get(self.POLYGON) not in (None, ""):
            geom = self.parameterAsGeometry(parameters, self.POLYGON, context)
            crs = self.parameterAsGeometryCrs(parameters, self.POLYGON, context)
            bng = QgsCoordinateReferenceSystem("EPSG:27700")
            if crs.isValid() and crs != bng:
                geom.transform(QgsCoordinateTransform(crs, bng, context.transformContext()))
            areas.append(geom.asWkt())
        profile_index = self.parameterAsEnum(parameters, self.PROFILE, context)
        profile = (self.parameterAsFile(parameters, self.PROFILE_FILE, context)
                   or (PROFILES[profile_index] if profile_index else None))
        targets = {what: self.parameterAsInt(parameters, key, context)
                   for key, what in ((self.TARGET_VISITS, "visits"),
                                     (self.TARGET_REGISTRATIONS, "registrations"),
                                     (self.TARGET_SURVEYS, "surveys"))
                   if parameters.get(key) not in (None, "")}
        groups = self._text(parameters, self.TARGET_GROUPS, context) or "auto"
        store = self.open_store(parameters, context)
        try:
            with core_call():
                setup = create_setup(
                    store, self.parameterAsString(parameters, self.NAME_PARAM, context),
                    areas=areas,
                    goal=_goals()[self.parameterAsEnum(parameters, self.GOAL, context)],
                    profile=profile, target_groups=groups,
                    target=self.parameterAsDouble(parameters, self.TARGET, context),
                    revisit_registered=self.parameterAsBool(parameters, self.REVISIT_REGISTERED,
                                                            context),
                    visited_days=self.parameterAsInt(parameters, self.VISITED_DAYS, context),
                    declined_days=self.parameterAsInt(parameters, self.DECLINED_DAYS, context),
                    not_in_hours=self.parameterAsDouble(parameters, self.NOT_IN_HOURS, context),
                    targets=targets or None,
                    max_streets=self.parameterAsInt(parameters, self.MAX_STREETS, context),
                    as_of=self._text(parameters, self.AS_OF, context),
                    now=self._text(parameters, self.NOW, context),
                    setup_id=self._text(parameters, self.ID, context),
                    area_crs=27700, progress=progress_callable(feedback),
                    community=self._text(parameters, self.COMMUNITY, context))
            out = setup_layers(self, store, setup.setup_id, parameters, context, self.STREETS,
                               self.WALK_LIST, now=self._text(parameters, self.NOW, context))
        finally:
            store.close()
        feedback.pushInfo(f"set-up {setup.setup_id} created: target groups "
                          f"{', '.join(setup.target_groups) or 'none'} ({setup.target_rule}), "
                          f"profile {setup.profile_name}")
        out.update({self.SETUP_ID: setup.setup_id,
                    self.SETUP: json.dumps(setup.to_dict(), default=str)})
        return out
