"""The exceptions of ferrolock: one class per row of the error table.

Every exception is a :class:`LockError` with a stable ``code`` string (the
same code Node's ``err.code`` and the C status carry). Details travel as
attributes: ``name`` (the lock), ``waited`` (seconds, on a timeout),
``backend`` and ``operation``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = [
    "LockError",
    "InvalidArgument",
    "InvalidToken",
    "LockTimeout",
    "LockLost",
    "NotHeld",
    "Unsupported",
    "BackendUnavailable",
    "Closed",
]


class LockError(Exception):
    """Base class of every ferrolock error; raised as such for a bug caught at a boundary (code ``INTERNAL``)."""

    #: The stable code of this kind of error.
    code: str = "INTERNAL"

    def __init__(
        self,
        message: str = "",
        *,
        name: Optional[str] = None,
        waited: Optional[float] = None,
        backend: Optional[str] = None,
        operation: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        #: The human-readable message (never an owner id or a password).
        self.message = message
        #: The lock's name, where one is concerned.
        self.name = name
        #: Seconds waited, for a timeout.
        self.waited = waited
        #: The backend concerned (``redis``, ``sqlite``…), where known.
        self.backend = backend
        #: What the backend could not do, for ``Unsupported``.
        self.operation = operation

    def __reduce__(self) -> Any:
        # Keep the details across pickling (multiprocessing).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: "type[LockError]", message: str, state: Dict[str, Any]) -> LockError:
    err = cls(message)
    err.__dict__.update(state)
    return err


class InvalidArgument(LockError, ValueError):
    """A bad argument: a name, namespace, ttl, timeout, holder, URL or a value of the wrong type."""

    code = "INVALID_ARGUMENT"


class InvalidToken(InvalidArgument):
    """A malformed, truncated, oversized or foreign token."""

    code = "INVALID_TOKEN"


class LockTimeout(LockError, TimeoutError):
    """The lock could not be had within the timeout."""

    code = "TIMEOUT"


class LockLost(LockError):
    """The lock was lost (expired, taken over or force-released) while held."""

    code = "LOST"


class NotHeld(LockError):
    """The handle was already released or handed off."""

    code = "NOT_HELD"


class Unsupported(LockError):
    """The backend cannot do this (e.g. shared locks where it has none)."""

    code = "UNSUPPORTED"


class BackendUnavailable(LockError, ConnectionError):
    """The backend could not be reached or failed."""

    code = "BACKEND_UNAVAILABLE"


class Closed(LockError):
    """The provider was closed."""

    code = "CLOSED"
