# SPDX-License-Identifier: GPL-3.0-or-later
"""The engagement collections and processes the service publishes (merged into
:data:`geoservice.config.COLLECTIONS` and :data:`geoservice.config.PROCESSES`).

Kept apart so the engagement front is one set of files; this module imports nothing.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ENGAGE_COLLECTIONS", "ENGAGE_PROCESSES", "ENGAGE_PERSONAL"]

ENGAGE_COLLECTIONS: dict[str, dict[str, Any]] = {
    "messages": {
        "title": "Messages to residents",
        "description": "Messages officers composed and sent, with their reach and delivery "
                       "counts (police roles, messages for their areas; never a contact).",
        "provider": "geoservice.providers.engagement.MessageProvider",
        "id_field": "message_id", "title_field": "subject", "keywords": ["engagement"],
    },
    "replies": {
        "title": "Replies from residents",
        "description": "Replies residents sent through the link in a message, urgent first "
                       "(personal data: the sending officer's areas and their supervisors; "
                       "every read is audited).",
        "provider": "geoservice.providers.engagement.ReplyProvider",
        "id_field": "reply_id", "title_field": "reply_id", "keywords": ["engagement"],
    },
    "actions": {
        "title": "Actions log",
        "description": "What police and partners did about a local priority in an area "
                       "(\"You said, we did\"); police roles, their areas.",
        "provider": "geoservice.providers.engagement.ActionProvider",
        "id_field": "action_id", "title_field": "priority", "keywords": ["engagement"],
    },
    "engagement": {
        "title": "Engagement per area",
        "description": "Messages sent, delivered, bounced, replied, unsubscribed and surveys "
                       "completed per area (aggregates; counts below the disclosure "
                       "threshold withheld for partners and the public).",
        "provider": "geoservice.providers.engagement.EngagementProvider",
        "id_field": "area_id", "title_field": "area_id", "keywords": ["engagement"],
    },
}

ENGAGE_PROCESSES: dict[str, str] = {
    "compose-message": "geoservice.processes.compose_message.ComposeMessageProcessor",
    "you-said-we-did-draft": "geoservice.processes.compose_message.DraftProcessor",
    "send-message": "geoservice.processes.send_message.SendMessageProcessor",
    "record-action": "geoservice.processes.record_action.RecordActionProcessor",
    "answer-reply": "geoservice.processes.answer_reply.AnswerReplyProcessor",
    "door-survey": "geoservice.processes.door_survey.DoorSurveyProcessor",
}

ENGAGE_PERSONAL = frozenset({"replies", "messages"})
"""Engagement collections never kept by a browser or a proxy (``Cache-Control: no-store``)."""
