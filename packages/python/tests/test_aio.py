"""The asyncio API: the same names, awaited (its cancellation scenarios are in
test_conformance.py)."""

from __future__ import annotations

import asyncio

import pytest

import ferrolock
from ferrolock import aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_async_with_and_basic_operations(url, refuses):
    async def main():
        async with await aio.connect(url) as locks:
            await locks.ping()
            async with locks.lock("invoice:42", ttl=30, timeout=5) as held:
                assert held.fence == 1 and held.armed
                assert (await locks.state("invoice:42")).held
                assert await locks.lock("invoice:42").try_acquire() is None
                with pytest.raises(ferrolock.LockTimeout):
                    await locks.lock("invoice:42").acquire(0.1)
                assert await locks.lock("invoice:42").acquire_or_none(0.05) is None
            assert (await locks.state("invoice:42")).free
            held = await locks.lock("t").acquire()
            if locks.capabilities.handoff:
                again = await locks.resume(held.into_token())
            else:
                # A lock that dies with its connection (PostgreSQL advisory) cannot be handed off.
                with pytest.raises(ferrolock.Unsupported):
                    held.into_token()
                again = held
            # What backends.json says the backend refuses is UNSUPPORTED here too.
            async def maybe(operation, call):
                if operation not in refuses:
                    return await call()
                with pytest.raises(ferrolock.Unsupported):
                    await call()

            await maybe("refresh", lambda: again.refresh(10))
            listed = await maybe("list", lambda: locks.list("t"))
            assert "list" in refuses or [i.name for i in listed] == ["t"]
            assert await again.release() is True and await again.release() is False
            forced = await maybe("force_release", lambda: locks.force_release("t"))
            assert "force_release" in refuses or forced is False
        assert locks.closed
        with pytest.raises(ferrolock.Closed):
            await locks.ping()

    run(main())


def test_one_lock_object_serves_many_acquisitions_until_close(url):
    async def main():
        locks = await aio.connect(url)
        lock = locks.lock("reused", ttl=5, holder="me")
        fences = []
        for take in (lock.try_acquire, lambda: lock.acquire(1), lambda: lock.acquire_or_none(1)):
            held = await take()
            assert held is not None and (await locks.state("reused")).holder == "me"
            fences.append(held.fence)
            assert await held.release()
        assert fences[0] < fences[1] < fences[2]
        await locks.close()
        for call in (lock.try_acquire, lambda: lock.acquire(0), lambda: lock.acquire_or_none(0)):
            with pytest.raises(ferrolock.Closed):
                await call()

    run(main())


def test_run_and_decorator(url3):
    async def main():
        async with await aio.connect(url3) as locks:
            async def body(held):
                await asyncio.sleep(0)
                return held.fence * 10

            assert await locks.lock("r").run(body) == 10

            @locks.locked("nightly-report", timeout=0)
            async def report(x):
                return x + 1

            assert await report(1) == 2
            held = await locks.lock("nightly-report").try_acquire()
            with pytest.raises(ferrolock.LockTimeout):
                await report(1)
            await held.release()
            with pytest.raises(ferrolock.InvalidArgument):
                locks.locked("x")(lambda: None)

    run(main())


def test_loss_ends_async_with_with_lost(url3):
    async def main():
        async with await aio.connect(url3) as locks:
            with pytest.raises(ferrolock.LockLost):
                async with locks.lock("lost", ttl=0.3) as held:
                    await locks.force_release("lost")
                    assert await held.wait_lost(10)

    run(main())


def test_many_tasks_contend_with_an_exact_counter(url3):
    async def main():
        async with await aio.connect(url3) as locks:
            counter = [0]

            async def work():
                lock = locks.lock("counter", timeout=15)
                for _ in range(20):
                    async with lock:
                        v = counter[0]
                        await asyncio.sleep(0)
                        counter[0] = v + 1

            await asyncio.gather(*(work() for _ in range(8)))
            assert counter[0] == 160

    run(main())


def test_events_are_delivered_on_the_loop(url3):
    async def main():
        async with await aio.connect(url3) as locks:
            loop = asyncio.get_running_loop()
            seen = []
            got = asyncio.Event()

            def handler(e):
                assert asyncio.get_running_loop() is loop
                seen.append(e.kind)
                if len(seen) == 2:
                    got.set()

            locks.on("*", handler)
            held = await locks.lock("ev").try_acquire()
            await held.release()
            await asyncio.wait_for(got.wait(), 10)
            assert seen == ["acquired", "released"]

    run(main())


def test_sync_and_async_share_a_store(sqlite_url):
    async def main():
        async with await aio.connect(sqlite_url) as alocks:
            with ferrolock.connect(sqlite_url) as slocks:
                token = slocks.lock("mixed").try_acquire().into_token()
                held = await alocks.resume(token)
                assert await held.release()

    run(main())
