// ferrolock/wasm's entry: it never loads the native addon, and it offers
// the same names as the native entry (one TypeScript layer under both).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import * as wasm from 'ferrolock/wasm'
import { repo } from '../helpers.mjs'

const project = process.env.FERROLOCK_TEST_PROJECT

test('importing ferrolock/wasm never loads the native addon', () => {
  // With the addon's path pointing nowhere, the native entry cannot load;
  // the WebAssembly entry works (memory://) all the same.
  const env = { ...process.env, FERROLOCK_NATIVE_LIBRARY_PATH: '/nonexistent/ferrolock.node' }
  const node = (script) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8', env })
  const wasm = node(`
    const { Locks } = await import('ferrolock/wasm')
    const locks = await Locks.connect('memory://entry')
    const held = await locks.lock('a').acquire()
    console.log(String(held.fence))
    await held.release()
    await locks.close()`)
  assert.equal(wasm.status, 0, wasm.stderr)
  assert.equal(wasm.stdout.trim(), '1')
  const native = node("await import('ferrolock')")
  assert.notEqual(native.status, 0, 'the native entry loaded without its addon')
  assert.match(native.stderr, /nonexistent/)
})

test('ferrolock/wasm exports the names of the native entry', () => {
  const mjs = fs.readFileSync(path.join(repo, 'packages', 'npm', 'index.mjs'), 'utf8')
  const names = /export const \{([^}]*)\}/.exec(mjs)[1].split(',').map((s) => s.trim()).filter(Boolean)
  assert.deepEqual(Object.keys(wasm).sort(), [...names].sort())
})

test('without a URL, ferrolock/wasm connects to memory:// (no SQLite file here)', async () => {
  const locks = await wasm.Locks.connect()
  assert.equal(locks.backend, 'memory')
  await locks.close()
})

test('a client object is refused with a TypeError naming what it must be', async () => {
  for (const redis of [null, 42, {}, { evalsha() {} }]) {
    await assert.rejects(wasm.Locks.connect({ redis }), (e) => e instanceof TypeError && e.message.includes('options.redis'))
  }
  const fake = { scriptLoad: async () => 'x', evalsha: async () => 0 }
  await assert.rejects(wasm.Locks.connect({ redis: fake, colour: 'blue' }), (e) => e instanceof TypeError && e.message.includes('colour'))
  await assert.rejects(wasm.Locks.connect({ redis: fake, namespace: 'bad/ns' }), (e) => e instanceof wasm.InvalidArgument && e.message.includes('namespace'))
})

test('an ioredis client with keyPrefix is refused: the locks would not be on the shared keys', async () => {
  const { createRequire } = await import('node:module')
  const Redis = createRequire(path.join(project, 'package.json'))('ioredis')
  const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' })
  try {
    await assert.rejects(wasm.Locks.connect({ redis: client }), (e) => e instanceof TypeError && e.message.includes('keyPrefix'))
  } finally {
    client.disconnect()
  }
})

test('acquisitions in a loop that never yields to the event loop leave no native handles behind', async () => {
  // Found by measurement (2026-12-05): 200,000 pairs on memory:// in one
  // such loop slowed from 2.5 to 65 us a pair, the build's memory growing
  // ~170 bytes a pair: each released handle was left to V8's finalizer,
  // whose callbacks run only between tasks, and every collection had more
  // of them to carry. A handle's native object is now freed at its end.
  const { pathToFileURL, fileURLToPath } = await import('node:url')
  const entry = fileURLToPath(import.meta.resolve('ferrolock/wasm'))
  // The module the entry loaded; initSync gives the running instance's exports.
  const glue = await import(pathToFileURL(path.join(path.dirname(entry), 'ferrolock_wasm.js')))
  const memory = glue.initSync().memory
  const locks = await wasm.Locks.connect('memory://no-yield')
  const lock = locks.lock('hot')
  const pairs = async (n) => {
    for (let i = 0; i < n; i++) await (await lock.tryAcquire()).release()
  }
  await pairs(2000)
  const before = memory.buffer.byteLength
  await pairs(40_000)
  const grown = memory.buffer.byteLength - before
  await locks.close()
  // Before the change: ~6.7 MB for these 40,000 pairs.
  assert.ok(grown < 1 << 20, `the build's memory grew ${grown} bytes over 40,000 pairs`)
})
