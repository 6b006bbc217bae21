# SPDX-License-Identifier: GPL-3.0-or-later
"""The `lpt` command: a front over the core's use cases, like the service and the plugin."""
