# SPDX-License-Identifier: GPL-3.0-or-later
"""Did it work (issue 11): the before/after evaluation of a targeting set-up
(:mod:`geoservice.processes.evaluate_setup`). Plain declarations."""
from __future__ import annotations

__all__ = ["PROCESSES"]

PROCESSES: dict[str, str] = {
    "evaluate-setup": "geoservice.processes.evaluate_setup.EvaluateSetupProcessor",
}
