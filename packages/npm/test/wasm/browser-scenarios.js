// Run in a browser page by browser.test.mjs: the memory scenarios on the
// browser build of ferrolock/wasm (browser.js: fetched .wasm, no Node
// APIs), and token decoding against tests/vectors/tokens.json. Returns one
// [name, null | error text] per check.
export async function run(base) {
  const m = await import(`${base}/packages/npm/wasm/browser.js`)
  const { Locks, LockTimeout, InvalidToken, Unsupported, decodeToken } = m
  const results = []
  const check = async (name, f) => {
    try {
      await f()
      results.push([name, null])
    } catch (e) {
      results.push([name, `${e && e.stack ? e.stack : e}`])
    }
  }
  const ok = (v, what) => {
    if (!v) throw new Error(`not so: ${what}`)
  }
  const locks = await Locks.connect('memory://browser')

  await check('fences grow and a held lock is not reentrant', async () => {
    const lock = locks.lock('f')
    const a = await lock.acquire()
    ok(a.fence === 1n, `fence ${a.fence}`)
    ok((await lock.tryAcquire()) === null, 'tryAcquire of a held lock is null')
    await a.release()
    const b = await lock.acquire()
    ok(b.fence === 2n, `fence ${b.fence}`)
    ok((await b.release()) === true && (await b.release()) === false, 'a second release is false')
  })
  await check('a wait times out with TIMEOUT, on the page timers', async () => {
    const held = await locks.lock('t').acquire()
    const t0 = performance.now()
    const e = await locks.lock('t').acquire({ timeout: 150 }).catch((e) => e)
    ok(e instanceof LockTimeout && e.code === 'TIMEOUT', String(e))
    ok(performance.now() - t0 >= 140, 'waited the timeout')
    ok((await locks.lock('t').acquireOrNull({ timeout: 10 })) === null, 'acquireOrNull gives null')
    await held.release()
  })
  await check('waiters are served first come, first served', async () => {
    const held = await locks.lock('q').acquire()
    const order = []
    const waiters = [1, 2, 3].map((i) => locks.lock('q').acquire({ timeout: '5s' }).then(async (h) => {
      order.push(i)
      await h.release()
    }))
    await new Promise((r) => setTimeout(r, 50))
    await held.release()
    await Promise.all(waiters)
    ok(order.join() === '1,2,3', `order ${order}`)
  })
  await check('shared holders coexist, an exclusive one waits for them', async () => {
    const r1 = await locks.lock('s', { shared: true }).acquire()
    const r2 = await locks.lock('s', { shared: true }).acquire()
    ok((await locks.lock('s').tryAcquire()) === null, 'exclusive refused while shared')
    const state = await locks.state('s')
    ok(state.held && state.readers === 2 && state.mode === 'shared', JSON.stringify(state))
    await r1.release()
    await r2.release()
    ok((await locks.state('s')).held === false, 'free')
  })
  await check('an AbortSignal stops a wait and leaves nothing held', async () => {
    const held = await locks.lock('a').acquire()
    const ac = new AbortController()
    const p = locks.lock('a').acquire({ signal: ac.signal, timeout: Infinity })
    setTimeout(() => ac.abort(), 20)
    const e = await p.catch((e) => e)
    ok(e && e.name === 'AbortError', String(e))
    await held.release()
    ok((await locks.state('a')).held === false, 'free after the abort')
  })
  await check('run acquires, runs and releases; events come through the small EventEmitter', async () => {
    const seen = []
    const listener = (e) => seen.push(e.kind)
    locks.on('event', listener)
    const v = await locks.lock('r').run(async (held) => held.fence)
    locks.off('event', listener)
    ok(v === 1n, `run gave ${v}`)
    ok(seen.includes('acquired') && seen.includes('released'), `events ${seen}`)
  })
  await check('a token resumes in the page and is refused by another store', async () => {
    const held = await locks.lock('h', { ttl: '10s' }).acquire()
    const token = held.intoToken()
    const info = decodeToken(token)
    ok(info.backend === 'memory' && info.name === 'h' && info.fence === 1n && info.ttlMs === 10000n, JSON.stringify(info))
    const resumed = await locks.resume(token)
    ok((await resumed.release()) === true, 'released after resume')
    const e = await locks.resume('flk1.AAAA').catch((e) => e)
    ok(e instanceof InvalidToken, String(e))
  })
  await check('backends not in the browser build are UNSUPPORTED', async () => {
    for (const url of ['sqlite://x.db', 'redis://127.0.0.1:6379']) {
      const e = await Locks.connect(url).catch((e) => e)
      ok(e instanceof Unsupported && e.code === 'UNSUPPORTED', `${url}: ${e}`)
    }
  })
  await check('every vector of tokens.json decodes as the vectors say, every bad one is INVALID_TOKEN', async () => {
    const vectors = await (await fetch(`${base}/tests/vectors/tokens.json`)).json()
    for (const v of vectors.valid) {
      const i = decodeToken(v.token)
      for (const [k, want] of [['backend', v.backend], ['namespace', v.namespace], ['name', v.name], ['mode', v.mode],
        ['holder', v.holder], ['fence', BigInt(v.fence)], ['expiresAtMs', BigInt(v.expires_at_ms)], ['ttlMs', BigInt(v.ttl_ms)]]) {
        ok(i[k] === want, `${v.token.slice(0, 20)}…: ${k} ${i[k]} != ${want}`)
      }
    }
    for (const v of vectors.invalid) {
      let e
      try {
        decodeToken(v.token)
      } catch (err) {
        e = err
      }
      ok(e instanceof InvalidToken && e.code === 'INVALID_TOKEN', `${JSON.stringify(v).slice(0, 80)}: ${e}`)
    }
    results.push([`decoded ${vectors.valid.length} valid and ${vectors.invalid.length} invalid tokens`, null])
  })
  await locks.close()
  return results
}
