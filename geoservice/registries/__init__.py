# SPDX-License-Identifier: GPL-3.0-or-later
"""Groups of collections and processes the service publishes, one module a group.

Each module may define ``COLLECTIONS`` (id -> the entry shape of
:data:`geoservice.config.COLLECTIONS`), ``PROCESSES`` (id -> processor class path) and
``TILES``; :mod:`geoservice.config` merges them all at import and refuses an id defined twice.
Modules here import nothing from the service (they are plain declarations).
"""
