// The bad-input matrix: undefined, null, wrong types, NaN, negative and huge
// durations, forged tokens. Each gives an error naming the argument (a
// TypeError for a wrong JS type), never a crash, and leaves nothing held.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Locks, BackendUnavailable, InvalidArgument, InvalidToken, LockLost, Unsupported, decodeToken } from 'ferrolock'
import { WASM } from './helpers.mjs'

let locks
before(async () => {
  locks = await Locks.connect(`memory://bad-input-${process.pid}`)
})
after(async () => {
  assert.deepEqual(await locks.list(), [], 'a failed call left a lock held')
  await locks.close()
})

/** `f()` throws or rejects with `Class`, whose message names `needle`. */
async function fails(f, Class, needle) {
  let error
  try {
    await f()
  } catch (e) {
    error = e
  }
  assert.ok(error, `expected ${Class.name} naming ${needle}`)
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${error && error.stack}`)
  assert.ok(error.message.includes(needle), `${JSON.stringify(error.message)} should name ${JSON.stringify(needle)}`)
}

const WRONG_TYPES = [undefined, null, 42, true, {}, [], () => {}, Symbol('s'), 10n]

test('connect: url of a wrong type, bad URLs', async () => {
  for (const url of [null, 42, {}, [], true]) await fails(() => Locks.connect(url), TypeError, 'url')
  await fails(() => Locks.connect(''), InvalidArgument, 'scheme')
  // The WebAssembly build has no redis:// (Redis comes through a client): the scheme is not built.
  await fails(() => Locks.connect('redis://u:hunter2@127.0.0.1:0/x?colour=blue'), WASM ? Unsupported : InvalidArgument, WASM ? 'redis' : 'colour')
  const e = await Locks.connect('redis://u:hunter2@127.0.0.1:0/x?colour=blue').catch((e) => e)
  assert.ok(!e.message.includes('hunter2'))
})

test('lock: name and options of wrong types', async () => {
  for (const name of WRONG_TYPES) await fails(() => locks.lock(name), TypeError, 'name')
  for (const options of [null, 42, 'ttl', [], true]) await fails(() => locks.lock('a', options), TypeError, 'options')
  await fails(() => locks.lock('a', { tll: 5 }), TypeError, 'tll')
  for (const v of [null, {}, [], true, 10n]) await fails(() => locks.lock('a', { ttl: v }), TypeError, 'ttl')
  for (const v of [null, 'yes', 1]) await fails(() => locks.lock('a', { shared: v }), TypeError, 'shared')
  for (const v of [null, 'no', 0]) await fails(() => locks.lock('a', { autoRenew: v }), TypeError, 'autoRenew')
  for (const v of [null, 42, {}]) await fails(() => locks.lock('a', { holder: v }), TypeError, 'holder')
})

test('ttl: NaN, negative, zero, Infinity, huge, unparseable: reported by the first operation', async () => {
  for (const [ttl, needle] of [[NaN, 'NaN'], [-1, 'negative'], [0, 'ttl'], [Infinity, 'Infinity'], [1e300, 'ttl'],
    [2 ** 64, 'ttl'], ['10 parsecs', 'ttl'], ['', 'ttl'], ['-5s', 'ttl'], ['1e3', 'ttl'], [' 250 ', 'ttl " 250 " has no unit'], [400 * 24 * 3600 * 1000, `ttl ${400 * 24 * 3600 * 1000} ms is above this backend's maximum`], ['400d', 'ttl "400d" is above']]) {
    const lock = locks.lock('a', { ttl })
    await fails(() => lock.tryAcquire(), InvalidArgument, needle)
    await fails(() => lock.acquire(), InvalidArgument, needle)
    await fails(() => lock.run(() => 1), InvalidArgument, needle)
  }
  // Strings of every unit are fine.
  for (const ttl of ['500ms', '10s', '1.5m', '2h', '1d', ' 250 ms ', 0.5 * 1000]) {
    const held = await locks.lock('units', { ttl }).tryAcquire()
    assert.ok(held, String(ttl))
    await held.release()
  }
})

test('timeout and signal: wrong types and values', async () => {
  const lock = locks.lock('t')
  for (const opts of [null, 5, 'x', []]) await fails(() => lock.acquire(opts), TypeError, 'options')
  await fails(() => lock.acquire({ timout: 5 }), TypeError, 'timout')
  for (const timeout of [null, {}, true, 5n]) await fails(() => lock.acquire({ timeout }), TypeError, 'timeout')
  for (const [timeout, needle] of [[NaN, 'NaN'], [-5, 'negative'], [1e300, 'Infinity to wait forever'], ['soon', 'timeout']]) {
    await fails(() => lock.acquire({ timeout }), InvalidArgument, needle)
    await fails(() => lock.acquireOrNull({ timeout }), InvalidArgument, needle)
    await fails(() => lock.run(() => 1, { timeout }), InvalidArgument, needle)
  }
  for (const signal of [null, 'abort', {}, { aborted: false }]) await fails(() => lock.acquire({ signal }), TypeError, 'signal')
})

test('run and withLock: fn and cb of wrong types', async () => {
  const lock = locks.lock('r')
  for (const fn of [undefined, null, 42, 'fn', {}]) {
    await fails(() => lock.run(fn), TypeError, 'fn')
    await fails(() => lock.withLock(fn), TypeError, 'fn')
  }
  for (const cb of [null, 42, 'cb', {}]) await fails(() => lock.withLock(() => 1, cb), TypeError, 'cb')
})

test('names: empty, too long, control characters; state, list, forceRelease', async () => {
  await fails(() => locks.lock('').tryAcquire(), InvalidArgument, 'empty')
  await fails(() => locks.lock('x'.repeat(513)).tryAcquire(), InvalidArgument, '513')
  await fails(() => locks.lock('a\u0000b').tryAcquire(), InvalidArgument, 'control')
  for (const v of WRONG_TYPES) {
    await fails(() => locks.state(v), TypeError, 'name')
    await fails(() => locks.forceRelease(v), TypeError, 'name')
  }
  for (const v of [null, 42, {}]) await fails(() => locks.list(v), TypeError, 'prefix')
  await fails(() => locks.list('a\nb'), InvalidArgument, 'control')
})

test('tokens: wrong types, forged and malformed ones', async () => {
  for (const v of WRONG_TYPES) {
    await fails(() => locks.resume(v), TypeError, 'token')
    await fails(() => decodeToken(v), TypeError, 'token')
  }
  for (const bad of ['', 'flk1.', 'flk1.!!!!', 'flk1.' + 'A'.repeat(5000), 'flk1.AQ', '🔒'.repeat(10)]) {
    await fails(() => locks.resume(bad), InvalidToken, 'token')
    await fails(() => decodeToken(bad), InvalidToken, 'token')
  }
  // A well-formed token whose owner id is forged: the lock is not held by it.
  const held = await locks.lock('forged').tryAcquire()
  const real = held.intoToken()
  const bytes = Buffer.from(real.slice(5), 'base64url')
  bytes[4] ^= 0xff // the owner id starts at byte 4
  const forged = 'flk1.' + bytes.toString('base64url')
  assert.equal(decodeToken(forged).name, 'forged')
  await fails(() => locks.resume(forged), LockLost, 'forged')
  // The real owner still has it, and nothing else was disturbed.
  assert.equal(await (await locks.resume(real)).release(), true)
})

test('refresh: bad ttl values', async () => {
  const held = await locks.lock('refresh').tryAcquire()
  for (const [ttl, needle] of [[NaN, 'NaN'], [-1, 'negative'], [0, 'ttl'], [Infinity, 'Infinity'], ['x', 'ttl']]) {
    await fails(() => held.refresh(ttl), InvalidArgument, needle)
  }
  for (const ttl of [null, {}, true]) await fails(() => held.refresh(ttl), TypeError, 'ttl')
  await held.refresh('20s')
  assert.equal(held.ttl, 20_000)
  await held.release()
})

test('an unavailable backend names the server and keeps its own error as cause', async () => {
  if (WASM) {
    // Through a client whose server is down: the client's own error is the cause.
    const { createRequire } = await import('node:module')
    const Redis = createRequire(`${process.env.FERROLOCK_TEST_PROJECT}/package.json`)('ioredis')
    const client = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null })
    const close = () => client.disconnect()
    try {
      const error = await Locks.connect({ redis: client }).catch((e) => e)
      assert.ok(error instanceof BackendUnavailable, String(error))
      assert.ok(error.cause instanceof Error && error.message.includes(error.cause.message), String(error.cause))
    } finally {
      await close()
    }
    return
  }
  const error = await Locks.connect('redis://127.0.0.1:1').catch((e) => e)
  assert.ok(error instanceof BackendUnavailable, String(error))
  assert.ok(error.message.includes('127.0.0.1:1') && !error.message.includes('[cause]'), error.message)
  assert.ok(error.cause instanceof Error, 'no cause')
  assert.ok(error.cause.message && error.message.includes(error.cause.message), error.cause.message)
})

test('a SQLite path that cannot be a database is a bad argument naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferrolock-path-'))
  const file = join(dir, 'file')
  writeFileSync(file, '')
  try {
    if (WASM) {
      // No SQLite in the WebAssembly build: every sqlite:// URL is unsupported, naming it.
      for (const url of [`sqlite://${file}/locks.db`, `sqlite://${dir}`]) await fails(() => Locks.connect(url), Unsupported, 'sqlite')
      return
    }
    await fails(() => Locks.connect(`sqlite://${file}/locks.db`), InvalidArgument, `${file} is a file, not a folder`)
    await fails(() => Locks.connect(`sqlite://${dir}`), InvalidArgument, `${dir}: is a folder`)
    await fails(() => Locks.connect('sqlite:locks.db'), InvalidArgument, 'write sqlite://locks.db')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('messages name a missing value as undefined, once', async () => {
  for (const f of [() => locks.lock(undefined), () => locks.state(undefined), () => decodeToken(undefined)]) {
    await assert.rejects(async () => f(), (e) => {
      assert.ok(e instanceof TypeError)
      assert.ok(e.message.endsWith('must be a string, not undefined'), e.message)
      return true
    })
  }
  await fails(() => locks.lock(5), TypeError, 'not the number 5')
})

test('a run whose body released or handed off its lock ends without LockLost', async () => {
  assert.equal(await locks.lock('early').run(async (held) => held.release()), true)
  const token = await locks.lock('handed').run((held) => held.intoToken())
  assert.equal((await locks.state('handed')).held, true)
  assert.equal(await (await locks.resume(token)).release(), true)
  // A force release is named among the causes of a loss.
  await assert.rejects(
    locks.lock('forced').run(async () => { await locks.forceRelease('forced') }),
    (e) => e instanceof LockLost && e.message.includes('force-released'),
  )
})
