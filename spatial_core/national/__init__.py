# SPDX-License-Identifier: GPL-3.0-or-later
"""National scale on Dask: every force of England and Wales, one Dask task per force.

:mod:`.forces` lists the 43 forces (approximate households, rough middles); :mod:`.synthetic`
builds a synthetic nation of demo forces, one store each; :mod:`.run` runs the core's main
job on every force store on ``dask.distributed`` (or one after another, the one-machine run)
and writes the aggregate-only, disclosure-controlled national store. The top layer of the
core: it imports the rest of the core and nothing in the core imports it. Dask is imported
only when a run starts (the ``national`` extra).
"""
from __future__ import annotations

from spatial_core.national.forces import FORCES, ForceSpec, national_forces
from spatial_core.national.run import (
    ForceResult,
    NationalRun,
    force_job,
    national_client,
    run_national,
    run_sequential,
    write_national_store,
)
from spatial_core.national.synthetic import build_force, build_national_demo, read_manifest

__all__ = ["FORCES", "ForceSpec", "national_forces", "ForceResult", "NationalRun",
           "force_job", "national_client", "run_national", "run_sequential",
           "write_national_store", "build_force", "build_national_demo", "read_manifest"]
