# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:score_streets."""
from __future__ import annotations

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm, core_call, progress_callable
from ._outputs import explain_scores, street_geometries, styled_sink, with_geometry

SHIPPED_PROFILES = ("default", "harm", "engagement")
WEIGHTS = ("harm", "voice", "representation", "coverage", "fatigue")


def profile_from_parameters(alg, parameters, context):
    """The profile chosen by PROFILE / PROFILE_FILE, with any WEIGHT_* given applied."""
    from spatial_core.targeting.profiles import load_profile

    path = alg.parameterAsFile(parameters, alg.PROFILE_FILE, context)
    name = SHIPPED_PROFILES[alg.parameterAsEnum(parameters, alg.PROFILE, context)]
    with core_call():
        profile = load_profile(path or name)
        weights = {w: alg.parameterAsDouble(parameters, f"WEIGHT_{w.upper()}", context)
                   for w in WEIGHTS
                   if parameters.get(f"WEIGHT_{w.upper()}") not in (None, "")}
        return profile.with_weights(**weights) if weights else profile


def add_profile_parameters(alg) -> None:
    alg.addParameter(QgsProcessingParameterEnum(
        alg.PROFILE, alg.tr("Profile (shipped)"), options=list(SHIPPED_PROFILES),
        defaultValue=0))
    alg.addParameter(QgsProcessingParameterFile(
        alg.PROFILE_FILE, alg.tr("Profile file (TOML; replaces the shipped profile)"),
        extension="toml", optional=True))
    for w in WEIGHTS:
        p = QgsProcessingParameterNumber(
            f"WEIGHT_{w.upper()}", alg.tr(f"Weight of {w} (empty: the profile's)"),
            type=QgsProcessingParameterNumber.Double, optional=True, minValue=0.0)
        alg.addParameter(p)


class ScoreStreetsAlgorithm(LptAlgorithm):
    """Score every street with a profile; the reasons in plain words."""

    NAME = "score_streets"
    DISPLAY_NAME = "Score streets"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Scores streets with a targeting profile (shipped: default, harm, engagement; or a "
            "TOML profile file), any weight overridden by the WEIGHT_* parameters. Components: "
            "crime harm, community voice, representation, coverage and fatigue, each scaled "
            "0-1 within the beat. The result is a streets layer graduated by score; the "
            "reasons ('1st in the beat for violence harm; 12 households in an "
            "under-represented group, 0 members') are the map tip, the display name and the "
            "first tab of the attribute form. Each street also gets a recommended action "
            "(door-knock to register and survey, visible patrol, contact the key individuals, "
            "refer to a partner, leaflet) with its reason, from the shipped rules or an "
            "actions file (TOML; docs/analytics/recommended-actions.md). With SAVE the run is "
            "stored (profile text and input fingerprint) so it can be reproduced.")

    PROFILE = "PROFILE"
    PROFILE_FILE = "PROFILE_FILE"
    AREA = "AREA"
    AS_OF = "AS_OF"
    ACTIONS_FILE = "ACTIONS_FILE"
    SAVE = "SAVE"
    OUTPUT = "OUTPUT"
    RUN_ID = "RUN_ID"
    PROFILE_TOML = "PROFILE_TOML"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        add_profile_parameters(self)
        self.addParameter(QgsProcessingParameterString(
            self.AREA, self.tr("Only the streets of this area (beat:…, ward:…, npa:…)"),
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.AS_OF, self.tr("As of (YYYY-MM-DD; default the end of the newest crime month)"),
            optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.ACTIONS_FILE, self.tr("Recommended-action rules (TOML; empty: the shipped "
                                       "rules)"), extension="toml", optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.SAVE, self.tr("Store the run in the store"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT,
                                                            self.tr("Street scores")))
        self.addOutput(QgsProcessingOutputString(self.RUN_ID, self.tr("Stored run id")))
        self.addOutput(QgsProcessingOutputString(self.PROFILE_TOML, self.tr("Profile (TOML)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from spatial_core.api import FORCE
        from spatial_core.api.scores import action_rules, score_streets_for
        from spatial_core.targeting.profiles import profile_to_toml
        from spatial_core.targeting.scoring import save_scores

        profile = profile_from_parameters(self, parameters, context)
        with core_call():
            rules = action_rules(self.parameterAsFile(parameters, self.ACTIONS_FILE, context)
                                 or None)
        area = self.parameterAsString(parameters, self.AREA, context).strip() or None
        as_of = self.parameterAsString(parameters, self.AS_OF, context).strip() or None
        progress = progress_callable(feedback)
        with self.opened_store(parameters, context) as store:
            run = score_streets_for(store, FORCE, profile, area=area, as_of=as_of,
                                    actions=rules, progress=lambda f, m: progress(0.9 * f, m))
            run_id = save_scores(store, run) if self.parameterAsBool(
                parameters, self.SAVE, context) else ""
            geoms = street_geometries(store, run.scores["street_id"])
        scores = run.scores.assign(run_id=run_id or None, as_of=run.as_of)
        frame = with_geometry(scores, geoms.reindex(scores["street_id"]).to_numpy())
        feedback.pushInfo(f"{len(frame)} streets scored with profile {profile.name} as of "
                          f"{run.as_of}" + (f"; stored as run {run_id}" if run_id else ""))
        dest = styled_sink(self, frame, parameters, self.OUTPUT, context,
                           f"Street scores ({profile.name})", "streets_by_score",
                           explain_scores)
        return {self.OUTPUT: dest, self.RUN_ID: run_id, self.PROFILE_TOML: profile_to_toml(profile)}
