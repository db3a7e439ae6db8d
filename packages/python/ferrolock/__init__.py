"""ferrolock: distributed locks with fencing tokens, fair waiting, renewal
and cross-language handoff, from one Rust engine.

Synchronous::

    import ferrolock

    with ferrolock.connect("redis://127.0.0.1:6379") as locks:
        with locks.lock("invoice:42", ttl=30, timeout=5) as held:
            charge(fence=held.fence)

asyncio: ``locks = await ferrolock.aio.connect(url)``, then ``async with``.
"""

from __future__ import annotations

import atexit as _atexit

from . import aio
from ._common import (
    DEFAULT_TIMEOUT,
    DEFAULT_TTL,
    EVENT_KINDS,
    Capabilities,
    Duration,
    Event,
    LockInfo,
    LockState,
    TokenInfo,
    _close_all_at_exit,
    decode_token,
)
from ._native import __version__, default_url
from ._sync import Held, Lock, Locks, connect
from .errors import (
    BackendUnavailable,
    Closed,
    InvalidArgument,
    InvalidToken,
    LockError,
    LockLost,
    LockTimeout,
    NotHeld,
    Unsupported,
)

_atexit.register(_close_all_at_exit)

__all__ = [
    "connect",
    "aio",
    "Locks",
    "Lock",
    "Held",
    "LockState",
    "LockInfo",
    "TokenInfo",
    "Event",
    "Capabilities",
    "Duration",
    "decode_token",
    "default_url",
    "DEFAULT_TTL",
    "DEFAULT_TIMEOUT",
    "EVENT_KINDS",
    "LockError",
    "InvalidArgument",
    "InvalidToken",
    "LockTimeout",
    "LockLost",
    "NotHeld",
    "Unsupported",
    "BackendUnavailable",
    "Closed",
    "__version__",
]
