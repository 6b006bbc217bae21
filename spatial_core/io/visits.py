# SPDX-License-Identifier: GPL-3.0-or-later
"""Importing door-knock visits into ``visits``.

A visit is an officer at an address: the UPRN, when, who, what happened (one of
:data:`VISIT_OUTCOMES`), the targeting set-up it was part of, and notes. The visit is placed
at the address point, so the address must already be in the store; a visit to an unknown
UPRN is skipped and listed in the report (officer logs are hand-typed, and one mistyped UPRN
should not reject a whole shift). ``docs/formats/visits.md`` lists the columns and aliases.

A log without a visit id gets a stable key derived from the UPRN, the time, the officer and
the outcome, so re-importing the same log adds nothing.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.imports import (
    ImportReport,
    Progress,
    import_records,
    located_columns,
    skip_rows,
)
from spatial_core.io.locations import locate, normalise_uprns, parse_uprns
from spatial_core.io.members import check_length, column_width, text_column
from spatial_core.io.sources import CsvTable, parse_choice, parse_datetime, read_csv_table
from spatial_core.store import schema

__all__ = ["import_visits", "record_visit", "VISIT_COLUMNS", "VISIT_OUTCOMES", "UNKNOWN_ADDRESS"]

log = logging.getLogger(__name__)

VISIT_COLUMNS: dict[str, Sequence[str]] = {
    "visit_id": ("Visit ID", "VisitID", "Visit Ref", "Visit Reference", "Reference", "ID"),
    "uprn": ("Property Reference", "Address UPRN", "Property UPRN"),
    "visited_at": ("Visited", "Visit Date", "Date", "Date Time", "Datetime", "Timestamp", "When",
                   "Visit Time", "Visited On"),
    "officer": ("Officer Name", "Visited By", "Collar Number", "Staff", "Staff Name", "PCSO"),
    "outcome": ("Result", "Visit Outcome", "Status"),
    "setup_id": ("Setup", "Set-up", "Set-up ID", "Targeting Set-up", "Campaign", "Plan"),
    "notes": ("Note", "Comments", "Comment"),
}
"""Canonical visit columns and their aliases; ``uprn``, ``visited_at`` and ``outcome`` are
required."""
_REQUIRED = ("uprn", "visited_at", "outcome")

VISIT_OUTCOMES: dict[str, str] = {
    "registered": "Resident registered as a member",
    "surveyed": "Resident answered the survey",
    "spoke": "Spoke to the resident (no registration or survey)",
    "not_in": "Nobody in (card left)",
    "declined": "Resident declined to engage",
    "no_access": "Could not reach the door",
}
"""Visit outcomes: slug → meaning."""

_OUTCOME_ALIASES = {
    **{k: k for k in VISIT_OUTCOMES},
    **{k.replace("_", " "): k for k in VISIT_OUTCOMES},
    "register": "registered", "signed up": "registered", "joined": "registered",
    "new member": "registered", "registration": "registered",
    "survey": "surveyed", "survey completed": "surveyed", "completed survey": "surveyed",
    "spoke": "spoke", "spoke to resident": "spoke", "spoken to": "spoke", "contact made": "spoke",
    "engaged": "spoke", "answered": "spoke",
    "not in": "not_in", "no answer": "not_in", "no reply": "not_in", "nobody home": "not_in",
    "nobody in": "not_in", "out": "not_in", "card left": "not_in", "calling card left": "not_in",
    "declined": "declined", "refused": "declined", "not interested": "declined",
    "no access": "no_access", "unable to access": "no_access", "gated": "no_access",
}

UNKNOWN_ADDRESS = "address not in the store (import addresses first)"


def import_visits(store, paths: Sequence[str | Path], *, crs: int | None = None,
                  encoding: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import door-knock visit logs (CSV) into ``visits``.

    Parameters
    ----------
    store, paths, encoding, progress
        As every importer (:mod:`spatial_core.io.imports`).
    crs : int, optional
        Accepted for the common importer signature; visits take their point from the address.

    Returns
    -------
    ImportReport
        Visits to UPRNs that are not in ``addresses`` are skipped with reason
        :data:`UNKNOWN_ADDRESS` and their rows listed.
    """
    def read(path: Path, report: ImportReport):
        return _read_visits(path, encoding=encoding, report=report), {}

    def place(conn, frame: pd.DataFrame, report: ImportReport):
        loc = locate(store, conn, uprn=frame["uprn"])
        found = loc["uprn_found"].to_numpy()
        skip_rows(report, UNKNOWN_ADDRESS, frame, ~found)
        return loc, found

    return import_records(store, paths, kind="visits", table="visits", key="visit_id",
                          what="visit", read=read, place=place, rows=_visit_rows,
                          progress=progress)


def _read_visits(path: Path, *, encoding: str | None, report: ImportReport) -> pd.DataFrame:
    t = read_csv_table(path, encoding=encoding)
    t.require({k: VISIT_COLUMNS[k] for k in _REQUIRED},
              {k: v for k, v in VISIT_COLUMNS.items() if k not in _REQUIRED})
    c = schema.visits.c
    out = pd.DataFrame({"_file": t.file, "_line": t.lines})
    out["uprn"] = parse_uprns(t, required=True, what="the UPRN of the address visited")
    out["visited_at"] = parse_datetime(t, "visited_at")
    out["outcome"] = parse_choice(t, "outcome", _OUTCOME_ALIASES,
                                  what=f"an outcome: one of {', '.join(VISIT_OUTCOMES)}")
    for name, column in (("officer", c.officer), ("setup_id", c.setup_id)):
        values = text_column(t, name)
        check_length(t, name, values, column_width(column), f"an {name}" if name == "officer"
                     else "a set-up id")
        out[name] = values
    out["notes"] = text_column(t, "notes")
    out["visit_id"] = _visit_ids(t, out, report)
    return out


def _visit_ids(t: CsvTable, out: pd.DataFrame, report: ImportReport) -> np.ndarray:
    """The file's visit ids; empty or absent ids are derived from the visit's content."""
    ids = text_column(t, "visit_id").copy()
    check_length(t, "visit_id", ids, column_width(schema.visits.c.visit_id), "a visit id")
    empty = ids == ""
    if empty.any():
        parts = out.loc[empty, ["uprn", "visited_at", "officer", "outcome"]].astype(str)
        joined = parts.agg("|".join, axis=1)
        ids[empty] = ["v-" + hashlib.sha1(s.encode()).hexdigest()[:20] for s in joined]
        if t.has("visit_id"):
            report.note("no visit id; a key was derived from UPRN, time, officer and outcome",
                        t.lines[empty], t.file)
    return ids


def _visit_rows(frame: pd.DataFrame, loc: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    f = frame.loc[mask]
    g = loc.loc[mask]
    return pd.DataFrame({
        "visit_id": f["visit_id"].to_numpy(),
        "uprn": g["uprn"].to_numpy(),
        "visited_at": f["visited_at"].to_numpy(),
        "officer": f["officer"].to_numpy(),
        "outcome": f["outcome"].to_numpy(),
        "setup_id": f["setup_id"].to_numpy(),
        "notes": f["notes"].to_numpy(),
        **located_columns(g),
    })


def record_visit(store, *, uprn: str | None, outcome: str | None, visited_at: str | None,
                 officer: str | None = None,
                 setup_id: str | None = None, notes: str | None = None,
                 visit_id: str | None = None, beats: Sequence[str] | None = None) -> str:
    """Record one door-knock visit (an officer's phone, a service) and return its visit id.

    The same rules as :func:`import_visits`: the outcome is one of :data:`VISIT_OUTCOMES` (or
    an alias), ``visited_at`` an ISO or UK date-time, the visit placed at the stored address.

    Parameters
    ----------
    beats : list of str, optional
        The beat ids the caller may record in; an address in another beat is reported as not
        found (the caller must not learn that it exists).

    Raises
    ------
    InputError
        A missing or invalid field, naming it and what was expected.
    NotFoundError
        The UPRN is not a stored address (or is outside ``beats``).
    """
    fields = {"uprn": uprn, "outcome": outcome, "visited_at": visited_at}
    for name, value in fields.items():
        if value is None or str(value).strip() == "":
            raise InputError(f"{name} is required", column=name)
    key = normalise_uprns([str(uprn)])[0]
    found = _OUTCOME_ALIASES.get(" ".join(str(outcome).strip().lower().replace("-", " ").split()))
    if found is None:
        raise InputError(f"expected an outcome: one of {', '.join(VISIT_OUTCOMES)}",
                         column="outcome", value=outcome)
    when = pd.to_datetime(pd.Series([str(visited_at).strip()]), errors="coerce", format="ISO8601")
    if when.isna().iloc[0]:
        when = pd.to_datetime(pd.Series([str(visited_at).strip()]), errors="coerce",
                              dayfirst=True, format="mixed")
    if when.isna().iloc[0]:
        raise InputError("expected a date-time such as 2026-03-14T18:30:00 or 14/03/2026 18:30",
                         column="visited_at", value=visited_at)
    if when.dt.tz is not None:  # stored times are UK local, as in the officers' logs
        when = when.dt.tz_convert("Europe/London").dt.tz_localize(None)
    stamp = when.dt.strftime("%Y-%m-%dT%H:%M:%S").iloc[0]
    c = schema.visits.c
    texts = {"officer": (officer, c.officer), "setup_id": (setup_id, c.setup_id),
             "visit_id": (visit_id, c.visit_id)}
    clean: dict[str, str | None] = {}
    for name, (value, column) in texts.items():
        given = None if value is None or str(value).strip() == "" else str(value).strip()
        width = column_width(column)
        if given is not None and width and len(given) > width:
            raise InputError(f"expected at most {width} characters", column=name, value=given)
        clean[name] = given
    note = None if notes is None or str(notes).strip() == "" else str(notes)
    if clean["visit_id"] is None:
        joined = "|".join([str(key), stamp, clean["officer"] or "", found])
        clean["visit_id"] = "v-" + hashlib.sha1(joined.encode()).hexdigest()[:20]
    a = schema.addresses.c
    with store.begin() as conn:
        where = a.uprn == key
        if beats is not None:
            where = where & a.beat_id.in_(list(beats))
        if store.count("addresses", where=where, conn=conn) == 0:
            raise NotFoundError(f"address UPRN {key} not found"
                                + (" in your beats" if beats is not None else ""))
        loc = locate(store, conn, uprn=[key])
        frame = pd.DataFrame({"visit_id": [clean["visit_id"]], "uprn": [key],
                              "visited_at": [stamp], "officer": [clean["officer"]],
                              "outcome": [found], "setup_id": [clean["setup_id"]],
                              "notes": [note]})
        rows = _visit_rows(frame, loc, np.ones(1, dtype=bool))
        if store.insert_new(conn, "visits", rows) == 0:
            raise InputError("a visit with this id is already recorded", column="visit_id",
                             value=clean["visit_id"])
    log.info("recorded visit %s", clean["visit_id"])
    return str(clean["visit_id"])
