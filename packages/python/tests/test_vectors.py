"""The shared vectors: tests/vectors/tokens.json through decode_token, and
tests/vectors/errors.json against the exception classes."""

from __future__ import annotations

import json

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
