// rediss:// from Node: a pair with the test CA, a server signed by another CA
// refused with BackendUnavailable, a CA file that cannot be read refused with
// InvalidArgument naming it. scripts/test starts the TLS server and makes the
// certificates (FERROLOCK_TEST_REDIS_TLS_URL, FERROLOCK_TEST_TLS_DIR).
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { Locks, BackendUnavailable, InvalidArgument } from 'ferrolock'

function tls() {
  const url = process.env.FERROLOCK_TEST_REDIS_TLS_URL
  const dir = process.env.FERROLOCK_TEST_TLS_DIR
  assert.ok(url && dir, 'FERROLOCK_TEST_REDIS_TLS_URL is not set: run scripts/test, which starts Redis over TLS')
  return { url, dir, base: url.split('?')[0] }
}

test('rediss: a pair with the CA, a foreign CA refused, a missing CA file named', async () => {
  const { url, dir, base } = tls()
  const locks = await Locks.connect(`${url}&namespace=node-tls-${process.pid}`)
  try {
    const held = await locks.lock('tls-job').acquire({ timeout: '5s' })
    assert.ok(held.fence >= 1n)
    assert.equal(await locks.lock('tls-job').tryAcquire(), null)
    assert.equal(await held.release(), true)
  } finally {
    await locks.close()
  }
  const foreign = await Locks.connect(`${base}?ca=${path.join(dir, 'other-ca.pem')}`).catch((e) => e)
  assert.ok(foreign instanceof BackendUnavailable, String(foreign))
  assert.equal(foreign.code, 'BACKEND_UNAVAILABLE')
  assert.match(foreign.message, /certificate/i)
  const missing = await Locks.connect(`${base}?ca=${path.join(dir, 'no-such-ca.pem')}`).catch((e) => e)
  assert.ok(missing instanceof InvalidArgument, String(missing))
  assert.match(missing.message, /no-such-ca\.pem/)
})
