# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Processes: score an area, representation for an area, create a targeting set-up.

Each process is a ``PROCESS_METADATA`` dict and a thin ``execute`` calling spatial_core;
:mod:`geoservice.processes.manager` runs them (synchronously, or asynchronously with job
status) and keeps every job private to the caller who started it.
"""
