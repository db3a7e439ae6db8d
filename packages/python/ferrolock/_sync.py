"""The synchronous API: ``ferrolock.connect(url)``. Every call blocks its
thread with the GIL released; a blocking wait answers Ctrl-C."""

from __future__ import annotations

import functools
import threading
from types import TracebackType
from typing import Any, Callable, List, Optional, Type, TypeVar

from . import _native
from ._common import (
    DEFAULT_TIMEOUT,
    DEFAULT_TTL,
    UNSET,
    Duration,
    HeldBase,
    LockBase,
    LockInfo,
    LocksBase,
    LockState,
    seconds,
    text,
    url_arg,
)
from .errors import InvalidArgument

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["connect", "Locks", "Lock", "Held"]


def connect(url: Optional[str] = None) -> "Locks":
    """Connect to the backend ``url`` names and return a :class:`Locks`.

    ``memory://[NAME]``, ``sqlite://PATH``, ``redis://[user:pass@]host[:port][/db]``
    (several ``host:port`` for a quorum), ``redis+cluster://…``; query
    parameters ``namespace``, ``holder``, ``bypass=true``. Without a URL:
    ``$FERROLOCK_URL``, else a SQLite file under ``$XDG_DATA_HOME/ferrolock/``.
    Use it as a context manager to close it: ``with ferrolock.connect(url) as locks:``.
    """
    return Locks(_native.Provider.connect(url_arg(url)))


class Held(HeldBase):
    """Proof of an acquired lock.

    Renewed in the background at a third of its ttl (unless the lock was
    made with ``auto_renew=False``) until released or handed off. ``with
    held:`` releases it at the end of the block.
    """

    __slots__ = ()

    def release(self) -> bool:
        """Release the lock. Returns whether this handle still held it
        (``False`` if it expired, was taken over, released or handed off)."""
        return self._native.release()

    def refresh(self, ttl: Optional[Duration] = None) -> None:
        """Extend the lease to ``ttl`` from now (default: its current ttl);
        later renewals use it too. Raises ``LockLost`` if the lock was lost."""
        self._native.refresh(self._native.ttl if ttl is None else seconds(ttl, "ttl"))

    def wait_lost(self, timeout: Optional[Duration] = None) -> bool:
        """Block until the lock is found lost, up to ``timeout`` seconds
        (``None``: forever). Returns whether it was lost."""
        return self._native.wait_lost(seconds(timeout, "timeout", none_ok=True))

    def __enter__(self) -> "Held":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        _finish(self, ev)


def _finish(held: Held, body_error: Optional[BaseException]) -> None:
    """End a scope: release; raise LockLost if the lock was lost meanwhile,
    unless the body raised first (its exception then goes on)."""
    held._native.finish(body_error is not None)


class Lock(LockBase):
    """A named lock: ``locks.lock(name, ttl=30, timeout=10, shared=False)``.

    Cheap and reusable. ``with lock as held:`` acquires it (waiting up to
    its ``timeout``), and releases it at the end, raising ``LockLost`` if
    the lock was lost meanwhile.
    """

    __slots__ = ()

    def try_acquire(self) -> Optional[Held]:
        """Take the lock if it is free now; ``None`` if someone holds it."""
        native = self._native.try_acquire()
        return None if native is None else Held(native)

    def acquire(self, timeout: Optional[Duration] = UNSET) -> Held:
        """Wait up to ``timeout`` seconds (default: the lock's, 10 s;
        ``None``: forever) and return the held lock; ``LockTimeout`` after it.
        Ctrl-C stops the wait and leaves nothing held."""
        return Held(self._native.acquire(self._timeout_arg(timeout)))

    def acquire_or_none(self, timeout: Optional[Duration] = UNSET) -> Optional[Held]:
        """Like :meth:`acquire`, but ``None`` instead of ``LockTimeout``."""
        native = self._native.acquire_or_none(self._timeout_arg(timeout))
        return None if native is None else Held(native)

    def run(self, fn: Callable[[Held], T], timeout: Optional[Duration] = UNSET) -> T:
        """Acquire, call ``fn(held)``, release, and return what ``fn`` returned.

        Raises ``LockLost`` after ``fn`` returns if the lock was lost
        meanwhile (``fn``'s own exception goes first)."""
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable, not {type(fn).__name__}")
        held = self.acquire(timeout)
        try:
            result = fn(held)
        except BaseException as e:
            _finish(held, e)
            raise
        _finish(held, None)
        return result

    def __enter__(self) -> Held:
        held = self.acquire()
        self._scopes.setdefault(threading.get_ident(), []).append(held)
        return held

    def __exit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        me = threading.get_ident()
        stack = self._scopes[me]
        held = stack.pop()
        if not stack:
            del self._scopes[me]
        _finish(held, ev)


class Locks(LocksBase):
    """A connection to one backend (from :func:`connect`). Thread-safe;
    share one per process. Survives ``os.fork()``: in a child it connects
    again on first use, and handles inherited from the parent are disarmed."""

    def lock(
        self,
        name: str,
        *,
        ttl: Duration = DEFAULT_TTL,
        timeout: Optional[Duration] = DEFAULT_TIMEOUT,
        shared: bool = False,
        holder: Optional[str] = None,
        auto_renew: bool = True,
    ) -> Lock:
        """Describe the lock ``name`` (no I/O).

        ``ttl``: the lease's time to live (seconds or timedelta, default 30);
        with renewal on (``auto_renew=True``) it is how fast the lock of a
        crashed holder frees. ``timeout``: how long ``acquire()`` and
        ``with`` wait (default 10; ``None``: forever). ``shared``: many
        shared holders, no exclusive one. ``holder``: the public label
        ``state``/``list`` show (default ``host:pid``). Wrong types raise
        ``InvalidArgument`` here; a bad name or a ttl above the backend's
        maximum is reported by the first operation.
        """
        return Lock(*self._lock_args(name, ttl, timeout, shared, holder, auto_renew))

    def locked(
        self,
        name: str,
        *,
        ttl: Duration = DEFAULT_TTL,
        timeout: Optional[Duration] = DEFAULT_TIMEOUT,
        shared: bool = False,
        holder: Optional[str] = None,
        auto_renew: bool = True,
    ) -> Callable[[F], F]:
        """A decorator: the function runs holding the lock ``name``.

        ``@locks.locked("nightly-report", timeout=0)`` raises
        ``LockTimeout`` at once if another process runs it."""
        lock = self.lock(name, ttl=ttl, timeout=timeout, shared=shared, holder=holder, auto_renew=auto_renew)

        def decorate(fn: F) -> F:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with lock:
                    return fn(*args, **kwargs)

            return wrapper  # type: ignore[return-value]

        return decorate

    def resume(self, token: str) -> Held:
        """Make an armed handle from a token written by ``into_token()`` in
        any process or language. ``LockLost`` if the lock is no longer held,
        ``InvalidToken`` for a malformed token or one of another backend."""
        return Held(self._native.resume(text(token, "token")))

    def state(self, name: str) -> LockState:
        """Who holds ``name``, if anyone."""
        return LockState._of(self._native.state(text(name, "name")))

    def list(self, prefix: str = "") -> List[LockInfo]:
        """The active locks of this namespace whose names start with ``prefix``."""
        return [LockInfo(*t) for t in self._native.list(text(prefix, "prefix"))]

    def force_release(self, name: str) -> bool:
        """Release ``name`` whoever holds it (an administrator's tool).
        Returns whether it was held; its holder learns of the loss."""
        return self._native.force_release(text(name, "name"))

    def ping(self) -> None:
        """Check that the backend answers (raises ``BackendUnavailable`` if not)."""
        self._native.ping()

    def close(self) -> None:
        """Close: renewals stop and later calls raise ``Closed``. Clean-ups
        still running are given up to 5 s. Locks still held free at their ttl."""
        self._native.close()

    def __enter__(self) -> "Locks":
        return self

    def __exit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()
