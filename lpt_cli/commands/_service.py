# SPDX-License-Identifier: GPL-3.0-or-later
"""Hand a command to the geoservice's own command line (``python -m geoservice``).

The CLI is a front like the service: it never imports it. ``lpt serve``, ``lpt audit`` and
``lpt demo --serve`` replace this process with the service's command, so signals (Ctrl-C)
and exit codes are the service's.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def hand_to_service(argv: Sequence[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "geoservice", *argv])
    return 0  # pragma: no cover - execv does not return
