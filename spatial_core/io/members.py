# SPDX-License-Identifier: GPL-3.0-or-later
"""Importing community members (Neighbourhood Alert style exports) into ``members``.

A member export has one row per person: an id, a name, contact details, where they live
(UPRN, postcode or coordinates), self-declared demographics, the groups they belong to (Key
Individual Network, Independent Advisory Group, Neighbourhood Watch …), the organisations
they consent to hear from, and when they joined and left. ``docs/formats/members.md`` lists
the canonical columns and the aliases accepted from real exports.

Data minimisation: ``email`` and ``phone`` are recognised (so a real export loads without
editing) but targeting does not need them: they are kept only where messaging is switched on
(a contacts key is configured), encrypted, by :mod:`spatial_core.store.contacts`, and never
appear in the import report. An ``opt_out`` column records opt-outs.

The name is kept because officers need to know whom to contact through their own
system; nothing else identifies a person.

Members are located with :func:`spatial_core.io.locations.locate`; a member with no usable
location is skipped and reported. Groups and consents go to ``member_groups`` and
``member_consents`` as normalised slugs, one row per (member, value).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.errors import InputError
from spatial_core.geo.crs import WGS84
from spatial_core.io.imports import (
    ALREADY,
    ImportReport,
    Progress,
    import_records,
    insert_new_records,
    located_columns,
    note_rows,
    read_by_keys,
    skip_rows,
    stored_keys,
)
from spatial_core.io.locations import locate, parse_points, parse_uprns
from spatial_core.io.sources import CsvTable, parse_date, read_csv_table
from spatial_core.store import schema
from spatial_core.store.contacts import import_contacts
from spatial_core.store.data_version import bump_data_version

__all__ = [
    "import_members",
    "MEMBER_COLUMNS",
    "GROUPS",
    "ORGANISATIONS",
    "GENDERS",
    "ETHNICITIES",
    "AGE_BANDS",
    "normalise_genders",
    "normalise_age_bands",
    "normalise_ethnicities",
    "RELIGIONS",
    "normalise_languages",
    "normalise_religions",
    "normalise_origins",
    "vocabulary_keys",
    "vocabulary_column",
]

log = logging.getLogger(__name__)

MEMBER_COLUMNS: dict[str, Sequence[str]] = {
    "member_id": ("Member ID", "MemberID", "Member Number", "Member Ref", "User ID", "Contact ID",
                  "ID"),
    "name": ("Full Name", "Member Name", "Contact Name"),
    "first_name": ("First Name", "Forename", "Forenames", "Given Name"),
    "last_name": ("Last Name", "Surname", "Family Name"),
    "email": ("Email Address", "E-mail", "E-mail Address", "Email 1"),
    "phone": ("Telephone", "Phone Number", "Tel", "Mobile", "Mobile Number", "Telephone Number"),
    "uprn": ("Property Reference", "Property UPRN"),
    "postcode": ("Post Code", "Postal Code", "Home Postcode", "Address Postcode"),
    "latitude": ("Lat", "Address Latitude"),
    "longitude": ("Lng", "Long", "Lon", "Address Longitude"),
    "gender": ("Sex", "Gender Identity"),
    "age_band": ("Age Band", "Age Group", "Age Range", "Age"),
    "ethnicity": ("Ethnic Group", "Ethnic Origin", "Ethnic Background", "Ethnicity Group"),
    "language": ("Main Language", "First Language", "Preferred Language", "Language Spoken"),
    "religion": ("Religion or Belief", "Faith", "Religious Belief"),
    "origins": ("Origins Group", "Origins Code", "Cultural Origin", "Origin"),
    "groups": ("Group", "Group Memberships", "Memberships", "Schemes", "Watch Schemes"),
    "consents": ("Consent", "Consents Given", "Data Sharing", "Share With", "Organisations"),
    "joined": ("Date Joined", "Joined On", "Join Date", "Registration Date", "Registered",
               "Date Registered", "Created"),
    "left": ("Date Left", "Left On", "Leave Date", "Unsubscribed", "Date Unsubscribed",
             "Deleted Date"),
    "opt_out": ("Opted Out", "Opt Out", "Do Not Contact", "Messaging Opt Out", "No Messages"),
}
"""Canonical member columns and the other names they go by in real exports. Names match
ignoring case, spaces and punctuation. Only ``member_id`` and one location column are required."""

GROUPS: dict[str, str] = {
    "key_individual": "Key Individual Network",
    "iag": "Independent Advisory Group",
    "neighbourhood_watch": "Neighbourhood Watch",
}
"""Community groups with a fixed slug; any other group is stored as a slug of its name."""

_GROUP_ALIASES = {
    "key individual network": "key_individual", "key individuals network": "key_individual",
    "key individual": "key_individual", "key individuals": "key_individual",
    "kin": "key_individual", "ki": "key_individual",
    "independent advisory group": "iag", "iag": "iag", "independent advisory groups": "iag",
    "neighbourhood watch": "neighbourhood_watch", "neighborhood watch": "neighbourhood_watch",
    "nhw": "neighbourhood_watch", "nw": "neighbourhood_watch",
    "neighbourhood watch coordinator": "neighbourhood_watch",
    "neighbourhood watch member": "neighbourhood_watch",
}

ORGANISATIONS: dict[str, str] = {
    "police": "Police",
    "fire": "Fire and rescue service",
    "council": "Local council",
}
"""Organisations a member may consent to hear from; others are stored as a slug of the name."""

_ORG_ALIASES = {
    "police": "police", "the police": "police", "police force": "police",
    "police service": "police",
    "fire": "fire", "fire service": "fire", "fire and rescue": "fire", "fire rescue": "fire",
    "fire and rescue service": "fire", "fire brigade": "fire",
    "council": "council", "local council": "council", "local authority": "council",
    "city council": "council", "county council": "council", "borough council": "council",
    "district council": "council",
}
_NO_VALUE = {"none", "no", "n a", "na", "nil", "0", "false"}

GENDERS = ("male", "female", "non_binary", "other", "not_stated")
_GENDER_ALIASES = {
    "m": "male", "male": "male", "man": "male",
    "f": "female", "female": "female", "woman": "female",
    "non binary": "non_binary", "nonbinary": "non_binary", "non_binary": "non_binary",
    "other": "other", "prefer to self describe": "other", "self describe": "other",
    "in another way": "other", "another way": "other",
}

AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
"""The bands an exact age is put in. Banded text is kept in its own bands (``18 to 24`` →
``18-24``, ``65 and over`` → ``65+``, ``Under 18`` → ``0-17``)."""
_AGE_EDGES = [0, 18, 25, 35, 45, 55, 65, 75, 200]

ETHNICITIES: dict[str, str] = {
    "white": "white", "white_british": "white", "white_irish": "white",
    "white_gypsy_traveller": "white", "white_roma": "white", "white_other": "white",
    "mixed": "mixed", "mixed_white_black_caribbean": "mixed", "mixed_white_black_african": "mixed",
    "mixed_white_asian": "mixed", "mixed_other": "mixed",
    "asian": "asian", "asian_indian": "asian", "asian_pakistani": "asian",
    "asian_bangladeshi": "asian", "asian_chinese": "asian", "asian_other": "asian",
    "black": "black", "black_african": "black", "black_caribbean": "black", "black_other": "black",
    "other": "other", "other_arab": "other", "other_any": "other",
    "not_stated": "not_stated",
}
"""Ethnic group slugs (Census 2021, England and Wales) and the broad group of each. Broad-only
answers (``White``) keep the broad slug. Police 16+1 codes (``W1``, ``A2`` …) are read too."""

_POLICE_ETHNIC_CODES = {
    "w1": "white_british", "w2": "white_irish", "w3": "white_gypsy_traveller", "w4": "white_roma",
    "w9": "white_other", "m1": "mixed_white_black_caribbean", "m2": "mixed_white_black_african",
    "m3": "mixed_white_asian", "m9": "mixed_other", "a1": "asian_indian", "a2": "asian_pakistani",
    "a3": "asian_bangladeshi", "a4": "asian_chinese", "a9": "asian_other", "b1": "black_caribbean",
    "b2": "black_african", "b9": "black_other", "o1": "asian_chinese", "o2": "other_arab",
    "o9": "other_any", "ns": "not_stated",
}
_NOT_STATED = {"prefer not to say", "not stated", "not known", "unknown", "n a", "na", "ns",
               "declined", "not given", "rather not say", "not_stated", "not disclosed"}

_LIST_SPLIT = r"\s*[;|,]\s*"
_LOCATION_COLUMNS = ("uprn", "postcode", "latitude", "longitude")
NO_LOCATION = "no location (UPRN, postcode or coordinates)"
NOT_FOUND = ("location not found: UPRN and postcode not in the store "
             "(import addresses or postcodes first)")


_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "first_name", "last_name"),
    "gender": ("gender",), "age_band": ("age_band",), "ethnicity": ("ethnicity",),
    "language": ("language",), "religion": ("religion",), "origins": ("origins",),
    "joined": ("joined",), "left_on": ("left",),
}
"""Stored member fields a file may lack, and the file columns that give each. A re-import
updates a field only when the member's file has one of its columns."""
_LISTS = {"member_groups": "groups", "member_consents": "consents"}
_TEXT_FIELDS = ("name", "uprn", "postcode", "location_source", "gender", "age_band",
                "ethnicity", "language", "religion", "origins", "joined", "left_on")
_FLOAT_FIELDS = {"lat": 1e-9, "lng": 1e-9, "x": 1e-6, "y": 1e-6}  # tolerance: far below 1 mm
LEFT_SNAPSHOT = "not in the full snapshot: marked as left on {date}"


def import_members(store, paths: Sequence[str | Path], *, crs: int | None = None,
                   encoding: str | None = None, progress: Progress | None = None,
                   full_snapshot: bool = False) -> ImportReport:
    """Import member exports (CSV) into ``members``, ``member_groups`` and ``member_consents``.

    Parameters
    ----------
    store : Store
    paths : list of files or folders of ``*.csv`` / ``*.csv.gz``
    crs : int, optional
        EPSG code of the ``latitude``/``longitude`` columns when they are not WGS84 (pass
        27700 for eastings/northings). Without it, coordinates in metres are an error.
    encoding : str, optional
        Text encoding (default UTF-8; spreadsheet exports are often ``cp1252``).
    progress : callable, optional
        ``progress(fraction_done, message)``.
    full_snapshot : bool
        The files are the whole current export: stored members missing from them, and not
        marked as left yet, get ``left_on`` = today (UTC). Without it they are left alone.

    Returns
    -------
    ImportReport
        ``imported`` counts new members; ``updated`` stored members whose location, status,
        consents, groups, demographics or name changed (members no longer in a full
        snapshot included); ``unchanged`` stored members found identical, also skipped as
        "already in the store". Members without a usable location are skipped and listed
        (a stored one keeps what it had).

    Notes
    -----
    A re-import updates only the fields the file has a column for: an export without an
    ``ethnicity`` column leaves stored ethnicities as they are, while an empty cell in a
    column that is there clears the value. Contacts and opt-outs go through
    :func:`spatial_core.store.contacts.import_contacts` in the same transaction (contacts only
    with a contacts key).
    Anything new or updated gives the store a new data version
    (:func:`~spatial_core.store.data_version.bump_data_version`) in the same transaction.
    """
    def read(path: Path, report: ImportReport):
        return _read_members(path, crs=crs, encoding=encoding, report=report)

    def place(conn, frame: pd.DataFrame, report: ImportReport):
        loc = locate(store, conn, uprn=frame["uprn"], postcode=frame["postcode"],
                     lat=frame["lat"], lng=frame["lng"])
        return loc, note_locations(report, frame, loc)

    def write(conn, frame, loc, keep, children, report) -> None:
        stored = stored_keys(store, conn, "members", "member_id", frame["member_id"].to_numpy())
        insert_new_records(store, conn, frame, loc, keep, children, report, table="members",
                           key="member_id", rows=_member_rows, stored=stored)
        report.updated = _update_members(store, conn, frame, loc, keep & stored, children,
                                         report)
        if full_snapshot:
            report.updated += _mark_left(store, conn, frame, report)
        contacts = import_contacts(store, conn, frame[["member_id", "_email", "_mobile",
                                                       "_opt_out"]].set_axis(
            ["member_id", "email", "mobile", "opt_out"], axis=1))
        if contacts:
            report.notes[contacts] = {"count": 0, "rows": []}
        if report.imported or report.updated:
            bump_data_version(store, conn)

    return import_records(store, paths, kind="members", table="members", key="member_id",
                          what="member id", read=read, place=place, rows=_member_rows,
                          write=write, progress=progress)


def _update_members(store, conn, frame: pd.DataFrame, loc: pd.DataFrame, mask: np.ndarray,
                    children: Mapping[str, pd.DataFrame], report: ImportReport) -> int:
    """Update the stored members under ``mask`` whose fields or lists changed; returns how
    many. The others are skipped as "already in the store" and counted as unchanged."""
    positions = np.flatnonzero(mask)
    report.unchanged = 0
    if not len(positions):
        return 0
    f = frame.iloc[positions].reset_index(drop=True)
    incoming = _member_rows(frame, loc, mask).reset_index(drop=True)
    ids = incoming["member_id"]
    old = read_by_keys(store, conn, "members", "member_id", ids,
                       ["member_id", "cell", *_TEXT_FIELDS, *_FLOAT_FIELDS])
    old = old.set_index("member_id").reindex(ids).reset_index(drop=True)
    for field in _OPTIONAL_FIELDS:  # a column the file lacks keeps what is stored
        absent = ~f[f"_has_{field}"].to_numpy(dtype=bool)
        incoming.loc[absent, field] = old.loc[absent, field].to_numpy()
    changed = incoming["cell"].to_numpy("int64") != old["cell"].to_numpy("int64")
    for field in _TEXT_FIELDS:
        changed |= _texts(incoming[field]) != _texts(old[field])
    for field, tolerance in _FLOAT_FIELDS.items():
        changed |= ~np.isclose(incoming[field].to_numpy(float), old[field].to_numpy(float),
                               rtol=0, atol=tolerance, equal_nan=True)
    relisted = {}
    for table, _column in _LISTS.items():
        given = ids[f[f"_has_{table}"].to_numpy(dtype=bool)]
        relisted[table] = _changed_lists(store, conn, table, given, children[table])
        changed |= ids.isin(relisted[table]).to_numpy()
    rows = incoming[changed]
    store.update_by_key(conn, "members", "member_id", rows)
    for table, which in relisted.items():
        for i in range(0, len(which), 5000):
            chunk = list(which[i:i + 5000])
            store.delete_where(conn, table, schema.table(table).c.member_id.in_(chunk))
        child = children[table]
        store.insert_new(conn, table, child[child["member_id"].isin(which)])
    at = np.zeros(len(frame), dtype=bool)
    at[positions[changed]] = True
    note_rows(report, "updated: changed since the stored export", frame, at)
    at[:] = False
    at[positions[~changed]] = True
    skip_rows(report, ALREADY, frame, at)
    report.unchanged = int((~changed).sum())
    return int(changed.sum())


def _texts(values: pd.Series) -> np.ndarray:
    """Text as the store keeps it: empty and missing are both None."""
    out = values.astype(object).to_numpy(dtype=object).copy()
    missing = pd.isna(out)
    out[~missing] = [str(v) for v in out[~missing]]
    out[missing | (out == "")] = None
    return out


def _changed_lists(store, conn, table: str, ids: pd.Series, given: pd.DataFrame) -> np.ndarray:
    """The members of ``ids`` whose stored list (groups, consents) differs from ``given``."""
    if not len(ids):
        return np.array([], dtype=object)
    value = schema.table(table).c.keys()[1]
    old = read_by_keys(store, conn, table, "member_id", ids, ["member_id", value])
    new = given.loc[given["member_id"].isin(ids), ["member_id", value]]
    both = pd.concat([old.assign(_side=0), new.assign(_side=1)], ignore_index=True)
    differ = both.drop_duplicates(["member_id", value], keep=False)
    return pd.unique(differ["member_id"].to_numpy(dtype=object))


def _mark_left(store, conn, frame: pd.DataFrame, report: ImportReport) -> int:
    """Members stored as current but missing from a full snapshot leave today."""
    m = schema.members.c
    current = store.read("members", ["member_id"], where=m.left_on.is_(None), conn=conn)
    gone = current.loc[~current["member_id"].isin(frame["member_id"]), "member_id"]
    if not len(gone):
        return 0
    today = datetime.now(UTC).date().isoformat()
    store.update_by_key(conn, "members", "member_id",
                        pd.DataFrame({"member_id": gone.to_numpy(), "left_on": today}))
    report.notes[LEFT_SNAPSHOT.format(date=today)] = {"count": len(gone), "rows": []}
    return len(gone)


def _read_members(path: Path, *, crs: int | None, encoding: str | None,
                  report: ImportReport) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    t = read_csv_table(path, encoding=encoding)
    optional = {k: v for k, v in MEMBER_COLUMNS.items() if k != "member_id"}
    t.require({"member_id": MEMBER_COLUMNS["member_id"]}, optional)
    if not any(t.has(c) for c in _LOCATION_COLUMNS):
        wanted = ", ".join(repr(c) for c in ("uprn", "postcode", "latitude and longitude"))
        found = ", ".join(repr(c) for c in t.columns)
        raise InputError(f"no location column: expected {wanted}; the header has {found}",
                         file=t.file, row=1)
    out = pd.DataFrame({"_file": t.file, "_line": t.lines})
    # Messaging (spatial_core.store.contacts): contacts are kept, encrypted, only with a key.
    out["_email"] = t.column("email").to_numpy(dtype=object) if t.has("email") else None
    out["_mobile"] = t.column("phone").to_numpy(dtype=object) if t.has("phone") else None
    out["_opt_out"] = text_column(t, "opt_out")
    for field, columns in _OPTIONAL_FIELDS.items():
        out[f"_has_{field}"] = any(t.has(c) for c in columns)
    for table, column in _LISTS.items():
        out[f"_has_{table}"] = t.has(column)
    out["member_id"] = required_ids(t, "member_id", column_width(schema.members.c.member_id),
                                    "a member id")
    out["name"] = _names(t)
    out["uprn"] = parse_uprns(t)
    out["postcode"] = text_column(t, "postcode")
    out["lng"], out["lat"], _, _ = parse_points(t, [("longitude", "latitude", WGS84)], crs=crs)
    out["gender"] = vocabulary_column(t, "gender", normalise_genders, report)
    out["age_band"] = vocabulary_column(t, "age_band", normalise_age_bands, report)
    out["ethnicity"] = vocabulary_column(t, "ethnicity", normalise_ethnicities, report)
    out["language"] = vocabulary_column(t, "language", normalise_languages, report)
    out["religion"] = vocabulary_column(t, "religion", normalise_religions, report)
    out["origins"] = vocabulary_column(t, "origins", normalise_origins, report)
    lists = {
        "member_groups": _list_column(t, "groups", out["member_id"].to_numpy(), _GROUP_ALIASES,
                                      64, "grp", report),
        "member_consents": _list_column(t, "consents", out["member_id"].to_numpy(), _ORG_ALIASES,
                                        64, "organisation", report),
    }
    out["joined"] = parse_date(t, "joined", required=False) if t.has("joined") else None
    out["left_on"] = parse_date(t, "left", required=False) if t.has("left") else None
    if t.has("joined") and t.has("left"):
        j = out["joined"].fillna("")
        lft = out["left_on"].fillna("")
        odd = ((j != "") & (lft != "") & (lft < j)).to_numpy()
        report.note("left before joined (dates kept as given)", t.lines[odd], t.file)
    return out, lists


def _names(t: CsvTable) -> np.ndarray:
    if t.has("name"):
        return t.column("name").to_numpy(dtype=object)
    parts = [t.column(c) for c in ("first_name", "last_name") if t.has(c)]
    if not parts:
        return np.full(len(t), None, dtype=object)
    joined = parts[0] if len(parts) == 1 else (parts[0] + " " + parts[1])
    return joined.str.strip().to_numpy(dtype=object)


def _member_rows(frame: pd.DataFrame, loc: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    f = frame.loc[mask]
    g = loc.loc[mask]
    return pd.DataFrame({
        "member_id": f["member_id"].to_numpy(),
        "name": f["name"].to_numpy(),
        "uprn": g["uprn"].to_numpy(),
        "postcode": g["postcode"].to_numpy(),
        **located_columns(g),
        "location_source": g["location_source"].to_numpy(),
        "gender": f["gender"].to_numpy(), "age_band": f["age_band"].to_numpy(),
        "ethnicity": f["ethnicity"].to_numpy(),
        "language": f["language"].to_numpy(), "religion": f["religion"].to_numpy(),
        "origins": f["origins"].to_numpy(),
        "joined": f["joined"].to_numpy(), "left_on": f["left_on"].to_numpy(),
    })


# -- shared by the member, survey and visit importers -------------------------------------

def slugs(values) -> np.ndarray:
    """Lower-case slugs: runs of anything but letters and digits become one ``_``.

    Examples
    --------
    >>> slugs(['Anti-social behaviour', ' Farm Watch ', '']).tolist()
    ['anti_social_behaviour', 'farm_watch', '']
    """
    s = pd.Series(values, dtype=object).fillna("").astype(str).str.lower()
    return s.str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_").to_numpy(dtype=object)


def vocabulary_keys(values) -> pd.Series:
    """Text for matching vocabularies: lower case, words separated by one space."""
    s = pd.Series(values, dtype=object).fillna("").astype(str).str.lower()
    s = s.str.replace("&", " and ", regex=False)
    return s.str.replace(r"[^a-z0-9+]+", " ", regex=True).str.strip()


def column_width(column) -> int:
    """The width of a text column of the schema (its VARCHAR length on PostGIS)."""
    return int(getattr(column.type, "length", None) or 1 << 30)


def text_column(t: CsvTable, column: str) -> np.ndarray:
    """A column's text, or all '' when the file does not have it."""
    if not t.has(column):
        return np.full(len(t), "", dtype=object)
    return t.column(column).to_numpy(dtype=object)


def check_length(t: CsvTable, column: str, values: np.ndarray, limit: int, what: str) -> None:
    """An error on the first value longer than the store's column allows."""
    lengths = np.fromiter((len(v) if isinstance(v, str) else 0 for v in values), dtype="int64",
                          count=len(values))
    long = lengths > limit
    if long.any():
        pos = int(np.flatnonzero(long)[0])
        raise t.error(f"expected {what} of at most {limit} characters", position=pos,
                      column=column, value=values[pos])


def required_ids(t: CsvTable, column: str, limit: int, what: str) -> np.ndarray:
    """A required identifier column: no empty value, none longer than ``limit``."""
    values = t.column(column).to_numpy(dtype=object)
    empty = values == ""
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        more = int(empty.sum()) - 1
        extra = f" ({more} more row(s) like this)" if more else ""
        raise t.error(f"expected {what}; it is empty{extra}", position=pos, column=column,
                      value="")
    check_length(t, column, values, limit, what)
    return values


def note_locations(report: ImportReport, frame: pd.DataFrame, loc: pd.DataFrame) -> np.ndarray:
    """Report how rows were located; returns the mask of rows with a location."""
    located = loc["location_source"].notna().to_numpy()
    given = (loc["uprn"].notna() | loc["postcode"].notna()).to_numpy() | np.isfinite(
        frame["lat"].to_numpy(float))
    skip_rows(report, NO_LOCATION, frame, ~located & ~given)
    skip_rows(report, NOT_FOUND, frame, ~located & given)
    note_rows(report, "postcode is not a valid UK postcode (not stored)", frame,
              ~loc["postcode_valid"].to_numpy())
    by_pc = (loc["location_source"] == "postcode").to_numpy()
    note_rows(report, "located at a terminated postcode's last centroid", frame,
              by_pc & loc["postcode_terminated"].to_numpy())
    note_rows(report, "UPRN not in the store; located by postcode", frame,
              by_pc & loc["uprn"].notna().to_numpy() & ~loc["uprn_found"].to_numpy())
    return located


def vocabulary_column(t: CsvTable, column: str, normalise, report: ImportReport) -> np.ndarray:
    """A demographic column normalised by ``normalise`` and cut to the store's width; values
    outside the vocabulary are kept as slugs and noted in ``report``."""
    if not t.has(column):
        return np.full(len(t), None, dtype=object)
    raw = t.column(column).to_numpy(dtype=object)
    values, unknown = normalise(raw)
    limit = column_width(schema.members.c[column])
    values = np.array([v[:limit] if isinstance(v, str) else v for v in values], dtype=object)
    for text in pd.unique(raw[unknown])[:10]:
        rows = t.lines[unknown & (raw == text)]
        slug = values[np.flatnonzero(unknown & (raw == text))[0]]
        report.note(f"{column} {text!r} is not in the vocabulary; stored as {slug!r}", rows, t.file)
    return values


def _list_column(t: CsvTable, column: str, ids: np.ndarray, aliases: dict[str, str], limit: int,
                 value_name: str, report: ImportReport) -> pd.DataFrame:
    """A ';'-separated list column exploded into (member_id, slug) rows."""
    if not t.has(column):
        return pd.DataFrame({"member_id": pd.Series([], dtype=object),
                             value_name: pd.Series([], dtype=object)})
    rows, which, items = split_lists(t.column(column).to_numpy(dtype=object), _LIST_SPLIT)
    keys = vocabulary_keys(items).to_numpy(dtype=object)
    known = pd.Series(keys, dtype=object).map(aliases).to_numpy(dtype=object)
    is_known = pd.notna(known)
    slug = pd.Series(slugs(items), dtype=object).str.slice(0, limit).to_numpy(dtype=object)
    value = np.where(is_known, known, slug)
    keep = (value != "") & ~(pd.Series(keys, dtype=object).isin(_NO_VALUE).to_numpy() & ~is_known)
    for j in np.flatnonzero(keep & ~is_known)[:10]:
        report.note(f"{column} {items[j]!r} is not in the vocabulary; stored as {value[j]!r}",
                    t.lines[rows[which == j]], t.file)
    k = keep[which]
    out = pd.DataFrame({"member_id": ids[rows[k]], value_name: value[which[k]]})
    return out.drop_duplicates(ignore_index=True)


def split_lists(raw, sep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Split a column of lists once per distinct value.

    Returns ``(rows, which, items)``: ``items`` holds the distinct non-empty entries
    (stripped) and row ``rows[k]`` holds ``items[which[k]]``.

    Examples
    --------
    >>> rows, which, items = split_lists(['a;b', '', 'b', 'a;b'], r'\s*;\s*')
    >>> sorted(zip(rows.tolist(), items[which].tolist()))
    [(0, 'a'), (0, 'b'), (2, 'b'), (3, 'a'), (3, 'b')]
    """
    codes, uniq = pd.factorize(pd.Series(raw, dtype=object).fillna(""))
    e = pd.Series(np.asarray(uniq, dtype=object), dtype=object).str.split(sep, regex=True)
    e = e.explode().fillna("").str.strip()
    e = e[e != ""]
    item_codes, items = pd.factorize(e)
    link = pd.DataFrame({"u": e.index.to_numpy(), "which": item_codes})
    pairs = pd.DataFrame({"u": codes, "row": np.arange(len(codes))}).merge(link, on="u")
    return (pairs["row"].to_numpy(), pairs["which"].to_numpy(),
            np.asarray(items, dtype=object))


def _by_unique(raw, fn) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fn(text) -> (value, known)`` once per distinct value."""
    codes, uniq = pd.factorize(pd.Series(raw, dtype=object).fillna(""))
    mapped = [fn(u.strip()) if u.strip() else (None, True) for u in uniq]
    values = np.array([v for v, _ in mapped] + [None], dtype=object)[codes]
    known = np.array([k for _, k in mapped] + [True], dtype=bool)[codes]
    return values, ~known


def normalise_genders(raw) -> tuple[np.ndarray, np.ndarray]:
    """Gender answers as :data:`GENDERS` slugs; returns ``(values, unknown)``.

    Examples
    --------
    >>> normalise_genders(['Male', 'F', 'Prefer not to say', 'Agender'])[0].tolist()
    ['male', 'female', 'not_stated', 'agender']
    """
    def one(text: str):
        k = vocabulary_keys([text]).iloc[0]
        if k in _NOT_STATED:
            return "not_stated", True
        if k in _GENDER_ALIASES:
            return _GENDER_ALIASES[k], True
        return slugs([text])[0], False
    return _by_unique(raw, one)


def normalise_age_bands(raw) -> tuple[np.ndarray, np.ndarray]:
    """Age bands as ``a-b`` or ``a+`` text (exact ages go into :data:`AGE_BANDS`).

    Examples
    --------
    >>> bands, unknown = normalise_age_bands(['18 to 24', '65 and over', 'Under 18', '37',
    ...                                       '25–34 years'])
    >>> bands.tolist()
    ['18-24', '65+', '0-17', '35-44', '25-34']
    """
    def one(text: str):
        k = vocabulary_keys([text.replace("\u2013", "-").replace("-", " to ")]).iloc[0]
        k = re.sub(r"\b(years?|yrs|year olds?|aged|age)\b", " ", k)
        k = re.sub(r"\s+", " ", k).strip()
        if k in _NOT_STATED:
            return "not_stated", True
        if re.fullmatch(r"\d{1,3}", k):
            i = int(np.searchsorted(_AGE_EDGES, int(k), side="right")) - 1
            return AGE_BANDS[min(max(i, 0), len(AGE_BANDS) - 1)], True
        m = re.fullmatch(r"(\d{1,3}) to (\d{1,3})", k)
        if m:
            return f"{int(m[1])}-{int(m[2])}", True
        m = re.fullmatch(r"(?:over )?(\d{1,3}) ?(?:\+|plus|and over|or over|and older|or older)?",
                         k)
        if m and (k.startswith("over") or k != m[1]):
            return f"{int(m[1])}+", True
        m = re.fullmatch(r"(?:under|below|less than) (\d{1,3})", k)
        if m:
            return f"0-{int(m[1]) - 1}", True
        return slugs([text])[0], False
    return _by_unique(raw, one)


def normalise_ethnicities(raw) -> tuple[np.ndarray, np.ndarray]:
    """Ethnic group answers as :data:`ETHNICITIES` slugs (census wordings, short forms and
    police 16+1 codes).

    Examples
    --------
    >>> normalise_ethnicities(['White: English, Welsh, Scottish, Northern Irish or British',
    ...     'Asian or Asian British: Pakistani', 'Mixed - White and Black Caribbean',
    ...     'Black, Black British, Caribbean or African: Any other Black background',
    ...     'W9', 'White', 'Prefer not to say'])[0].tolist()
    ['white_british', 'asian_pakistani', 'mixed_white_black_caribbean', 'black_other', \
'white_other', 'white', 'not_stated']
    """
    def one(text: str):
        k = vocabulary_keys([text]).iloc[0]
        if k in _NOT_STATED:
            return "not_stated", True
        if k in _POLICE_ETHNIC_CODES:
            return _POLICE_ETHNIC_CODES[k], True
        if k in ETHNICITIES:
            return k, True
        slug = _ethnicity(text)
        return (slug, True) if slug else (slugs([text])[0], False)
    return _by_unique(raw, one)


def _ethnicity(text: str) -> str | None:
    words = set(vocabulary_keys([text]).iloc[0].split())
    parts = re.split(r":| - | – |/", text)
    detail = set(vocabulary_keys([parts[-1]]).iloc[0].split()) if len(parts) > 1 else words
    if {"mixed", "multiple"} & words or ("white" in words and {"black", "asian"} & words):
        group = "mixed"
    elif {"asian", "indian", "pakistani", "bangladeshi", "chinese"} & words:
        group = "asian"
    elif {"black", "african", "caribbean"} & words:
        group = "black"
    elif {"white", "english", "welsh", "scottish", "irish", "gypsy", "traveller", "roma"} & words:
        group = "white"
    elif {"arab", "other"} & words:
        group = "other"
    else:
        return None
    other = {"other", "any"} & detail
    if group == "mixed":
        if other:
            return "mixed_other"
        for word, slug in (("caribbean", "mixed_white_black_caribbean"),
                           ("african", "mixed_white_black_african"),
                           ("asian", "mixed_white_asian")):
            if word in detail:
                return slug
        return "mixed"
    if group == "asian":
        for word in ("indian", "pakistani", "bangladeshi", "chinese"):
            if word in detail:
                return f"asian_{word}"
        return "asian_other" if other else "asian"
    if group == "black":
        if other:
            return "black_other"
        for word in ("caribbean", "african"):
            if word in detail:
                return f"black_{word}"
        return "black"
    if group == "white":
        if {"british", "english", "welsh", "scottish"} & detail:
            return "white_british"
        if {"gypsy", "traveller"} & detail:
            return "white_gypsy_traveller"
        if "roma" in detail:
            return "white_roma"
        if other:
            return "white_other"
        if "irish" in detail:
            return "white_irish"
        return "white"
    return "other_arab" if "arab" in words else "other_any"


RELIGIONS = ("no_religion", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh",
             "other_religion", "not_stated")
"""Religion slugs: the Census 2021 categories (TS030); any other religion is ``other_religion``."""
_RELIGION_ALIASES = {
    "none": "no_religion", "no religion": "no_religion", "no religion or belief": "no_religion",
    "atheist": "no_religion", "agnostic": "no_religion", "christianity": "christian",
    "christian": "christian", "church of england": "christian", "catholic": "christian",
    "roman catholic": "christian", "buddhism": "buddhist", "buddhist": "buddhist",
    "hinduism": "hindu", "hindu": "hindu", "judaism": "jewish", "jewish": "jewish",
    "islam": "muslim", "muslim": "muslim", "sikhism": "sikh", "sikh": "sikh",
    "other religion": "other_religion", "any other religion": "other_religion",
    "not answered": "not_stated",
}
_LANGUAGE_ALIASES = {"punjabi": "panjabi", "farsi": "persian_farsi", "persian": "persian_farsi",
                     "english or welsh": "english", "cymraeg": "welsh",
                     "welsh or cymraeg": "welsh", "bsl": "british_sign_language"}


def _last_part(text: str) -> str:
    """A census-style category's last part, without a parenthesised note:
    ``Other European language (EU): Polish`` → ``Polish``."""
    text = re.split(r"\s*:\s*", text.strip())[-1]
    return re.sub(r"\s*\([^)]*\)\s*", " ", text).strip()


def normalise_languages(raw) -> tuple[np.ndarray, np.ndarray]:
    """Main-language answers as slugs of the language's name (the name Census 2021 TS024
    gives it), so members' answers and census categories meet. Every language is accepted.

    Examples
    --------
    >>> normalise_languages(['Polish', 'Other European language (EU): Polish',
    ...     'English (English or Welsh if in Wales)', 'Punjabi', 'Prefer not to say'])[0].tolist()
    ['polish', 'polish', 'english', 'panjabi', 'not_stated']
    """
    def one(text: str):
        k = vocabulary_keys([text]).iloc[0]
        if k in _NOT_STATED or k == "not answered":
            return "not_stated", True
        name = vocabulary_keys([_last_part(text)]).iloc[0]
        return _LANGUAGE_ALIASES.get(name, slugs([name])[0] or "not_stated"), True
    return _by_unique(raw, one)


def normalise_religions(raw) -> tuple[np.ndarray, np.ndarray]:
    """Religion answers as :data:`RELIGIONS` slugs; others become ``other_religion`` (noted).

    Examples
    --------
    >>> religions, unknown = normalise_religions(['Christian', 'Islam', 'No religion', 'Pagan',
    ...                                           'Not answered'])
    >>> religions.tolist()
    ['christian', 'muslim', 'no_religion', 'other_religion', 'not_stated']
    """
    def one(text: str):
        k = vocabulary_keys([text]).iloc[0]
        if k in _NOT_STATED or k == "not answered":
            return "not_stated", True
        for key in (k, vocabulary_keys([_last_part(text)]).iloc[0]):
            if key in _RELIGION_ALIASES:
                return _RELIGION_ALIASES[key], True
            if key.replace(" ", "_") in RELIGIONS:
                return key.replace(" ", "_"), True
        return "other_religion", False
    return _by_unique(raw, one)


def normalise_origins(raw) -> tuple[np.ndarray, np.ndarray]:
    """Origins-style codes or group names as slugs (the scheme is the force's own; its
    population base file uses the same codes).

    Examples
    --------
    >>> normalise_origins(['Eastern European', 'SOUTH ASIAN', ''])[0].tolist()
    ['eastern_european', 'south_asian', None]
    """
    def one(text: str):
        k = vocabulary_keys([text]).iloc[0]
        if k in _NOT_STATED:
            return "not_stated", True
        return slugs([text])[0], True
    return _by_unique(raw, one)
