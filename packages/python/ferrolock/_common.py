"""What the synchronous and the asyncio APIs share: argument checks,
result types and the parts of ``Locks``, ``Lock`` and ``Held`` that do no I/O."""

from __future__ import annotations

import math
import os
import re
import threading
import warnings
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, Union, overload

from . import _native
from .errors import InvalidArgument

#: A duration: seconds as an ``int``/``float``, a ``timedelta``, or a string
#: with its unit (``"500ms"``, ``"10s"``, ``"2m"``, ``"1h"``, ``"1d"``; a string
#: without a unit is refused). See docs/durations.md.
Duration = Union[float, int, timedelta, str]

DEFAULT_TTL: float = _native.DEFAULT_TTL
DEFAULT_TIMEOUT: float = _native.DEFAULT_TIMEOUT

#: The kinds of event ``locks.on(kind, fn)`` accepts (``"*"``: all of them).
EVENT_KINDS = ("acquired", "released", "queued", "timed_out", "renewed", "lost", "force_released")


class _Unset:
    def __repr__(self) -> str:
        return "<the lock's timeout>"


UNSET: Any = _Unset()


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


#: Milliseconds per unit of a duration string: the grammar every language
#: shares (tests/vectors/durations.json).
_UNITS = {
    "ms": 0.001, "s": 1.0, "sec": 1.0, "secs": 1.0, "m": 60.0, "min": 60.0, "mins": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "d": 86400.0,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*", re.ASCII)


def _parse_duration(text: str, arg: str) -> float:
    """A duration string (``"10s"``) as seconds; a missing unit is refused."""
    m = _DURATION.fullmatch(text)
    if m is None or (m.group(2) and m.group(2) not in _UNITS):
        raise InvalidArgument(
            f"{arg} {text!r} is not a duration: give seconds as a number ({arg}=30), "
            f"or a string with its unit ('500ms', '10s', '2m', '1h')"
        )
    if not m.group(2):
        raise InvalidArgument(
            f"{arg} {text!r} has no unit: write '{m.group(1)}s' or '{m.group(1)}ms', "
            f"or the number {arg}={m.group(1)} for seconds"
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


@overload
def seconds(value: object, arg: str) -> float: ...
@overload
def seconds(value: object, arg: str, *, none_ok: Literal[True]) -> Optional[float]: ...


def seconds(value: object, arg: str, *, none_ok: bool = False) -> Optional[float]:
    """``value`` as seconds, or an InvalidArgument naming ``arg`` and the
    value as it was given (a ttl below 1 ms too)."""
    if value is None:
        if none_ok:
            return None
        raise InvalidArgument(f"{arg} must be seconds (a number), a string with a unit or a timedelta, not None")
    if isinstance(value, timedelta):
        shown = repr(value)
        v = value.total_seconds()
    elif isinstance(value, str):
        shown = repr(value)
        v = _parse_duration(value, arg)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            raise TypeError(f"{arg}: expected a number, str or timedelta, got {_type_name(value)}")
        except TypeError as cause:
            raise InvalidArgument(
                f"{arg} must be seconds (a number), a string with a unit ('10s') or a timedelta, "
                f"not {_type_name(value)}"
            ) from cause
    else:
        shown = f"{value} s"
        v = float(value)
    if math.isnan(v):
        raise InvalidArgument(f"{arg} is NaN; it must be a number of seconds")
    if math.isinf(v):
        hint = "; use timeout=None to wait forever" if arg == "timeout" and v > 0 else ""
        raise InvalidArgument(f"{arg} is infinite{hint}")
    if v < 0:
        raise InvalidArgument(f"{arg} is negative ({shown})")
    if arg == "ttl" and v < 0.001:
        raise InvalidArgument(f"ttl {shown} is too short; it must be at least 1 ms (0.001 s)")
    return v


@overload
def text(value: object, arg: str) -> str: ...
@overload
def text(value: object, arg: str, *, none_ok: Literal[True]) -> Optional[str]: ...


def text(value: object, arg: str, *, none_ok: bool = False) -> Optional[str]:
    """``value`` as a ``str``, or an InvalidArgument naming ``arg`` (bytes are refused)."""
    if value is None and none_ok:
        return None
    if not isinstance(value, str):
        hint = " (decode bytes first)" if isinstance(value, (bytes, bytearray)) else ""
        try:
            raise TypeError(f"{arg}: expected str, got {_type_name(value)}")
        except TypeError as cause:
            raise InvalidArgument(f"{arg} must be a str, not {_type_name(value)}{hint}") from cause
    return value


def flag(value: object, arg: str) -> bool:
    """``value`` as a ``bool``, or an InvalidArgument naming ``arg``."""
    if not isinstance(value, bool):
        raise InvalidArgument(f"{arg} must be True or False, not {_type_name(value)}")
    return value


def url_arg(url: object) -> str:
    """The URL for the native side: ``""`` asks for the default URL."""
    if url is None:
        return ""
    url = text(url, "url")
    if url == "":
        raise InvalidArgument("url is empty; pass None for the default URL")
    return url


@dataclass(frozen=True)
class TokenInfo:
    """The public fields of a token (never its owner id)."""

    #: ``memory``, ``sqlite``, ``redis``, ``postgres`` or ``couchbase``.
    backend: str
    namespace: str
    name: str
    fence: int
    #: ``exclusive`` or ``shared``.
    mode: str
    #: When the lease expires unless renewed (unix ms, as of the token's writing).
    expires_at_ms: int
    #: The ttl the lock is renewed with, in milliseconds.
    ttl_ms: int
    holder: str


def decode_token(token: str) -> TokenInfo:
    """Decode a token's public fields, checking its format (``InvalidToken`` if malformed)."""
    return TokenInfo(**_native.decode_token(text(token, "token")))


@dataclass(frozen=True)
class LockState:
    """What ``locks.state(name)`` finds: free, or who holds the lock."""

    #: Whether somebody holds the lock.
    held: bool
    #: The fence of the (latest) acquisition; 0 when free.
    fence: int = 0
    #: ``exclusive`` or ``shared`` (``""`` when free).
    mode: str = ""
    #: The holder label (of one reader, for a shared lock).
    holder: str = ""
    #: Seconds until the lease expires unless renewed.
    expires_in: float = 0.0
    #: How many hold it shared (0 for an exclusive lock).
    readers: int = 0

    @property
    def free(self) -> bool:
        """Whether nobody holds the lock."""
        return not self.held

    @staticmethod
    def _of(t: Optional[Tuple[int, str, str, float, int]]) -> "LockState":
        if t is None:
            return LockState(held=False)
        return LockState(True, *t)


@dataclass(frozen=True)
class LockInfo:
    """One active lock, as ``locks.list(prefix)`` reports it (no owner id)."""

    name: str
    fence: int
    mode: str
    holder: str
    #: Seconds until the lease expires unless renewed.
    expires_in: float
    readers: int


@dataclass(frozen=True)
class Event:
    """Something that happened to a lock of this provider."""

    #: One of :data:`EVENT_KINDS`.
    kind: str
    namespace: str
    name: str
    #: The fence concerned (0 where there is none).
    fence: int
    mode: str
    holder: str


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do."""

    #: The longest ttl it accepts, in seconds.
    max_ttl: float
    #: Shared (reader) locks.
    shared: bool
    #: A lock outlives its process, so it can be handed off as a token.
    handoff: bool
    #: A FIFO wait queue, fair across processes.
    queue: bool
    #: Waiters are told when a lock may have been freed.
    notices: bool


class HeldBase:
    """The parts of a held lock that do no I/O."""

    __slots__ = ("_native", "__weakref__")

    def __init__(self, native: _native.Held) -> None:
        self._native = native

    @property
    def name(self) -> str:
        """The lock's name."""
        return self._native.name

    @property
    def namespace(self) -> str:
        """The namespace the lock lives in."""
        return self._native.namespace

    @property
    def key(self) -> str:
        """The key in the store: ``__lock:<namespace>:<name>``."""
        return self._native.key

    @property
    def fence(self) -> int:
        """The fencing token: strictly increasing with every acquisition of this key."""
        return self._native.fence

    @property
    def mode(self) -> str:
        """``exclusive`` or ``shared``."""
        return self._native.mode

    @property
    def holder(self) -> str:
        """The public holder label."""
        return self._native.holder

    @property
    def ttl(self) -> float:
        """The ttl renewals use, in seconds."""
        return self._native.ttl

    @property
    def expires_at_ms(self) -> int:
        """When the lease expires unless renewed, in unix milliseconds."""
        return self._native.expires_at_ms

    @property
    def lost(self) -> bool:
        """Whether the lock was found lost (by renewal or refresh)."""
        return self._native.lost

    @property
    def armed(self) -> bool:
        """Whether this handle still owns the lock (not released, handed off, or inherited through fork)."""
        return self._native.armed

    def into_token(self) -> str:
        """Hand the lock off: return its token and disarm this handle.

        From then on nothing in this process releases or renews the lock;
        ``locks.resume(token)`` makes an armed handle in any process or
        language. Raises ``NotHeld`` if already released or handed off.
        """
        return self._native.take_token()

    def __repr__(self) -> str:
        state = "lost" if self.lost else ("armed" if self.armed else "released")
        return f"<{type(self).__module__}.Held {self.name!r} fence={self.fence} {self.mode} {state}>"

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        try:
            if native is not None and native.armed:
                warnings.warn(
                    f"ferrolock: lock {native.name!r} was not released; releasing it in the background",
                    ResourceWarning,
                    stacklevel=2,
                )
        except Exception:  # interpreter shutdown
            pass


class LockBase:
    """A named lock's description: name and options. No I/O."""

    __slots__ = ("_locks", "_name", "_ttl", "_timeout", "_shared", "_native", "_scopes")

    def __init__(
        self,
        locks: Any,
        name: object,
        ttl: object,
        timeout: object,
        shared: object,
        holder: object,
        auto_renew: object,
    ) -> None:
        self._locks = locks
        self._name: str = text(name, "name")
        self._ttl: float = seconds(ttl, "ttl")
        self._timeout: Optional[float] = seconds(timeout, "timeout", none_ok=True)
        self._shared = flag(shared, "shared")
        # The native lock, made once from the options; a bad name or a ttl
        # above the backend's maximum is reported by its first operation.
        self._native: _native.Lock = locks._native.lock(
            self._name,
            self._ttl,
            self._shared,
            text(holder, "holder", none_ok=True),
            flag(auto_renew, "auto_renew"),
        )
        # Handles taken by `with`/`async with`, per thread or task.
        self._scopes: Dict[Any, List[Any]] = {}

    @property
    def name(self) -> str:
        """The lock's name."""
        return self._name

    @property
    def ttl(self) -> float:
        """The lease's time to live, in seconds."""
        return self._ttl

    @property
    def timeout(self) -> Optional[float]:
        """How long ``acquire()`` and ``with`` wait by default, in seconds (``None``: forever)."""
        return self._timeout

    @property
    def shared(self) -> bool:
        """Whether the lock is taken shared."""
        return self._shared

    def _timeout_arg(self, timeout: object) -> Optional[float]:
        if timeout is UNSET:
            return self._timeout
        return seconds(timeout, "timeout", none_ok=True)

    def __repr__(self) -> str:
        mode = "shared" if self._shared else "exclusive"
        return f"<ferrolock.Lock {self._name!r} ttl={self._ttl}s timeout={self._timeout} {mode}>"


_live: "weakref.WeakSet[LocksBase]" = weakref.WeakSet()
_live_lock = threading.Lock()


class LocksBase:
    """A provider's parts that do no I/O: options, events, properties."""

    def __init__(self, native: _native.Provider) -> None:
        self._native = native
        self._handlers: Dict[str, List[Callable[[Event], Any]]] = {}
        self._dispatcher: Optional[threading.Thread] = None
        self._dispatcher_pid = 0
        with _live_lock:
            _live.add(self)

    @property
    def url(self) -> str:
        """The URL this provider was made from, its password replaced by ``***``."""
        return self._native.url

    @property
    def backend(self) -> str:
        """``memory``, ``sqlite`` or ``redis``."""
        return self._native.backend

    @property
    def namespace(self) -> str:
        """The provider's namespace."""
        return self._native.namespace

    @property
    def capabilities(self) -> Capabilities:
        """What the backend can do."""
        return Capabilities(*self._native.capabilities)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._native.closed

    def _lock_args(
        self, name: object, ttl: object, timeout: object, shared: object, holder: object, auto_renew: object
    ) -> Tuple[object, ...]:
        return (self, name, ttl, timeout, shared, holder, auto_renew)

    def on(self, kind: str, fn: Callable[[Event], Any]) -> Callable[[Event], Any]:
        """Call ``fn(event)`` for every event of ``kind`` (one of
        :data:`EVENT_KINDS`, or ``"*"`` for all). Returns ``fn``.

        Events are delivered on a background thread (the asyncio API hands
        them to the event loop that called ``on``). Events that happened
        before the first ``on`` are not delivered.
        """
        kind = text(kind, "kind")
        if kind != "*" and kind not in EVENT_KINDS:
            raise InvalidArgument(f"kind {kind!r} is not one of {', '.join(EVENT_KINDS)} or '*'")
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable, not {_type_name(fn)}")
        self._handlers.setdefault(kind, []).append(self._wrap_handler(fn))
        self._ensure_dispatcher()
        return fn

    def off(self, kind: str, fn: Callable[[Event], Any]) -> bool:
        """Stop calling ``fn`` for ``kind``; returns whether it was registered."""
        handlers = self._handlers.get(kind, [])
        for i, h in enumerate(handlers):
            if getattr(h, "__wrapped__", h) is fn:
                del handlers[i]
                return True
        return False

    def _wrap_handler(self, fn: Callable[[Event], Any]) -> Callable[[Event], Any]:
        return fn

    def _ensure_dispatcher(self) -> None:
        pid = os.getpid()
        if self._dispatcher is not None and self._dispatcher_pid == pid:
            return
        sub = self._native.subscribe()
        t = threading.Thread(
            target=_dispatch, args=(weakref.ref(self), sub), name="ferrolock-events", daemon=True
        )
        self._dispatcher, self._dispatcher_pid = t, pid
        t.start()

    def _deliver(self, event: Event) -> None:
        for kind in (event.kind, "*"):
            for fn in list(self._handlers.get(kind, ())):
                try:
                    fn(event)
                except Exception:  # a handler's bug must not stop the others
                    import sys

                    sys.unraisablehook(_Unraisable(sys.exc_info(), fn))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.Locks {self.url!r}>"


class _Unraisable:
    def __init__(self, info: Any, fn: Any) -> None:
        self.exc_type, self.exc_value, self.exc_traceback = info
        self.err_msg = "ferrolock: exception in an event handler"
        self.object = fn


def _dispatch(ref: "weakref.ref[LocksBase]", sub: _native.Events) -> None:
    pid = os.getpid()
    while True:
        locks = ref()
        if locks is None or locks.closed or os.getpid() != pid:
            return
        del locks
        got = sub.next(0.25)
        if got is None:
            continue
        locks = ref()
        if locks is None:
            return
        locks._deliver(Event(*got))
        del locks


def _close_all_at_exit() -> None:
    # Let background clean-ups (the queue exit of an interrupted wait, the
    # release of a dropped handle) finish before the process exits.
    with _live_lock:
        live = list(_live)
    for locks in live:
        try:
            if not locks.closed:
                locks._native.close()
        except Exception:
            pass
        # A dispatcher thread stuck in a native call when the interpreter
        # shuts down would be torn down mid-call: let it see the close first.
        t = locks._dispatcher
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(1.0)
