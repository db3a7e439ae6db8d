// Renewal runs on the event loop (the addon's runtime is driven by it): a
// lock with a short ttl stays held while the loop idles, its renewals due
// every ttl/3.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { BACKENDS, Fixture, sleep } from './helpers.mjs'

for (const backend of BACKENDS) {
  describe(backend, () => {
    test('a 30 ms ttl lock stays held for 300 ms of an idle event loop', async () => {
      const fx = new Fixture(backend, 'renewal-short')
      try {
        const locks = await fx.connect()
        const held = await locks.lock('a', { ttl: 30 }).acquire()
        await sleep(300)
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
