# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the core's tests: a real Dask cluster for the national tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

DASK = str(Path(sys.executable).with_name("dask"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1; a client to them."""
    pytest.importorskip("distributed")
    from dask.distributed import Client

    d = tmp_path_factory.mktemp("cluster")
    sched_file = d / "scheduler.json"
    env = dict(os.environ)
    procs = [subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(sched_file)],
        stdout=open(d / "scheduler.log", "wb"), stderr=subprocess.STDOUT, env=env)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), (d / "scheduler.log").read_text()
        for k in range(2):
            procs.append(subprocess.Popen(
                [DASK, "worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1",
                 "--nworkers", "1", "--nthreads", "1", "--memory-limit", "2GB",
                 "--no-dashboard", "--name", f"w{k}"],
                stdout=open(d / f"worker{k}.log", "wb"), stderr=subprocess.STDOUT, env=env))
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        client = Client(address, timeout="30s")
        client.wait_for_workers(2, timeout=90)
        yield {"client": client, "address": address}
        client.close()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


