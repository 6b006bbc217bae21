# SPDX-License-Identifier: GPL-3.0-or-later
"""Preparing and sending one message to a whole force's members through a local SMTP server.

A demo force (450k households, about 60k members) is built with a contacts key, so every
member's synthetic address is stored encrypted. Then, in the same run:

1. ``create_message`` for the whole force (audience, consent, opt-outs, contacts, cap, one
   recipient row each): the preview;
2. ``send_message`` through ``SmtpDelivery``: the outbox (claim, send, record per batch of 50)
   over **one reused SMTP connection**;
3. the baseline: a second, identical message sent through the same outbox with a delivery
   that opens a **new connection per message** (connect, EHLO, send, QUIT), which is what a
   straightforward ``smtplib`` loop does.

The SMTP server is aiosmtpd in a child process (so it does not share the sender's
interpreter), counting what it accepts and the connections it saw.

    .venv/bin/python benchmarks/bench_messages.py                          # builds a 450k demo
    .venv/bin/python benchmarks/bench_messages.py --households 30000       # a quick run
    .venv/bin/python benchmarks/bench_messages.py --store demo.gpkg --json out/bench_messages.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from spatial_core import open_store  # noqa: E402
from spatial_core.engagement.consent import FrequencyCap  # noqa: E402
from spatial_core.engagement.delivery import SmtpDelivery, build_email  # noqa: E402
from spatial_core.engagement.messages import create_message, send_message  # noqa: E402

TEXT = ("Thank you to everyone who told us about speeding near the schools. Since the last "
        "survey we have run 14 speed checks with the council's road safety team.\n\n"
        "We would like to hear whether you have noticed a difference.")


class NewConnectionPerMessage(SmtpDelivery):
    """The baseline: connect, EHLO, send and QUIT for every recipient."""

    def send(self, env) -> None:
        self._smtp = None
        try:
            super().send(env)
        finally:
            self.close()


def _serve(port: int) -> None:
    """Child mode: a counting aiosmtpd server until SIGTERM, then print the counts."""
    from aiosmtpd.controller import Controller

    counts = {"messages": 0, "connections": 0}

    class Handler:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
            counts["connections"] += 1
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            counts["messages"] += 1
            return "250 OK"

    c = Controller(Handler(), hostname="127.0.0.1", port=port)
    c.start()
    print("ready", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.1)
    c.stop()
    print(json.dumps(counts), flush=True)


class Server:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve-smtp", str(self.port)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def _build(path: Path, households: int) -> None:
    from spatial_core.demo import build_demo

    store = open_store(path)
    try:
        build_demo(store, path.parent / "files", households=households)
    finally:
        store.close()


def _send(store, message_id: str, delivery) -> tuple[float, object, dict]:
    server = Server()
    delivery.host, delivery.port = "127.0.0.1", server.port
    t = time.perf_counter()
    report = send_message(store, message_id, delivery, public_url="https://engage.example.invalid")
    seconds = time.perf_counter() - t
    return seconds, report, server.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--households", type=int, default=450_000)
    p.add_argument("--store", default=None, help="an existing demo store built with the key in "
                                                 "--key-file (copied, never changed)")
    p.add_argument("--key-file", default=None)
    p.add_argument("--json", default=None)
    p.add_argument("--serve-smtp", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_smtp:
        _serve(args.serve_smtp)
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-messages-"))
    try:
        gpkg = work / "demo.gpkg"
        if args.store:
            os.environ["LPT_CONTACTS_KEY"] = Path(args.key_file).read_text().strip()
            shutil.copyfile(args.store, gpkg)
            build_s = None
        else:
            os.environ["LPT_CONTACTS_KEY"] = Fernet.generate_key().decode()
            t = time.perf_counter()
            _build(gpkg, args.households)
            build_s = time.perf_counter() - t
        store = open_store(gpkg)
        members = store.count("members")
        contacts = store.count("member_contacts")
        cap = FrequencyCap(per_week=100, per_28_days=100)  # two messages to the same people
        force = store.read("areas", ["area_id", "level"])
        force_id = force.loc[force["level"] == "force", "area_id"].iloc[0]
        t = time.perf_counter()
        a = create_message(store, created_by="bench", scope_areas=None, kind="update",
                           subject=None, body=TEXT, areas=[force_id], cap=cap)
        prepare_s = time.perf_counter() - t
        b = create_message(store, created_by="bench", scope_areas=None, kind="update",
                           subject=None, body=TEXT, areas=[force_id], cap=cap)
        reuse_s, reuse, reuse_srv = _send(store, a.message_id, SmtpDelivery("smtp://127.0.0.1:25"))
        base_s, base, base_srv = _send(store, b.message_id,
                                       NewConnectionPerMessage("smtp://127.0.0.1:25"))
        one = SmtpDelivery("smtp://127.0.0.1:25")
        size = len(bytes(build_email(_sample(store, a.message_id), one.sender)))
        store.close()
        rows = {
            "households": args.households if not args.store else None,
            "members": members, "contacts": contacts, "build_s": build_s,
            "recipients": a.recipients, "held_back": a.held_back, "prepare_s": prepare_s,
            "message_bytes": size,
            "reused": {"seconds": reuse_s, "sent": reuse.sent, "failed": reuse.failed,
                       "per_s": reuse.sent / reuse_s, "server": reuse_srv},
            "baseline": {"seconds": base_s, "sent": base.sent, "failed": base.failed,
                         "per_s": base.sent / base_s, "server": base_srv},
        }
        rows["speedup"] = base_s / reuse_s
        print(f"members {members:,}, contacts {contacts:,}"
              + (f", demo built in {build_s:.1f} s" if build_s else ""))
        print(f"prepare (create_message, whole force): {prepare_s:.2f} s; {a.recipients:,} "
              f"recipients, held back {a.held_back}")
        print(f"{'send':<36}{'seconds':>9}{'sent':>8}{'msg/s':>8}{'connections':>13}")
        for name, r in (("outbox, one reused connection", rows["reused"]),
                        ("baseline, connection per message", rows["baseline"])):
            print(f"{name:<36}{r['seconds']:>9.1f}{r['sent']:>8,}{r['per_s']:>8.0f}"
                  f"{r['server']['connections']:>13,}")
        print(f"reused connection: {rows['speedup']:.2f}x the baseline's speed; "
              f"message size {size:,} bytes")
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(rows, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _sample(store, message_id):
    from spatial_core.engagement.delivery import Envelope

    return Envelope(message_id, "M1", "someone@example.invalid", "subject", TEXT, TEXT,
                    "https://engage.example.invalid/engage/unsubscribe/x" + "y" * 90)


if __name__ == "__main__":
    sys.exit(main())
