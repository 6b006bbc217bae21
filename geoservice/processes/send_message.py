# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``send-message``: deliver a composed message to its recipients.

One call to :func:`spatial_core.engagement.messages.send_message` with the delivery the
service is configured for (:func:`geoservice.engage.delivery_for`: SMTP from
``engagement.smtp_url`` / ``LPT_SMTP_URL``, the messaging platform's files, or ``.eml`` files
in the outbox folder) and the public base URL of the links (``engagement.public_url`` /
``LPT_PUBLIC_URL``, else this service's address). The message must be one the caller may
see (the ``messages`` collection's scope; 404 otherwise). Every send is audited: who, which
message, how many sent and failed. Sending again resumes: nobody gets a message twice.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..access import area_scope
from ._base import LptProcessor, ProcessInputError, ProcessNotFound, _metadata, text_input

__all__ = ["SendMessageProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "send-message", "Send a composed message",
    "Sends a message prepared by compose-message to its recipients through the service's "
    "delivery (SMTP, the messaging platform's file, or .eml files) and returns how many were "
    "sent, failed (permanently; the address is marked bad), to be retried, or uncertain. "
    "Running it again resumes without sending anyone the message twice. Police roles, "
    "messages for their areas; audited.",
    inputs={"message_id": text_input("Message", "The id compose-message returned",
                                     required=True)},
    output=("report", "Send report"),
    example={"message_id": "MSG-…"}, asynchronous=True)


def _host_url() -> str | None:
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - flask is the service's
        return None
    return request.host_url if has_request_context() else None


class SendMessageProcessor(LptProcessor):
    """``send_message`` with the configured delivery, for a message in the caller's scope."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("message_id",)
    audited = "messages"

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def)
        self.host_url = _host_url()  # built in the request; an async run has none

    def check(self, data: Mapping[str, Any]) -> dict:
        from spatial_core.engagement.messages import list_messages

        self.known_inputs(data)
        self.require_police()
        message_id = data.get("message_id")
        if not isinstance(message_id, str) or not message_id.strip():
            raise ProcessInputError(user_msg="input 'message_id' is required: the id "
                                             "compose-message returned")
        message_id = message_id.strip()
        mine = list_messages(self.store, scope_areas=area_scope(self.location,
                                                                self.ctx.principal))
        if message_id not in set(mine["message_id"].astype(str)):
            raise ProcessNotFound(user_msg=f"no message {message_id!r} here")
        return {"message_id": message_id}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.messages import send_message

        from ..engage import delivery_for, engage_settings, public_url_for

        settings = engage_settings(self.ctx.config)
        report = send_message(self.store, args["message_id"], delivery_for(settings),
                              public_url=public_url_for(settings, self.host_url))
        out = {k: int(getattr(report, k)) for k in ("sent", "failed", "retried", "uncertain")}
        self.audit("send", "messages", ids=[args["message_id"]],
                   outcome="ok: " + ", ".join(f"{k} {v}" for k, v in out.items()))
        return "application/json", {"message_id": args["message_id"], **out}
