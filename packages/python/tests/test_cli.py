"""Token handoff both ways with the `ferrolock` command: a lock acquired by
the CLI is released from Python, one acquired in Python is released by the
CLI; on SQLite and Redis."""

from __future__ import annotations

import subprocess

import ferrolock


def run(cli, url, *args, check=True):
    p = subprocess.run([cli, "--url", url, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_cli_acquires_python_releases(cli, shared_url):
    token = run(cli, shared_url, "acquire", "--ttl", "30s", "handoff").stdout.strip()
    assert token.startswith("flk1.")
    with ferrolock.connect(shared_url) as locks:
        assert locks.state("handoff").held
        assert locks.lock("handoff").try_acquire() is None
        held = locks.resume(token)
        assert held.name == "handoff" and held.fence == ferrolock.decode_token(token).fence
        assert held.release() is True
        assert locks.state("handoff").free
    # The token no longer holds the lock: the CLI says so with exit 1.
    assert run(cli, shared_url, "release", token, check=False).returncode == 1


def test_python_acquires_cli_releases(cli, shared_url):
    with ferrolock.connect(shared_url) as locks:
        held = locks.lock("handoff2", ttl=30, holder="py-worker").acquire(5)
        fence = held.fence
        token = held.into_token()
        assert not held.armed
        state = run(cli, shared_url, "state", "handoff2").stdout
        assert "py-worker" in state
        run(cli, shared_url, "release", token)
        assert locks.state("handoff2").free
        nxt = locks.lock("handoff2").try_acquire()
        assert nxt.fence == fence + 1
        nxt.release()


def test_cli_refresh_of_a_python_token(cli, shared_url):
    with ferrolock.connect(shared_url) as locks:
        token = locks.lock("handoff3", ttl=2).acquire().into_token()
        refreshed = run(cli, shared_url, "refresh", "--ttl", "30s", token).stdout.strip()
        assert ferrolock.decode_token(refreshed).ttl_ms == 30000
        held = locks.resume(refreshed)
        assert held.release()


def test_cli_decode_matches_python(cli, shared_url):
    with ferrolock.connect(shared_url) as locks:
        token = locks.lock("dec", holder="h1").acquire().into_token()
        out = subprocess.run([cli, "decode", token], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        info = ferrolock.decode_token(token)
        assert "dec" in out.stdout and str(info.fence) in out.stdout
        assert locks.resume(token).release()
