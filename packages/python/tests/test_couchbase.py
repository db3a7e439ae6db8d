"""BoxLang CouchbaseLock's usage patterns in Python, on gocaves (Couchbase's
mock cluster, started by scripts/suites/python or scripts/test:
FERROLOCK_TEST_COUCHBASE_URL, mode=getl), as core/tests/couchbase.rs has
them in Rust: the callback form (``run``, ``with``), the manual form with
try/finally, ``throwOnTimeout=false`` (``acquire_or_none`` → None),
``bypass``, the 31 s error, a lock handed by token to another process that
releases it, and what get-and-lock refuses (UNSUPPORTED)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import ferrolock
from conftest import unique


def getl_url(query: str = "") -> str:
    base = os.environ.get("FERROLOCK_TEST_COUCHBASE_URL")
    if not base:
        pytest.fail("FERROLOCK_TEST_COUCHBASE_URL is not set: run scripts/suites/python or scripts/test, which start gocaves")
    ns = unique("boxlang")
    return f"{base}{'&' if '?' in base else '?'}namespace={ns}{query}"


@pytest.fixture
def url() -> str:  # one namespace per test, shared by its providers
    return getl_url()


def test_callback_form_runs_the_body_under_the_lock(url):
    with ferrolock.connect(url) as locks:
        assert (locks.capabilities.max_ttl, locks.capabilities.shared, locks.capabilities.handoff) == (30, False, True)
        lock = locks.lock("invoice", ttl=10, timeout=5)

        def body(held):
            assert locks.state("invoice").held
            return held.fence

        assert lock.run(body) == 1
        assert locks.state("invoice").free
        # A failing body's exception comes back, and the lock is released.
        with pytest.raises(ZeroDivisionError):
            lock.run(lambda held: 1 / 0)
        assert locks.state("invoice").free
        # The context manager is the same form.
        with lock as held:
            assert held.fence == 3
        assert locks.state("invoice").free


def test_manual_form_releases_in_finally(url):
    with ferrolock.connect(url) as locks:
        lock = locks.lock("invoice", ttl=10)
        done = []
        held = lock.acquire(5)
        try:
            state = locks.state("invoice")
            assert (state.held, state.fence, state.mode, state.holder) == (True, held.fence, "exclusive", held.holder)
            assert 5 < state.expires_in <= 10
            done.append(held.fence)
        finally:
            assert held.release() is True
        assert done == [1] and locks.state("invoice").free
        # The release in finally runs when the work fails too.
        with pytest.raises(RuntimeError):
            held = lock.acquire(5)
            try:
                raise RuntimeError("the work failed")
            finally:
                held.release()
        assert locks.state("invoice").free


def test_acquire_or_none_on_a_held_lock_is_none(url):
    # throwOnTimeout=false: another owner gets nothing (no exception), and is
    # not kept waiting by the SDK retrying the locked document until it lapses.
    with ferrolock.connect(url) as locks, ferrolock.connect(url) as other:
        held = locks.lock("invoice", ttl=10).try_acquire()
        start = time.monotonic()
        assert other.lock("invoice", ttl=10).acquire_or_none(0.3) is None
        assert 0.3 <= time.monotonic() - start < 3
        assert held.release() is True
        nxt = other.lock("invoice", ttl=10).acquire_or_none(0.3)
        assert nxt is not None and nxt.fence == held.fence + 1
        assert nxt.release() is True


def test_bypass_grants_every_lock_without_touching_couchbase(url):
    with ferrolock.connect(url) as locks, ferrolock.connect(url + "&bypass=true") as bypass:
        a = bypass.lock("invoice").try_acquire()
        b = bypass.lock("invoice").try_acquire()
        assert (a.fence, b.fence) == (0, 0)
        assert bypass.lock("invoice").run(lambda held: held.fence) == 0
        assert locks.state("invoice").free
        a.release()
        b.release()
        # The real lock is untouched: its first fence is still 1.
        assert locks.lock("invoice").run(lambda held: held.fence) == 1


def test_a_ttl_above_30s_is_invalid_argument(url):
    with ferrolock.connect(url) as locks:
        with pytest.raises(ferrolock.InvalidArgument) as info:
            locks.lock("long", ttl=31).try_acquire()
        assert info.value.code == "INVALID_ARGUMENT"
        assert "31s" in str(info.value) and "30s" in str(info.value), str(info.value)
        with pytest.raises(ferrolock.InvalidArgument) as info:
            locks.lock("half", ttl=1.5).try_acquire()
        assert "whole number of seconds" in str(info.value), str(info.value)
        assert locks.state("long").free and locks.state("half").free
        # 30 s itself is fine.
        assert locks.lock("long", ttl=30).run(lambda held: held.fence) == 1


def test_getl_refuses_what_get_and_lock_cannot_do(url):
    with ferrolock.connect(url) as locks:
        held = locks.lock("caps", ttl=10).try_acquire()
        refusals = {
            "refresh": lambda: held.refresh(10),
            "force_release": lambda: locks.force_release("caps"),
            "shared": lambda: locks.lock("caps-r", shared=True).try_acquire(),
            "list": lambda: locks.list(),
        }
        for operation, call in refusals.items():
            with pytest.raises(ferrolock.Unsupported) as info:
                call()
            assert info.value.code == "UNSUPPORTED"
            assert "couchbase" in str(info.value) and operation in str(info.value), str(info.value)
        # None of them freed it: only its holder (the CAS) does.
        assert locks.lock("caps").try_acquire() is None
        assert held.release() is True


def test_a_lock_handed_off_by_token_is_released_by_another_process(url, tmp_path):
    # BoxLang's couchbaseUnlock(cache, name, cas) from elsewhere: the token
    # carries the CAS to another Python process, which resumes and releases.
    with ferrolock.connect(url) as locks:
        held = locks.lock("report", ttl=20, holder="py-parent").acquire(5)
        fence = held.fence
        token = held.into_token()
        assert locks.lock("report").try_acquire() is None, "the token holds the lock"
        child = textwrap.dedent(
            """
            import sys, ferrolock
            with ferrolock.connect(sys.argv[1]) as locks:
                held = locks.resume(sys.argv[2])
                assert held.fence == int(sys.argv[3]), held.fence
                print(held.release())
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", child, url, token, str(fence)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,  # not packages/python: the installed package, not its sources
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "True"
        assert "password@" not in out.stderr
        assert locks.state("report").free
        # The token is spent: resuming it again is LOST.
        with pytest.raises(ferrolock.LockLost):
            locks.resume(token)
        nxt = locks.lock("report").try_acquire()
        assert nxt.fence == fence + 1
        nxt.release()
