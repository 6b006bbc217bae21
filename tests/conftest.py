# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: stores on both back ends (a real PostgreSQL with PostGIS started here),
and the real public data in ``../shared/data/real``."""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LPT_SHARED", ROOT.parent / "shared")) / "data" / "real"
ARTIFACTS = ROOT / "test-artifacts"
_PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def pytest_configure(config):
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def real() -> Path:
    """The real data folder; tests that need it fail in CI and skip elsewhere when it is absent."""
    if not REAL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"real data folder {REAL} is missing")
        pytest.skip(f"real data folder {REAL} is missing")
    return REAL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1, owned by the ``postgres`` user."""

    def __init__(self) -> None:
        self.bin = _PG_BINS[0]
        self.dir = Path(tempfile.mkdtemp(prefix="lpt-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w",
                   "-l", str(self.dir / "log"), "start"])
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._psql("CREATE DATABASE lpt_template")
        self._psql("CREATE EXTENSION postgis", db="lpt_template")
        self._counter = itertools.count()

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _psql(self, sql: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{db}",
                             autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        name = f"lpt_test_{os.getpid()}_{next(self._counter)}"
        self._psql(f"CREATE DATABASE {name} TEMPLATE lpt_template")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A running PostgreSQL with PostGIS; required in CI, skipped elsewhere when not installed."""
    if os.environ.get("LPT_TEST_POSTGIS_URL"):
        yield None
        return
    if not _PG_BINS or not list(Path("/usr/share/postgresql").glob("*/extension/postgis.control")):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL with PostGIS is not installed (run scripts/setup.sh)")
        pytest.skip("PostgreSQL with PostGIS is not installed")
    pg = _Postgres()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            pg._psql("SELECT 1")
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    yield pg
    pg.stop()


@pytest.fixture
def postgis_url(postgres) -> str:
    if postgres is None:
        return os.environ["LPT_TEST_POSTGIS_URL"]
    return postgres.new_database()


@pytest.fixture
def gpkg_store(tmp_path):
    from spatial_core import open_store

    store = open_store(tmp_path / "store.gpkg")
    yield store
    store.close()


@pytest.fixture(params=["geopackage", "postgis"])
def store(request, tmp_path):
    """The same test on an embedded GeoPackage and on a real PostGIS."""
    from spatial_core import open_store

    if request.param == "geopackage":
        location = str(tmp_path / "store.gpkg")
    else:
        location = request.getfixturevalue("postgis_url")
    s = open_store(location)
    yield s
    s.close()


class DemoBuilds:
    """Demo forces built once per test session, keyed by their parameters (the keyword
    arguments of :func:`spatial_core.demo.build_demo`). Every caller gets its own copy of the
    GeoPackage (and a link to the generated files), so a test that writes to its store never
    changes another test's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.built: dict[tuple, Path] = {}

    def copy(self, dest: Path, **params) -> Path:
        """The path of a fresh copy of the demo store built with ``params``, in ``dest``."""
        from spatial_core import open_store
        from spatial_core.demo import build_demo

        key = tuple(sorted(params.items()))
        source = self.built.get(key)
        if source is None:
            source = self.root / f"demo-{len(self.built)}"
            source.mkdir()
            store = open_store(source / "demo.gpkg")
            try:
                build_demo(store, source / "files", **params)
            finally:
                store.close()
            self.built[key] = source
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "demo.gpkg", dest / "demo.gpkg")
        if not (dest / "files").exists():
            (dest / "files").symlink_to(source / "files", target_is_directory=True)
        return dest / "demo.gpkg"


@pytest.fixture(scope="session")
def demo_builds(tmp_path_factory) -> DemoBuilds:
    """Built demo forces shared by the session (:class:`DemoBuilds`)."""
    return DemoBuilds(tmp_path_factory.mktemp("demo-builds"))


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM to a process started with ``start_new_session=True`` and its children, then
    SIGKILL if it has not gone in 20 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def _running_service(config: Path, *, env: dict | None = None, workers: int = 1,
                     port: int | None = None, timeout: float = 120):
    """``lpt serve --config CONFIG`` on 127.0.0.1 until the block ends: yields
    ``(url, proc, log)`` once ``/health`` answers 200; the service's output is in ``log``."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(config).parent / f"serve-{port}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lpt_cli.main", "serve", "--config", str(config),
             "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"lpt serve exited ({proc.returncode}):\n"
                                       f"{log.read_text()}")
                try:
                    with urllib.request.urlopen(url + "/health", timeout=10) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"lpt serve did not answer in {timeout:.0f} s:\n"
                                       f"{log.read_text()}")
                time.sleep(0.3)
            yield url, proc, log
        finally:
            stop_process_group(proc)


@pytest.fixture(scope="session")
def running_service():
    """The one way tests start the service: ``with running_service(config) as (url, proc,
    log):`` (see :func:`_running_service`)."""
    return _running_service
