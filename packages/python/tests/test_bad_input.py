"""Bad input: a typed exception naming the argument, never a crash."""

from __future__ import annotations

import math
import os
import time
from datetime import timedelta

import pytest

import ferrolock


@pytest.fixture
def locks(url3):
    with ferrolock.connect(url3) as locks:
        yield locks


BAD_NAMES = [None, b"bytes", 42, 1.5, ["x"], object()]
BAD_DURATIONS = [None, -1, -0.001, math.nan, math.inf, -math.inf, "10", "10x", "-1s", b"1", True, [1], timedelta(seconds=-1)]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_name_of_the_wrong_type(locks, name):
    with pytest.raises(ferrolock.InvalidArgument, match="name") as info:
        locks.lock(name)
    assert info.value.code == "INVALID_ARGUMENT" and isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, TypeError)  # the cause is kept
    for op in (locks.state, locks.force_release):
        with pytest.raises(ferrolock.InvalidArgument, match="name"):
            op(name)


@pytest.mark.parametrize("value", BAD_DURATIONS, ids=repr)
def test_ttl_of_the_wrong_type_or_range(locks, value):
    with pytest.raises(ferrolock.InvalidArgument, match="ttl"):
        locks.lock("x", ttl=value)


@pytest.mark.parametrize("value", [v for v in BAD_DURATIONS if v is not None], ids=repr)
def test_timeout_of_the_wrong_type_or_range(locks, value):
    with pytest.raises(ferrolock.InvalidArgument, match="timeout"):
        locks.lock("x", timeout=value)
    with pytest.raises(ferrolock.InvalidArgument, match="timeout"):
        locks.lock("x").acquire(value)
    with pytest.raises(ferrolock.InvalidArgument, match="timeout"):
        locks.lock("x").acquire_or_none(value)


def test_infinite_timeout_points_to_none(locks):
    with pytest.raises(ferrolock.InvalidArgument, match="timeout=None"):
        locks.lock("x").acquire(math.inf)


def test_durations_accept_timedelta_and_numbers(locks):
    held = locks.lock("td", ttl=timedelta(seconds=5), timeout=timedelta(milliseconds=500)).acquire()
    assert held.ttl == 5.0
    held.refresh(timedelta(seconds=7))
    assert held.ttl == 7.0
    held.refresh(8)
    assert held.release()


@pytest.mark.parametrize("value", [None, -1, math.nan, math.inf, "1"], ids=repr)
def test_refresh_ttl(locks, value):
    held = locks.lock("rf").try_acquire()
    if value is None:
        held.refresh(None)  # None means "the current ttl"
    else:
        with pytest.raises(ferrolock.InvalidArgument, match="ttl"):
            held.refresh(value)
    assert held.release()


def test_ttl_above_the_backends_maximum(locks):
    max_ttl = locks.capabilities.max_ttl
    for ttl in (max_ttl + 1, 1e30):
        with pytest.raises(ferrolock.InvalidArgument, match="maximum"):
            locks.lock("big", ttl=ttl).try_acquire()
    with pytest.raises(ferrolock.InvalidArgument, match="ttl"):
        locks.lock("zero", ttl=0).try_acquire()
    held = locks.lock("big").try_acquire()
    with pytest.raises(ferrolock.InvalidArgument, match="maximum"):
        held.refresh(max_ttl + 1)
    assert held.release()
    assert locks.list() == [], "a failed call left something held"


@pytest.mark.parametrize(
    "name,needle",
    [("", "empty"), ("x" * 513, "513"), ("bad\nname", "control"), ("nul\0", "control")],
    ids=["empty", "too-long", "newline", "nul"],
)
def test_bad_names_are_reported_by_the_first_operation(locks, name, needle):
    lock = locks.lock(name)  # no I/O yet: no error
    with pytest.raises(ferrolock.InvalidArgument, match=needle):
        lock.try_acquire()
    with pytest.raises(ferrolock.InvalidArgument):
        locks.state(name)


def test_good_odd_names(locks):
    for name in ["é" * 256, "{braces}:and spaces/ünïcode", "x" * 512]:
        held = locks.lock(name).try_acquire()
        assert held is not None and held.name == name
        held.release()


def test_holder_and_flags(locks):
    with pytest.raises(ferrolock.InvalidArgument, match="holder"):
        locks.lock("h", holder=b"x")
    with pytest.raises(ferrolock.InvalidArgument, match="holder"):
        locks.lock("h", holder="a\x07b").try_acquire()
    with pytest.raises(ferrolock.InvalidArgument, match="shared"):
        locks.lock("h", shared="yes")
    with pytest.raises(ferrolock.InvalidArgument, match="auto_renew"):
        locks.lock("h", auto_renew=None)
    with pytest.raises(ferrolock.InvalidArgument, match="fn"):
        locks.lock("h").run(None)
    with pytest.raises(ferrolock.InvalidArgument, match="kind"):
        locks.on(b"acquired", print)
    with pytest.raises(ferrolock.InvalidArgument, match="fn"):
        locks.on("acquired", None)


@pytest.mark.parametrize("token", [None, b"flk1.AAAA", 7], ids=repr)
def test_token_of_the_wrong_type(locks, token):
    with pytest.raises(ferrolock.InvalidArgument, match="token"):
        locks.resume(token)
    with pytest.raises(ferrolock.InvalidArgument, match="token"):
        ferrolock.decode_token(token)


def test_forged_tokens(locks):
    import base64

    real = locks.lock("forge").try_acquire()
    token = real.into_token()
    raw = bytearray(base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4)))
    raw[4] ^= 0xFF  # another owner id: well-formed, but not the owner
    forged = "flk1." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(ferrolock.LockLost):
        locks.resume(forged)
    assert locks.state("forge").held
    for bad in [token + "A", token[:-2], "flk1." + "A" * 5000, token.replace("flk1.", "flk9.")]:
        with pytest.raises(ferrolock.InvalidToken):
            locks.resume(bad)
    assert locks.resume(token).release()


@pytest.mark.parametrize(
    "url,needle",
    [
        ("nope://x", "unknown scheme"),
        ("no-scheme-here", "no scheme"),
        ("memory://?namespace=bad/ns", "namespace"),
        ("memory://?colour=blue", "colour"),
        ("sqlite://", "path"),
    ],
)
def test_bad_urls(url, needle):
    with pytest.raises(ferrolock.InvalidArgument, match=needle):
        ferrolock.connect(url)


@pytest.mark.parametrize("url", [b"memory://", 5, ""], ids=repr)
def test_url_of_the_wrong_type(url):
    with pytest.raises(ferrolock.InvalidArgument, match="url"):
        ferrolock.connect(url)


def test_passwords_never_show():
    with pytest.raises(ferrolock.InvalidArgument) as info:
        ferrolock.connect("ftp://alice:hunter2@example")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ferrolock.Unsupported) as info2:
        ferrolock.connect("redis+runner://alice:hunter2@db")
    assert "hunter2" not in str(info2.value) and "redis-runner" in str(info2.value)
    assert info2.value.code == "UNSUPPORTED"
    # Couchbase (in this build): a dead port is BACKEND_UNAVAILABLE within
    # its connect_timeout, the password replaced by ***.
    start = time.monotonic()
    with pytest.raises(ferrolock.BackendUnavailable) as info3:
        ferrolock.connect("couchbase://alice:hunter2@127.0.0.1:1/app?connect_timeout=1")
    assert time.monotonic() - start < 10
    assert "hunter2" not in str(info3.value) and "***" in str(info3.value), str(info3.value)


def test_unreachable_backend_is_backend_unavailable():
    with pytest.raises(ferrolock.BackendUnavailable) as info:
        locks = ferrolock.connect("redis://:s3cret@127.0.0.1:1")
        locks.ping()
    assert isinstance(info.value, ConnectionError) and info.value.code == "BACKEND_UNAVAILABLE"
    assert "s3cret" not in str(info.value)
    # The backend's own error is the cause, redacted too.
    cause = info.value.__cause__
    assert isinstance(cause, ConnectionError) and str(cause) and str(cause) in str(info.value)
    assert "s3cret" not in str(cause)


def test_a_sqlite_path_that_cannot_be_made_is_a_bad_argument_naming_it(tmp_path):
    # Retrying will not help: the path is at fault (64), not the backend (69).
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ferrolock.InvalidArgument) as info:
        ferrolock.connect(f"sqlite://{not_a_dir}/locks.db")
    assert f"{not_a_dir}/locks.db" in str(info.value)
    assert f"{not_a_dir} is a file, not a folder" in str(info.value)
    with pytest.raises(ferrolock.InvalidArgument, match="is a folder") as info:
        ferrolock.connect(f"sqlite://{tmp_path}")
    assert str(tmp_path) in str(info.value)


def test_a_tilde_in_a_sqlite_path_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with ferrolock.connect("sqlite://~/app/locks.db") as locks:
        assert locks.lock("x").try_acquire().release()
    assert (tmp_path / "app" / "locks.db").is_file()
    assert not (tmp_path / "~").exists()


def _tls_url() -> str:
    url = os.environ.get("FERROLOCK_TEST_REDIS_TLS_URL")
    if not url:
        pytest.fail("FERROLOCK_TEST_REDIS_TLS_URL is not set: run scripts/test, which starts Redis over TLS")
    return url


def test_rediss_with_its_ca_locks_and_a_foreign_ca_is_unavailable() -> None:
    url = _tls_url()
    with ferrolock.connect(url + "&namespace=" + "py-tls-%d" % os.getpid()) as locks:
        with locks.lock("tls-job").acquire(timeout=5) as held:
            assert held.fence >= 1
            assert locks.lock("tls-job").try_acquire() is None
    tls_dir = os.environ["FERROLOCK_TEST_TLS_DIR"]
    foreign = url.split("?")[0] + "?ca=" + os.path.join(tls_dir, "other-ca.pem")
    with pytest.raises(ferrolock.BackendUnavailable, match="certificate") as info:
        ferrolock.connect(foreign)
    assert info.value.code == "BACKEND_UNAVAILABLE"
    with pytest.raises(ferrolock.InvalidArgument, match="no-such-ca.pem"):
        ferrolock.connect(url.split("?")[0] + "?ca=" + os.path.join(tls_dir, "no-such-ca.pem"))
