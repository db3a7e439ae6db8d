"""Threads, processes, the GIL, Ctrl-C and fork."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import ferrolock
from conftest import wait_until


def _count(url: str, path: str, rounds: int) -> None:
    """A multiprocessing worker: a non-atomic increment of a file under the lock."""
    with ferrolock.connect(url) as locks:
        lock = locks.lock("counter", timeout=60)
        for _ in range(rounds):
            with lock:
                with open(path) as f:
                    v = int(f.read() or 0)
                time.sleep(0.0005)
                with open(path, "w") as f:
                    f.write(str(v + 1))


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_processes_contending_keep_an_exact_counter(shared_url, tmp_path, method):
    path = str(tmp_path / "counter")
    open(path, "w").close()
    ctx = multiprocessing.get_context(method)
    procs = [ctx.Process(target=_count, args=(shared_url, path, 25), daemon=True) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert int(open(path).read()) == 100


def test_threads_and_processes_together(shared_url, tmp_path):
    path = str(tmp_path / "counter")
    open(path, "w").close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_count, args=(shared_url, path, 20), daemon=True) for _ in range(2)]
    threads = [threading.Thread(target=_count, args=(shared_url, path, 20)) for _ in range(3)]
    for w in procs + threads:
        w.start()
    for t in threads:
        t.join(120)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert int(open(path).read()) == 100


def test_the_gil_is_released_while_waiting(url3):
    with ferrolock.connect(url3) as locks:
        held = locks.lock("gil").try_acquire()
        done = threading.Event()
        ticks = [0]

        def spin():
            while not done.is_set():
                ticks[0] += 1
                time.sleep(0)

        t = threading.Thread(target=spin)
        t.start()
        before = ticks[0]
        assert locks.lock("gil").acquire_or_none(0.5) is None  # blocks this thread 0.5 s
        during = ticks[0] - before
        done.set()
        t.join()
        held.release()
        assert during > 100, f"the other thread ran only {during} times while we waited"


def test_a_wait_does_not_block_other_threads_calls(url3):
    with ferrolock.connect(url3) as locks:
        held = locks.lock("busy").try_acquire()
        waiting = threading.Event()
        locks.on("queued", lambda e: waiting.set())
        waiter = threading.Thread(target=lambda: locks.lock("busy").acquire_or_none(1.0))
        waiter.start()
        assert waiting.wait(10)
        start = time.monotonic()
        for i in range(20):
            locks.lock(f"other-{i}").try_acquire().release()
        assert time.monotonic() - start < 0.8
        waiter.join()
        held.release()


WAITER = textwrap.dedent(
    """
    import signal, sys, ferrolock
    # Python leaves SIGINT ignored when its parent did (a suite started in
    # the background by a non-interactive shell): restore Ctrl-C's handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    locks = ferrolock.connect(sys.argv[1])
    locks.on("queued", lambda e: print("queued", flush=True))
    try:
        locks.lock("ctrl-c").acquire(timeout=None)
        print("acquired", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    """
)


def test_ctrl_c_interrupts_a_blocking_wait_and_leaves_nothing_held(shared_url, tmp_path):
    with ferrolock.connect(shared_url) as locks:
        held = locks.lock("ctrl-c").try_acquire()
        p = subprocess.Popen(
            [sys.executable, "-c", WAITER, shared_url], stdout=subprocess.PIPE, text=True, cwd=tmp_path
        )
        assert p.stdout.readline().strip() == "queued"  # in the wait, in the queue
        start = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=20)
        assert p.returncode == 3 and out.strip() == "interrupted"
        assert time.monotonic() - start < 5
        held.release()
        # The interrupted waiter left the queue: the next one gets in at once.
        start = time.monotonic()
        nxt = locks.lock("ctrl-c").acquire(10)
        assert time.monotonic() - start < 2, "an interrupted waiter held up the queue"
        assert nxt.fence == held.fence + 1
        nxt.release()


def _child_after_fork(locks, held, url, other_url):
    # Inherited handles are disarmed: nothing here releases the parent's lock.
    ok = (not held.armed) and held.release() is False
    try:
        held.refresh(1)
        ok = False
    except ferrolock.NotHeld:
        pass
    if locks.backend == "sqlite":
        # SQLite forbids using in a child a file its parent had open.
        for use in (lambda: locks.lock("in-child").try_acquire(), lambda: ferrolock.connect(url)):
            try:
                use()
                ok = False
            except ferrolock.Unsupported as e:
                ok = ok and "forked" in str(e)
        # Another file is fine.
        with ferrolock.connect(other_url) as fresh:
            ok = ok and fresh.lock("fresh-in-child").try_acquire().release()
        return ok
    # The inherited provider connects again and works.
    other = locks.lock("in-child").acquire(5)
    ok = ok and locks.state("forked").held
    other.release()
    # A fresh provider works too.
    with ferrolock.connect(url) as fresh:
        ok = ok and fresh.lock("fresh-in-child").try_acquire().release()
    return ok


def test_fork_disarms_inherited_handles_and_the_runtime_survives(shared_url, tmp_path):
    locks = ferrolock.connect(shared_url)
    held = locks.lock("forked", ttl=5).try_acquire()
    locks.lock("warm").try_acquire().release()
    _in_child(lambda: _child_after_fork(locks, held, shared_url, f"sqlite://{tmp_path / 'other.db'}"))
    # The parent still holds and renews its lock.
    assert held.armed and not held.lost
    assert locks.state("forked").held
    held.refresh(5)
    assert held.release() is True
    locks.close()


def test_a_lock_made_before_fork_acquires_through_the_childs_connection(redis_url):
    # A native Lock keeps the core lock of its provider's connection; in a
    # child it makes it again from the provider's new connection, never
    # using the parent's.
    locks = ferrolock.connect(redis_url)
    lock = locks.lock("made-before-fork", ttl=5)
    assert lock.try_acquire().release()  # the parent's core lock exists now
    def child() -> bool:
        held = lock.acquire(5)
        ok = held.armed and locks.state("made-before-fork").held
        return bool(ok and held.release())

    _in_child(child)
    # The parent's lock still goes through the parent's connection.
    held = lock.try_acquire()
    assert held is not None and held.release()
    locks.close()


def test_a_sqlite_file_closed_before_fork_is_usable_in_the_child(sqlite_url):
    with ferrolock.connect(sqlite_url) as locks:
        locks.lock("x").try_acquire().release()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with ferrolock.connect(sqlite_url) as again:
                code = 0 if again.lock("x").try_acquire().release() else 1
        finally:
            os._exit(code)
    status = _wait_child(pid)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_events_keep_flowing_in_the_parent_after_a_fork(sqlite_url):
    locks = ferrolock.connect(sqlite_url)
    seen = []
    locks.on("acquired", seen.append)
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _wait_child(pid)
    locks.lock("ev").try_acquire().release()
    assert wait_until(lambda: len(seen) == 1)
    locks.close()


def _in_child(check) -> None:
    """Fork; in the child, ``check()`` must return true (an exception is
    reported back, and the child never runs the parent's pytest)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            code = 0 if check() else 1
        except BaseException as e:
            os.write(w, repr(e).encode())
        finally:
            os._exit(code)
    os.close(w)
    status = _wait_child(pid)
    msg = os.read(r, 4096).decode()
    os.close(r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, msg


def _wait_child(pid: int, timeout: float = 60.0) -> int:
    """waitpid with a deadline: a child stuck after fork fails the test, not the suite."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"forked child {pid} hung")


def _owner(token: str) -> bytes:
    import base64

    body = token[5:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))[4:20]


def test_forked_children_never_repeat_owner_ids(redis_url):
    # A child inherits its parent's random generator: owner ids (the proof
    # of ownership) must still differ between parent, children and siblings.
    with ferrolock.connect(redis_url) as locks:
        owners = {_owner(locks.lock("parent").try_acquire().into_token())}
        children = []
        for i in range(3):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                try:
                    token = locks.lock(f"child-{i}").try_acquire().into_token()
                    os.write(w, token.encode())
                finally:
                    os._exit(0)
            os.close(w)
            children.append((pid, r))
        for pid, r in children:
            _wait_child(pid)
            token = os.read(r, 8192).decode()
            os.close(r)
            owners.add(_owner(token))
        owners.add(_owner(locks.lock("parent-again").try_acquire().into_token()))
        assert len(owners) == 5
