// Across processes and threads: child processes and worker threads
// contending for one lock keep an exact counter; a process exits by itself
// after close().
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { promisify } from 'node:util'
import { Fixture, tempDir } from './helpers.mjs'

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures')
const counterScript = path.join(fixtures, 'counter.mjs')
const run = promisify(execFile)

function checkFences(lists, total) {
  const fences = lists.flat().map(BigInt)
  assert.equal(fences.length, total)
  assert.equal(new Set(fences).size, total, 'two holders got the same fence')
}

for (const backend of ['sqlite', 'redis']) {
  describe(backend, () => {
    test('4 child processes x 25 increments: the counter is exact', { timeout: 120_000 }, async () => {
      const fx = new Fixture(backend, 'procs')
      const dir = tempDir()
      try {
        const file = path.join(dir, 'counter')
        fs.writeFileSync(file, '0')
        const outs = await Promise.all(Array.from({ length: 4 }, () =>
          run(process.execPath, [counterScript, fx.url, 'counter', file, '25'], { timeout: 110_000 })))
        assert.equal(fs.readFileSync(file, 'utf8'), '100')
        checkFences(outs.map((o) => JSON.parse(o.stdout)), 100)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
        await fx.cleanup()
      }
    })
  })
}

for (const backend of ['memory', 'sqlite', 'redis']) {
  test(`${backend}: 4 worker threads x 25 increments: the counter is exact`, { timeout: 120_000 }, async () => {
    const fx = new Fixture(backend, 'threads')
    const dir = tempDir()
    try {
      const file = path.join(dir, 'counter')
      fs.writeFileSync(file, '0')
      const outs = await Promise.all(Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
        const w = new Worker(counterScript, { workerData: [fx.url, 'counter', file, '25'] })
        let out
        w.on('message', (m) => { out = m })
        w.on('error', reject)
        w.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}`))))
      })))
      assert.equal(fs.readFileSync(file, 'utf8'), '100')
      checkFences(outs.map((o) => JSON.parse(o)), 100)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
      await fx.cleanup()
    }
  })
}

test('a worker thread terminated while waiting does not disturb the others', async () => {
  const fx = new Fixture('sqlite', 'terminate')
  try {
    const locks = await fx.connect()
    const held = await locks.lock('counter').acquire()
    const dir = tempDir()
    const file = path.join(dir, 'counter')
    fs.writeFileSync(file, '0')
    const w = new Worker(counterScript, { workerData: [fx.url, 'counter', file, '1'] })
    await new Promise((r) => setTimeout(r, 300))
    await w.terminate()
    await held.release()
    const next = await locks.lock('counter').acquire({ timeout: '10s' })
    await next.release()
    fs.rmSync(dir, { recursive: true, force: true })
  } finally {
    await fx.cleanup()
  }
})

for (const backend of ['memory', 'sqlite', 'redis']) {
  test(`${backend}: the process exits by itself after close()`, async () => {
    const fx = new Fixture(backend, 'exit')
    try {
      const started = Date.now()
      const r = spawnSync(process.execPath, [path.join(fixtures, 'exit.mjs'), fx.url], { timeout: 15_000, encoding: 'utf8' })
      assert.equal(r.signal, null, `killed: it did not exit by itself (${r.stderr})`)
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout, 'closed CLOSED\n', 'a pending wait must end with CLOSED')
      assert.ok(Date.now() - started < 10_000)
    } finally {
      await fx.cleanup()
    }
  })
}
