# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:connect_geoservice."""
from __future__ import annotations

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputString,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm

AUTH = ("none (public)", "API key (X-API-Key)", "bearer token (Authorization)",
        "QGIS authentication configuration (e.g. OAuth2)")
STYLES = {"streets": "streets", "areas": "areas", "visits": "visits",
          "area_confidence": "confidence_outliers", "area_change": "area_change"}


class ConnectGeoserviceAlgorithm(LptAlgorithm):
    """Add a running geoservice's OGC API collections to the project as layers."""

    NAME = "connect_geoservice"
    DISPLAY_NAME = "Connect to a geoservice"
    GROUP = "Geoservice"
    GROUP_ID = "geoservice"
    HELP = ("Lists the collections of a running 'lpt serve' geoservice (OGC API Features) and "
            "adds them as layers (OAPIF provider). Authentication: an API key or a bearer "
            "token (SECRET; stored encrypted in the QGIS authentication database and sent as "
            "X-API-Key or Authorization: Bearer to that service only; the configuration id is "
            "returned as AUTHCFG and can be given instead of the secret next time), or an "
            "existing QGIS authentication configuration such as OAuth2 (AUTHCFG, put in each "
            "layer's URI). PURPOSE is sent as X-Purpose (needed for personal data, written to "
            "the service's audit log).")

    URL = "URL"
    AUTH = "AUTH"
    SECRET = "SECRET"
    AUTHCFG = "AUTHCFG"
    PURPOSE = "PURPOSE"
    COLLECTIONS = "COLLECTIONS"
    RESTRICT = "RESTRICT"
    OUTPUT = "OUTPUT"
    AUTHCFG_OUT = "AUTHCFG_ID"

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.addParameter(QgsProcessingParameterString(
            self.URL, self.tr("Geoservice URL (e.g. https://lpt.force.police.uk)")))
        self.addParameter(QgsProcessingParameterEnum(self.AUTH, self.tr("Authentication"),
                                                     options=list(AUTH), defaultValue=0))
        self.addParameter(QgsProcessingParameterString(
            self.SECRET, self.tr("API key or token (stored encrypted; leave empty to use the "
                                 "stored configuration)"), optional=True))
        self.addParameter(QgsProcessingParameterAuthConfig(
            self.AUTHCFG, self.tr("Authentication configuration"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PURPOSE, self.tr("Purpose (X-Purpose)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.COLLECTIONS, self.tr("Collections (comma-separated; empty: all)"),
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.RESTRICT, self.tr("Request only the features of the map view"),
            defaultValue=True))
        self.addOutput(QgsProcessingOutputMultipleLayers(self.OUTPUT, self.tr("Layers")))
        self.addOutput(QgsProcessingOutputString(self.AUTHCFG_OUT,
                                                 self.tr("Authentication configuration id")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from .. import geoservice as gs
        from ..layers import apply_style
        from ._outputs import explain_scores

        try:
            url = gs.base_url(self.parameterAsString(parameters, self.URL, context))
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc
        kind = gs.AUTH_KINDS[self.parameterAsEnum(parameters, self.AUTH, context)]
        secret = self.parameterAsString(parameters, self.SECRET, context).strip()
        authcfg = self.parameterAsString(parameters, self.AUTHCFG, context).strip() or None
        purpose = self.parameterAsString(parameters, self.PURPOSE, context).strip() or None
        layer_authcfg = None
        if kind in ("api_key", "bearer"):
            try:
                if secret:
                    authcfg = gs.store_secret(url, kind, secret, authcfg)
                elif authcfg:
                    _, kind, secret = gs.load_secret(authcfg)
                else:
                    raise QgsProcessingException(
                        "give the API key or token as SECRET, or the id of the configuration "
                        "it was stored in as AUTHCFG")
            except (KeyError, RuntimeError) as exc:
                raise QgsProcessingException(str(exc)) from exc
            feedback.pushInfo(f"credentials stored in authentication configuration {authcfg}")
        elif kind == "authcfg":
            if not authcfg:
                raise QgsProcessingException("choose the authentication configuration (AUTHCFG)")
            layer_authcfg = authcfg
        gs.install_headers(url, kind, secret, purpose)
        try:
            collections = gs.list_collections(url, layer_authcfg, feedback)
        except (ConnectionError, ValueError) as exc:
            raise QgsProcessingException(f"cannot list the collections of {url}: {exc}") from exc
        wanted = [c.strip() for c in self.parameterAsString(
            parameters, self.COLLECTIONS, context).split(",") if c.strip()]
        known = {c.id for c in collections}
        missing = sorted(set(wanted) - known)
        if missing:
            raise QgsProcessingException(f"{url} has no collection {', '.join(missing)}; it has "
                                         + ", ".join(sorted(known)))
        restrict = self.parameterAsBool(parameters, self.RESTRICT, context)
        ids = []
        for c in collections:
            if (wanted and c.id not in wanted) or c.item_type != "feature":
                continue
            layer = gs.collection_layer(url, c, layer_authcfg, restrict)
            if not layer.isValid():
                provider = layer.dataProvider()
                why = provider.error().summary() if provider is not None else "no provider"
                feedback.reportError(f"collection {c.id}: not readable with these credentials "
                                     f"({why})")
                continue
            names = layer.fields().names()
            if c.id in STYLES:
                apply_style(layer, STYLES[c.id])
            elif "score" in names and "reasons" in names:
                apply_style(layer, "streets_by_score")
                explain_scores(layer)
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(
                c.title, context.project(), self.OUTPUT))
            ids.append(layer.id())
            feedback.pushInfo(f"{c.id}: added")
        return {self.OUTPUT: ids, self.AUTHCFG_OUT: authcfg or ""}
