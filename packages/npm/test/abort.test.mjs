// AbortSignal: an aborted wait rejects with the signal's reason and leaves
// nothing held; the event loop keeps running while a wait is pending.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Locks } from 'ferrolock'
import { BACKENDS, Fixture, sleep } from './helpers.mjs'

for (const backend of BACKENDS) {
  describe(backend, () => {
    test('a signal aborted before the call rejects at once and takes nothing', async () => {
      const fx = new Fixture(backend, 'abort-before')
      try {
        const locks = await fx.connect()
        const reason = new Error('already aborted')
        const signal = AbortSignal.abort(reason)
        await assert.rejects(locks.lock('a').acquire({ signal }), (e) => e === reason)
        await assert.rejects(locks.lock('a').acquireOrNull({ signal }), (e) => e === reason)
        await assert.rejects(locks.lock('a').run(() => assert.fail('body ran'), { signal }), (e) => e === reason)
        assert.deepEqual(await locks.state('a'), { held: false })
      } finally {
        await fx.cleanup()
      }
    })

    test('aborting a wait rejects with the reason; the lock goes to the next waiter', async () => {
      const fx = new Fixture(backend, 'abort-during')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('a').acquire()
        const controller = new AbortController()
        const other = await fx.connect()
        const started = performance.now()
        const waiting = other.lock('a').acquire({ timeout: Infinity, signal: controller.signal })
        const run = other.lock('a').run(() => assert.fail('body ran'), { timeout: '1m', signal: controller.signal })
        setTimeout(() => controller.abort(), 200)
        // Both handlers attached at once: either may reject first.
        await Promise.all([
          assert.rejects(waiting, (e) => e.name === 'AbortError'),
          assert.rejects(run, (e) => e.name === 'AbortError'),
        ])
        assert.ok(performance.now() - started < 5000, 'the abort did not stop the wait promptly')
        assert.equal(await held.release(), true)
        // Nothing stays held or queued by the aborted waiters. (Their exit
        // from a backend's queue runs in the background: a release just
        // before it may hand them the lock, which their exit hands back,
        // skipping its fence: so the next fence is 2, or higher if that
        // race went the other way — it does either way on a loaded machine.)
        const deadline = Date.now() + 3000
        while ((await locks.state('a')).held && Date.now() < deadline) await sleep(20)
        assert.deepEqual(await locks.state('a'), { held: false })
        const next = await locks.lock('a').acquire({ timeout: '3s' })
        assert.ok(next.fence >= 2n && next.fence <= 4n, `fence ${next.fence}: 2, or up to 4 if both aborted waiters were handed the lock`)
        await next.release()
        // A signal that fires after the lock was got changes nothing.
        const c2 = new AbortController()
        const h2 = await locks.lock('a').acquire({ signal: c2.signal })
        c2.abort()
        assert.equal(await h2.release(), true)
      } finally {
        await fx.cleanup()
      }
    })

    test('AbortSignal.timeout works as a deadline', async () => {
      const fx = new Fixture(backend, 'abort-timeout')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('a').acquire()
        await assert.rejects(locks.lock('a').acquire({ timeout: Infinity, signal: AbortSignal.timeout(100) }),
          (e) => e.name === 'TimeoutError')
        await held.release()
        assert.deepEqual(await locks.state('a'), { held: false })
      } finally {
        await fx.cleanup()
      }
    })
  })
}

test('the event loop never blocks: a timer ticks during a long wait', async () => {
  const locks = await Locks.connect(`memory://ticks-${process.pid}`)
  const held = await locks.lock('long').acquire()
  let ticks = 0
  const timer = setInterval(() => ticks++, 20)
  const waited = locks.lock('long').acquireOrNull({ timeout: 1000 })
  await sleep(500)
  assert.ok(ticks >= 15, `only ${ticks} ticks in 500 ms`)
  assert.equal(await waited, null)
  clearInterval(timer)
  assert.ok(ticks >= 30, `only ${ticks} ticks in 1 s`)
  await held.release()
  await locks.close()
})
