# SPDX-License-Identifier: GPL-3.0-or-later
"""Load the demo force into a store through the ordinary importers: :func:`build_demo`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from spatial_core.demo.force import (
    DEMO_END_MONTH,
    DEMO_HOUSEHOLDS,
    DEMO_MONTHS,
    DEMO_SEED,
    DemoFiles,
    generate_demo,
)
from spatial_core.io.imports import ImportReport, Progress, import_files

__all__ = ["build_demo", "load_demo"]

log = logging.getLogger(__name__)


def load_demo(
    store, files: DemoFiles, *, progress: Progress | None = None,
    timings: dict[str, dict[str, float]] | None = None,
) -> dict[str, ImportReport]:
    """Import generated files in dependency order; ``reports`` keys name each step.

    ``timings``, when given, receives ``{step: {"seconds": wall, "cpu_seconds": cpu}}``.

    Areas first (force, npa, beat, ward, lsoa, then output areas with their class), then
    postcodes, streets (cut at the beats), addresses, crimes, members, the census base and the
    members' self-declared language, religion and Origins, surveys and visits.
    """
    b = files.boundaries
    steps: list[tuple[str, str, list[Path], dict]] = [
        ("boundaries:force", "boundaries", [b["force"]], {"level": "force"}),
        (
            "boundaries:npa",
            "boundaries",
            [b["npa"]],
            {"level": "npa", "parent_field": "force_code"},
        ),
        (
            "boundaries:beat",
            "boundaries",
            [b["beat"]],
            {"level": "beat", "parent_field": "npa_code"},
        ),
        ("boundaries:ward", "boundaries", [b["ward"]], {"level": "ward"}),
        ("boundaries:lsoa", "boundaries", [b["lsoa"]], {"level": "lsoa"}),
        ("classification", "classification", [files.classification], {}),
        ("postcodes", "postcodes", [files.postcodes], {}),
        ("streets", "streets", [files.streets], {}),
        ("addresses", "addresses", [files.addresses], {}),
        ("crimes", "crimes", list(files.crimes), {}),
        ("members", "members", [files.members], {}),
        *_census_steps(files),
        ("surveys", "surveys", [files.surveys], {}),
        ("visits", "visits", [files.visits], {}),
    ]
    reports: dict[str, ImportReport] = {}
    for k, (key, kind, paths, options) in enumerate(steps):
        if progress:
            progress(k / len(steps), f"importing {key}")
        started, cpu = time.perf_counter(), time.process_time()
        reports[key] = import_files(store, kind, paths, **options)
        wall = time.perf_counter() - started
        if timings is not None:
            timings[key] = {"seconds": wall, "cpu_seconds": time.process_time() - cpu}
        log.info("demo: %s in %.2f s", reports[key].summary().splitlines()[0], wall)
    return reports


def _census_steps(files: DemoFiles) -> list[tuple[str, str, list[Path], dict]]:
    """The census tables, then the members' answers (an update of the stored members)."""
    steps = [(f"census:{table}", "census", [path], {"table": table})
             for table, path in files.census.items() if table != "member_answers"]
    if "member_answers" in files.census:
        steps.append(("members:answers", "members", [files.census["member_answers"]], {}))
    return steps


def build_demo(
    store,
    out_dir: str | Path,
    *,
    households: int = DEMO_HOUSEHOLDS,
    seed: int = DEMO_SEED,
    months: int = DEMO_MONTHS,
    end_month: str = DEMO_END_MONTH,
    progress: Progress | None = None,
    history: bool = True,
    force_code: str = "DEMO",
    force_name: str = "Demo Police",
    centre: tuple[float, float] | None = None,
) -> dict[str, ImportReport]:
    """Generate the demo force into ``out_dir`` and load it into ``store``.

    Returns the import report of each step (``"boundaries:beat"``, ``"crimes"`` …).
    Progress runs 0-0.3 for generating and 0.3-1 for loading. With ``history`` (the
    default) the engagement history of :mod:`spatial_core.demo.history` is added after
    loading: actions, "You said, we did" messages, replies, opt-outs and a follow-up survey
    wave (its row counts are in ``lpt_meta`` under ``demo_history``). ``force_code``,
    ``force_name`` and ``centre`` place and name the force (see :func:`generate_demo`).

    Examples
    --------
    >>> from spatial_core import open_store
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> reports = build_demo(open_store(os.path.join(d, "demo.gpkg")), d, households=1_000,
    ...                      months=3)  # doctest: +SKIP
    """
    gen = (lambda f, m: progress(0.3 * f, m)) if progress else None
    load = (lambda f, m: progress(0.3 + 0.7 * f, m)) if progress else None
    files = generate_demo(
        out_dir, households=households, seed=seed, months=months, end_month=end_month, progress=gen,
        force_code=force_code, force_name=force_name, centre=centre,
    )
    reports = load_demo(store, files, progress=load)
    # The address and street importers refresh the derived index themselves (addresses are
    # loaded after every area and street), so no final refresh_index is needed.
    if history:
        from spatial_core.demo.history import build_history

        if progress:
            progress(0.99, "adding the engagement history")
        build_history(store, seed=seed, households=households, end_month=end_month)
    if progress:
        progress(1.0, "demo force loaded")
    return reports
