# SPDX-License-Identifier: GPL-3.0-or-later
"""Importing survey responses (online, door-knock, staff) into ``surveys`` and
``survey_priorities``.

One row per response: when, through which channel, by which member (or anonymously with a
postcode), the local priorities ticked (a multi-select), confidence in the police and feeling
of safety on five-point Likert scales, free text, and the respondent's demographics *as at
the time of response* (they are stored with the response, never copied from the member).
``docs/formats/surveys.md`` lists the canonical columns and the aliases accepted.

Priorities are stored as slugs from :data:`PRIORITIES`, one row per (response, priority), so
counting them is a GROUP BY. An answer outside the vocabulary is stored as a slug of its text
and noted in the report, so nothing a respondent said is lost.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.geo.crs import WGS84
from spatial_core.io.imports import (
    ImportReport,
    Progress,
    import_records,
    located_columns,
    note_rows,
    stored_keys,
)
from spatial_core.io.locations import locate, parse_points, parse_uprns
from spatial_core.io.members import (
    check_length,
    column_width,
    normalise_age_bands,
    normalise_ethnicities,
    normalise_genders,
    note_locations,
    required_ids,
    slugs,
    split_lists,
    text_column,
    vocabulary_column,
    vocabulary_keys,
)
from spatial_core.io.sources import CsvTable, parse_choice, parse_date, read_csv_table
from spatial_core.store import schema

__all__ = [
    "import_surveys",
    "SURVEY_COLUMNS",
    "PRIORITIES",
    "CHANNELS",
    "CONFIDENCE_SCALE",
    "FEEL_SAFE_SCALE",
    "priorities_to_slugs",
    "likert_to_scores",
]

log = logging.getLogger(__name__)

SURVEY_COLUMNS: dict[str, Sequence[str]] = {
    "response_id": ("Response ID", "ResponseID", "Respondent ID", "Survey Response ID",
                    "Submission ID", "Reference", "ID"),
    "date": ("Response Date", "Date Submitted", "Submitted", "Submitted At", "Completed",
             "Date Completed", "Timestamp", "Survey Date"),
    "channel": ("Source", "Method", "Collection Method", "Response Channel", "Survey Channel"),
    "member_id": ("Member ID", "MemberID", "Member Number", "User ID"),
    "uprn": ("Property Reference", "Property UPRN"),
    "postcode": ("Post Code", "Postal Code", "Your Postcode", "Home Postcode"),
    "latitude": ("Lat",),
    "longitude": ("Lng", "Long", "Lon"),
    "priorities": ("Priority", "Local Priorities", "Policing Priorities", "Issues", "Concerns"),
    "confidence": ("Confidence in Police", "Police Confidence", "Confidence Score"),
    "feel_safe": ("Feel Safe", "Feeling Safe", "Feelings of Safety", "Safety",
                  "How safe do you feel"),
    "comments": ("Comment", "Free Text", "Other Comments", "Any Other Comments", "Anything Else"),
    "gender": ("Sex", "Gender Identity"),
    "age_band": ("Age Band", "Age Group", "Age Range", "Age"),
    "ethnicity": ("Ethnic Group", "Ethnic Origin", "Ethnic Background"),
}
"""Canonical survey columns and their aliases; ``response_id``, ``date`` and ``channel`` are
required, and a response needs a UPRN, postcode, coordinates or a located member id."""
_REQUIRED = ("response_id", "date", "channel")

CHANNELS = ("online", "door_knock", "staff")
_CHANNEL_ALIASES = {
    "online": "online", "web": "online", "website": "online", "internet": "online",
    "email": "online", "app": "online",
    "door_knock": "door_knock", "door knock": "door_knock", "door-knock": "door_knock",
    "doorknock": "door_knock", "door to door": "door_knock", "doorstep": "door_knock",
    "staff": "staff", "officer": "staff", "pcso": "staff", "paper": "staff",
    "street": "staff", "event": "staff", "face to face": "staff",
}

PRIORITIES: dict[str, str] = {
    "asb": "Anti-social behaviour",
    "road_safety": "Road safety and speeding",
    "drugs": "Drugs",
    "burglary": "Burglary",
    "vehicle_crime": "Vehicle crime",
    "violence": "Violence",
    "criminal_damage": "Criminal damage",
    "theft": "Theft",
    "robbery": "Robbery",
    "weapons": "Weapons and knife crime",
    "environmental": "Fly-tipping and environmental",
    "other": "Other",
}
"""The local priority vocabulary: slug → label. Survey answers are stored as these slugs."""

_PRIORITY_ALIASES = {
    **{k.replace("_", " "): k for k in PRIORITIES},
    **{_k: _v for _v, _labels in {
        "asb": ["anti social behaviour", "antisocial behaviour", "anti social behavior",
                "antisocial behavior", "nuisance", "youth nuisance", "youths causing annoyance"],
        "road_safety": ["road safety and speeding", "speeding", "speeding traffic",
                        "dangerous driving", "anti social driving", "speed"],
        "drugs": ["drug dealing", "drug use", "drugs and drug dealing", "drug related crime",
                  "drug"],
        "burglary": ["burglaries", "house burglary", "residential burglary"],
        "vehicle_crime": ["car crime", "theft from vehicles", "theft of vehicles",
                          "theft from vehicle", "vehicle theft"],
        "violence": ["violent crime", "assault", "assaults", "violence and sexual offences",
                     "violence against women and girls", "domestic abuse"],
        "criminal_damage": ["vandalism", "graffiti", "criminal damage and arson", "arson"],
        "theft": ["shoplifting", "bicycle theft", "bike theft", "other theft",
                  "theft from the person", "thefts"],
        "robbery": ["mugging", "street robbery"],
        "weapons": ["knife crime", "weapons and knife crime", "possession of weapons", "knives"],
        "environmental": ["fly tipping", "fly tipping and environmental", "environment",
                          "environmental issues", "litter", "dog fouling", "rubbish"],
        "other": ["other crime", "something else", "other please specify"],
    }.items() for _k in _labels},
}

CONFIDENCE_SCALE: dict[str, int] = {
    "strongly agree": 5, "agree": 4, "tend to agree": 4,
    "neither agree nor disagree": 3, "neither agree or disagree": 3, "neither": 3, "neutral": 3,
    "tend to disagree": 2, "disagree": 2, "strongly disagree": 1,
}
"""Agreement text → 1..5 (5 = strongly agree that the police do a good job)."""

FEEL_SAFE_SCALE: dict[str, int] = {
    "very safe": 5, "fairly safe": 4, "safe": 4, "quite safe": 4,
    "neither safe nor unsafe": 3, "neither safe or unsafe": 3, "neither": 3, "neutral": 3,
    "fairly unsafe": 2, "a bit unsafe": 2, "quite unsafe": 2, "unsafe": 2,
    "very unsafe": 1,
}
"""Feeling-safe text → 1..5 (5 = very safe)."""

_NO_ANSWER = {"don t know", "dont know", "do not know", "not sure", "prefer not to say",
              "n a", "na", "no answer", "not answered"}


def import_surveys(store, paths: Sequence[str | Path], *, crs: int | None = None,
                   encoding: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import survey responses (CSV) into ``surveys`` and ``survey_priorities``.

    Parameters
    ----------
    store, paths, encoding, progress
        As every importer (:mod:`spatial_core.io.imports`).
    crs : int, optional
        EPSG code of optional ``latitude``/``longitude`` columns when they are not WGS84.

    Returns
    -------
    ImportReport
        Responses are located by coordinates, else UPRN, else postcode, else the stored point
        of the member who answered; responses with no location are skipped and listed.
    """
    def read(path: Path, report: ImportReport):
        frame, priorities = _read_surveys(path, crs=crs, encoding=encoding, report=report)
        return frame, {"survey_priorities": priorities}

    def place(conn, frame: pd.DataFrame, report: ImportReport):
        member = frame["member_id"].where(frame["member_id"] != "", None).to_numpy(dtype=object)
        loc = locate(store, conn, uprn=frame["uprn"], postcode=frame["postcode"],
                     lat=frame["lat"], lng=frame["lng"], member_id=member)
        keep = note_locations(report, frame, loc)
        known_member = stored_keys(store, conn, "members", "member_id", member)
        note_rows(report, "member id not in the store (response kept)", frame,
                  keep & pd.notna(member) & ~known_member)
        note_rows(report, "located at the member's stored point", frame,
                  (loc["location_source"] == "member").to_numpy())
        return loc, keep

    return import_records(store, paths, kind="surveys", table="surveys", key="response_id",
                          what="response id", read=read, place=place, rows=_survey_rows,
                          progress=progress)


def _read_surveys(path: Path, *, crs: int | None, encoding: str | None,
                  report: ImportReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = read_csv_table(path, encoding=encoding)
    t.require({k: SURVEY_COLUMNS[k] for k in _REQUIRED},
              {k: v for k, v in SURVEY_COLUMNS.items() if k not in _REQUIRED})
    out = pd.DataFrame({"_file": t.file, "_line": t.lines})
    c = schema.surveys.c
    out["response_id"] = required_ids(t, "response_id", column_width(c.response_id),
                                      "a response id")
    out["responded"] = parse_date(t, "date")
    out["channel"] = parse_choice(t, "channel", _CHANNEL_ALIASES,
                                  what=f"a channel: one of {', '.join(CHANNELS)}")
    member = text_column(t, "member_id")
    check_length(t, "member_id", member, column_width(c.member_id), "a member id")
    out["member_id"] = member
    out["uprn"] = parse_uprns(t)
    out["postcode"] = text_column(t, "postcode")
    out["lng"], out["lat"], _, _ = parse_points(t, [("longitude", "latitude", WGS84)], crs=crs)
    out["confidence"] = _likert(t, "confidence", CONFIDENCE_SCALE)
    out["feel_safe"] = _likert(t, "feel_safe", FEEL_SAFE_SCALE)
    out["free_text"] = text_column(t, "comments")
    out["gender"] = vocabulary_column(t, "gender", normalise_genders, report)
    out["age_band"] = vocabulary_column(t, "age_band", normalise_age_bands, report)
    out["ethnicity"] = vocabulary_column(t, "ethnicity", normalise_ethnicities, report)
    return out, _priorities(t, out["response_id"].to_numpy(), report)


def _survey_rows(frame: pd.DataFrame, loc: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    f = frame.loc[mask]
    g = loc.loc[mask]
    return pd.DataFrame({
        "response_id": f["response_id"].to_numpy(),
        "responded": f["responded"].to_numpy(),
        "channel": f["channel"].to_numpy(),
        "member_id": f["member_id"].to_numpy(),
        "postcode": g["postcode"].to_numpy(),
        **located_columns(g),
        "confidence": _ints(f["confidence"]), "feel_safe": _ints(f["feel_safe"]),
        "free_text": f["free_text"].to_numpy(),
        "gender": f["gender"].to_numpy(), "age_band": f["age_band"].to_numpy(),
        "ethnicity": f["ethnicity"].to_numpy(),
    })


def _ints(s: pd.Series) -> np.ndarray:
    """Python ints and None, which both back ends store as INTEGER and NULL."""
    return s.astype(object).where(s.notna(), None).to_numpy(dtype=object)


def likert_to_scores(values, scale: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Likert answers (1..5, ``4 - Agree`` or text in ``scale``) as float scores.

    Returns ``(scores, bad)``: NaN for empty or "don't know" answers; ``bad`` marks values that
    are neither.

    Examples
    --------
    >>> s, bad = likert_to_scores(['5', 'Agree', "Don't know", '', '7', '2 - Disagree'],
    ...                           CONFIDENCE_SCALE)
    >>> s.tolist()[:4], bad.tolist()
    ([5.0, 4.0, nan, nan], [False, False, False, False, True, False])
    """
    raw = pd.Series(values, dtype=object).fillna("").astype(str).str.strip()
    out = np.full(len(raw), np.nan)
    bad = np.zeros(len(raw), dtype=bool)
    for text in pd.unique(raw):
        m = (raw == text).to_numpy()
        k = vocabulary_keys([text]).iloc[0]
        num = re.fullmatch(r"([1-5])(?:\.0+)?(?: .*)?", k)
        if text == "" or k in _NO_ANSWER:
            continue
        if num:
            out[m] = int(num[1])
        elif k in scale:
            out[m] = scale[k]
        else:
            bad |= m
    return out, bad


def _likert(t: CsvTable, column: str, scale: dict[str, int]) -> pd.Series:
    if not t.has(column):
        return pd.Series(pd.NA, index=range(len(t)), dtype="Int64")
    raw = t.column(column).to_numpy(dtype=object)
    scores, bad = likert_to_scores(raw, scale)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        more = int(bad.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        words = sorted(scale, key=lambda w: -scale[w])
        raise t.error(f"expected a score from 1 to 5 or one of: {', '.join(words)}{extra}",
                      position=pos, column=column, value=raw[pos])
    return pd.Series(scores).astype("Int64")


def priorities_to_slugs(values) -> tuple[np.ndarray, np.ndarray]:
    """Priority answers as :data:`PRIORITIES` slugs; unknown text becomes its own slug.

    Returns ``(slugs, known)``.

    Examples
    --------
    >>> s, known = priorities_to_slugs(['Anti-social behaviour', 'Speeding', 'Fly-tipping',
    ...                                 'Noisy neighbours'])
    >>> s.tolist(), known.tolist()
    (['asb', 'road_safety', 'environmental', 'noisy_neighbours'], [True, True, True, False])
    """
    keys = vocabulary_keys(values)
    known = keys.map(_PRIORITY_ALIASES)
    limit = column_width(schema.survey_priorities.c.priority)
    slug = pd.Series(slugs(values)).str.slice(0, limit)
    return known.fillna(slug).to_numpy(dtype=object), known.notna().to_numpy()


def _priorities(t: CsvTable, ids: np.ndarray, report: ImportReport) -> pd.DataFrame:
    """The ';'-separated priorities column exploded into (response_id, priority) rows."""
    if not t.has("priorities"):
        return pd.DataFrame({"response_id": pd.Series([], dtype=object),
                             "priority": pd.Series([], dtype=object)})
    rows, which, items = split_lists(t.column("priorities").to_numpy(dtype=object), r"\s*[;|]\s*")
    value, known = priorities_to_slugs(items)
    keep = value != ""
    for j in np.flatnonzero(keep & ~known)[:10]:
        report.note(f"priority {items[j]!r} is not in the vocabulary; stored as {value[j]!r}",
                    t.lines[rows[which == j]], t.file)
    k = keep[which]
    out = pd.DataFrame({"response_id": ids[rows[k]], "priority": value[which[k]]})
    return out.drop_duplicates(ignore_index=True)
