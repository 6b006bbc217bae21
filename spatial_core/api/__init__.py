# SPDX-License-Identifier: GPL-3.0-or-later
"""The use-case layer: what every front (CLI, service, plugin) calls."""
