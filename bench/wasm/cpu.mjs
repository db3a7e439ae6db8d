// CPU time per pair (try-acquire + release, one at a time), not wall time:
// process.cpuUsage() (user + system, every thread of this process) around
// each round, contenders interleaved in one process, medians. For a busy
// machine, where bench/run-wasm's wall-clock figures are noise. Not a test;
// run by hand after bench/run-wasm has installed its project:
//
//   node bench/wasm/cpu.mjs --project target/bench/wasm --url redis://127.0.0.1:6379 \
//       [--pairs 2000] [--rounds 9] [--only wasm,redlock] [--before DIR]
//
// Contenders:
//   wasm     ferrolock/wasm of the project (this checkout), through ioredis
//   before   the same from DIR (a copy of an older packages/npm/wasm), if given
//   redlock  node-redlock (ioredis)
//   mimic    the two script calls ferrolock/wasm makes, by hand through ioredis
//            (its scripts, keys and arguments): the client's and server's share
//   floor    SET NX PX + a compare-and-delete EVALSHA through ioredis
//   fake     ferrolock/wasm over an adapter that answers at once (no I/O):
//            the engine's and the glue's share ("fake-before" from DIR)
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import path from 'node:path'

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean))
const project = path.resolve(args.project ?? 'target/bench/wasm')
const require = createRequire(path.join(project, 'package.json'))
const pairs = Number(args.pairs ?? 2000)
const rounds = Number(args.rounds ?? 9)
const url = args.url ?? 'redis://127.0.0.1:6379'
const builds = { wasm: path.join(project, 'node_modules/ferrolock/wasm') }
if (args.before) builds.before = path.resolve(args.before)
const Redis = require('ioredis')
const { default: Redlock } = require('redlock')

const contenders = {}
const clients = []
const closers = []
const client = () => {
  const c = new Redis(url)
  clients.push(c)
  return c
}
const modules = {}
for (const [k, dir] of Object.entries(builds)) {
  modules[k] = await import(path.join(dir, 'node.js'))
  const locks = await modules[k].Locks.connect({ redis: client(), namespace: `cpu-${k}-${process.pid}` })
  closers.push(() => locks.close())
  const lock = locks.lock('pair', { ttl: '10s' })
  contenders[k] = [() => lock.tryAcquire(), (h) => h.release()]
}
const redlock = new Redlock([client()], { retryCount: -1 })
redlock.on('error', () => {})
const resource = `cpu-redlock-${process.pid}`
contenders.redlock = [() => redlock.acquire([resource], 10_000), (l) => l.release()]

// ferrolock/wasm's two calls by hand: its scripts (loaded by the wasm
// contender), the keys of a lock (the hash tag matters to a cluster only)
// and the arguments it sends: owner, mode, ttl, holder; then owner.
const seen = []
const monitor = await client().monitor()
monitor.on('monitor', (_time, argv) => {
  if (argv[0]?.toUpperCase() === 'EVALSHA' && argv[3]?.startsWith(`__lock:cpu-wasm-${process.pid}:`)) seen.push(argv)
})
await contenders.wasm[1](await contenders.wasm[0]())
for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
monitor.disconnect()
const [take, release] = seen
if (!take || !release || take[2] !== '5' || take.length !== 12) throw new Error(`cpu.mjs: unexpected calls of ferrolock/wasm: ${JSON.stringify(seen)}`)
const mk = client()
const keys = take.slice(3, 8).map((k) => k.replace(`cpu-wasm-${process.pid}`, `cpu-mimic-${process.pid}`))
contenders.mimic = [
  async () => {
    const owner = randomBytes(16).toString('hex')
    const r = await mk.call('EVALSHA', take[1], '5', ...keys, owner, take[9], take[10], take[11])
    if (r[0] !== 1) throw new Error('mimic: busy')
    return owner
  },
  (owner) => mk.call('EVALSHA', release[1], '5', ...keys, owner),
]

const floor = client()
const del = await floor.script('LOAD', "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end")
const key = `cpu-floor-${process.pid}`
let n = 0
contenders.floor = [
  async () => {
    const v = String(++n)
    if ((await floor.set(key, v, 'PX', 10_000, 'NX')) !== 'OK') throw new Error('floor: busy')
    return v
  },
  (v) => floor.evalsha(del, 1, key, v),
]

for (const [k, m] of Object.entries(modules)) {
  let fence = 0
  const fake = { scriptLoad: async () => 'sha', evalsha: async (_sha, _keys, a) => (a.length >= 4 ? [1, ++fence] : 1) }
  const locks = await m.Locks.connect({ redis: fake, namespace: 'fake' })
  closers.push(() => locks.close())
  const lock = locks.lock('pair', { ttl: '10s' })
  contenders[k === 'wasm' ? 'fake' : `fake-${k}`] = [() => lock.tryAcquire(), (h) => h.release()]
}

const names = args.only ? args.only.split(',') : Object.keys(contenders)
for (const k of names) {
  if (!contenders[k]) throw new Error(`cpu.mjs: no contender ${k} (${Object.keys(contenders).join(', ')})`)
  const [acquire, rel] = contenders[k]
  for (let i = 0; i < Math.max(500, pairs / 2); i++) await rel(await acquire())
}
const figures = Object.fromEntries(names.map((k) => [k, { cpu: [], wall: [] }]))
for (let r = 0; r < rounds; r++) {
  for (const k of names) {
    const [acquire, rel] = contenders[k]
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < pairs; i++) await rel(await acquire())
    const c = process.cpuUsage(c0)
    figures[k].wall.push(Number(process.hrtime.bigint() - t0) / 1000 / pairs)
    figures[k].cpu.push((c.user + c.system) / pairs)
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
console.log(`${pairs} pairs a round, ${rounds} rounds, interleaved; medians (us/pair)`)
for (const k of names) {
  const f = figures[k]
  console.log(`${k.padEnd(12)} cpu ${median(f.cpu).toFixed(1).padStart(6)}   wall ${median(f.wall).toFixed(1).padStart(6)}   cpu rounds: ${f.cpu.map((x) => x.toFixed(0)).join(' ')}`)
}
for (const close of closers) await close()
for (const c of clients) c.disconnect()
