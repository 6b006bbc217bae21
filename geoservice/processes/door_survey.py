# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``door-survey``: the survey answered at the door, and a registration with consent,
as part of a recorded visit.

One call to :func:`spatial_core.engagement.surveys.record_door_survey` (channel door_knock;
the core checks the answers against the survey form, that the visit was at that address, and
the registration: the organisation consented to, an e-mail or mobile kept encrypted only where
messaging is switched on). The visited address must be in the caller's beats (the ``visits``
collection's rule; 404 otherwise, as for an unknown visit). Audited as a write of personal
data (collection ``surveys``) with the caller's purpose; a refusal is audited too.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..access import beat_scope, require_purpose
from ._base import LptProcessor, ProcessInputError, ProcessNotFound, _metadata, text_input

__all__ = ["DoorSurveyProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "door-survey", "Record a survey taken at the door",
    "Stores the survey a resident answered at the door during a recorded visit (local "
    "priorities, trust and confidence, feeling safe, whether the police understand and deal "
    "with local issues, free text; optionally their gender, age band and ethnicity), into "
    "the same tables as imported responses, and optionally their registration with consent "
    "for an organisation. Police roles, visits in their beats, with an X-Purpose header.",
    inputs={
        "visit_id": text_input("Visit", "The id of the visit just recorded", required=True),
        "uprn": text_input("Address", "The visit's UPRN", required=True),
        "answers": {"title": "Answers", "description": "Question name -> answer "
                    "(GET /engage/config.json lists the questions)",
                    "schema": {"type": "object"}, "minOccurs": 1, "maxOccurs": 1},
        "registration": {"title": "Registration", "description": "The resident agreed to "
                         "register: organisation (consent given for), email, mobile",
                         "schema": {"type": "object"}, "minOccurs": 0, "maxOccurs": 1},
    },
    output=("response", "Response"),
    example={"visit_id": "V…", "uprn": "100023…",
             "answers": {"priorities": ["asb"], "confidence": 4}},
    asynchronous=False)


class DoorSurveyProcessor(LptProcessor):
    """``record_door_survey`` for a visit at an address in the caller's beats."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("visit_id", "uprn", "answers", "registration")
    audited = "surveys"

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        try:
            purpose = require_purpose(self.ctx)
        except Exception as exc:  # PurposeRequired: a provider error, a 400 here
            raise ProcessInputError(user_msg=getattr(exc, "message", str(exc))) from None
        visit_id, uprn = data.get("visit_id"), data.get("uprn")
        for name, value in (("visit_id", visit_id), ("uprn", uprn)):
            if not isinstance(value, str) or not value.strip():
                raise ProcessInputError(user_msg=f"input {name!r} is required")
        registration = data.get("registration")
        if registration is not None and not isinstance(registration, Mapping):
            raise ProcessInputError(user_msg="input 'registration' must be an object "
                                             "(organisation, email, mobile)")
        answers = data.get("answers")
        if not isinstance(answers, Mapping):
            raise ProcessInputError(user_msg="input 'answers' must be an object: question "
                                             "name -> answer")
        uprn = uprn.strip()
        if not self._in_beats(uprn):
            raise ProcessNotFound(user_msg=f"no visit {visit_id.strip()!r} at {uprn!r} here")
        return {"visit_id": visit_id.strip(), "uprn": uprn, "answers": dict(answers),
                "registration": dict(registration) if registration is not None else None,
                "purpose": purpose}

    def _in_beats(self, uprn: str) -> bool:
        """Whether the address is in the caller's beats (the visits collection's scope)."""
        from spatial_core.store import schema

        beats = beat_scope(self.location, self.ctx.principal)
        a = schema.table("addresses")
        where = a.c.uprn == uprn
        if beats is not None:
            where = where & a.c.beat_id.in_(list(beats))
        return self.store.count("addresses", where=where) > 0

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.surveys import record_door_survey

        response_id = record_door_survey(
            self.store, visit_id=args["visit_id"], uprn=args["uprn"], answers=args["answers"],
            officer=self.ctx.principal.sub[:64], registration=args["registration"])
        registered = args["registration"] is not None
        self.audit("create", "surveys", ids=[response_id],
                   outcome="ok: door survey" + (" with a registration" if registered else ""))
        return "application/json", {"response_id": response_id, "visit_id": args["visit_id"],
                                    "registered": registered}
