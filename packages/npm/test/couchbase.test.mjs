// BoxLang CouchbaseLock's usage patterns in Node, on gocaves (Couchbase's
// mock cluster, started by scripts/suites/node or scripts/test:
// FERROLOCK_TEST_COUCHBASE_URL, mode=getl), as core/tests/couchbase.rs has
// them in Rust: the callback form (`run`), the manual form with
// try/finally and with `await using` (its Symbol.asyncDispose), acquireOrNull
// on a held lock (throwOnTimeout=false), `bypass`, the 31 s error, a lock
// handed by token to another Node process that releases it, and what
// get-and-lock refuses (UNSUPPORTED).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { Locks, InvalidArgument, LockLost, Unsupported } from 'ferrolock'
import { repo } from './helpers.mjs'

let seq = 0
/** A namespace of its own on the getl cluster, for one test. */
function getlUrl() {
  const base = process.env.FERROLOCK_TEST_COUCHBASE_URL
  if (!base) throw new Error('FERROLOCK_TEST_COUCHBASE_URL is not set: run scripts/suites/node, which starts gocaves')
  return `${base}${base.includes('?') ? '&' : '?'}namespace=boxlang-${process.pid}-${Date.now()}-${++seq}`
}

/** connect() for one test, closing every provider after it. */
async function providers(t) {
  const made = []
  t.after(async () => { for (const p of made) await p.close() })
  return async (url) => {
    const locks = await Locks.connect(url)
    made.push(locks)
    return locks
  }
}

test('the callback form runs the body under the lock and releases it', async (t) => {
  const locks = await (await providers(t))(getlUrl())
  const caps = locks.capabilities
  assert.deepEqual([caps.maxTtl, caps.shared, caps.handoff], [30_000, false, true])
  const lock = locks.lock('invoice', { ttl: '10s' })
  const fence = await lock.run(async (held) => {
    assert.equal((await locks.state('invoice')).held, true)
    return held.fence
  }, { timeout: '5s' })
  assert.equal(fence, 1n)
  assert.deepEqual(await locks.state('invoice'), { held: false })
  // A failing body's error comes back, and the lock is released too.
  const bad = new Error('the work failed')
  await assert.rejects(lock.run(async () => { throw bad }), (e) => e === bad)
  assert.deepEqual(await locks.state('invoice'), { held: false })
})

test('the manual form: acquire, then release in finally (and await using)', async (t) => {
  const locks = await (await providers(t))(getlUrl())
  const lock = locks.lock('invoice', { ttl: '10s' })
  const held = await lock.acquire({ timeout: '5s' })
  try {
    const state = await locks.state('invoice')
    assert.deepEqual([state.held, state.fence, state.mode, state.holder], [true, held.fence, 'exclusive', held.holder])
    assert.ok(state.expiresIn > 5_000 && state.expiresIn <= 10_000, String(state.expiresIn))
  } finally {
    assert.equal(await held.release(), true)
  }
  assert.deepEqual(await locks.state('invoice'), { held: false })
  // `await using held = await lock.acquire()` (TypeScript, Node 24) ends the
  // block with held[Symbol.asyncDispose](): the release, when the work fails too.
  await assert.rejects((async () => {
    const scoped = await lock.acquire({ timeout: '5s' })
    try {
      assert.equal(scoped.fence, 2n)
      throw new RangeError('the work failed')
    } finally {
      await scoped[Symbol.asyncDispose]()
    }
  })(), RangeError)
  assert.deepEqual(await locks.state('invoice'), { held: false })
})

test('acquireOrNull on a held lock is null, without waiting out the lock', async (t) => {
  const connect = await providers(t)
  const url = getlUrl()
  const locks = await connect(url)
  const other = await connect(url)
  const held = await locks.lock('invoice', { ttl: '10s' }).tryAcquire()
  const start = performance.now()
  assert.equal(await other.lock('invoice', { ttl: '10s' }).acquireOrNull({ timeout: 300 }), null)
  const waited = performance.now() - start
  assert.ok(waited >= 290 && waited < 3000, `waited ${waited} ms`)
  assert.equal(await held.release(), true)
  const next = await other.lock('invoice', { ttl: '10s' }).acquireOrNull({ timeout: 300 })
  assert.equal(next.fence, held.fence + 1n)
  assert.equal(await next.release(), true)
})

test('bypass grants every lock without touching Couchbase', async (t) => {
  const connect = await providers(t)
  const url = getlUrl()
  const locks = await connect(url)
  const bypass = await connect(`${url}&bypass=true`)
  const a = await bypass.lock('invoice').tryAcquire()
  const b = await bypass.lock('invoice').tryAcquire()
  assert.deepEqual([a.fence, b.fence], [0n, 0n])
  assert.equal(await bypass.lock('invoice').run((held) => held.fence), 0n)
  assert.deepEqual(await locks.state('invoice'), { held: false })
  await a.release()
  await b.release()
  // The real lock was untouched: its first fence is still 1.
  assert.equal(await locks.lock('invoice').run((held) => held.fence), 1n)
})

test('a ttl above 30 s is INVALID_ARGUMENT naming the limit', async (t) => {
  const locks = await (await providers(t))(getlUrl())
  await assert.rejects(locks.lock('long', { ttl: '31s' }).tryAcquire(), (e) => {
    assert.ok(e instanceof InvalidArgument && e.code === 'INVALID_ARGUMENT', String(e))
    assert.ok(e.message.includes('31s') && e.message.includes('30s'), e.message)
    return true
  })
  await assert.rejects(locks.lock('half', { ttl: 1500 }).tryAcquire(), (e) => {
    assert.ok(e instanceof InvalidArgument && e.message.includes('whole number of seconds'), String(e))
    return true
  })
  // 30 s itself is fine.
  assert.equal(await locks.lock('long', { ttl: '30s' }).run((held) => held.fence), 1n)
})

test('getl refuses what get-and-lock cannot do', async (t) => {
  const locks = await (await providers(t))(getlUrl())
  const held = await locks.lock('caps', { ttl: '10s' }).tryAcquire()
  for (const [operation, call] of [
    ['refresh', () => held.refresh('10s')],
    ['force_release', () => locks.forceRelease('caps')],
    ['shared', () => locks.lock('caps-r', { shared: true }).tryAcquire()],
    ['list', () => locks.list()],
  ]) {
    await assert.rejects(call(), (e) => {
      assert.ok(e instanceof Unsupported && e.code === 'UNSUPPORTED', String(e))
      assert.ok(e.message.includes('couchbase') && e.message.includes(operation), e.message)
      return true
    })
  }
  // None of them freed it: only its holder (the CAS) does.
  assert.equal(await locks.lock('caps').tryAcquire(), null)
  assert.equal(await held.release(), true)
})

// BoxLang's couchbaseUnlock(cache, name, cas) from elsewhere: the token
// carries the CAS to another Node process, which resumes and releases it.
const CHILD = `
import { Locks } from 'ferrolock'
const [url, token] = process.argv.slice(-2)
const locks = await Locks.connect(url)
const held = await locks.resume(token)
console.log(String(held.fence))
console.log(String(await held.release()))
await locks.close()
`

test('a lock handed off by token is released by another process', async (t) => {
  const url = getlUrl()
  const locks = await (await providers(t))(url)
  const held = await locks.lock('report', { ttl: '20s', holder: 'node-parent' }).acquire({ timeout: '5s' })
  const fence = held.fence
  const token = held.intoToken()
  assert.equal(await locks.lock('report').tryAcquire(), null, 'the token holds the lock')
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, '--', url, token], {
    cwd: path.join(repo, 'packages', 'npm'),
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.deepEqual(out.trim().split('\n'), [String(fence), 'true'])
  assert.deepEqual(await locks.state('report'), { held: false })
  // The token is spent: resuming it again is LOST.
  await assert.rejects(locks.resume(token), LockLost)
  const next = await locks.lock('report').tryAcquire()
  assert.equal(next.fence, fence + 1n)
  await next.release()
})
