"""The asyncio API: ``locks = await ferrolock.aio.connect(url)``, with the
names of the synchronous one. Every operation runs on ferrolock's own
runtime threads and never blocks the event loop; cancelling a task that
waits for a lock stops the wait and leaves nothing held."""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import weakref
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, List, Optional, Type, TypeVar

from . import _native
from ._common import (
    DEFAULT_TIMEOUT,
    DEFAULT_TTL,
    UNSET,
    Duration,
    Event,
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
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

__all__ = ["connect", "Locks", "Lock", "Held"]


def _discard(value: object) -> None:
    # A lock that arrived for a caller that is gone: give it back.
    if isinstance(value, _native.Held):
        value.release_soon()


class _Bridge:
    """Where the native operations of one event loop report: an eventfd the
    loop watches, so no runtime thread ever runs Python code."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.completions = _native.Completions()
        self.futures: Dict[int, "asyncio.Future[Any]"] = {}
        self.ids = itertools.count(1)
        loop.add_reader(self.completions.fileno(), self._drain)

    def _drain(self) -> None:
        for id, value, error in self.completions.drain():
            fut = self.futures.pop(id, None)
            if fut is None or fut.done():  # cancelled meanwhile
                _discard(value)
            elif error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)


_bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Bridge]" = weakref.WeakKeyDictionary()


async def _call(start: Callable[..., _native.Task], *args: Any) -> Any:
    """Run a native operation on the runtime and await its result."""
    loop = asyncio.get_running_loop()
    bridge = _bridges.get(loop)
    if bridge is None:
        bridge = _bridges[loop] = _Bridge(loop)
    id = next(bridge.ids)
    fut: "asyncio.Future[Any]" = loop.create_future()
    bridge.futures[id] = fut
    task = start(*args, bridge.completions, id)
    try:
        return await fut
    except asyncio.CancelledError:
        task.cancel()
        if bridge.futures.get(id) is fut:
            # Not reported yet: wait until the native operation has stopped
            # (its future dropped: a wait has left its queue), so that what
            # follows the cancellation does not race it. A lock it got
            # meanwhile is given back.
            ended: "asyncio.Future[Any]" = loop.create_future()
            bridge.futures[id] = ended
            try:
                _discard(await ended)
            except BaseException:
                pass
        raise


async def connect(url: Optional[str] = None) -> "Locks":
    """Connect to the backend ``url`` names (see :func:`ferrolock.connect`)
    and return an asyncio :class:`Locks`. ``async with await
    ferrolock.aio.connect(url) as locks:`` closes it at the end."""
    return Locks(await _call(_native.Provider.connect_async, url_arg(url)))


class Held(HeldBase):
    """Proof of an acquired lock (asyncio). ``async with held:`` releases it."""

    __slots__ = ()

    async def release(self) -> bool:
        """Release the lock. Returns whether this handle still held it."""
        if not self._native.armed:
            return False
        return bool(await _call(self._native.release_async))

    async def refresh(self, ttl: Optional[Duration] = None) -> None:
        """Extend the lease to ``ttl`` from now (default: its current ttl).
        Raises ``LockLost`` if the lock was lost."""
        t = self._native.ttl if ttl is None else seconds(ttl, "ttl")
        await _call(self._native.refresh_async, t)

    async def wait_lost(self, timeout: Optional[Duration] = None) -> bool:
        """Wait until the lock is found lost, up to ``timeout`` seconds
        (``None``: forever). Returns whether it was lost."""
        return bool(await _call(self._native.wait_lost_async, seconds(timeout, "timeout", none_ok=True)))

    async def __aenter__(self) -> "Held":
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await _finish(self, ev)


async def _finish(held: Held, body_error: Optional[BaseException]) -> None:
    """End a scope: release; raise LockLost if the lock was lost meanwhile,
    unless the body raised first (its exception then goes on)."""
    await _call(held._native.finish_async, body_error is not None)


class Lock(LockBase):
    """A named lock (asyncio): ``async with locks.lock(name) as held:``."""

    __slots__ = ()

    async def try_acquire(self) -> Optional[Held]:
        """Take the lock if it is free now; ``None`` if someone holds it."""
        native = await _call(self._native.try_acquire_async)
        return None if native is None else Held(native)

    async def acquire(self, timeout: Optional[Duration] = UNSET) -> Held:
        """Wait up to ``timeout`` seconds (default: the lock's; ``None``:
        forever); ``LockTimeout`` after it. Cancelling the task stops the
        wait and leaves nothing held."""
        return Held(await _call(self._native.acquire_async, self._timeout_arg(timeout)))

    async def acquire_or_none(self, timeout: Optional[Duration] = UNSET) -> Optional[Held]:
        """Like :meth:`acquire`, but ``None`` instead of ``LockTimeout``."""
        native = await _call(self._native.acquire_or_none_async, self._timeout_arg(timeout))
        return None if native is None else Held(native)

    async def run(self, fn: Callable[[Held], Awaitable[T]], timeout: Optional[Duration] = UNSET) -> T:
        """Acquire, ``await fn(held)``, release, and return its result;
        ``LockLost`` after it if the lock was lost meanwhile."""
        if not callable(fn):
            raise InvalidArgument(f"fn must be callable, not {type(fn).__name__}")
        held = await self.acquire(timeout)
        try:
            result = await fn(held)
        except BaseException as e:
            await _finish(held, e)
            raise
        await _finish(held, None)
        return result

    async def __aenter__(self) -> Held:
        held = await self.acquire()
        self._scopes.setdefault(asyncio.current_task(), []).append(held)
        return held

    async def __aexit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        me = asyncio.current_task()
        stack = self._scopes[me]
        held = stack.pop()
        if not stack:
            del self._scopes[me]
        await _finish(held, ev)


class Locks(LocksBase):
    """A connection to one backend (asyncio), from :func:`connect`."""

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
        """Describe the lock ``name`` (no I/O); see :meth:`ferrolock.Locks.lock`."""
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
        """A decorator for coroutine functions: each call runs holding the lock ``name``."""
        lock = self.lock(name, ttl=ttl, timeout=timeout, shared=shared, holder=holder, auto_renew=auto_renew)

        def decorate(fn: F) -> F:
            if not inspect.iscoroutinefunction(fn):
                raise InvalidArgument(f"ferrolock.aio locked() decorates coroutine functions, not {fn!r}")

            @functools.wraps(fn)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                async with lock:
                    return await fn(*args, **kwargs)

            return wrapper  # type: ignore[return-value]

        return decorate

    async def resume(self, token: str) -> Held:
        """Make an armed handle from a token (see :meth:`ferrolock.Locks.resume`)."""
        return Held(await _call(self._native.resume_async, text(token, "token")))

    async def state(self, name: str) -> LockState:
        """Who holds ``name``, if anyone."""
        return LockState._of(await _call(self._native.state_async, text(name, "name")))

    async def list(self, prefix: str = "") -> List[LockInfo]:
        """The active locks of this namespace whose names start with ``prefix``."""
        return [LockInfo(*t) for t in await _call(self._native.list_async, text(prefix, "prefix"))]

    async def force_release(self, name: str) -> bool:
        """Release ``name`` whoever holds it. Returns whether it was held."""
        return bool(await _call(self._native.force_release_async, text(name, "name")))

    async def ping(self) -> None:
        """Check that the backend answers."""
        await _call(self._native.ping_async)

    async def close(self) -> None:
        """Close: renewals stop and later calls raise ``Closed``."""
        await _call(self._native.close_async)

    def _wrap_handler(self, fn: Callable[[Event], Any]) -> Callable[[Event], Any]:
        # Deliver on the event loop that registered the handler.
        loop = asyncio.get_running_loop()

        def on_loop(event: Event) -> None:
            if inspect.iscoroutinefunction(fn):
                asyncio.run_coroutine_threadsafe(fn(event), loop)
            else:
                loop.call_soon_threadsafe(fn, event)

        on_loop.__wrapped__ = fn  # type: ignore[attr-defined]
        return on_loop

    async def __aenter__(self) -> "Locks":
        return self

    async def __aexit__(
        self, et: Optional[Type[BaseException]], ev: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()
