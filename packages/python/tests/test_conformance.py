"""The core's conformance scenarios (core/tests/conformance.rs), ported to
the synchronous Python API and run on memory, SQLite and the three Redis
topologies. A scenario a backend cannot support asserts its Unsupported
error instead."""

from __future__ import annotations

import threading
import time

import pytest

import ferrolock
from conftest import wait_until

HANG = 20.0


def test_mutual_exclusion_of_8_threads(connect):
    locks = connect()
    counter = [0]
    errors = []

    def work():
        try:
            lock = locks.lock("counter", timeout=15)
            for _ in range(25):
                with lock:
                    v = counter[0]
                    time.sleep(0)  # a non-atomic increment: read, yield, write
                    counter[0] = v + 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG)
    assert not errors
    assert counter[0] == 200


def test_try_acquire_on_held_lock_is_none(connect):
    locks = connect()
    held = locks.lock("a").try_acquire()
    assert held is not None
    assert locks.lock("a").try_acquire() is None
    # Not reentrant: the same provider and lock wait like anyone else.
    assert locks.lock("a").acquire_or_none(0.05) is None
    assert held.release() is True
    assert locks.lock("a").try_acquire() is not None


def test_acquire_times_out_not_early(connect):
    locks = connect()
    _held = locks.lock("t").acquire(1)
    start = time.monotonic()
    with pytest.raises(ferrolock.LockTimeout) as info:
        locks.lock("t").acquire(0.3)
    assert time.monotonic() - start >= 0.3
    err = info.value
    assert err.code == "TIMEOUT" and err.name == "t" and err.waited >= 0.3
    assert isinstance(err, TimeoutError)


def test_fences_start_at_1_and_increase(connect):
    locks = connect()
    last = 0
    for i in range(5):
        held = locks.lock("f").try_acquire()
        if i == 0:
            assert held.fence == 1
        assert held.fence > last
        last = held.fence
        held.release()
    assert locks.lock("g").try_acquire().fence == 1  # per key


def test_expiry_lets_another_owner_in_with_higher_fence(connect):
    locks = connect()
    first = locks.lock("e", ttl=0.2, auto_renew=False).try_acquire()
    start = time.monotonic()
    second = connect().lock("e").acquire(10)
    assert time.monotonic() - start >= 0.15, "got in before expiry"
    assert second.fence > first.fence
    first.into_token()


def test_stale_release_is_false_and_leaves_new_holder(connect):
    locks = connect()
    stale = locks.lock("s", ttl=0.1, auto_renew=False).try_acquire()
    time.sleep(0.15)
    fresh = locks.lock("s").try_acquire()
    assert fresh is not None, "expired lock is free"
    assert stale.release() is False
    state = locks.state("s")
    assert state.held and state.fence == fresh.fence, "a stale release freed the new holder's lock"
    assert fresh.release() is True


def test_refresh_after_loss_is_lost(connect):
    locks = connect()
    held = locks.lock("r", ttl=0.1, auto_renew=False).try_acquire()
    held.refresh(0.1)
    time.sleep(0.15)
    _other = locks.lock("r").try_acquire()
    assert _other is not None
    with pytest.raises(ferrolock.LockLost) as info:
        held.refresh(1)
    assert info.value.code == "LOST"
    assert held.lost


def test_release_is_idempotent(connect):
    held = connect().lock("i").try_acquire()
    assert held.release() is True
    assert held.release() is False
    assert held.release() is False


def test_operations_after_release_or_handoff_are_not_held(connect):
    locks = connect()
    held = locks.lock("n").try_acquire()
    held.release()
    with pytest.raises(ferrolock.NotHeld) as info:
        held.refresh(1)
    assert info.value.code == "NOT_HELD"
    with pytest.raises(ferrolock.NotHeld):
        held.into_token()

    held = locks.lock("n").try_acquire()
    token = held.into_token()
    with pytest.raises(ferrolock.NotHeld):
        held.refresh(1)
    assert held.release() is False, "a handed-off handle must not release"
    del held
    assert locks.state("n").held  # the token owns it
    assert locks.resume(token).release() is True


def test_token_resumes_in_another_provider(connect):
    a = connect()
    held = a.lock("job", holder="worker-a").try_acquire()
    fence = held.fence
    token = held.into_token()
    assert token.startswith("flk1.")
    info = ferrolock.decode_token(token)
    assert (info.name, info.fence, info.holder, info.backend) == ("job", fence, "worker-a", a.backend)

    b = connect()
    resumed = b.resume(token)
    assert resumed.fence == fence
    assert a.lock("job").try_acquire() is None
    assert resumed.release() is True
    assert a.state("job").free
    with pytest.raises(ferrolock.LockLost):
        b.resume(token)


def test_force_release_state_and_list_show_no_owner_id(connect):
    locks = connect()
    assert locks.state("inv:1") == ferrolock.LockState(held=False)
    h1 = locks.lock("inv:1", holder="billing").try_acquire()
    _h2 = locks.lock("inv:2").try_acquire()
    _other = locks.lock("other").try_acquire()
    st = locks.state("inv:1")
    assert (st.held, st.fence, st.mode, st.holder, st.readers) == (True, h1.fence, "exclusive", "billing", 0)
    assert 20 < st.expires_in <= 30
    listed = locks.list("inv:")
    assert [i.name for i in listed] == ["inv:1", "inv:2"]
    assert len(locks.list()) == 3

    token = h1.into_token()
    import base64

    owner = base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4))[4:20]
    shown = repr(locks.state("inv:1")) + repr(listed) + repr(h1)
    assert owner.hex() not in shown and base64.urlsafe_b64encode(owner).decode()[:20] not in shown

    assert locks.force_release("inv:1") is True
    assert locks.force_release("inv:1") is False
    assert locks.state("inv:1").free
    with pytest.raises(ferrolock.LockLost):
        locks.resume(token)


def test_shared_locks_admit_readers_and_exclude_writers(connect):
    locks = connect()
    if not locks.capabilities.shared:
        with pytest.raises(ferrolock.Unsupported) as info:
            locks.lock("rw", shared=True).try_acquire()
        assert info.value.code == "UNSUPPORTED"
        return
    readers = [locks.lock("rw", shared=True).try_acquire() for _ in range(3)]
    assert all(readers)
    st = locks.state("rw")
    assert (st.mode, st.readers) == ("shared", 3)
    assert locks.lock("rw").try_acquire() is None, "writer got in beside readers"
    for r in readers:
        assert r.release()
    writer = locks.lock("rw").try_acquire()
    assert writer is not None
    assert locks.lock("rw", shared=True).try_acquire() is None, "reader got in beside a writer"
    writer.release()


def test_waiting_writer_is_not_starved_by_new_readers(connect):
    locks = connect()
    if not locks.capabilities.shared:
        with pytest.raises(ferrolock.Unsupported):
            locks.lock("ws", shared=True).try_acquire()
        return
    first_reader = locks.lock("ws", shared=True).try_acquire()
    other = connect()
    result = []
    t = threading.Thread(target=lambda: result.append(other.lock("ws").acquire(15)))
    t.start()
    time.sleep(0.2)  # the writer is queued
    if locks.capabilities.queue:
        for _ in range(5):
            assert locks.lock("ws", shared=True).try_acquire() is None, "a new reader passed a waiting writer"
            time.sleep(0.02)
    first_reader.release()
    t.join(HANG)
    assert result and result[0].release()


def test_waiters_are_served_in_fifo_order(connect):
    locks = connect()
    fifo = locks.capabilities.queue
    holder = locks.lock("q").try_acquire()
    order = []
    threads = []
    for i in range(4):
        lock = connect().lock("q", timeout=15)

        def work(i=i, lock=lock):
            with lock:
                order.append(i)
                time.sleep(0.01)

        t = threading.Thread(target=work)
        t.start()
        threads.append(t)
        time.sleep(0.1)  # queue them in order
    holder.release()
    for t in threads:
        t.join(HANG)
    if fifo:
        assert order == [0, 1, 2, 3]
    else:
        # No queue (a quorum): waiters race on release notices; each is
        # still served once.
        assert sorted(order) == [0, 1, 2, 3]


def test_release_wakes_a_waiter_promptly(connect):
    locks = connect()
    held = locks.lock("w").try_acquire()
    other = connect()
    got = []
    t = threading.Thread(target=lambda: got.append((other.lock("w").acquire(15), time.monotonic())))
    t.start()
    time.sleep(0.7)  # the waiter's fallback poll has backed off past the release
    released_at = time.monotonic()
    held.release()
    t.join(HANG)
    h, got_at = got[0]
    assert got_at - released_at < 0.4, got_at - released_at
    h.release()


def test_timed_out_wait_leaves_nothing_held(connect):
    locks = connect()
    h = locks.lock("c").try_acquire()
    assert locks.lock("c").acquire_or_none(0.1) is None
    h.release()
    start = time.monotonic()
    nxt = locks.lock("c").acquire(10)
    assert time.monotonic() - start < 3, "a timed-out waiter held up the queue"
    assert nxt.fence == 2
    nxt.release()


def test_watchdog_keeps_lock_past_its_ttl(connect):
    locks = connect()
    renewed = []
    locks.on("renewed", renewed.append)
    held = locks.lock("wd", ttl=0.3).try_acquire()
    time.sleep(1.0)
    assert not held.lost
    assert locks.lock("wd").try_acquire() is None, "renewed lock was taken"
    assert held.release()
    assert wait_until(lambda: len(renewed) >= 2), f"renewed {len(renewed)} times"


def test_without_auto_renew_the_lock_expires_at_its_ttl(connect):
    locks = connect()
    held = locks.lock("nr", ttl=0.3, auto_renew=False).try_acquire()
    assert locks.lock("nr").try_acquire() is None
    time.sleep(0.5)
    assert locks.state("nr").free
    assert held.release() is False


def test_loss_is_noticed_and_with_ends_with_lost(connect):
    locks = connect()
    admin = connect()
    with pytest.raises(ferrolock.LockLost) as info:
        with locks.lock("lost", ttl=0.3, timeout=5) as held:
            admin.force_release("lost")
            assert held.wait_lost(10), "loss not noticed"
            assert held.lost
    assert info.value.name == "lost"
    # run() too, and a body's own exception goes first.
    def body(held):
        admin.force_release("lost")
        assert held.wait_lost(10)
        return 7

    with pytest.raises(ferrolock.LockLost):
        locks.lock("lost", ttl=0.3).run(body)
    with pytest.raises(KeyError):
        with locks.lock("lost", ttl=0.3) as held:
            admin.force_release("lost")
            held.wait_lost(10)
            raise KeyError("mine")


def test_run_returns_the_body_value_and_releases(connect):
    locks = connect()
    assert locks.lock("run").run(lambda held: held.fence * 10) == 10
    assert locks.state("run").free

    def bad(_held):
        raise ValueError("bad")

    with pytest.raises(ValueError):
        locks.lock("run").run(bad)
    assert locks.state("run").free
    _h = locks.lock("run").try_acquire()
    with pytest.raises(ferrolock.LockTimeout):
        locks.lock("run").run(lambda h: None, timeout=0.05)


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


def test_events_report_what_happened(connect):
    locks = connect()
    seen = []
    locks.on("*", seen.append)
    held = locks.lock("ev", holder="me").try_acquire()
    assert locks.lock("ev").acquire_or_none(0.05) is None
    held.release()
    _h = locks.lock("ev").try_acquire()
    locks.force_release("ev")
    assert wait_until(lambda: len(seen) >= 5)
    assert [e.kind for e in seen] == ["acquired", "timed_out", "released", "acquired", "force_released"]
    assert all(e.name == "ev" for e in seen)
    with pytest.raises(ferrolock.InvalidArgument):
        locks.on("exploded", print)


def test_closed_provider_refuses_operations(connect):
    locks = connect()
    held = locks.lock("x").try_acquire()
    locks.close()
    locks.close()  # twice is fine
    assert locks.closed
    for op in (lambda: locks.lock("x").try_acquire(), lambda: locks.state("x"), lambda: held.refresh(1), locks.ping):
        with pytest.raises(ferrolock.Closed) as info:
            op()
        assert info.value.code == "CLOSED"


def test_with_connect_closes(url):
    with ferrolock.connect(url) as locks:
        locks.ping()
        assert locks.lock("w").try_acquire().release()
    assert locks.closed
    with pytest.raises(ferrolock.Closed):
        locks.ping()


def test_bypass_grants_every_lock(url, connect):
    sep = "&" if "?" in url else "?"
    locks = connect(url + sep + "bypass=true")
    a = locks.lock("b").try_acquire()
    b = locks.lock("b").try_acquire()
    assert (a.fence, b.fence) == (0, 0)
    assert connect().state("b").free  # the real backend was not touched
    a.release()
    b.release()


def test_dropped_handle_releases_its_lock(connect):
    import gc
    import warnings

    locks = connect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        held = locks.lock("d").try_acquire()
        del held
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    nxt = locks.lock("d").acquire(5)
    assert nxt.fence == 2
    nxt.release()


def test_resumed_handle_is_a_context_manager(connect):
    locks = connect()
    token = locks.lock("cm").try_acquire().into_token()
    with locks.resume(token) as held:
        assert held.armed and locks.state("cm").held
    assert not held.armed and locks.state("cm").free


def test_foreign_and_malformed_tokens_are_invalid(connect, tmp_path):
    locks = connect()
    other = f"sqlite://{tmp_path / 'x.db'}" if locks.backend == "memory" else f"memory://foreign-{time.time_ns()}"
    token = connect(other).lock("f").try_acquire().into_token()
    with pytest.raises(ferrolock.InvalidToken) as info:
        locks.resume(token)
    assert "backend" in str(info.value) and info.value.code == "INVALID_TOKEN"
    for bad in ["", "flk1.", "flk1.!!!!", "flk2.AAAA", token[:-4], "flk1." * 1000]:
        with pytest.raises(ferrolock.InvalidToken):
            locks.resume(bad)


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


def test_urls_in_reprs_and_errors_hide_passwords(url):
    if not url.startswith("redis://"):
        return
    with_password = url.replace("redis://", "redis://:hunter2@", 1).split("?")[0]
    with pytest.raises(ferrolock.BackendUnavailable) as info:
        ferrolock.connect(with_password).ping()
    assert "hunter2" not in str(info.value)
