// ferrolock/wasm's figures, run by bench/run-wasm (not a test): one
// try-acquire + release pair at a time, each contender in its own rounds,
// interleaved, medians reported.
//   memory: ferrolock/wasm against the native Node entry (the addon), memory://
//   redis:  ferrolock/wasm through ioredis against node-redlock (ioredis)
//           and the floor: the same two round trips by hand through ioredis
//           (SET NX PX, then a compare-and-delete EVALSHA)
// Prints one JSON object: ns per pair of every round, by contender.
import { createRequire } from 'node:module'
import path from 'node:path'

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean))
const project = args.project
const require = createRequire(path.join(project, 'package.json'))
const pairs = Number(args.pairs ?? 2000)
const rounds = Number(args.rounds ?? 5)
const url = args.url

const wasm = await import(path.join(project, 'node_modules/ferrolock/wasm/node.js'))
let native = null
try {
  native = require('ferrolock')
} catch (e) {
  console.error(`bench-wasm: no native addon (${e.message.split('\n')[0]}): the memory pair has no native contender`)
}
const Redis = require('ioredis')
const { default: Redlock } = require('redlock')

const contenders = {}
async function pairLoop(acquire, release) {
  for (let i = 0; i < Math.max(50, pairs / 4); i++) await release(await acquire())
  return async () => {
    const t = process.hrtime.bigint()
    for (let i = 0; i < pairs; i++) await release(await acquire())
    return Number(process.hrtime.bigint() - t) / pairs
  }
}

const wm = await wasm.Locks.connect('memory://bench')
const wmLock = wm.lock('pair')
contenders['memory: ferrolock/wasm'] = await pairLoop(() => wmLock.tryAcquire(), (h) => h.release())
if (native) {
  const nm = await native.Locks.connect('memory://bench')
  const nmLock = nm.lock('pair')
  contenders['memory: ferrolock (native addon)'] = await pairLoop(() => nmLock.tryAcquire(), (h) => h.release())
}
const clients = []
const client = () => {
  const c = new Redis(url)
  clients.push(c)
  return c
}
const wr = await wasm.Locks.connect({ redis: client(), namespace: `bench-${process.pid}` })
const wrLock = wr.lock('pair', { ttl: '10s' })
contenders['redis: ferrolock/wasm (ioredis)'] = await pairLoop(() => wrLock.tryAcquire(), (h) => h.release())
const redlock = new Redlock([client()], { retryCount: -1 })
redlock.on('error', () => {})
const res = `bench-pair-redlock-${process.pid}`
contenders['redis: node-redlock (ioredis)'] = await pairLoop(() => redlock.acquire([res], 10_000), (l) => l.release())
const floor = client()
const del = await floor.script('LOAD', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
const key = `bench-floor-${process.pid}`
let n = 0
contenders['redis: floor (SET NX PX + EVALSHA, ioredis)'] = await pairLoop(
  async () => {
    const v = String(++n)
    if ((await floor.set(key, v, 'PX', 10_000, 'NX')) !== 'OK') throw new Error('floor: busy')
    return v
  },
  (v) => floor.evalsha(del, 1, key, v),
)

const figures = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
for (let r = 0; r < rounds; r++) {
  for (const [k, run] of Object.entries(contenders)) figures[k].push(await run())
}
console.log(JSON.stringify({ pairs, rounds, figures }))
await wm.close()
await wr.close()
for (const c of clients) c.disconnect()
