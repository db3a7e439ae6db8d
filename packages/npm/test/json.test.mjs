// What users hand to JSON.stringify (logs, HTTP replies): held locks,
// state(), list(), decodeToken() and events, fences as decimal strings,
// without a global BigInt.prototype.toJSON.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Locks, decodeToken } from 'ferrolock'

test('held locks, state, list, decodeToken and events serialize with JSON.stringify', async () => {
  assert.equal(BigInt.prototype.toJSON, undefined, 'the package must not patch BigInt')
  const locks = await Locks.connect(`memory://json-${process.pid}`)
  const events = []
  locks.on('event', (e) => events.push(e))
  // Events come from the runtime: wait for the release's, not for a time.
  const released = new Promise((resolve) => locks.once('released', resolve))
  try {
    const held = await locks.lock('inv:1', { ttl: '30s' }).tryAcquire()
    const fence = held.fence.toString()

    const h = JSON.parse(JSON.stringify(held))
    assert.deepEqual(
      { name: h.name, fence: h.fence, mode: h.mode, ttl: h.ttl, isArmed: h.isArmed, isLost: h.isLost },
      { name: 'inv:1', fence, mode: 'exclusive', ttl: 30_000, isArmed: true, isLost: false },
    )
    assert.ok(!JSON.stringify(held).includes('flk1.'), 'no token in the JSON of a held lock')

    const state = await locks.state('inv:1')
    assert.equal(typeof state.fence, 'bigint', 'the field itself stays a bigint')
    const s = JSON.parse(JSON.stringify(state))
    assert.equal(s.held, true)
    assert.equal(s.fence, fence)
    assert.equal(s.name, 'inv:1')
    assert.equal(JSON.stringify(await locks.state('free')), '{"held":false}')
    // toJSON is not an enumerable field: spreads and comparisons do not see it.
    assert.ok(!Object.keys(state).includes('toJSON'))

    const listed = JSON.parse(JSON.stringify(await locks.list('inv:')))
    assert.deepEqual(listed.map((r) => [r.name, r.fence]), [['inv:1', fence]])

    const token = held.intoToken()
    const info = JSON.parse(JSON.stringify(decodeToken(token)))
    assert.equal(info.fence, fence)
    assert.equal(typeof info.expiresAtMs, 'string')
    assert.equal(info.ttlMs, '30000')

    await (await locks.resume(token)).release()
    // Listening does not keep the process alive: a bound does, meanwhile.
    let bound
    await Promise.race([released, new Promise((_, reject) => {
      bound = setTimeout(() => reject(new Error('no released event within 10 s')), 10_000)
    })])
    clearTimeout(bound)
    assert.deepEqual(events.map((e) => e.kind).slice(-1), ['released'])
    for (const e of JSON.parse(JSON.stringify(events))) {
      assert.equal(typeof e.fence, 'string')
      assert.equal(e.name, 'inv:1')
    }
  } finally {
    await locks.close()
  }
})
