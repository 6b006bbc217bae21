# SPDX-License-Identifier: GPL-3.0-or-later
"""The store: one embedded GeoPackage file by default, or PostGIS by URL.

:class:`Store` is the only place that speaks SQL. Importers hand it data frames inside
one transaction (:meth:`Store.begin`), so an import is all rows or none; the unique
natural key of each table makes re-importing the same rows a no-op.

The GeoPackage is a real one (application id, ``gpkg_contents``, ``gpkg_geometry_columns``,
spatial reference systems), written without spatialite, so an analyst can open it in QGIS
as it is. PostGIS gets native ``geometry`` columns with GiST indexes. The analytics read
frames back and compute in numpy/shapely, so both back ends give the same answers.
"""
from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Table, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from spatial_core.errors import SchemaVersionError, StoreError
from spatial_core.geo.crs import STORE_SRID
from spatial_core.geo.geometry_type import Geometry, from_gpkg_blobs
from spatial_core.store import schema

__all__ = ["Store", "open_store", "DEFAULT_STORE", "add_new_tables", "add_new_columns"]

log = logging.getLogger(__name__)

DEFAULT_STORE = "lpt.gpkg"

def add_new_tables(store: Store, conn: Connection) -> None:
    """Create the tables (and their GeoPackage registration or GiST index) a version added."""
    schema.metadata.create_all(conn, checkfirst=True)
    if store.backend == "geopackage":
        _register_gpkg_tables(conn)
    else:
        _pg_geometry_indexes(conn)


def add_new_columns(store: Store, conn: Connection) -> list[str]:
    """Add the columns a version added to tables that already existed (``info={"since": n}``
    on the column): nullable, with no default, so every stored row reads NULL.

    Returns the ``table.column`` names added. Cheap when there is nothing to add: only the
    tables that have such columns are inspected.
    """
    added = []
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    for t in schema.metadata.sorted_tables:
        late = [c for c in t.columns if "since" in c.info]
        if not late or t.name not in present:
            continue
        have = {c["name"] for c in inspector.get_columns(t.name)}
        for col in late:
            if col.name in have:
                continue
            kind = col.type.compile(store.engine.dialect)
            if store.backend == "postgis":  # another process may be opening the store too
                conn.exec_driver_sql(
                    f'ALTER TABLE "{t.name}" ADD COLUMN IF NOT EXISTS "{col.name}" {kind}')
            else:
                try:
                    conn.exec_driver_sql(f'ALTER TABLE "{t.name}" ADD COLUMN "{col.name}" {kind}')
                except OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise
            added.append(f"{t.name}.{col.name}")
    return added


def _to_version_3(store: Store, conn: Connection) -> None:
    """Version 3: the engagement tables, and the ``surveys.understands`` column."""
    add_new_tables(store, conn)
    add_new_columns(store, conn)


# Versions migrate one step at a time: MIGRATIONS[n] takes a store at version n to n + 1.
# Version 2 added the analytics tables (score runs, targeting set-ups …), version 3 the
# engagement tables (contacts, opt-outs, messages, recipients, replies, actions, door
# registrations) and the survey answer "the police understand the issues that matter here".
MIGRATIONS: dict[int, Callable[[Store, Connection], None]] = {1: add_new_tables,
                                                             2: _to_version_3}


def open_store(location: str | os.PathLike | None = None, *, create: bool = True,
               h3_resolution: int | None = None) -> Store:
    """Open (and by default create) a store: a GeoPackage path or a ``postgresql://`` URL."""
    return Store.open(location, create=create, h3_resolution=h3_resolution)


class Store:
    """A GeoPackage file or PostGIS database holding one force's data."""

    def __init__(self, engine: Engine, location: str) -> None:
        self.engine = engine
        self.location = location
        self.backend = "postgis" if engine.dialect.name == "postgresql" else "geopackage"

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, location: str | os.PathLike | None = None, *, create: bool = True,
             h3_resolution: int | None = None) -> Store:
        location = str(location or DEFAULT_STORE)
        if location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            url = "postgresql+psycopg://" + location.split("://", 1)[1]
            engine = create_engine(url, pool_pre_ping=True)
        else:
            path = Path(location)
            if not path.exists() and not create:
                raise StoreError(f"store {location} does not exist")
            if path.exists() and path.is_dir():
                raise StoreError(f"store {location} is a folder; give a .gpkg file path")
            if path.exists() and path.stat().st_size > 0:
                with open(path, "rb") as fh:
                    if fh.read(16) != b"SQLite format 3\x00":
                        raise StoreError(f"store {location} is not a GeoPackage (SQLite) file")
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(f"sqlite:///{path}")
            _sqlite_transactions(engine)
        store = cls(engine, location)
        try:
            store._ensure_schema(create=create, h3_resolution=h3_resolution)
        except StoreError:
            engine.dispose()
            raise
        except Exception as exc:  # noqa: BLE001 - connection failures of every driver
            engine.dispose()
            raise StoreError(f"cannot open store {location}: {exc}") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location!r}, backend={self.backend!r})"

    def _ensure_schema(self, *, create: bool, h3_resolution: int | None) -> None:
        with self.begin() as conn:
            present = self.has_table(conn, "lpt_meta")
            if not present:
                if not create:
                    raise StoreError(f"{self.location} is not a local priority targeting store")
                self._create(conn, h3_resolution)
                return
            version = int(self._meta(conn, "schema_version") or 0)
            if version > schema.SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"store {self.location} has schema version {version}; this software "
                    f"knows up to {schema.SCHEMA_VERSION}: upgrade local-priority-targeting"
                )
            while version < schema.SCHEMA_VERSION:
                log.info("migrating %s from schema version %d", self.location, version)
                MIGRATIONS[version](self, conn)
                version += 1
                self._set_meta(conn, "schema_version", str(version))
            # Tables are only ever added within a version (never changed), so a store made
            # before one was added gets it here.
            tables = set(inspect(conn).get_table_names())
            if any(name not in tables for name in schema.metadata.tables):
                add_new_tables(self, conn)
            # Likewise columns: a version-3 store made before ``surveys.understands`` existed.
            added = add_new_columns(self, conn)
            if added:
                log.info("added column(s) %s to %s", ", ".join(added), self.location)

    def has_table(self, conn: Connection, name: str) -> bool:
        return self.engine.dialect.has_table(conn, name)

    def _create(self, conn: Connection, h3_resolution: int | None) -> None:
        from spatial_core.geo.cells import DEFAULT_RESOLUTION

        if self.backend == "geopackage":
            _create_gpkg_core(conn)
        else:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        schema.metadata.create_all(conn)
        if self.backend == "geopackage":
            _register_gpkg_tables(conn)
        else:
            _pg_geometry_indexes(conn)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self._set_meta(conn, "schema_version", str(schema.SCHEMA_VERSION))
        self._set_meta(conn, "h3_resolution", str(h3_resolution or DEFAULT_RESOLUTION))
        self._set_meta(conn, "created_at", now)
        self._set_meta(conn, "srid", str(STORE_SRID))

    # -- metadata ----------------------------------------------------------------------
    def _meta(self, conn: Connection, key: str) -> str | None:
        t = schema.meta
        return conn.execute(select(t.c.value).where(t.c.key == key)).scalar_one_or_none()

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        t = schema.meta
        conn.execute(t.delete().where(t.c.key == key))
        conn.execute(t.insert().values(key=key, value=value))

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return self._meta(conn, key)

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        if conn is not None:
            self._set_meta(conn, key, value)
            return
        with self.begin() as c:
            self._set_meta(c, key, value)

    @property
    def h3_resolution(self) -> int:
        return int(self.get_meta("h3_resolution") or 10)

    @property
    def schema_version(self) -> int:
        return int(self.get_meta("schema_version") or 0)

    # -- transactions ----------------------------------------------------------------
    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any error.

        On SQLite it is ``BEGIN IMMEDIATE``: it takes the write lock first (waiting up to
        the busy timeout for another writer), so a transaction that reads and then writes
        never fails with "database is locked" because another process is writing: a
        deferred transaction that holds a read lock and asks for the write lock while
        another writer holds it is refused at once, without waiting (SQLite's deadlock
        rule)."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.info["lpt_immediate"] = True  # read once by the "begin" listener
            with conn.begin():
                yield conn

    def connect(self) -> Connection:
        return self.engine.connect()

    # -- writing -----------------------------------------------------------------------
    def insert_new(self, conn: Connection, name: str, frame: pd.DataFrame) -> int:
        """Insert the rows of ``frame`` whose unique key is not stored yet.

        Columns not in the table are an error; geometry columns hold shapely geometries.
        Returns the number of rows inserted.
        """
        if frame is None or len(frame) == 0:
            return 0
        t = schema.table(name)
        cols = self._check_columns(t, frame)
        if self.backend == "geopackage":
            return self._sqlite_insert(conn, t, frame, cols)
        return self._pg_insert(conn, t, frame, cols)

    def update_by_key(self, conn: Connection, name: str, key: str | Sequence[str],
                      frame: pd.DataFrame) -> int:
        """Set the other columns of ``frame`` on the rows matching its ``key`` column(s).

        Geometry columns hold shapely geometries, as for :meth:`insert_new`.
        """
        if frame is None or len(frame) == 0:
            return 0
        t = schema.table(name)
        keys = [key] if isinstance(key, str) else list(key)
        cols = self._check_columns(t, frame)
        setcols = [c for c in cols if c not in keys]
        rows = _rows(frame, setcols + keys, t, geometry_as_wkb=self.backend == "postgis")
        if self.backend == "geopackage":
            assign = ", ".join(f'"{c}" = ?' for c in setcols)
            where = " AND ".join(f'"{c}" = ?' for c in keys)
            cur = _driver(conn).cursor()
            cur.executemany(f'UPDATE "{t.name}" SET {assign} WHERE {where}', rows)
            return cur.rowcount
        tmp = self._pg_stage(conn, t, setcols + keys, rows)
        assign = ", ".join(f'"{c}" = {_pg_value(t, c, "s")}' for c in setcols)
        where = " AND ".join(f't."{c}" = s."{c}"' for c in keys)
        res = conn.exec_driver_sql(
            f'UPDATE "{t.name}" AS t SET {assign} FROM {tmp} AS s WHERE {where}')
        return res.rowcount

    def delete_where(self, conn: Connection, name: str, where) -> int:
        t = schema.table(name)
        return conn.execute(t.delete().where(where)).rowcount

    def _check_columns(self, t: Table, frame: pd.DataFrame) -> list[str]:
        unknown = [c for c in frame.columns if c not in t.c]
        if unknown:
            raise StoreError(f"table {t.name} has no column(s) {unknown}")
        return list(frame.columns)

    def _sqlite_insert(self, conn: Connection, t: Table, frame: pd.DataFrame,
                       cols: list[str]) -> int:
        rows = _rows(frame, cols, t)
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        cur = _driver(conn).cursor()
        cur.executemany(
            f'INSERT INTO "{t.name}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING', rows)
        return cur.rowcount

    def _pg_stage(self, conn: Connection, t: Table, cols: list[str], rows: list[tuple]) -> str:
        tmp = f"_stage_{t.name}"
        defs = []
        for c in cols:
            col = t.c[c]
            kind = ("bytea" if isinstance(col.type, Geometry)
                    else col.type.compile(self.engine.dialect))
            defs.append(f'"{c}" {kind}')
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {tmp} ({', '.join(defs)}) ON COMMIT DROP")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        geo = {i for i, c in enumerate(cols) if isinstance(t.c[c].type, Geometry)}
        for row in rows:
            writer.writerow(
                ["\\x" + v.hex() if (i in geo and v is not None) else ("" if v is None else v)
                 for i, v in enumerate(row)]
            )
        raw = _driver(conn)
        names = ", ".join(f'"{c}"' for c in cols)
        copy_sql = f"COPY {tmp} ({names}) FROM STDIN WITH (FORMAT csv)"
        with raw.cursor() as cur, cur.copy(copy_sql) as cp:
            cp.write(buf.getvalue())
        return tmp

    def _pg_insert(self, conn: Connection, t: Table, frame: pd.DataFrame, cols: list[str]) -> int:
        rows = _rows(frame, cols, t, geometry_as_wkb=True)
        tmp = self._pg_stage(conn, t, cols, rows)
        names = ", ".join(f'"{c}"' for c in cols)
        values = ", ".join(_pg_value(t, c, "s") for c in cols)
        res = conn.exec_driver_sql(
            f'INSERT INTO "{t.name}" ({names}) SELECT {values} FROM {tmp} AS s '
            "ON CONFLICT DO NOTHING"
        )
        return res.rowcount

    # -- reading -----------------------------------------------------------------------
    def read(self, name: str, columns: Sequence[str] | None = None, where=None,
             conn: Connection | None = None, order_by: Sequence[str] | None = None) -> pd.DataFrame:
        """Rows of a table as a frame; with a geometry column, a GeoDataFrame in EPSG:27700.

        ``where`` is a SQLAlchemy expression on ``schema.table(name)``.
        """
        t = schema.table(name)
        cols = [t.c[c] for c in columns] if columns else list(t.c)
        stmt = select(*cols)
        if where is not None:
            stmt = stmt.where(where)
        if order_by:
            stmt = stmt.order_by(*[t.c[c] for c in order_by])
        if conn is None:
            with self.engine.connect() as c:
                data = self._fetch_raw(c, stmt)
        else:
            data = self._fetch_raw(conn, stmt)
        names = [c.name for c in cols]
        frame = pd.DataFrame.from_records(data, columns=names)
        geo = [c.name for c in cols if isinstance(c.type, Geometry)]
        if geo:
            g = geo[0]
            geoms: Any = from_gpkg_blobs(frame[g].to_numpy()) if len(frame) else []
            frame = gpd.GeoDataFrame(frame.drop(columns=[g]), geometry=gpd.GeoSeries(
                geoms, index=frame.index, crs=STORE_SRID), crs=STORE_SRID)
            frame = frame.rename_geometry(g) if g != "geometry" else frame
        return frame

    def _fetch_raw(self, conn: Connection, stmt) -> list[tuple]:
        """Rows as plain tuples straight from the driver: SQLAlchemy's per-row processing
        doubles the time of a 450k-row read. Geometry comes back as WKB or GeoPackage blobs
        (the caller decodes both)."""
        compiled = stmt.compile(dialect=self.engine.dialect,
                                compile_kwargs={"render_postcompile": True})
        params = compiled.params
        if compiled.positiontup is not None:
            params = tuple(params[name] for name in compiled.positiontup)
        cur = _driver(conn).cursor()
        try:
            cur.execute(str(compiled), params)
            return list(cur.fetchall())
        finally:
            cur.close()

    def count(self, name: str, where=None, conn: Connection | None = None) -> int:
        t = schema.table(name)
        stmt = select(func.count()).select_from(t)
        if where is not None:
            stmt = stmt.where(where)
        if conn is not None:
            return int(conn.execute(stmt).scalar_one())
        with self.engine.connect() as c:
            return int(c.execute(stmt).scalar_one())

    def scalar(self, stmt, conn: Connection | None = None):
        if conn is not None:
            return conn.execute(stmt).scalar()
        with self.engine.connect() as c:
            return c.execute(stmt).scalar()

    def fingerprint(self) -> dict[str, int]:
        """Row counts of every table: a cheap check that a failed import changed nothing."""
        with self.engine.connect() as conn:
            return {name: self.count(name, conn=conn) for name in schema.metadata.tables}


def _driver(conn: Connection) -> Any:
    """The driver's own connection (sqlite3 or psycopg) inside SQLAlchemy's transaction."""
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - only after the connection was invalidated
        raise StoreError("the database connection was closed")
    return raw


def _geometry_type(col) -> Geometry:
    return col.type  # type: ignore[no-any-return]


def _pg_value(t: Table, c: str, alias: str) -> str:
    col = t.c[c]
    if isinstance(col.type, Geometry):
        return f'ST_GeomFromWKB({alias}."{c}", {col.type.srid})'
    return f'{alias}."{c}"'


def _rows(frame: pd.DataFrame, cols: list[str], t: Table,
          geometry_as_wkb: bool = False) -> list[tuple]:
    """Plain Python tuples for the DB-API: NaN and empty text become NULL, geometry becomes
    GeoPackage blobs (SQLite) or WKB (PostGIS)."""
    from spatial_core.geo.geometry_type import wkb_to_gpkg_blob

    out = []
    for c in cols:
        s = frame[c]
        if isinstance(t.c[c].type, Geometry):
            wkb = shapely.to_wkb(np.asarray(s, dtype=object), flavor="iso")
            if geometry_as_wkb:
                out.append(wkb.tolist())
            else:
                srid = _geometry_type(t.c[c]).srid
                out.append([wkb_to_gpkg_blob(w, srid) if w is not None else None for w in wkb])
            continue
        values = s.to_numpy()
        if values.dtype.kind in "fc":
            obj = values.astype(object)
            obj[np.isnan(values)] = None
        elif values.dtype.kind in "iub":
            obj = values.astype(object)
        else:
            obj = values.astype(object, copy=True)
            missing = pd.isna(obj) | (obj == "")
            obj[missing] = None
        out.append(obj.tolist())
    return list(zip(*out, strict=True))


def _pg_geometry_indexes(conn: Connection) -> None:
    for name, col in schema.FEATURE_TABLES.items():
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{name}_geom ON {name} "
                          f"USING GIST ({col.name})"))


def _sqlite_transactions(engine: Engine) -> None:
    """Make pysqlite honour transactions for DDL too (SQLAlchemy's documented recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-262144")  # 256 MiB: index inserts of big imports
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.info.pop("lpt_immediate", False)  # Store.begin: a write
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# -- GeoPackage bookkeeping ------------------------------------------------------------

_GPKG_CORE = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
]


def _create_gpkg_core(conn: Connection) -> None:
    from pyproj import CRS

    conn.exec_driver_sql("PRAGMA application_id = 1196444487")  # 'GPKG'
    conn.exec_driver_sql("PRAGMA user_version = 10200")
    for ddl in _GPKG_CORE:
        conn.exec_driver_sql(ddl)
    srs = [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
        ("WGS 84 geodetic", 4326, "EPSG", 4326, CRS.from_epsg(4326).to_wkt("WKT1_GDAL"),
         "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
        ("OSGB36 / British National Grid", 27700, "EPSG", 27700,
         CRS.from_epsg(27700).to_wkt("WKT1_GDAL"), "British National Grid"),
    ]
    cur = _driver(conn).cursor()
    cur.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs)


def _register_gpkg_tables(conn: Connection) -> None:
    cur = _driver(conn).cursor()
    for t in schema.metadata.sorted_tables:
        geom = schema.FEATURE_TABLES.get(t.name)
        if geom is None:
            cur.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                        "VALUES (?, 'attributes', ?)", (t.name, t.name))
            continue
        cur.execute("INSERT OR IGNORE INTO gpkg_contents "
                    "(table_name, data_type, identifier, srs_id) "
                    "VALUES (?, 'features', ?, ?)", (t.name, t.name, _geometry_type(geom).srid))
        cur.execute("INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                    (t.name, geom.name, _geometry_type(geom).geometry_type,
                     _geometry_type(geom).srid))
