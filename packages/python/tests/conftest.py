"""Fixtures shared by the suite: one URL per backend fixture under test
(the rows of tests/vectors/backends.json, which every suite reads), a fresh
store or namespace for every test.

Redis topologies come from scripts/test (or scripts/suites/python), which
start the servers and export the variables the table's rows name
(FERROLOCK_TEST_REDIS_URL, ..._QUORUM_URL, ..._CLUSTER_URL, ..._TLS_URL,
..._TLS_CLUSTER_URL). A missing variable is a failure, not a skip.
"""

from __future__ import annotations

import itertools
import json
import os
import pathlib
import shutil
import time
from typing import Callable, Iterator, Set

import pytest

import ferrolock

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "tests" / "vectors"

_seq = itertools.count()

# Rows with a `feature` need that cargo feature in this binding's build: it
# has `backends` (the core's), which has every one of them (couchbase too).
BUILT_FEATURES = {"couchbase"}
FIXTURES = {
    row["name"]: row
    for row in json.loads((VECTORS / "backends.json").read_text(encoding="utf-8"))["fixtures"]
    if "feature" not in row or row["feature"] in BUILT_FEATURES
}
BACKENDS = list(FIXTURES)
# A sentinel: what ``refused`` returns where the backend refuses the operation.
REFUSED = object()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{time.time_ns() % 10**9}-{next(_seq)}"


def url_for(fixture: str, tmp_path: pathlib.Path, scenario: str) -> str:
    """A fresh store of the backends.json row ``fixture``, as its ``url`` says."""
    row = FIXTURES[fixture]
    if row["url"] == "memory":
        return f"memory://{unique(scenario)[:60]}"
    if row["url"] == "sqlite":
        return f"sqlite://{tmp_path / 'locks.db'}"
    assert row["url"] == "env", f"backends.json: {fixture} makes its URL by {row['url']!r}"
    base = os.environ.get(row["env"])
    if not base:
        pytest.fail(f"{row['env']} is not set: run scripts/suites/python or scripts/test, which start Redis")
    ns = unique(scenario.replace("_", "-"))[-64:].lstrip("-.") or "ns"
    return f"{base}{'&' if '?' in base else '?'}namespace={ns}"


@pytest.fixture(params=BACKENDS)
def backend_fixture(request: pytest.FixtureRequest) -> str:
    """Each row of backends.json in turn: where the conformance scenarios run."""
    return request.param


@pytest.fixture
def url(backend_fixture: str, tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    """A fresh store on each backend fixture, shared by every provider of the test."""
    return url_for(backend_fixture, tmp_path, request.node.originalname)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def url3(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """The same, on memory, SQLite and one Redis server (slower scenarios)."""
    return url_for(request.param, tmp_path, request.node.originalname)


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A backend shared between processes."""
    return url_for(request.param, tmp_path, request.node.originalname)


@pytest.fixture
def sqlite_url(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    return url_for("sqlite", tmp_path, request.node.originalname)


@pytest.fixture
def redis_url(tmp_path: pathlib.Path, request: pytest.FixtureRequest) -> str:
    return url_for("redis", tmp_path, request.node.originalname)


@pytest.fixture
def short(backend_fixture: str) -> Callable[[float], float]:
    """``short(seconds)``: a short ttl rounded up to the backend's ttl step
    (backends.json ``ttl_unit_ms``: Couchbase's get-and-lock takes whole
    seconds), so a scenario scales its waits with it."""
    unit_ms = FIXTURES[backend_fixture].get("ttl_unit_ms", 1)

    def short(seconds: float) -> float:
        ms = round(seconds * 1000)
        return -(-ms // unit_ms) * unit_ms / 1000

    return short


@pytest.fixture
def refuses(backend_fixture: str) -> Set[str]:
    """The operations backends.json says the backend refuses as UNSUPPORTED."""
    return set(FIXTURES[backend_fixture].get("unsupported", []))


@pytest.fixture
def refused(backend_fixture: str) -> Callable[..., object]:
    """``refused(operation, call)``: ``call()``'s result, or ``REFUSED``
    where backends.json says the backend refuses ``operation`` (its
    ``unsupported``: ``list``, ``refresh``, ``force_release``); then the
    call must raise Unsupported naming the backend."""
    row = FIXTURES[backend_fixture]
    refuses = set(row.get("unsupported", []))

    def refused(operation: str, call: Callable[[], object]) -> object:
        if operation not in refuses:
            return call()
        with pytest.raises(ferrolock.Unsupported) as info:
            call()
        assert info.value.code == "UNSUPPORTED", operation
        assert row["backend"] in str(info.value), f"{operation}: {info.value} should name {row['backend']}"
        return REFUSED

    return refused


@pytest.fixture
def connect(url: str, backend_fixture: str) -> Iterator[Callable[..., ferrolock.Locks]]:
    """connect() to the test's URL; every provider is closed at the end."""
    made = []

    def make(u: str = url) -> ferrolock.Locks:
        locks = ferrolock.connect(u)
        made.append(locks)
        if u == url:
            opens = FIXTURES[backend_fixture]["backend"]
            assert locks.backend == opens, f"backends.json: {backend_fixture} opens {opens}, not {locks.backend}"
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
