// The package's names, by require (CommonJS) and by import (ESM): the same
// objects either way.
const assert = require('node:assert/strict')
const { test } = require('node:test')

const NAMES = ['Locks', 'Lock', 'Held', 'LockError', 'InvalidArgument', 'InvalidToken', 'LockTimeout', 'LockLost',
  'NotHeld', 'Unsupported', 'BackendUnavailable', 'Closed', 'decodeToken', 'errorClasses']

test('require and import give the same names', async () => {
  const cjs = require('ferrolock')
  const esm = await import('ferrolock')
  for (const name of NAMES) {
    assert.ok(cjs[name], `require('ferrolock').${name}`)
    assert.equal(esm[name], cjs[name], `import { ${name} } from 'ferrolock'`)
  }
  // index.mjs re-exports every name of index.js, and nothing else.
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort())
  assert.equal(typeof cjs.Locks.connect, 'function')
  assert.equal(esm.default.Locks, cjs.Locks)
})

test('a lock through require', async () => {
  const { Locks } = require('ferrolock')
  const locks = await Locks.connect('memory://exports-cjs')
  const held = await locks.lock('a').acquire()
  assert.equal(held.fence, 1n)
  assert.equal(await held.release(), true)
  await locks.close()
})

test('the package cannot be built by hand', () => {
  const { Locks, Held, Lock } = require('ferrolock')
  assert.throws(() => new Locks(), TypeError)
  assert.throws(() => new Held(), TypeError)
  assert.throws(() => new Lock(), TypeError)
})
