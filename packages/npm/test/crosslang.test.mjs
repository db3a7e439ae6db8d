// Token handoff across languages: a lock acquired in Node is released by
// the ferrolock command and by Python, and the other way round, on SQLite
// and Redis. Python is the venv of scripts/suites/python ($FERROLOCK_PYTHON).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { Locks } from 'ferrolock'
import { Fixture, cliPath } from './helpers.mjs'

function python() {
  const py = process.env.FERROLOCK_PYTHON
  if (!py) throw new Error('FERROLOCK_PYTHON is not set: run scripts/suites/node, which gets it from scripts/suites/python --install-only')
  return py
}

const cli = (...args) => execFileSync(cliPath(), args, { encoding: 'utf8' }).trim()

const PY_RESUME_RELEASE = `
import sys, ferrolock
locks = ferrolock.connect(sys.argv[1])
held = locks.resume(sys.argv[2])
print(held.fence)
print(held.release())
locks.close()
`
const PY_ACQUIRE_HANDOFF = `
import sys, ferrolock
locks = ferrolock.connect(sys.argv[1])
held = locks.lock(sys.argv[2], holder="python").acquire(timeout=5)
print(held.fence)
print(held.into_token())
locks.close()
`

for (const backend of ['sqlite', 'redis']) {
  describe(backend, () => {
    test('Node -> CLI: the command releases a lock Node handed off', async () => {
      const fx = new Fixture(backend, 'node-cli')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('job', { holder: 'node' }).acquire()
        const token = held.intoToken()
        assert.match(cli('decode', token), /^name +job$/m)
        cli('--url', fx.url, 'release', token)
        assert.deepEqual(await locks.state('job'), { held: false })
        // Released already: the command says so with exit status 1.
        assert.throws(() => cli('--url', fx.url, 'release', token), (e) => e.status === 1)
      } finally {
        await fx.cleanup()
      }
    })

    test('CLI -> Node: Node resumes and releases a lock the command acquired', async () => {
      const fx = new Fixture(backend, 'cli-node')
      try {
        const token = cli('--url', fx.url, 'acquire', '--ttl', '30s', 'job')
        const locks = await fx.connect()
        const state = await locks.state('job')
        assert.equal(state.held, true)
        const held = await locks.resume(token)
        assert.equal(held.fence, state.fence)
        assert.equal(await held.release(), true)
        assert.match(cli('--url', fx.url, 'state', 'job'), /free/)
      } finally {
        await fx.cleanup()
      }
    })

    test('Node -> Python: Python resumes and releases a lock Node handed off', async () => {
      const fx = new Fixture(backend, 'node-py')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('job').acquire()
        const fence = held.fence
        const out = execFileSync(python(), ['-c', PY_RESUME_RELEASE, fx.url, held.intoToken()], { encoding: 'utf8' })
        assert.deepEqual(out.trim().split('\n'), [String(fence), 'True'])
        assert.deepEqual(await locks.state('job'), { held: false })
        assert.equal((await locks.lock('job').tryAcquire()).fence, fence + 1n)
      } finally {
        await fx.cleanup()
      }
    })

    test('Python -> Node: Node resumes and releases a lock Python handed off', async () => {
      const fx = new Fixture(backend, 'py-node')
      try {
        const out = execFileSync(python(), ['-c', PY_ACQUIRE_HANDOFF, fx.url, 'job'], { encoding: 'utf8' })
        const [fence, token] = out.trim().split('\n')
        const locks = await fx.connect()
        assert.equal(await locks.lock('job').tryAcquire(), null, 'the handed-off lock must stay held')
        const held = await locks.resume(token)
        assert.equal(held.fence, BigInt(fence))
        assert.equal(held.holder, 'python')
        assert.equal(await held.release(), true)
        assert.deepEqual(await locks.state('job'), { held: false })
      } finally {
        await fx.cleanup()
      }
    })
  })
}

test('a memory token cannot be resumed by another process (INVALID_TOKEN for another backend)', async () => {
  const locks = await Locks.connect(`memory://cross-${process.pid}`)
  const token = (await locks.lock('m').acquire()).intoToken()
  const sqlite = new Fixture('sqlite', 'foreign')
  try {
    assert.throws(() => cli('--url', sqlite.url, 'release', token), (e) => e.status === 64)
  } finally {
    await sqlite.cleanup()
    await locks.close()
  }
})
