// The conformance scenarios of tests/vectors/scenarios.json (written once in
// core/tests/conformance.rs), ported to the npm package and run on every
// fixture of tests/vectors/backends.json (CONFORMANCE_BACKENDS). A
// scenario that needs a capability the backend lacks asserts its UNSUPPORTED
// error instead (`fx.has`). The first test fails when the list and the
// scenarios here disagree.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { describe, test } from 'node:test'
import v8 from 'node:v8'
import vm from 'node:vm'
import {
  Locks, LockError, LockTimeout, LockLost, NotHeld, InvalidArgument, InvalidToken, Unsupported, Closed,
} from 'ferrolock'
import { CONFORMANCE_BACKENDS, Fixture, REFUSED, WASM, repo, sleep, tempDir } from './helpers.mjs'
import path from 'node:path'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const HANG = 20_000
const LIST = JSON.parse(fs.readFileSync(path.join(repo, 'tests', 'vectors', 'scenarios.json'), 'utf8'))
const NEEDS = new Map(LIST.scenarios.map((s) => [s.name, new Set(s.needs)]))

/** A fixture that knows its scenario's declared capabilities. */
class ScenarioFixture extends Fixture {
  constructor(backend, scenario) {
    super(backend, scenario)
    this.scenario = scenario
    this.asked = new Set()
  }

  /**
   * Whether the backend has capability `cap`, which the scenario must
   * declare in its `needs`. Where a missing capability makes operations
   * unsupported, this asserts that error first; the scenario then ends.
   */
  async has(locks, cap) {
    assert.ok(NEEDS.get(this.scenario).has(cap), `${this.scenario} consults ${cap}, which scenarios.json does not list in its needs`)
    this.asked.add(cap)
    const value = locks.capabilities[cap]
    assert.equal(typeof value, 'boolean', `${cap} is not a capability`)
    if (!value && LIST.capabilities[cap].without === 'unsupported') {
      const isUnsupported = (e) => e instanceof Unsupported && e.code === 'UNSUPPORTED'
      if (cap === 'shared') {
        await assert.rejects(locks.lock('unsupported-probe', { shared: true }).tryAcquire(), isUnsupported)
      } else {
        const probe = await locks.lock('unsupported-probe').tryAcquire()
        assert.throws(() => probe.intoToken(), isUnsupported)
        await probe.release()
      }
    }
    return value
  }

  /** After the scenario: it consulted exactly the capabilities it declares. */
  checkNeeds() {
    assert.deepEqual([...this.asked].sort(), [...NEEDS.get(this.scenario)].sort(),
      `${this.scenario}: capabilities consulted vs its needs in scenarios.json`)
  }
}

/**
 * Resolves once `locks` reports that the waiter labelled `holder` has queued
 * (found the lock busy, registered for wake-ups, joined the queue). Call it
 * before starting the wait.
 */
function queued(locks, holder) {
  return new Promise((resolve) => {
    const onQueued = (e) => {
      if (e.holder !== holder) return
      locks.off('queued', onQueued)
      resolve()
    }
    locks.on('queued', onQueued)
  })
}

const scenarios = {
  async mutual_exclusion_of_8_tasks(fx) {
    const locks = await fx.connect()
    let counter = 0
    const task = async () => {
      const lock = locks.lock('counter')
      for (let i = 0; i < 25; i++) {
        const held = await lock.acquire({ timeout: '15s' })
        const v = counter // a non-atomic increment: read, yield, write
        await new Promise((r) => setImmediate(r))
        counter = v + 1
        assert.equal(await held.release(), true)
      }
    }
    await Promise.all(Array.from({ length: 8 }, task))
    assert.equal(counter, 200)
  },

  async try_acquire_on_held_lock_is_none(fx) {
    const locks = await fx.connect()
    const held = await locks.lock('a').tryAcquire()
    assert.ok(held, 'free lock')
    assert.equal(await locks.lock('a').tryAcquire(), null)
    // Not reentrant: the same provider and lock wait like anyone else.
    assert.equal(await locks.lock('a').acquireOrNull({ timeout: 50 }), null)
    assert.equal(await held.release(), true)
    assert.ok(await locks.lock('a').tryAcquire())
  },

  async acquire_times_out_not_early(fx) {
    const locks = await fx.connect()
    await locks.lock('t').acquire({ timeout: '1s' })
    const start = performance.now()
    const err = await locks.lock('t').acquire({ timeout: 300 }).then(() => null, (e) => e)
    const waited = performance.now() - start
    assert.ok(waited >= 299, `timed out early: ${waited}ms`)
    assert.ok(err instanceof LockTimeout && err instanceof LockError, String(err))
    assert.equal(err.code, 'TIMEOUT')
    assert.match(err.message, /"t"/)
  },

  async fences_start_at_1_and_increase(fx) {
    const locks = await fx.connect()
    let last = 0n
    for (let i = 0; i < 5; i++) {
      const held = await locks.lock('f').tryAcquire()
      assert.equal(typeof held.fence, 'bigint')
      if (i === 0) assert.equal(held.fence, 1n)
      assert.ok(held.fence > last)
      last = held.fence
      await held.release()
    }
    // Fences are per key.
    assert.equal((await locks.lock('g').tryAcquire()).fence, 1n)
  },

  async expiry_lets_another_owner_in_with_higher_fence(fx) {
    const locks = await fx.connect()
    const ttl = fx.short(200)
    const first = await locks.lock('e', { ttl, autoRenew: false }).tryAcquire()
    const start = performance.now()
    const second = await (await fx.connect()).lock('e').acquire({ timeout: '10s' })
    assert.ok(performance.now() - start >= ttl * 3 / 4, 'got in before expiry')
    assert.ok(second.fence > first.fence)
    assert.equal(await first.release(), false, 'an expired lease released another owner\'s lock')
  },

  async stale_release_is_false_and_leaves_new_holder(fx) {
    const locks = await fx.connect()
    const ttl = fx.short(100)
    const stale = await locks.lock('s', { ttl, autoRenew: false }).tryAcquire()
    await sleep(ttl * 3 / 2)
    const fresh = await locks.lock('s').tryAcquire()
    assert.ok(fresh, 'expired lock is free')
    assert.equal(await stale.release(), false)
    const state = await locks.state('s')
    assert.equal(state.held, true, 'a stale release freed the new holder\'s lock')
    assert.equal(state.fence, fresh.fence)
    assert.equal(await fresh.release(), true)
  },

  async refresh_after_loss_is_lost(fx) {
    const locks = await fx.connect()
    const ttl = fx.short(100)
    // Taken for long, then shortened by the refresh: a loaded machine that
    // stalls between the acquire and the refresh must not lose it there.
    const held = await locks.lock('r', { ttl: '10s', autoRenew: false }).tryAcquire()
    const lost = held.lost
    if (await fx.refused('refresh', () => held.refresh(ttl)) === REFUSED) return
    await sleep(ttl * 3 / 2)
    assert.ok(await locks.lock('r').tryAcquire())
    await assert.rejects(held.refresh('1s'), (e) => e instanceof LockLost && e.code === 'LOST')
    assert.equal(held.isLost, true)
    assert.equal(lost.aborted, true)
    assert.ok(lost.reason instanceof LockLost)
  },

  async release_is_idempotent(fx) {
    const locks = await fx.connect()
    const held = await locks.lock('i').tryAcquire()
    assert.equal(await held.release(), true)
    assert.equal(await held.release(), false)
    assert.equal(await held.release(), false)
  },

  async operations_after_release_or_handoff_are_not_held(fx) {
    const locks = await fx.connect()
    if (!await fx.has(locks, 'handoff')) return
    let held = await locks.lock('n').tryAcquire()
    await held.release()
    await assert.rejects(held.refresh('1s'), (e) => e instanceof NotHeld && e.code === 'NOT_HELD')
    assert.throws(() => held.intoToken(), NotHeld)

    held = await locks.lock('n').tryAcquire()
    const token = held.intoToken()
    assert.equal(held.isArmed, false)
    await assert.rejects(held.refresh('1s'), NotHeld)
    assert.equal(await held.release(), false, 'a handed-off handle must not release')
    held = null
    gc()
    await sleep(50)
    // The lock is still held: the token owns it.
    assert.equal((await locks.state('n')).held, true)
    assert.equal(await (await locks.resume(token)).release(), true)
  },

  async token_resumes_in_another_provider(fx) {
    const a = await fx.connect()
    if (!await fx.has(a, 'handoff')) return
    const held = await a.lock('job', { holder: 'worker-a' }).tryAcquire()
    const fence = held.fence
    const token = held.intoToken()
    assert.ok(token.startsWith('flk1.'))
    const b = await fx.connect()
    const resumed = await b.resume(token)
    assert.equal(resumed.fence, fence)
    assert.equal(resumed.holder, 'worker-a')
    assert.equal(await a.lock('job').tryAcquire(), null)
    assert.equal(await resumed.release(), true)
    assert.deepEqual(await a.state('job'), { held: false })
    // A token whose lock is gone resumes to LOST.
    await assert.rejects(b.resume(token), LockLost)
  },

  async force_release_state_and_list_show_no_owner_id(fx) {
    const locks = await fx.connect()
    if (!await fx.has(locks, 'handoff')) return
    assert.deepEqual(await locks.state('inv:1'), { held: false })
    const h1 = await locks.lock('inv:1', { holder: 'billing' }).tryAcquire()
    await locks.lock('inv:2').tryAcquire()
    await locks.lock('other').tryAcquire()
    const state = await locks.state('inv:1')
    assert.equal(state.held, true)
    assert.equal(state.fence, h1.fence)
    assert.equal(state.mode, 'exclusive')
    assert.equal(state.holder, 'billing')
    assert.equal(state.readers, 0)
    assert.ok(state.expiresIn > 20_000 && state.expiresIn <= 30_000, String(state.expiresIn))
    const listed = await fx.refused('list', () => locks.list('inv:'))
    if (listed !== REFUSED) {
      assert.deepEqual(listed.map((l) => l.name), ['inv:1', 'inv:2'])
      assert.equal((await locks.list()).length, 3)
    }

    // The owner id lives only in the token.
    const token = h1.intoToken()
    const ownerB64 = token.slice('flk1.'.length).slice(6, 26)
    const shown = JSON.stringify([await locks.state('inv:1'), listed], (_, v) => (typeof v === 'bigint' ? String(v) : v))
    assert.ok(!shown.includes(ownerB64), `owner id leaked: ${shown}`)

    const wasHeld = await fx.refused('force_release', () => locks.forceRelease('inv:1'))
    if (wasHeld === REFUSED) {
      // Only its owner frees it here: with its token.
      assert.equal(await (await locks.resume(token)).release(), true)
    } else {
      assert.equal(wasHeld, true)
      assert.equal(await locks.forceRelease('inv:1'), false)
    }
    assert.deepEqual(await locks.state('inv:1'), { held: false })
    await assert.rejects(locks.resume(token), LockLost)
  },

  async shared_locks_admit_readers_and_exclude_writers(fx) {
    const locks = await fx.connect()
    if (!await fx.has(locks, 'shared')) return
    const readers = []
    for (let i = 0; i < 3; i++) {
      const r = await locks.lock('rw', { shared: true }).tryAcquire()
      assert.ok(r, 'readers share')
      assert.equal(r.mode, 'shared')
      readers.push(r)
    }
    const state = await locks.state('rw')
    assert.equal(state.mode, 'shared')
    assert.equal(state.readers, 3)
    assert.equal(await locks.lock('rw').tryAcquire(), null, 'writer got in beside readers')
    for (const r of readers) assert.equal(await r.release(), true)
    const writer = await locks.lock('rw').tryAcquire()
    assert.ok(writer, 'free after readers')
    assert.equal(await locks.lock('rw', { shared: true }).tryAcquire(), null, 'reader got in beside a writer')
    await writer.release()
  },

  async waiting_writer_is_not_starved_by_new_readers(fx) {
    const locks = await fx.connect()
    if (!await fx.has(locks, 'shared')) {
      await fx.has(locks, 'queue') // consulted too, as scenarios.json says, though it decides nothing then
      return
    }
    const firstReader = await locks.lock('ws', { shared: true }).tryAcquire()
    const other = await fx.connect()
    const writerQueued = queued(other, 'writer')
    const writer = other.lock('ws', { holder: 'writer' }).acquire({ timeout: '15s' })
    await writerQueued
    if (await fx.has(locks, 'queue')) {
      for (let i = 0; i < 5; i++) {
        assert.equal(await locks.lock('ws', { shared: true }).tryAcquire(), null, 'a new reader passed a waiting writer')
        await sleep(20)
      }
    }
    await firstReader.release()
    await (await writer).release()
  },

  async waiters_are_served_in_fifo_order(fx) {
    const locks = await fx.connect()
    const fifo = await fx.has(locks, 'queue')
    const holder = await locks.lock('q').tryAcquire()
    const order = []
    const tasks = []
    for (let i = 0; i < 4; i++) {
      // Each waiter on a provider of its own, queued before the next starts.
      const waiter = await fx.connect()
      const waiterQueued = queued(waiter, `waiter-${i}`)
      const lock = waiter.lock('q', { holder: `waiter-${i}` })
      tasks.push((async () => {
        const held = await lock.acquire({ timeout: '15s' })
        order.push(i)
        await sleep(10)
        await held.release()
      })())
      await waiterQueued
    }
    await holder.release()
    await Promise.all(tasks)
    if (fifo) assert.deepEqual(order, [0, 1, 2, 3])
    // No queue (a quorum): waiters race on release notices; each is still served once.
    else assert.deepEqual([...order].sort(), [0, 1, 2, 3])
  },

  async release_wakes_a_waiter_promptly(fx) {
    const locks = await fx.connect()
    const notices = await fx.has(locks, 'notices')
    const held = await locks.lock('w').tryAcquire()
    const other = await fx.connect()
    const waiterQueued = queued(other, 'waiter')
    const waiter = other.lock('w', { holder: 'waiter' }).acquire({ timeout: '15s' }).then((h) => [performance.now(), h])
    await waiterQueued
    await sleep(700) // the waiter's fallback poll has backed off past the release
    const releasedAt = performance.now()
    await held.release()
    const [gotAt, h] = await waiter
    // Without notices a poll serves it, later.
    if (notices) assert.ok(gotAt - releasedAt < 400, `woken ${gotAt - releasedAt}ms after the release`)
    await h.release()
  },

  async cancelled_wait_leaves_nothing_held(fx) {
    const locks = await fx.connect()
    const held = await locks.lock('c').tryAcquire()
    const controller = new AbortController()
    const reason = new Error('no longer needed')
    const other = await fx.connect()
    const waiterQueued = queued(other, 'waiter')
    const waiter = other.lock('c', { holder: 'waiter' }).acquire({ timeout: Infinity, signal: controller.signal })
    await waiterQueued
    controller.abort(reason)
    await assert.rejects(waiter, (e) => e === reason)
    await held.release()
    // Neither the lock nor the cancelled waiter's place in the queue stays held.
    const start = performance.now()
    const next = await locks.lock('c').acquire({ timeout: '10s' })
    assert.ok(performance.now() - start < 3000, 'a cancelled waiter held up the queue')
    // Higher; not necessarily by 1 (a quorum's fence is the highest of its servers').
    assert.ok(next.fence > held.fence)
    await next.release()
    // Nothing in flight either: the cancelled waiter's attempt, if the server had its statement
    // when the waiter went, may still take the lock when the server runs it, and gives it back at
    // once; closing its provider waits for that (postgres_faults'
    // advisory_a_cancelled_attempt_the_server_runs_late_gives_the_lock_back_at_once: what Kotlin
    // met in CI).
    await other.close()

    // A timeout is the same: nothing stays behind.
    const h = await locks.lock('c').tryAcquire()
    assert.equal(await locks.lock('c').acquireOrNull({ timeout: 100 }), null)
    await h.release()
    assert.ok(await locks.lock('c').tryAcquire())
  },

  async cancelled_acquires_leave_the_lock_free(fx) {
    const locks = await fx.connect()
    const other = await fx.connect()
    // Without a queue, waiters race: see scenarios.json.
    const fair = await fx.has(locks, 'queue')
    // A leaked grant would hold the lock far past the worker's wait (within
    // the backend's maximum: Couchbase's get-and-lock, 30 s).
    const long = Math.min(locks.capabilities.maxTtl, 60_000)
    // Racing waiters pause between attempts for four times an uncontended
    // acquire-release pair (at least 1 ms): on a backend whose round trips
    // are slower they would starve the worker.
    const paced = performance.now()
    await (await locks.lock('pace').tryAcquire()).release()
    const pause = Math.max((performance.now() - paced) * 4, 1)
    let done = false
    let cancelled = 0
    // One acquire aborted after 0-4 ms; a grant that won the race is released.
    const cancelledAcquire = async () => {
      const signal = AbortSignal.timeout(Math.floor(Math.random() * 5))
      try {
        const held = await other.lock('cx', { ttl: long }).acquire({ timeout: '30s', signal })
        await held.release()
      } catch (e) {
        if (!signal.aborted) throw e
        cancelled++
      }
    }
    // One task takes and releases the lock while six others cancel around it.
    const worker = (async () => {
      const lock = locks.lock('cx', { ttl: long, holder: 'worker' })
      try {
        for (let i = 0; i < (fair ? 40 : 13); i++) {
          const held = await lock.acquire({ timeout: '10s' })
          await sleep(Math.random() * 2)
          assert.equal(await held.release(), true)
        }
      } finally {
        done = true
      }
    })()
    const cancellers = Array.from({ length: 6 }, async () => {
      while (!done) {
        await cancelledAcquire()
        // An acquire of a free SQLite or memory lock settles without leaving
        // the microtask queue: without a turn of the event loop here, six
        // such loops can keep the worker's pending wait from ever running.
        if (fair) await new Promise((resolve) => setImmediate(resolve))
        else await sleep(pause)
      }
    })
    await Promise.all([worker, ...cancellers])
    // Uncontended too: acquires of a free lock, aborted at random moments.
    for (let i = 0; i < 30; i++) await cancelledAcquire()
    // How many the churn cancelled depends on the machine's timing (on a
    // loaded one, none); these are cancelled for certain: the lock is held.
    // Held by acquire, not tryAcquire: a grant that won its race with an abort
    // is given back in the background, after the abort has settled.
    const hold = await locks.lock('cx', { ttl: long }).acquire({ timeout: '10s' })
    const before = cancelled
    for (let i = 0; i < 5; i++) await cancelledAcquire()
    assert.equal(cancelled - before, 5, 'an acquire of a held lock was not cancelled')
    assert.equal(await hold.release(), true)
    // A cancelled acquire finishes its operation in the background and gives
    // back what it got (a grant, a queue place); close waits for that, so the
    // check below sees its outcome, not a give-back still under way (as the
    // Rust scenario does).
    await other.close()
    // A newcomer gets the lock at once: no lease (ttl `long`) nor queue entry
    // (stale after 5 s) of a cancelled acquire is in its way. Timed from its
    // acquire, not from its provider's connect.
    const newcomer = await fx.connect()
    const start = performance.now()
    const held = await newcomer.lock('cx').acquire({ timeout: '8s' }).catch(async (e) => {
      throw new Error(`a cancelled acquire held up a newcomer (${e.message}); now: ${JSON.stringify(await locks.state('cx'))}`)
    })
    const waited = performance.now() - start
    assert.ok(waited < 3000, `a cancelled acquire held up a newcomer ${Math.round(waited)} ms; now: ${JSON.stringify(await locks.state('cx'))}`)
    assert.equal(await held.release(), true)
  },

  async watchdog_keeps_lock_past_its_ttl(fx) {
    const locks = await fx.connect()
    let renewed = 0
    locks.on('renewed', () => renewed++)
    const ttl = fx.short(300)
    const held = await locks.lock('wd', { ttl }).tryAcquire()
    if (await fx.refused('refresh', () => held.refresh(ttl)) === REFUSED) {
      // Nothing renews a lock the backend cannot extend: it lapses at its ttl.
      await sleep(ttl * 3 / 2)
      assert.ok(await locks.lock('wd').tryAcquire(), 'a lock that cannot be renewed outlived its ttl')
      assert.equal(await held.release(), false)
      assert.equal(renewed, 0)
      return
    }
    await sleep(ttl * 10 / 3)
    assert.equal(held.isLost, false)
    assert.equal(held.lost.aborted, false)
    assert.equal(await locks.lock('wd').tryAcquire(), null, 'renewed lock was taken')
    assert.equal(await held.release(), true)
    await sleep(50)
    assert.ok(renewed >= 2, `renewed ${renewed} times`)
  },

  async without_auto_renew_the_lock_expires_at_its_ttl(fx) {
    const locks = await fx.connect()
    const ttl = fx.short(300)
    const held = await locks.lock('nr', { ttl, autoRenew: false }).tryAcquire()
    assert.equal(await locks.lock('nr').tryAcquire(), null)
    await sleep(ttl * 5 / 3)
    assert.deepEqual(await locks.state('nr'), { held: false })
    assert.equal(await held.release(), false)
  },

  async loss_is_noticed_and_run_ends_with_lost(fx) {
    const locks = await fx.connect()
    const admin = await fx.connect()
    // Nothing can take a lock from its holder here (it only lapses).
    if (await fx.refused('force_release', () => admin.forceRelease('lost')) === REFUSED) return
    const result = locks.lock('lost', { ttl: 300 }).run(async (held) => {
      await admin.forceRelease('lost')
      await new Promise((resolve, reject) => {
        // The loss may be noticed before forceRelease returns (PostgreSQL's
        // advisory mode ends the holder's session, which its renewal sees at
        // once): an aborted signal fires no more 'abort' events.
        if (held.lost.aborted) return resolve()
        const t = setTimeout(() => reject(new Error('loss not noticed')), 10_000)
        held.lost.addEventListener('abort', () => { clearTimeout(t); resolve() })
      })
      assert.equal(held.isLost, true)
      assert.ok(held.lost.reason instanceof LockLost)
      return 7
    })
    await assert.rejects(result, (e) => e instanceof LockLost && e.code === 'LOST')
  },

  async run_returns_the_body_value_and_releases(fx) {
    const locks = await fx.connect()
    const v = await locks.lock('run').run(async (held) => held.fence * 10n, { timeout: '5s' })
    assert.equal(v, 10n)
    assert.equal(await locks.lock('run').run(() => 'sync value'), 'sync value')
    assert.deepEqual(await locks.state('run'), { held: false })
    // A failing body's error comes back, and the lock is released too.
    const bad = new Error('bad')
    await assert.rejects(locks.lock('run').run(async () => { throw bad }), (e) => e === bad)
    assert.deepEqual(await locks.state('run'), { held: false })
    // withLock, for older code: a promise without a callback, cb(err, result) with one.
    assert.equal(await locks.lock('run').withLock(() => 5), 5)
    assert.equal(await locks.lock('run').withLock(async (held) => held.name), 'run')
    const viaCb = (fn) => new Promise((resolve) => locks.lock('run').withLock(fn, (err, v) => resolve([err, v])))
    assert.deepEqual(await viaCb(() => 6), [null, 6])
    assert.deepEqual(await viaCb(async () => { throw bad }), [bad, undefined])
    assert.deepEqual(await locks.state('run'), { held: false })
    // Kept in a variable: a handle collected meanwhile would release the lock.
    const holder = await locks.lock('run').tryAcquire()
    await assert.rejects(locks.lock('run').run(async () => 1, { timeout: 50 }), LockTimeout)
    assert.equal(await holder.release(), true)
  },

  async events_report_what_happened(fx) {
    const locks = await fx.connect()
    const kinds = []
    const onEvent = (e) => {
      assert.equal(e.name, 'ev')
      assert.equal(typeof e.fence, 'bigint')
      kinds.push(e.kind)
    }
    locks.on('event', onEvent)
    const held = await locks.lock('ev', { holder: 'me' }).tryAcquire()
    assert.equal(await locks.lock('ev').acquireOrNull({ timeout: 50 }), null)
    await held.release()
    const again = await locks.lock('ev').tryAcquire()
    let last = 'force_released'
    if (await fx.refused('force_release', () => locks.forceRelease('ev')) === REFUSED) {
      await again.release()
      last = 'released'
    }
    for (let i = 0; i < 200 && kinds.length < 6; i++) await sleep(10) // delivered from the runtime
    assert.deepEqual(kinds, ['acquired', 'queued', 'timed_out', 'released', 'acquired', last])
    // Without listeners, nothing more arrives.
    locks.off('event', onEvent)
    await locks.lock('ev2').tryAcquire()
    await sleep(50)
    assert.equal(kinds.length, 6)
  },

  async closed_provider_refuses_operations(fx) {
    const locks = await fx.connect()
    const held = await locks.lock('x').tryAcquire()
    await locks.close()
    await assert.rejects(locks.lock('x').tryAcquire(), (e) => e instanceof Closed && e.code === 'CLOSED')
    await assert.rejects(locks.state('x'), Closed)
    await assert.rejects(held.refresh('1s'), Closed)
    await assert.rejects(locks.ping(), Closed)
    assert.throws(() => held.intoToken(), Closed)
  },

  async close_ends_pending_waits(fx) {
    const locks = await fx.connect()
    const held = await locks.lock('w').tryAcquire()
    const other = await fx.connect()
    const waiterQueued = queued(other, 'waiter')
    let ended = false
    const waiter = other.lock('w', { holder: 'waiter' }).acquire({ timeout: Infinity })
      .then((h) => h, (e) => e)
      .finally(() => { ended = true })
    await waiterQueued
    assert.equal(ended, false, 'the wait ended before the lock was free')
    await other.close()
    // A wait that would never end on its own ends with CLOSED, holding nothing.
    const outcome = await waiter
    assert.ok(outcome instanceof Closed && outcome.code === 'CLOSED', String(outcome))
    const fence = held.fence
    await held.release()
    // The closed waiter left its queue before close() resolved: nobody is
    // ahead of a newcomer, and the release handed the lock to nobody.
    const next = await locks.lock('w').tryAcquire()
    assert.ok(next, 'free right after the release')
    assert.ok(next.fence > fence)
    await next.release()
  },

  async bypass_grants_every_lock(fx) {
    const locks = await Locks.connect(await fx.target('bypass=true'))
    const a = await locks.lock('b').tryAcquire()
    const b = await locks.lock('b').tryAcquire()
    assert.deepEqual([a.fence, b.fence], [0n, 0n])
    // The real backend was not touched.
    assert.deepEqual(await (await fx.connect()).state('b'), { held: false })
    await a.release()
    await b.release()
    await locks.close()
  },

  async bad_input_gives_typed_errors(fx) {
    const locks = await fx.connect()
    const invalid = async (p, needle) => {
      await assert.rejects(p, (e) => {
        assert.ok(e instanceof InvalidArgument, `${e}`)
        assert.equal(e.code, 'INVALID_ARGUMENT')
        assert.ok(e.message.includes(needle), `${JSON.stringify(e.message)} should name ${JSON.stringify(needle)}`)
        return true
      })
    }
    await invalid(locks.lock('').tryAcquire(), 'empty')
    await invalid(locks.lock('x'.repeat(513)).tryAcquire(), '513')
    await invalid(locks.lock('bad\nname').tryAcquire(), 'control')
    await invalid(locks.lock('t', { ttl: 0 }).tryAcquire(), 'ttl')
    const max = locks.capabilities.maxTtl
    await invalid(locks.lock('t', { ttl: max + 1000 }).tryAcquire(), 'maximum')
    await invalid(locks.lock('t', { holder: 'a\u0007b' }).tryAcquire(), 'holder')
    await invalid(locks.lock('t').acquireOrNull({ timeout: 2 ** 64 }), 'timeout')
    // A name of exactly 512 bytes is fine, and so is any UTF-8.
    assert.ok(await locks.lock('é'.repeat(256)).tryAcquire())
    assert.ok(await locks.lock('{braces}:and spaces/ünïcode').tryAcquire())
    // Nothing was left held by the failed calls.
    const listed = await fx.refused('list', () => locks.list('t'))
    if (listed !== REFUSED) assert.deepEqual(listed, [])
    await assert.rejects(locks.state(''), InvalidArgument)
    await assert.rejects(locks.forceRelease('a\0'), InvalidArgument)

    for (const [url, needle] of [
      ['nope://x', 'unknown scheme'],
      ['no-scheme-here', 'no scheme'],
      ['memory://?namespace=bad/ns', 'namespace'],
      ['memory://?namespace=', 'namespace'],
      ['memory://?colour=blue', 'colour'],
      ['memory://?bypass=maybe', 'bypass'],
      ...(WASM ? [] : [['sqlite://', 'path']]),
    ]) {
      await invalid(Locks.connect(url), needle)
    }
    if (WASM) {
      // No SQLite in the WebAssembly build: the scheme is known, the backend not built.
      const e = await Locks.connect('sqlite://').catch((e) => e)
      assert.ok(e instanceof Unsupported && e.message.includes('sqlite'), String(e))
    }
    const err = await Locks.connect('ftp://alice:hunter2@example').catch((e) => e)
    assert.ok(err instanceof InvalidArgument)
    assert.ok(!err.message.includes('hunter2'), `password leaked: ${err.message}`)
    // A scheme whose backend this build leaves out is UNSUPPORTED naming its
    // cargo feature: Couchbase in the WebAssembly build, the WebAssembly
    // build's redis+runner in the addon.
    const [out, feature] = WASM ? ['couchbase://alice:hunter2@db/app', 'couchbase'] : ['redis+runner://alice:hunter2@db', 'redis-runner']
    const pg = await Locks.connect(out).catch((e) => e)
    assert.ok(pg instanceof Unsupported && pg.message.includes(feature), String(pg))
    assert.ok(!pg.message.includes('hunter2'))
  },

  async foreign_and_malformed_tokens_are_invalid(fx) {
    const locks = await fx.connect()
    if (!await fx.has(locks, 'handoff')) return
    // The WebAssembly build has no SQLite: a memory provider gets its foreign token from the vectors.
    const otherDir = locks.backend === 'memory' && !WASM ? tempDir() : null
    const otherUrl = otherDir ? `sqlite://${path.join(otherDir, 'x.db')}` : `memory://foreign-${Date.now()}`
    const foreign = locks.backend === 'memory' && WASM ? null : await Locks.connect(otherUrl)
    try {
      const token = foreign
        ? (await foreign.lock('f').tryAcquire()).intoToken()
        : JSON.parse(fs.readFileSync(path.join(repo, 'tests', 'vectors', 'tokens.json'), 'utf8')).valid.find((t) => t.backend === 'sqlite').token
      await assert.rejects(locks.resume(token), (e) => e instanceof InvalidToken && e.code === 'INVALID_TOKEN' && e.message.includes('backend'))
      for (const bad of ['', 'flk1.', 'flk1.!!!!', 'flk2.AAAA', token.slice(0, -4), 'flk1.'.repeat(1000)]) {
        await assert.rejects(locks.resume(bad), InvalidToken, JSON.stringify(bad))
      }
    } finally {
      await foreign?.close()
      if (otherDir) fs.rmSync(otherDir, { recursive: true, force: true })
    }
  },

  async dropped_handle_releases_its_lock(fx) {
    const locks = await fx.connect()
    const warnings = []
    const onWarning = (w) => { if (w.code === 'FERROLOCK_NOT_RELEASED') warnings.push(w.message) }
    process.on('warning', onWarning)
    await (async () => {
      const held = await locks.lock('d').tryAcquire()
      assert.ok(held)
    })()
    // The handle is garbage now: collecting it releases the lock.
    for (let i = 0; i < 5; i++) {
      gc()
      await sleep(20)
    }
    const next = await locks.lock('d').acquire({ timeout: '5s' })
    assert.equal(next.fence, 2n)
    await next.release()
    process.off('warning', onWarning)
    assert.ok(warnings.some((m) => m.includes('"d"')), `no warning about the dropped handle: ${warnings}`)
  },
}

test('the scenarios are those of scenarios.json', () => {
  const listed = LIST.scenarios.map((s) => s.name)
  assert.equal(new Set(listed).size, listed.length, 'scenarios.json names a scenario twice')
  const here = Object.keys(scenarios)
  const missing = listed.filter((n) => !here.includes(n))
  const unlisted = here.filter((n) => !listed.includes(n))
  assert.ok(missing.length === 0 && unlisted.length === 0,
    `scenarios.json names ${JSON.stringify(missing)}, which this suite does not have; ` +
    `this suite has ${JSON.stringify(unlisted)}, which scenarios.json does not name`)
  for (const s of LIST.scenarios) {
    assert.ok(s.description, s.name)
    for (const cap of s.needs) assert.ok(['unsupported', 'weaker'].includes(LIST.capabilities[cap]?.without), cap)
  }
})

for (const backend of CONFORMANCE_BACKENDS) {
  describe(backend, () => {
    for (const [name, scenario] of Object.entries(scenarios)) {
      test(name, { timeout: HANG }, async () => {
        const fx = new ScenarioFixture(backend, name)
        try {
          await scenario(fx)
          fx.checkNeeds()
        } finally {
          await fx.cleanup()
        }
      })
    }
  })
}
