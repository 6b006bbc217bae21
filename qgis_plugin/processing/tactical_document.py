# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:tactical_document."""
from __future__ import annotations

import json

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ._base import LptAlgorithm, progress_callable
from .score_streets import add_profile_parameters, profile_from_parameters

DATA = ("detect", "real", "demo")


class TacticalDocumentAlgorithm(LptAlgorithm):
    """A PDF per beat or neighbourhood policing area, made with a QGIS print layout."""

    NAME = "tactical_document"
    DISPLAY_NAME = "Tactical document (PDF)"
    GROUP = "Analytics"
    GROUP_ID = "analytics"
    HELP = ("Makes the tactical document of a beat or neighbourhood policing area (AREA, e.g. "
            "beat:DM01B01 or npa:DM01) as a two-page PDF from a QGIS print layout: a map of "
            "the recommended streets (scored with the profile), the under-represented "
            "households (red) and where members are (green), the table of recommended "
            "streets with their reasons; then the area's local priorities and its "
            "representation against the target, the profile used, the date and the data "
            "attributions (or 'Synthetic demo data'). PREVIEW writes page 1 as a PNG.")

    AREA = "AREA"
    PROFILE = "PROFILE"
    PROFILE_FILE = "PROFILE_FILE"
    TOP = "TOP"
    PERIOD = "PERIOD"
    MIN_N = "MIN_N"
    TARGET = "TARGET"
    DATA = "DATA"
    OUTPUT = "OUTPUT"
    PREVIEW = "PREVIEW"
    PAGES = "PAGES"
    SUMMARY = "SUMMARY"

    def flags(self):
        # Print layouts are not thread safe (QGIS's own layout export runs in the main thread).
        return super().flags() | QgsProcessingAlgorithm.FlagNoThreading

    def initAlgorithm(self, config=None) -> None:  # noqa: N802 - QGIS API
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(
            self.AREA, self.tr("Beat or neighbourhood policing area (beat:…, npa:…)")))
        add_profile_parameters(self)
        self.addParameter(QgsProcessingParameterNumber(
            self.TOP, self.tr("Recommended streets"), defaultValue=10, minValue=1,
            maxValue=30))
        self.addParameter(QgsProcessingParameterString(
            self.PERIOD, self.tr("Survey period (empty: all responses)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_N, self.tr("Minimum respondents for local priorities"), defaultValue=10,
            minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.TARGET, self.tr("Representation target"),
            type=QgsProcessingParameterNumber.Double, defaultValue=0.7, minValue=0.01,
            maxValue=1.0))
        self.addParameter(QgsProcessingParameterEnum(
            self.DATA, self.tr("Data (attributions)"), options=list(DATA), defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Tactical document"), fileFilter="PDF (*.pdf)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.PREVIEW, self.tr("Preview of page 1"), fileFilter="PNG (*.png)",
            optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber(self.PAGES, self.tr("Pages")))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, self.tr("Contents (JSON)")))

    def processAlgorithm(self, parameters, context, feedback) -> dict:  # noqa: N802
        from .. import tactical

        area = self.parameterAsString(parameters, self.AREA, context).strip()
        profile = profile_from_parameters(self, parameters, context)
        with self.opened_store(parameters, context) as store:
            data = tactical.gather(
                store, area, profile, top=self.parameterAsInt(parameters, self.TOP, context),
                period=self.parameterAsString(parameters, self.PERIOD, context).strip()
                or None,
                min_n=self.parameterAsInt(parameters, self.MIN_N, context),
                target=self.parameterAsDouble(parameters, self.TARGET, context),
                data=DATA[self.parameterAsEnum(parameters, self.DATA, context)],
                progress=progress_callable(feedback))
        layout, project = tactical.build_layout(data)
        path = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        try:
            tactical.export_pdf(layout, path)
        except RuntimeError as exc:
            raise QgsProcessingException(str(exc)) from exc
        out = {self.OUTPUT: path, self.PAGES: layout.pageCollection().pageCount()}
        preview = parameters.get(self.PREVIEW)
        if preview not in (None, ""):
            png = self.parameterAsFileOutput(parameters, self.PREVIEW, context)
            if not tactical.render_page(layout, 0, 100).save(png, "PNG"):
                raise QgsProcessingException(f"cannot write the preview {png}")
            out[self.PREVIEW] = png
        out[self.SUMMARY] = json.dumps({
            "area_id": data.area_id, "area_name": data.area_name, "level": data.level,
            "profile": data.profile.name, "as_of": data.as_of, "prepared": data.prepared,
            "recommended": data.recommended["street_id"].tolist(),
            "under_represented": len(data.households), "member_cells": len(data.members),
            "priorities": data.priorities.loc[data.priorities["is_priority"], "label"].tolist(),
            "groups_below_target": data.representation.loc[
                data.representation["member_below"].fillna(False).astype(bool),
                "group"].astype(str).tolist(),
            "sections": [t.title for t in data.sections],
            "attributions": list(data.attributions)})
        feedback.pushInfo(f"{path}: {out[self.PAGES]} pages")
        del project
        return out
