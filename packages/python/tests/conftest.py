"""Fixtures shared by the suite: one URL per backend under test, a fresh
store or namespace for every test.

Redis topologies come from scripts/test (or scripts/suites/python), which
start the servers and export FERROLOCK_TEST_REDIS_URL,
FERROLOCK_TEST_REDIS_QUORUM_URL and FERROLOCK_TEST_REDIS_CLUSTER_URL. A
missing variable is a failure, not a skip.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import shutil
import time
from typing import Callable, Iterator

import pytest

import ferrolock

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "vectors"

_seq = itertools.count()

BACKENDS = ["memory", "sqlite", "redis", "redis_quorum", "redis_cluster"]
REDIS_VARS = {
    "redis": "FERROLOCK_TEST_REDIS_URL",
    "redis_quorum": "FERROLOCK_TEST_REDIS_QUORUM_URL",
    "redis_cluster": "FERROLOCK_TEST_REDIS_CLUSTER_URL",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.time_ns() % 10**9}-{next(_seq)}"


def url_for(backend: str, tmp_path: pathlib.Path, scenario: str) -> str:
    if backend == "memory":
        return f"memory://{unique(scenario)[:60]}"
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'locks.db'}"
    var = REDIS_VARS[backend]
    base = os.environ.get(var)
    if not base:
        pytest.fail(f"{var} is not set: run scripts/suites/python or scripts/test, which start Redis")
    ns = unique(scenario.replace("_", "-"))[-64:].lstrip("-.") or "ns"
    return f"{base}?namespace={ns}"


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A fresh store on each backend, shared by every provider of the test."""
    return url_for(request.param, tmp_path, request.node.originalname)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def url3(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """The same, on memory, SQLite and one Redis server (slower scenarios)."""
    return url_for(request.param, tmp_path, request.node.originalname)


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A backend shared between processes."""
    return url_for(request.param, tmp_path, request.node.originalname)


@pytest.fixture
def sqlite_url(tmp_path: pathlib.Path) -> str:
    return f"sqlite://{tmp_path / 'locks.db'}"


@pytest.fixture
def redis_url(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    return url_for("redis", tmp_path, request.node.originalname)


@pytest.fixture
def connect(url: str) -> Iterator[Callable[..., ferrolock.Locks]]:
    """connect() to the test's URL; every provider is closed at the end."""
    made = []

    def make(u: str = url) -> ferrolock.Locks:
        locks = ferrolock.connect(u)
        made.append(locks)
        return locks

    yield make
    for locks in made:
        locks.close()


@pytest.fixture
def cli() -> str:
    path = os.environ.get("FERROLOCK_CLI") or shutil.which("ferrolock")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("FERROLOCK_CLI is not set to the ferrolock command (scripts/suites/python sets it)")
    return path


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()
