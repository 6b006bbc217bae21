# SPDX-License-Identifier: GPL-3.0-or-later
"""Further sections of the tactical document, one module a section.

A module defines ``section(ctx: SectionContext) -> TacticalSection | None``
(:mod:`spatial_core.api.tactical`); :func:`spatial_core.api.tactical.tactical_sections` finds
them all, so a new analysis adds its section to the document (and to every front that lays
it out) by adding one module here. A section shows aggregates only: no name, contact or
address of a person.
"""
