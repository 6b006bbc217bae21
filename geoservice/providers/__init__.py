# SPDX-License-Identifier: GPL-3.0-or-later
"""Our pygeoapi providers, one per file, registered by dotted path in the configuration."""
from __future__ import annotations

__all__: list[str] = []
