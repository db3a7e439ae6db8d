// ferrolock/wasm on a real redis-server through the user's own client
// (ioredis, node-redis): the same keys, fences, queue and tokens as the
// native engine, checked against the ferrolock command (the native Rust
// engine) on the same server; release notices through the client's
// duplicate; and nothing of ours keeping the event loop alive after close().
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import { BackendUnavailable, Locks, Unsupported, decodeToken } from 'ferrolock/wasm'
import { cliPath, redisClient, redisUrl } from '../helpers.mjs'

const cli = (...args) => execFileSync(cliPath(), args, { encoding: 'utf8' }).trim()
let n = 0
const namespace = (what) => `wasm-${what}-${process.pid}-${Date.now()}-${++n}`
const urlOf = (ns) => `${redisUrl()}?namespace=${ns}`

for (const kind of ['ioredis', 'node-redis']) {
  describe(kind, () => {
    test('a lock held through the client is held for the CLI, on the native keys; tokens pass both ways', async () => {
      const ns = namespace('interop')
      const { client, close } = await redisClient(kind)
      const locks = await Locks.connect({ redis: client, namespace: ns, holder: 'edge-1' })
      try {
        assert.equal(locks.backend, 'redis')
        assert.deepEqual({ ...locks.capabilities }, { maxTtl: locks.capabilities.maxTtl, shared: true, handoff: true, queue: true, notices: true })
        const held = await locks.lock('job', { ttl: '30s' }).acquire()
        // The native engine sees it: same key, fence and holder; it cannot take it.
        const state = JSON.parse(cli('--url', urlOf(ns), 'state', '--json', 'job'))
        assert.equal(state.held, true)
        assert.equal(String(state.fence), String(held.fence))
        assert.equal(state.holder, 'edge-1')
        assert.throws(() => cli('--url', urlOf(ns), 'acquire', '--nonblock', 'job'), (e) => e.status === 75)
        const fields = kind === 'ioredis' ? await client.hgetall(`__lock:${ns}:job`) : await client.hGetAll(`__lock:${ns}:job`)
        assert.equal(Object.keys(fields).length, 1, 'one lease in the native lease hash')
        // wasm → CLI: the CLI releases the lock with the token.
        const token = held.intoToken()
        assert.equal(decodeToken(token).backend, 'redis')
        cli('--url', urlOf(ns), 'release', token)
        assert.equal((await locks.state('job')).held, false)
        // CLI → wasm: a token of the CLI resumes and releases here.
        const cliToken = cli('--url', urlOf(ns), 'acquire', '--ttl', '30s', 'job')
        const resumed = await locks.resume(cliToken)
        assert.ok(resumed.fence > held.fence, `${resumed.fence} > ${held.fence}`)
        assert.equal(await resumed.release(), true)
        assert.match(cli('--url', urlOf(ns), 'state', 'job'), /free/)
        // list goes through the client's SCAN.
        const again = await locks.lock('listed').acquire()
        assert.deepEqual((await locks.list()).map((i) => i.name), ['listed'])
        await again.release()
      } finally {
        await locks.close()
        await close()
      }
    })

    test('a waiter gets the lock the CLI releases, woken by the release notice', async () => {
      const ns = namespace('queue')
      const { client, close } = await redisClient(kind)
      const locks = await Locks.connect({ redis: client, namespace: ns })
      try {
        const token = cli('--url', urlOf(ns), 'acquire', '--ttl', '60s', 'q')
        const queued = once(locks, 'queued')
        const waiter = locks.lock('q').acquire({ timeout: '20s' })
        await queued
        cli('--url', urlOf(ns), 'release', token)
        const held = await waiter
        assert.equal(held.fence, 2n)
        await held.release()
      } finally {
        await locks.close()
        await close()
      }
    })

    test('after locks.close() and the client quit, nothing keeps the process alive', () => {
      // A child that held, waited (so the duplicate subscribed and timers
      // ran), then closed: it must exit by itself.
      const script = `
        import { Locks } from 'ferrolock/wasm'
        import { createRequire } from 'node:module'
        const require = createRequire(process.cwd() + '/package.json')
        const url = ${JSON.stringify(redisUrl())}
        let client
        if (${JSON.stringify(kind)} === 'ioredis') { const Redis = require('ioredis'); client = new Redis(url) }
        else { client = require('redis').createClient({ url }); await client.connect() }
        const locks = await Locks.connect({ redis: client, namespace: ${JSON.stringify(namespace('exit'))} })
        const held = await locks.lock('a', { ttl: '60s' }).acquire()
        const e = await locks.lock('a').acquire({ timeout: 100 }).catch((e) => e.code)
        await held.release()
        await locks.close()
        await client.quit()
        console.log('done', e)`
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: process.env.FERROLOCK_TEST_PROJECT,
        encoding: 'utf8',
        timeout: 20_000,
      })
      assert.equal(r.signal, null, `the child did not exit by itself within 20 s: ${r.stderr}`)
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout.trim(), 'done TIMEOUT')
    })
  })
}

test('any object with scriptLoad and evalsha will do; without subscribe waiters poll, without scanKeys list is unsupported', async () => {
  const ns = namespace('plain')
  const { client, close } = await redisClient('ioredis')
  // The shape of an Upstash-style REST client, over a real server.
  const plain = {
    scriptLoad: (source) => client.script('LOAD', source),
    evalsha: (sha, keys, args) => client.evalsha(sha, keys.length, ...keys, ...args),
  }
  const locks = await Locks.connect({ redis: plain, namespace: ns })
  try {
    assert.equal(locks.capabilities.notices, false)
    await assert.rejects(locks.list(), (e) => e instanceof Unsupported && e.message.includes('scan'))
    const held = await locks.lock('p').acquire()
    const queued = once(locks, 'queued')
    const waiter = locks.lock('p').acquire({ timeout: '20s' })
    await queued
    cli('--url', urlOf(ns), 'release', held.intoToken())
    assert.equal((await waiter).fence, 2n)
  } finally {
    await locks.close()
    await close()
  }
})

test('a client that fails, at once or later, fails the call with its error and leaves the provider usable', async () => {
  const ns = namespace('failing')
  const { client, close } = await redisClient('ioredis')
  let fail = null
  const flaky = {
    scriptLoad: (source) => client.script('LOAD', source),
    evalsha: (sha, keys, args) => {
      const reply = fail === null ? client.evalsha(sha, keys.length, ...keys, ...args) : null
      // The arrays are the adapter's to change: the engine's next call is whole.
      keys.length = 0
      if (fail === 'now') throw new Error('client broke at once')
      if (fail === 'later') return Promise.reject(new Error('client broke later'))
      return reply
    },
  }
  const locks = await Locks.connect({ redis: flaky, namespace: ns })
  try {
    const lock = locks.lock('f')
    for (const [mode, text] of [['now', 'client broke at once'], ['later', 'client broke later']]) {
      fail = mode
      await assert.rejects(lock.tryAcquire(), (e) => e instanceof BackendUnavailable && e.code === 'BACKEND_UNAVAILABLE' && String(e.cause?.message ?? e.message).includes(text), mode)
      fail = null
      // Nothing was taken, and the next calls work.
      assert.equal((await locks.state('f')).held, false, mode)
      const held = await lock.tryAcquire()
      assert.ok(held, mode)
      assert.equal(await held.release(), true, mode)
    }
  } finally {
    await locks.close()
    await close()
  }
})
