# SPDX-License-Identifier: GPL-3.0-or-later
"""Processing algorithms of the ``lpt`` provider: one algorithm per public module.

Adding an algorithm is adding a module here with one :class:`._base.LptAlgorithm` subclass;
the provider discovers it. Modules whose name starts with ``_`` hold shared helpers.
"""
