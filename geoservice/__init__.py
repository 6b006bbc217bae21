# SPDX-License-Identifier: GPL-3.0-or-later
"""The geoservice: OGC API Features on pygeoapi over the spatial_core store.

Our providers are registered in pygeoapi's configuration by dotted path
(``geoservice.providers.streets.StreetProvider`` …); :mod:`geoservice.app` wraps pygeoapi's
Flask application with authentication, area-based access control and an audit log.
See ``docs/geoservice.md``.
"""
from __future__ import annotations

__all__: list[str] = []
