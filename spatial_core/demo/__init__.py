# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force: a seeded, synthetic police force written in the real input formats.

:func:`generate_demo` writes the files; :func:`build_demo` writes them and loads them through
the importers. See ``docs/demo.md`` for the model and measured timings.
"""

from __future__ import annotations

from spatial_core.demo.build import build_demo
from spatial_core.demo.force import DemoFiles, generate_demo

__all__ = ["DemoFiles", "generate_demo", "build_demo"]
