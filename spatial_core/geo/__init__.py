# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry: coordinate reference systems, H3 cells, geometry types."""
