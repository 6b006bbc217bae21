# SPDX-License-Identifier: GPL-3.0-or-later
"""Process ``answer-reply``: an officer's answer to a resident's reply.

One call to :func:`spatial_core.engagement.replies.answer_reply` with the caller and their
scope (a reply the caller may not see is 404, like one that does not exist); audited
(collection ``replies``: personal data), with the purpose.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..access import area_scope
from ._base import LptProcessor, ProcessInputError, ProcessNotFound, _metadata, text_input
from .compose_message import text

__all__ = ["AnswerReplyProcessor", "PROCESS_METADATA"]

PROCESS_METADATA = _metadata(
    "answer-reply", "Answer a reply",
    "Records an officer's answer to a resident's reply (the 'replies' collection). Police "
    "roles, replies to messages of their areas; audited.",
    inputs={"reply_id": text_input("Reply", "The reply's id", required=True),
            "answer": text_input("Answer", "The answer", required=True)},
    output=("reply", "Reply"),
    example={"reply_id": "R…", "answer": "Thank you, we have passed this to the council."},
    asynchronous=False)


class AnswerReplyProcessor(LptProcessor):
    """``answer_reply`` in the caller's scope."""

    METADATA = PROCESS_METADATA
    inputs_allowed = ("reply_id", "answer")
    audited = "replies"

    def check(self, data: Mapping[str, Any]) -> dict:
        self.known_inputs(data)
        self.require_police()
        from spatial_core.engagement.replies import list_replies

        reply_id = data.get("reply_id")
        if not isinstance(reply_id, str) or not reply_id.strip():
            raise ProcessInputError(user_msg="input 'reply_id' is required")
        reply_id = reply_id.strip()
        # Refused here, before a job exists (a job's failure is always a 400): a reply the
        # caller may not read is "not found", like one that does not exist.
        visible = list_replies(self.store, scope_areas=area_scope(self.location,
                                                                  self.ctx.principal))
        if reply_id not in set(visible["reply_id"].astype(str)):
            raise ProcessNotFound(user_msg=f"no reply {reply_id!r} in your areas")
        return {"reply_id": reply_id, "answer": text(data, "answer")}

    def run(self, args: dict) -> tuple[str, Any]:
        from spatial_core.engagement.replies import answer_reply

        p = self.ctx.principal
        answer_reply(self.store, args["reply_id"], args["answer"], by=p.sub[:64],
                     scope_areas=area_scope(self.location, p))
        self.audit("update", "replies", ids=[args["reply_id"]], outcome="ok: answered")
        return "application/json", {"reply_id": args["reply_id"], "answered": True,
                                    "answered_by": p.sub[:64]}
