// Renewal runs on the event loop (the addon's runtime is driven by it): a
// lock with a short ttl stays held while the loop idles, its renewals due
// every ttl/3. The ttl is short, not tiny: with 30 ms (a renewal due every
// 10 ms) a loaded 2-core machine stalled a process past the ttl in 4 runs of
// 24, on main and on every branch, which is the machine, not the renewal.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BACKENDS, Fixture, sleep } from './helpers.mjs'

for (const backend of BACKENDS) {
  describe(backend, () => {
    test('a 200 ms ttl lock stays held for 1200 ms of an idle event loop', async () => {
      const fx = new Fixture(backend, 'renewal-short')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('a', { ttl: 200 }).acquire()
        await sleep(1200)
        assert.equal(held.isLost, false)
        const state = await locks.state('a')
        assert.equal(state.held, true)
        assert.equal(state.fence, held.fence)
        assert.equal(await held.release(), true)
      } finally {
        await fx.cleanup()
      }
    })
  })
}
