# SPDX-License-Identifier: GPL-3.0-or-later
"""The store's tables, one SQLAlchemy ``MetaData`` for GeoPackage and PostGIS alike.

Conventions, so that every table reads the same way:

- Feature tables have an integer ``fid`` primary key (GeoPackage requires one; QGIS uses it)
  and a unique natural key (``crime_key``, ``uprn``, ``postcode`` …) that makes imports
  idempotent: a row whose key is already stored is skipped, never duplicated.
- Geometry is in British National Grid (EPSG:27700); points also carry ``lat``/``lng``.
- H3 cells are 64-bit integers at the store's working resolution (``meta.h3_resolution``);
  0 means "no cell" (no coordinates).
- Dates are ISO text (``YYYY-MM-DD``, months ``YYYY-MM``), the same on both back ends.
- Multi-valued answers (survey priorities, member groups) are exploded into their own
  tables so counting is a GROUP BY.
- Personal data lives only in ``members`` (``name``), ``key_contacts``, the exact point of
  members, visits and survey respondents, and the engagement tables (who was sent what,
  replies, opt-outs). Contacts (email, mobile) are kept only where messaging is switched on
  (a contacts key is configured), encrypted field by field in ``member_contacts``, and only
  the delivery step decrypts them (:mod:`spatial_core.store.contacts`); without a key the
  importers drop them (data minimisation).
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import String as _String

from spatial_core.geo.geometry_type import Geometry

__all__ = ["SCHEMA_VERSION", "metadata", "FEATURE_TABLES", "PERSONAL_TABLES", "table"]

SCHEMA_VERSION = 3

metadata = MetaData()

_FidType = Integer().with_variant(BigInteger(), "postgresql")
# GeoPackage allows only its own type names (TEXT, INTEGER, DOUBLE …); GDAL and QGIS ignore
# columns declared VARCHAR(n) or BIGINT, so SQLite gets those names and PostGIS the usual ones.
Float = Double
BigInteger = BigInteger().with_variant(Integer(), "sqlite")  # type: ignore[assignment,misc]


def String(length: int):  # noqa: N802 - reads like the SQLAlchemy type it stands for
    return _String(length).with_variant(Text(), "sqlite")


def _fid() -> Column:
    return Column("fid", _FidType, primary_key=True, autoincrement=True)


def _point_columns() -> list[Column]:
    return [
        Column("lat", Float),
        Column("lng", Float),
        Column("x", Float),
        Column("y", Float),
        Column("cell", BigInteger, nullable=False, default=0),
    ]


def _bbox_columns() -> list[Column]:
    return [Column(name, Float) for name in ("minx", "miny", "maxx", "maxy")]


meta = Table(
    "lpt_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text),
)

imports = Table(
    "lpt_imports", metadata,
    _fid(),
    Column("kind", String(32), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("report", Text),  # JSON of the full report
    Column("imported_at", String(32), nullable=False),
)

areas = Table(
    "areas", metadata,
    _fid(),
    Column("area_id", String(80), nullable=False),  # "<level>:<code>", e.g. "ward:E05001411"
    Column("level", String(16), nullable=False),  # force | npa | beat | ward | lsoa | oa
    Column("code", String(64), nullable=False),
    Column("name", Text),
    Column("parent_id", String(80)),
    Column("boundary_set", String(64), nullable=False, default=""),
    Column("valid_from", String(10)),
    Column("source", Text),
    *_bbox_columns(),
    Column("geom", Geometry("MULTIPOLYGON")),
    UniqueConstraint("area_id", "boundary_set", name="uq_areas_id_set"),
)
Index("ix_areas_level", areas.c.level)

area_cells = Table(
    "area_cells", metadata,
    Column("area_id", String(80), primary_key=True),
    Column("boundary_set", String(64), primary_key=True),
    Column("cell", BigInteger, primary_key=True),
)
Index("ix_area_cells_cell", area_cells.c.cell)

postcodes = Table(
    "postcodes", metadata,
    _fid(),
    Column("postcode", String(8), nullable=False, unique=True),  # normalised "LS1 1AZ"
    *_point_columns(),
    Column("quality", Integer),
    Column("oa_code", String(16)),
    Column("lsoa_code", String(16)),
    Column("ward_code", String(16)),
    Column("district_code", String(16)),
    Column("terminated", String(10)),  # ISO month or date; NULL while live
    Column("geom", Geometry("POINT")),
)
Index("ix_postcodes_cell", postcodes.c.cell)

class_codes = Table(
    "class_codes", metadata,
    _fid(),
    Column("scheme", String(32), nullable=False),  # oac2011 | oac2021 | mosaic | acorn | …
    Column("level", Integer, nullable=False),  # 1 = coarsest (supergroup / group / category)
    Column("code", String(16), nullable=False),
    Column("name", Text),
    Column("parent_code", String(16)),
    UniqueConstraint("scheme", "level", "code", name="uq_class_codes"),
)

classifications = Table(
    "classifications", metadata,
    _fid(),
    Column("scheme", String(32), nullable=False),
    Column("key_type", String(16), nullable=False),  # oa | lsoa | postcode | uprn
    Column("key", String(32), nullable=False),
    Column("l1", String(16)),
    Column("l2", String(16)),
    Column("l3", String(16)),
    UniqueConstraint("scheme", "key_type", "key", name="uq_classifications"),
)

streets = Table(
    "streets", metadata,
    _fid(),
    Column("street_id", String(80), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("beat_id", String(80)),
    Column("ward_id", String(80)),
    Column("highway", String(32)),
    Column("length_m", Float),
    Column("households", Integer, nullable=False, default=0),
    Column("source", Text),
    *_bbox_columns(),
    Column("geom", Geometry("MULTILINESTRING")),
)

street_cells = Table(
    "street_cells", metadata,
    Column("street_id", String(80), primary_key=True),
    Column("cell", BigInteger, primary_key=True),
)
Index("ix_street_cells_cell", street_cells.c.cell)

addresses = Table(
    "addresses", metadata,
    _fid(),
    Column("uprn", String(20), nullable=False, unique=True),
    Column("postcode", String(8)),
    *_point_columns(),
    Column("oa_code", String(16)),
    Column("street_id", String(80)),
    Column("beat_id", String(80)),
    Column("ward_id", String(80)),
    Column("geom", Geometry("POINT")),
)
Index("ix_addresses_cell", addresses.c.cell)
Index("ix_addresses_street", addresses.c.street_id)

members = Table(
    "members", metadata,
    _fid(),
    Column("member_id", String(40), nullable=False, unique=True),
    Column("name", Text),  # personal
    Column("uprn", String(20)),
    Column("postcode", String(8)),
    *_point_columns(),
    Column("location_source", String(16)),  # uprn | postcode | coordinates
    Column("gender", String(16)),
    Column("age_band", String(16)),
    Column("ethnicity", String(32)),
    Column("joined", String(10)),
    Column("left_on", String(10)),
    Column("geom", Geometry("POINT")),
    # Self-declared main language, religion and Origins-style group (slugs): added within
    # version 3, so a store made before gets the columns when opened.
    Column("language", String(48), info={"since": 3}),
    Column("religion", String(32), info={"since": 3}),
    Column("origins", String(48), info={"since": 3}),
)
Index("ix_members_cell", members.c.cell)

member_groups = Table(
    "member_groups", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("grp", String(64), primary_key=True),  # key_individual | iag | neighbourhood_watch …
)

member_consents = Table(
    "member_consents", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("organisation", String(64), primary_key=True),
)

surveys = Table(
    "surveys", metadata,
    _fid(),
    Column("response_id", String(40), nullable=False, unique=True),
    Column("responded", String(10), nullable=False),
    Column("channel", String(16), nullable=False),  # online | door_knock | staff
    Column("member_id", String(40)),
    Column("postcode", String(8)),
    *_point_columns(),
    Column("confidence", Integer),  # 1 (strongly disagree) … 5 (strongly agree)
    Column("feel_safe", Integer),  # 1 (very unsafe) … 5 (very safe)
    Column("free_text", Text),
    Column("gender", String(16)),
    Column("age_band", String(16)),
    Column("ethnicity", String(32)),
    Column("geom", Geometry("POINT")),
    # 1 (strongly disagree) … 5: the police understand and deal with the issues that matter
    # locally. Added within version 3: a store made before gets the column when opened.
    Column("understands", Integer, info={"since": 3}),
)
Index("ix_surveys_cell", surveys.c.cell)

survey_priorities = Table(
    "survey_priorities", metadata,
    Column("response_id", String(40), primary_key=True),
    Column("priority", String(48), primary_key=True),
)

crimes = Table(
    "crimes", metadata,
    _fid(),
    Column("crime_key", String(80), nullable=False, unique=True),
    Column("crime_id", String(80)),  # police.uk Crime ID (empty for ASB) or force reference
    Column("month", String(7), nullable=False),
    Column("occurred_at", String(19)),
    Column("category", String(48), nullable=False),
    Column("offence_code", String(16)),
    Column("force", Text),
    Column("location", Text),
    Column("lsoa_code", String(16)),
    Column("lsoa_name", Text),
    Column("outcome", Text),
    *_point_columns(),
    Column("is_outlier", Integer, nullable=False, default=0),
    Column("source_file", Text),
    Column("geom", Geometry("POINT")),
)
Index("ix_crimes_cell", crimes.c.cell)
Index("ix_crimes_month", crimes.c.month)

visits = Table(
    "visits", metadata,
    _fid(),
    Column("visit_id", String(40), nullable=False, unique=True),
    Column("uprn", String(20), nullable=False),
    Column("visited_at", String(19), nullable=False),
    Column("officer", String(64)),
    Column("outcome", String(24), nullable=False),
    Column("setup_id", String(64)),
    Column("notes", Text),
    *_point_columns(),
    Column("geom", Geometry("POINT")),
)
Index("ix_visits_uprn", visits.c.uprn)

# Street scores (spatial_core.targeting.scoring): one row per run with the profile's TOML text, so
# any
# stored score can be reproduced and explained; one row per street and run.
score_runs = Table(
    "score_runs", metadata,
    _fid(),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("profile_name", String(64), nullable=False),
    Column("profile_toml", Text, nullable=False),
    Column("area", String(80)),
    Column("as_of", String(10), nullable=False),
    Column("scheme", String(32)),
    Column("level", Integer),
    Column("inputs_fingerprint", String(64), nullable=False),
    Column("streets", Integer, nullable=False),
    info={"since": 2},
)

street_scores = Table(
    "street_scores", metadata,
    _fid(),
    Column("run_id", String(64), nullable=False),
    Column("street_id", String(80), nullable=False),
    Column("beat_id", String(80)),
    Column("score", Float, nullable=False),
    Column("rank_in_beat", Integer, nullable=False),
    *[Column(f"{c}{s}", Float) for c in ("harm", "voice", "representation", "coverage", "fatigue")
      for s in ("_raw", "")],
    Column("voice_n", Integer),
    Column("reasons", Text),
    UniqueConstraint("run_id", "street_id", name="uq_street_scores"),
    info={"since": 2},
)
Index("ix_street_scores_run", street_scores.c.run_id)

# Targeting set-ups (spatial_core.targeting.setups): the set-up with everything needed to re-run it
# (area, resolved target groups, profile TOML, windows, data date, input fingerprint), its
# recommended streets and its household walk lists (addresses only: never names or contacts).
setups = Table(
    "setups", metadata,
    _fid(),
    Column("setup_id", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("status", String(16), nullable=False),  # live | archived
    Column("goal", String(16), nullable=False),  # recruit | survey | engage
    Column("areas", Text, nullable=False),  # JSON list of area ids
    Column("polygon_wkt", Text),  # a drawn area, EPSG:27700, full precision
    Column("scheme", String(32)),
    Column("level", Integer),
    Column("target_rule", Text, nullable=False),  # "groups" | "under_represented<0.7"
    Column("target_groups", Text, nullable=False),  # JSON list of class codes
    Column("profile_name", String(64), nullable=False),
    Column("profile_toml", Text, nullable=False),
    Column("revisit_registered", Integer, nullable=False),
    Column("visited_days", Integer, nullable=False),
    Column("declined_days", Integer, nullable=False),
    Column("not_in_hours", Float, nullable=False),
    Column("max_streets", Integer, nullable=False),
    Column("target_visits", Integer),
    Column("target_registrations", Integer),
    Column("target_surveys", Integer),
    Column("as_of", String(10), nullable=False),
    Column("created_at", String(19), nullable=False),
    Column("archived_at", String(19)),
    Column("inputs_fingerprint", String(64), nullable=False),
    Column("input_counts", Text),  # JSON: rows of each input table, walk-list hash
    Column("final_report", Text),  # JSON progress report kept when archived
    Column("geom", Geometry("MULTIPOLYGON")),
    info={"since": 2},
)

setup_streets = Table(
    "setup_streets", metadata,
    _fid(),
    Column("setup_id", String(64), nullable=False),
    Column("street_id", String(80), nullable=False),
    Column("street_rank", Integer, nullable=False),
    Column("name", Text),
    Column("beat_id", String(80)),
    Column("score", Float, nullable=False),
    Column("rank_in_beat", Integer),
    Column("households", Integer, nullable=False),
    Column("to_knock", Integer, nullable=False),
    Column("reasons", Text),
    Column("geom", Geometry("MULTILINESTRING")),
    UniqueConstraint("setup_id", "street_id", name="uq_setup_streets"),
    info={"since": 2},
)
Index("ix_setup_streets_setup", setup_streets.c.setup_id)

setup_households = Table(
    "setup_households", metadata,
    _fid(),
    Column("setup_id", String(64), nullable=False),
    Column("street_id", String(80), nullable=False),
    Column("uprn", String(20), nullable=False),
    Column("postcode", String(8)),
    Column("walk_order", Integer, nullable=False),
    Column("along_m", Float),
    Column("grp", String(16)),
    Column("is_target", Integer, nullable=False),
    Column("reason", Text),
    Column("suppressed_until", String(19)),
    Column("lat", Float),
    Column("lng", Float),
    Column("x", Float),
    Column("y", Float),
    Column("geom", Geometry("POINT")),
    UniqueConstraint("setup_id", "uprn", name="uq_setup_households"),
    info={"since": 2},
)
Index("ix_setup_households_setup", setup_households.c.setup_id)

# -- engagement: the conversation with residents (version 3) -----------------------------------
# Contacts are the only encrypted columns: Fernet tokens (spatial_core.store.contacts), written
# only where messaging is switched on (a key is configured) and read only by the delivery step.

member_contacts = Table(
    "member_contacts", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("email_enc", Text),  # Fernet token of the e-mail address, or NULL
    Column("mobile_enc", Text),  # Fernet token of the mobile number, or NULL
    Column("email_status", String(16), nullable=False, default="ok"),  # ok | bad
    Column("updated_at", String(19), nullable=False),
    info={"since": 3},
)

opt_outs = Table(
    "opt_outs", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("opted_out_at", String(19), nullable=False),
    Column("source", String(16), nullable=False),  # export | link | officer
    Column("recorded_by", String(64)),  # the officer, for source = officer
    info={"since": 3},
)

messages = Table(
    "messages", metadata,
    _fid(),
    Column("message_id", String(40), nullable=False, unique=True),
    Column("kind", String(24), nullable=False),  # update | you_said_we_did | survey | appeal
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("audience", Text, nullable=False),  # JSON: {"areas": [..]}, {"setup": id}, {"group": ..}
    Column("area_id", String(80)),  # the area the message speaks for (reporting, scope)
    Column("organisation", String(64), nullable=False),  # consent needed from members
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(19), nullable=False),
    Column("status", String(16), nullable=False),  # draft | sending | sent
    Column("sent_at", String(19)),
    Column("channel", String(16)),  # smtp | eml | platform
    info={"since": 3},
)

message_recipients = Table(
    "message_recipients", metadata,
    _fid(),
    Column("message_id", String(40), nullable=False),
    Column("member_id", String(40), nullable=False),
    # held (not sent: see held_reason) | queued | claimed (being sent) | sent | failed (permanent)
    # | retry (temporary failure, next_attempt) | uncertain (claimed when a send was killed)
    Column("state", String(16), nullable=False),
    Column("held_reason", String(16)),  # cap | consent | opted_out | no_contact
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt", String(19)),
    Column("error", Text),  # the server's reply code and text, never the address
    Column("sent_at", String(19)),
    Column("area_id", String(80)),  # the member's beat when the message was prepared
    UniqueConstraint("message_id", "member_id", name="uq_message_recipients"),
    info={"since": 3},
)
Index("ix_message_recipients_member", message_recipients.c.member_id)

replies = Table(
    "replies", metadata,
    _fid(),
    Column("reply_id", String(40), nullable=False, unique=True),
    Column("message_id", String(40), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("received_at", String(19), nullable=False),
    Column("text", Text, nullable=False),
    Column("urgent", Integer, nullable=False, default=0),
    Column("urgent_words", Text),  # the flagged words, comma-separated
    Column("area_id", String(80)),
    Column("answer", Text),
    Column("answered_by", String(64)),
    Column("answered_at", String(19)),
    info={"since": 3},
)

actions = Table(
    "actions", metadata,
    _fid(),
    Column("action_id", String(40), nullable=False, unique=True),
    Column("done_on", String(10), nullable=False),
    Column("priority", String(48), nullable=False),
    Column("area_id", String(80), nullable=False),
    Column("what", Text, nullable=False),
    Column("partner", Text),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", String(19), nullable=False),
    info={"since": 3},
)

# A registration taken at the door (spatial_core.engagement.surveys.record_door_survey): the
# household agreed to join, with consent for an organisation. No name or contact is kept here;
# a contact goes to member_contacts (keyed by registration_id) only where messaging is on. It
# counts as registered when a later member import has a member at the UPRN.
door_registrations = Table(
    "door_registrations", metadata,
    _fid(),
    Column("registration_id", String(40), nullable=False, unique=True),
    Column("visit_id", String(40), nullable=False),
    Column("uprn", String(20), nullable=False),
    Column("registered_at", String(19), nullable=False),
    Column("officer", String(64)),
    Column("organisation", String(64), nullable=False),  # consent given for
    Column("response_id", String(40)),  # the door survey answered at the same visit
    Column("has_contact", Integer, nullable=False, default=0),
    info={"since": 3},
)
Index("ix_door_registrations_uprn", door_registrations.c.uprn)

# Census population base (spatial_core.io.census): residents per category per output area, from
# ONS Census 2021 tables (TS021 ethnic group, TS024 main language, TS004 country of birth, TS030
# religion) or an Origins-style base file. ``grp`` is the category's group slug (the one the
# members' self-declared answers are normalised to); ``parent`` the broad group (TS021).
census_counts = Table(
    "census_counts", metadata,
    _fid(),
    Column("census_table", String(16), nullable=False),  # TS021 | TS024 | TS004 | TS030 | origins
    Column("oa_code", String(16), nullable=False),
    Column("category", Text, nullable=False),  # the category as the file names it
    Column("grp", String(64), nullable=False),
    Column("parent", String(64)),
    Column("count", Integer, nullable=False),
    UniqueConstraint("census_table", "oa_code", "category", name="uq_census_counts"),
    info={"since": 3},
)
Index("ix_census_counts_table", census_counts.c.census_table)

FEATURE_TABLES = {
    t.name: next(c for c in t.columns if isinstance(c.type, Geometry))
    for t in metadata.sorted_tables
    if any(isinstance(c.type, Geometry) for c in t.columns)
}
PERSONAL_TABLES = ("members", "member_groups", "member_consents", "surveys", "visits",
                   "member_contacts", "opt_outs", "message_recipients", "replies",
                   "door_registrations")


def table(name: str) -> Table:
    """The table called ``name``; a clear error lists the valid names."""
    try:
        return metadata.tables[name]
    except KeyError:
        valid = ", ".join(sorted(metadata.tables))
        raise KeyError(f"no table {name!r}; tables are: {valid}") from None
