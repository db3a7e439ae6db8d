// bench/node-bridge: the uncontended pair (tryAcquire + release) through
// the addon's own bridge against napi's `async fn`, in one Node process,
// slices interleaved so machine load hits every variant alike. Loads the
// addon built by ./run with the `bench-napi-async` feature (argv[2]).
//
//   uv           the shipped path: the bridge on the libuv-driven local runtime
//   thread       the same calls, the bridge on napi's runtime
//                (FERROLOCK_NODE_DRIVER=thread, read per NativeBridge: set
//                while that bridge is made, so both live in this process)
//   napi-async   napi `async fn` variants, provider on napi's runtime (the
//                thread bridge's): what napi's own path alone would be
//   napi-async+uv  napi `async fn` variants, provider on the libuv runtime
'use strict'
const [addonPath, redisUrl, roundsArg, redisPairsArg, memPairsArg] = process.argv.slice(2)
const native = require(addonPath)
const rounds = Number(roundsArg || 9)

// The TypeScript layer's bridge (packages/npm/src/index.ts), one per NativeBridge.
function makeBridge() {
  const pending = new Map()
  let keepAlive
  const bridge = new native.NativeBridge((id, error, value) => {
    const p = pending.get(id)
    if (p === undefined) return
    pending.delete(id)
    if (pending.size === 0) keepAlive?.unref()
    if (error === null) p[0](value)
    else p[1](new Error(error))
  })
  function settle(r) {
    if (typeof r !== 'number') return r
    return new Promise((resolve, reject) => {
      if (pending.size === 0) {
        keepAlive ??= setInterval(() => {}, 2 ** 31 - 1)
        keepAlive.ref()
      }
      pending.set(r, [resolve, reject])
    })
  }
  return { bridge, settle }
}

const uv = makeBridge()
process.env.FERROLOCK_NODE_DRIVER = 'thread'
const thread = makeBridge()
delete process.env.FERROLOCK_NODE_DRIVER

const hold = setInterval(() => {}, 2 ** 31 - 1) // the run's own keep-alive

function bridgePair(b, lock) {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      const h = await b.settle(lock.tryAcquire())
      if (h == null) throw new Error('tryAcquire refused')
      if (!(await b.settle(h.release()))) throw new Error('release: not held')
    }
  }
}

function napiPair(lock) {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      const h = await lock.tryAcquireNapiAsync()
      if (h == null) throw new Error('tryAcquire refused')
      if (!(await h.releaseNapiAsync())) throw new Error('release: not held')
    }
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

async function backend(label, url, pairs) {
  const onUv = await uv.settle(native.connect(url, uv.bridge))
  const onThread = await thread.settle(native.connect(url, thread.bridge))
  const lock = (locks, v) => locks.lock(`node-bridge-${v}-${process.pid}`, 10_000, false, null, false)
  const variants = [
    ['uv (shipped)', bridgePair(uv, lock(onUv, 'uv'))],
    ['thread', bridgePair(thread, lock(onThread, 'thread'))],
    ['napi-async', napiPair(lock(onThread, 'napi'))],
    ['napi-async+uv', napiPair(lock(onUv, 'napiuv'))],
  ]
  for (const [, run] of variants) await run(Math.max(200, pairs / 4)) // warm-up
  const figures = variants.map(() => [])
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round.
    for (let k = 0; k < variants.length; k++) {
      const j = (k + r) % variants.length
      const t = process.hrtime.bigint()
      await variants[j][1](pairs)
      figures[j].push(Number(process.hrtime.bigint() - t) / pairs)
    }
  }
  await uv.settle(onUv.close())
  await thread.settle(onThread.close())
  const base = median(figures[0])
  return variants.map(([name], j) => ({
    backend: label,
    variant: name,
    median: median(figures[j]),
    min: Math.min(...figures[j]),
    max: Math.max(...figures[j]),
    ratio: median(figures[j]) / base,
  }))
}

async function main() {
  const rows = []
  rows.push(...(await backend('redis', redisUrl, Number(redisPairsArg || 2000))))
  rows.push(...(await backend('memory', 'memory://', Number(memPairsArg || 20000))))
  const f = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`)
  console.log('| backend | variant | median per pair | min–max of rounds | vs uv |')
  console.log('| --- | --- | ---: | ---: | ---: |')
  for (const r of rows) {
    console.log(`| ${r.backend} | ${r.variant} | ${f(r.median)} | ${f(r.min)}–${f(r.max)} | ${r.ratio.toFixed(2)}x |`)
  }
  clearInterval(hold)
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e))
  process.exit(1)
})
