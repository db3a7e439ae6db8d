// What users hand to JSON.stringify (logs, HTTP replies): held locks,
// state(), list(), decodeToken() and events, fences as decimal strings,
// without a global BigInt.prototype.toJSON.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Locks, NotHeld, decodeToken } from 'ferrolock'

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

test('a handle keeps its fields once it has ended, and answers as an ended handle', async () => {
  // The WebAssembly build frees a handle's native object when it ends
  // (release, the end of run, a token taken) and answers from a stand-in
  // after: every field, and every answer, must be what the handle gave.
  const locks = await Locks.connect(`memory://ended-${process.pid}`)
  const lock = locks.lock('job', { ttl: '30s', holder: 'worker-1' })
  const fields = (held) => JSON.parse(JSON.stringify(held))
  const ended = (before) => ({ ...before, isArmed: false })
  let released
  try {
    // Released.
    released = await lock.tryAcquire()
    const before = fields(released)
    assert.equal(before.isArmed, true)
    assert.equal(await released.release(), true)
    assert.deepEqual(fields(released), ended(before))
    assert.equal(typeof released.fence, 'bigint')
    assert.equal(await released.release(), false, 'a second release holds nothing')
    await assert.rejects(released.refresh(), (e) => e instanceof NotHeld && e.message.includes('"job"'))
    assert.throws(() => released.intoToken(), NotHeld)
    assert.equal(released.lost.aborted, false)
    assert.deepEqual(fields(released), ended(before), 'the answers change no field')

    // Ended by run, and a run whose body released its handle itself.
    let inRun
    let runBefore
    assert.equal(await lock.run((h) => { inRun = h; runBefore = fields(h); return 7 }), 7)
    assert.deepEqual(fields(inRun), ended(runBefore))
    assert.ok(inRun.fence > released.fence)
    assert.equal(await lock.run(async (h) => h.release()), true)
    assert.equal(await inRun.release(), false)

    // Handed off.
    const given = await lock.tryAcquire()
    const givenBefore = fields(given)
    const token = given.intoToken()
    assert.deepEqual(fields(given), ended(givenBefore))
    assert.equal(await given.release(), false, 'a handed-off handle must not release')
    assert.equal((await locks.state('job')).held, true)
    assert.equal(await (await locks.resume(token)).release(), true)
  } finally {
    await locks.close()
  }
  // After close, an ended handle answers as the provider does.
  await assert.rejects(released.release(), (e) => e.code === 'CLOSED')
})
