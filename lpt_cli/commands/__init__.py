# SPDX-License-Identifier: GPL-3.0-or-later
"""Sub-commands of ``lpt``, one module per command group.

Each module defines ``register(subparsers)`` adding its sub-command(s), each with
``set_defaults(func=...)``; :mod:`lpt_cli.main` discovers them, so adding a command never
touches the others. Commands parse arguments, call one core function and print.
"""
