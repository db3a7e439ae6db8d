"""The shared vectors: tests/vectors/tokens.json through decode_token, and
tests/vectors/errors.json against the exception classes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import ferrolock
import ferrolock.errors
from ferrolock import _native
from conftest import VECTORS

TOKENS = json.loads((VECTORS / "tokens.json").read_text())
ERRORS = json.loads((VECTORS / "errors.json").read_text())["errors"]


@pytest.mark.parametrize("case", TOKENS["valid"], ids=lambda c: c["backend"] + ":" + c["name"][:20])
def test_valid_tokens_decode_to_their_fields(case):
    info = ferrolock.decode_token(case["token"])
    assert info == ferrolock.TokenInfo(
        backend=case["backend"],
        namespace=case["namespace"],
        name=case["name"],
        fence=int(case["fence"]),
        mode=case["mode"],
        expires_at_ms=int(case["expires_at_ms"]),
        ttl_ms=int(case["ttl_ms"]),
        holder=case["holder"],
    )
    assert isinstance(info.fence, int)


@pytest.mark.parametrize("case", TOKENS["invalid"], ids=lambda c: c["why"])
def test_invalid_tokens_raise_their_error(case):
    with pytest.raises(ferrolock.LockError) as info:
        ferrolock.decode_token(case["token"])
    assert info.value.code == case["error"]
    assert type(info.value).code == case["error"]


@pytest.mark.parametrize("row", ERRORS, ids=lambda r: r["kind"])
def test_error_table(row):
    cls = getattr(ferrolock, row["python_class"])
    assert cls is getattr(ferrolock.errors, row["python_class"])
    assert issubclass(cls, ferrolock.LockError)
    if row["kind"] == "Internal":
        assert cls is ferrolock.LockError
    bases = [b.__name__ for b in cls.__bases__]
    assert bases == (row["python_bases"] or ["Exception"])
    assert cls.code == row["code"]
    # The native module agrees on each kind's code.
    assert (row["python_class"], row["code"]) in _native.ERROR_CODES
    err = cls("message", name="n")
    assert err.code == row["code"] and err.name == "n" and str(err) == "message"


def test_every_error_class_is_in_the_table():
    classes = {r["python_class"] for r in ERRORS}
    exported = {n for n in ferrolock.errors.__all__}
    assert exported == classes
    assert len(_native.ERROR_CODES) == len(ERRORS)


def test_errors_pickle_with_their_details():
    import pickle

    err = ferrolock.LockTimeout("timed out", name="job", waited=1.5)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is ferrolock.LockTimeout and (back.name, back.waited, back.code) == ("job", 1.5, "TIMEOUT")


DURATIONS = json.loads((VECTORS / "durations.json").read_text())


@pytest.fixture(scope="module")
def memory():
    with ferrolock.connect("memory://durations") as locks:
        yield locks


@pytest.mark.parametrize("case", DURATIONS["strings"], ids=lambda c: repr(c["input"]))
def test_duration_strings_carry_their_unit(memory, case):
    assert memory.lock("d", timeout=case["input"]).timeout == pytest.approx(case["ms"] / 1000)
    if case["ms"] >= 1:
        assert memory.lock("d", ttl=case["input"]).ttl == pytest.approx(case["ms"] / 1000)


@pytest.mark.parametrize("case", DURATIONS["bare_strings"], ids=lambda c: repr(c["input"]))
def test_a_duration_string_without_a_unit_is_refused_naming_it(memory, case):
    # ttl=30 is 30 s in Python and 30 ms in Node: the string must say which.
    for arg in ("ttl", "timeout"):
        with pytest.raises(ferrolock.InvalidArgument, match="has no unit") as info:
            memory.lock("d", **{arg: case["input"]})
        assert repr(case["input"]) in str(info.value) and arg in str(info.value)


@pytest.mark.parametrize("bad", DURATIONS["invalid"], ids=repr)
def test_malformed_duration_strings_are_refused_naming_them(memory, bad):
    with pytest.raises(ferrolock.InvalidArgument) as info:
        memory.lock("d", ttl=bad)
    assert repr(bad) in str(info.value) and "ttl" in str(info.value)


@pytest.mark.parametrize(
    "ttl,shown",
    [(0, "ttl 0 s"), (0.0004, "ttl 0.0004 s"), ("0s", "ttl '0s'"), ("0.5ms", "ttl '0.5ms'"),
     (timedelta(0), "ttl datetime.timedelta(0)")],
    ids=repr,
)
def test_a_ttl_too_short_is_named_in_the_unit_given(memory, ttl, shown):
    with pytest.raises(ferrolock.InvalidArgument) as info:
        memory.lock("d", ttl=ttl)
    message = str(info.value)
    assert shown in message and "at least 1 ms" in message, message
    assert "ns" not in message.replace("datetime", ""), message
    held = memory.lock("d").try_acquire()
    with pytest.raises(ferrolock.InvalidArgument, match="too short"):
        held.refresh(ttl)
    assert held.release()
