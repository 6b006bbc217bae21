# SPDX-License-Identifier: GPL-3.0-or-later
"""Processes ``compose-message`` (a message to an area, a set-up's households or a group,
returning its reach) and ``you-said-we-did-draft`` (the draft of a "You said, we did"
message from an area's priorities and actions log).

Both are one call to the core (:func:`spatial_core.engagement.messages.create_message`,
:func:`spatial_core.engagement.actions.you_said_we_did_draft`) with the caller's scope: the
area must be one the caller may act for (404 otherwise, the same answer as an unknown area);
the core's refusals (an empty message, an unknown kind, no recipients) are 400 with its
message. Composing is audited (collection ``messages``): who, which area or group, the reach.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..access import area_scope
from ._base import LptProcessor, ProcessInputError, _metadata, area_input, text_input

__all__ = ["ComposeMessageProcessor", "DraftProcessor", "PROCESS_METADATA",
           "DRAFT_METADATA", "KIND_NAMES"]

KIND_NAMES = ["update", "you_said_we_did", "survey", "appeal"]
"""The message kinds (the core's ``KINDS``; listed here for the OpenAPI document)."""

PROCESS_METADATA = _metadata(
    "compose-message", "Compose a message to residents",
    "Prepares a message (spatial_core.engagement.messages.create_message) to the members of "
    "an area the caller may act for (a beat, npa, ward, or the force for force analysts), "
    "the households of a targeting set-up, or a member group, and returns the preview: how "
    "many it reaches and how many are held back, and why (no consent, opted out, no contact, "
    "frequency cap). Nothing is sent until send-message. Police roles; audited.",
    inputs={
        "kind": text_input("Kind", "update, you_said_we_did, survey or appeal",
                           required=True, enum=KIND_NAMES),
        "subject": text_input("Subject", "The subject line", required=True),
        "text": text_input("Text", "The message, plain text", required=True),
        "area": text_input("Area", "An area id such as beat:DM01B01"),
        "setup_id": text_input("Set-up", "The households of a targeting set-up"),
        "group": text_input("Group", "A member group (key_individual, iag, nhw …)"),
        "organisation": text_input("Organisation", "Whose consent is needed (default: the "
                                                   "force's)"),
    },
    output=("preview", "Preview"),
    example={"kind": "update", "subject": "Speeding on Mill Lane",
             "text": "We ran speed checks this week …", "area": "beat:DM01B01"},
    asynchronous=False)

DRAFT_METADATA = _metadata(
    "you-said-we-did-draft", "Draft a \"You said, we did\" message",
    "The draft subject and text of a \"You said, we did\" message for an area: what "
    "residents said (the area's current local priorities, with n and share) and what police "
    "and partners did (the actions log). Nothing is stored; edit it and compose-message. "
    "Police roles, in their areas.",
    inputs={"area": area_input()},
    output=("draft", "Draft"),
    example={"area": "beat:DM01B01"}, asynchronous=False)


def optional_text(data: Mapping[str, Any], name: str) -> str | None:
    """An optional text input (None when absent or blank; 400 when not text)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProcessInputError(user_msg=f"input {name!r} must be text")
    return value.strip() or None


def text(data: Mapping[str, Any], name: str) -> str:
    """A text input passed to the core as given (the core says what is wrong with it)."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProcessInputError(user_msg=f"input {name!r} must be text")
    return value


class ComposeMessageProcessor(LptProcessor):
    """``create_message`` for the caller's scope; returns the preview."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("kind", "subject", "text", "area", "setup_id", "group", "organisation")
    audited = "messages"

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        area = optional_text(data, "area")
        return {"kind": text(data, "kind"), "subject": text(data, "subject"),
                "body": text(data, "text"),
                "areas": [self.area(area)] if area is not None else None,
                "setup_id": optional_text(data, "setup_id"),
                "group": optional_text(data, "group"),
                "organisation": optional_text(data, "organisation")}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.messages import create_message

        extra = {"organisation": args["organisation"]} if args["organisation"] else {}
        p = self.ctx.principal
        # A set-up outside the caller's areas is the core's OutOfScope (an InputError): the
        # job fails and pygeoapi answers 400 with its message.
        preview = create_message(
            self.store, created_by=p.sub[:64], scope_areas=area_scope(self.location, p),
            kind=args["kind"], subject=args["subject"], body=args["body"],
            areas=args["areas"], setup_id=args["setup_id"], group=args["group"], **extra)
        held = {k: int(v) for k, v in dict(preview.held_back).items()}
        target = (args["areas"] or [args["setup_id"] and f"setup:{args['setup_id']}"
                                    or args["group"] and f"group:{args['group']}" or "scope"])
        self.audit("create", "messages", ids=[preview.message_id],
                   outcome=f"ok: composed for {', '.join(map(str, target))}: "
                           f"{int(preview.recipients)} recipients, held back {held}")
        return "application/json", {
            "message_id": preview.message_id, "recipients": int(preview.recipients),
            "held_back": held,
            "links": {"send": "processes/send-message/execution",
                      "message": f"collections/messages/items/{preview.message_id}"}}


class DraftProcessor(LptProcessor):
    """``you_said_we_did_draft`` for an area the caller may act for."""

    METADATA = DRAFT_METADATA
    inputs_allowed = ("area",)

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        return {"area": self.area(data.get("area"))}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.actions import you_said_we_did_draft

        d = you_said_we_did_draft(self.store, args["area"])
        return "application/json", {"area": args["area"], "kind": "you_said_we_did",
                                    "subject": d.subject, "text": d.body}
