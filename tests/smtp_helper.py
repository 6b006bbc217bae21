# SPDX-License-Identifier: GPL-3.0-or-later
"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in a thread of the test process.

``SmtpSink`` keeps every message it accepted (envelope and parsed e-mail) and can misbehave
on purpose: answer a temporary (``451``) or permanent (``550``) failure for chosen
recipients or to every message (``fail_data``), or stall (never answer DATA) once it has
accepted ``stall_after`` messages, until :meth:`release` is called.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    session: int


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    fail_once: dict[str, str] = field(default_factory=dict)  # address -> reply (e.g. "451 …")
    fail_always: dict[str, str] = field(default_factory=dict)
    stall_after: int | None = None
    fail_data: str | None = None  # a reply to every DATA (e.g. "554 …")
    stalled: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
            session.lpt_number = self.sessions
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            reply = self.fail_once.pop(address, None) or self.fail_always.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            stall = self.stall_after is not None and len(self.received) >= self.stall_after
        if self.fail_data:
            return self.fail_data
        if stall:
            self.stalled.set()
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "451 stalled on purpose"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg,
                                          getattr(session, "lpt_number", 0)))
        return "250 Message accepted"


class SmtpSink:
    """``with SmtpSink() as sink:`` a server at ``sink.url`` (``smtp://127.0.0.1:<port>``)."""

    def __init__(self, **handler) -> None:
        self.handler = _Handler(**handler)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self._port = sock.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self._port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.handler.released.set()
        self.controller.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def release(self) -> None:
        self.handler.released.set()

    def recipients(self) -> list[str]:
        return [r for m in self.received for r in m.rcpt_tos]
