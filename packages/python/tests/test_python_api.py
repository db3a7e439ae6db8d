"""The Python-only surface: decorators, context managers, the default URL
and reprs. Not conformance scenarios (those are tests/vectors/scenarios.json,
in test_conformance.py); run on every backend all the same."""

from __future__ import annotations

import time

import pytest

import ferrolock
from conftest import REFUSED


def test_decorator_holds_the_lock_and_timeout_0_fails_fast(connect):
    locks = connect()

    @locks.locked("nightly-report", timeout=0)
    def report(x):
        """Docstring kept."""
        assert locks.state("nightly-report").held
        return x * 2

    assert report(21) == 42
    assert report.__doc__ == "Docstring kept."
    assert locks.state("nightly-report").free
    held = locks.lock("nightly-report").try_acquire()
    start = time.monotonic()
    with pytest.raises(ferrolock.LockTimeout):
        report(1)
    assert time.monotonic() - start < 1
    held.release()


def test_with_connect_closes(url):
    with ferrolock.connect(url) as locks:
        locks.ping()
        assert locks.lock("w").try_acquire().release()
    assert locks.closed
    with pytest.raises(ferrolock.Closed):
        locks.ping()


def test_one_lock_object_serves_many_acquisitions_until_close(url):
    # The native Lock is made once by locks.lock(); each call goes through
    # the provider's current connection, so a closed provider answers Closed.
    locks = ferrolock.connect(url)
    lock = locks.lock("reused", ttl=5, holder="me")
    fences = []
    for take in (lock.try_acquire, lambda: lock.acquire(1), lambda: lock.acquire_or_none(1)):
        held = take()
        assert held is not None and locks.state("reused").holder == "me"
        fences.append(held.fence)
        assert held.release()
    assert fences[0] < fences[1] < fences[2]
    locks.close()
    for call in (lock.try_acquire, lambda: lock.acquire(0), lambda: lock.acquire_or_none(0)):
        with pytest.raises(ferrolock.Closed):
            call()


def test_resumed_handle_is_a_context_manager(connect):
    locks = connect()
    held = locks.lock("cm").try_acquire()
    if not locks.capabilities.handoff:
        # A lock that dies with its connection (PostgreSQL advisory) cannot be handed off.
        with pytest.raises(ferrolock.Unsupported):
            held.into_token()
        assert held.release()
        return
    token = held.into_token()
    with locks.resume(token) as held:
        assert held.armed and locks.state("cm").held
    assert not held.armed and locks.state("cm").free


def test_connect_without_a_url_uses_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("FERROLOCK_URL", f"sqlite://{tmp_path / 'default.db'}")
    assert ferrolock.default_url() == f"sqlite://{tmp_path / 'default.db'}"
    with ferrolock.connect() as locks:
        assert locks.backend == "sqlite" and locks.url.endswith("default.db")
        assert locks.lock("d").try_acquire().release()
    monkeypatch.delenv("FERROLOCK_URL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with ferrolock.connect() as locks:
        assert locks.url == f"sqlite://{tmp_path / 'xdg' / 'ferrolock' / 'locks.db'}"
        assert locks.ping() is None


def test_urls_in_reprs_and_errors_hide_passwords(redis_url):
    with_password = redis_url.replace("redis://", "redis://:hunter2@", 1).split("?")[0]
    # The server answers and refuses it: a bad argument, not an outage.
    with pytest.raises(ferrolock.InvalidArgument, match="retrying will not help") as info:
        ferrolock.connect(with_password).ping()
    assert "hunter2" not in str(info.value)
    host_port = with_password.split("@", 1)[1].split("/")[0]
    assert host_port in str(info.value)


def test_a_with_body_that_releases_or_hands_off_its_lock_ends_without_lost(connect):
    locks = connect()
    with locks.lock("early") as held:
        assert held.release()
    assert locks.state("early").free
    if not locks.capabilities.handoff:
        # A lock that dies with its connection (PostgreSQL advisory) cannot be handed off.
        with pytest.raises(ferrolock.Unsupported):
            with locks.lock("handed") as held:
                held.into_token()
        assert locks.state("handed").free
        return
    with locks.lock("handed") as held:
        token = held.into_token()
    assert locks.state("handed").held  # the token holds it now
    assert locks.resume(token).release()


def test_a_force_released_lock_says_so_in_its_lost_error(connect, refused):
    locks = connect()
    if refused("force_release", lambda: locks.force_release("forced")) is REFUSED:
        return  # Couchbase's get-and-lock: only the CAS (its holder) unlocks
    with pytest.raises(ferrolock.LockLost, match="force-released"):
        with locks.lock("forced"):
            assert locks.force_release("forced")
