// The ferrolock npm package (release addon, installed by ./setup from a
// packed tarball into target/bench/ferrolock-node) as a contender of
// bench/run-redis. pair: acquire + release of one lock, ttl 10 s,
// autoRenew false. worker: acquire waiting as long as needed (Infinity),
// ttl 10 s, the counter read and written with a plain ioredis client.
'use strict'
const path = require('node:path')
const { createRequire } = require('node:module')
const readline = require('node:readline')

const dir = path.join(__dirname, '..', '..', '..', 'target', 'bench', 'ferrolock-node')
const load = createRequire(path.join(dir, 'package.json'))
const { Locks } = load('ferrolock')

function parse(argv) {
  const out = { mode: argv[0] }
  for (let i = 1; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1]
  return out
}

// CLOCK_REALTIME in ns.
function nowNs() {
  return BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n + BigInt(Math.round(performance.now() * 1e6))
}

async function pair(args) {
  const locks = await Locks.connect(args.url)
  const lock = locks.lock(`bench-pair-ferrolock-node-${process.pid}`, { ttl: 10_000, autoRenew: false })
  const pairs = Number(args.pairs)
  const rounds = Number(args.rounds)
  const opts = { timeout: 10_000 }
  for (let i = 0; i < Math.max(50, pairs / 4); i++) await (await lock.acquire(opts)).release()
  const figures = []
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < pairs; i++) await (await lock.acquire(opts)).release()
    figures.push(Number(process.hrtime.bigint() - t) / pairs)
  }
  const version = load('ferrolock/package.json').version
  console.log(JSON.stringify({ name: `ferrolock ${version} (Node)`, ns_per_pair: figures }))
  await locks.close()
}

async function worker(args) {
  const Redis = load('ioredis')
  const locks = await Locks.connect(args.url)
  const lock = locks.lock(args.lock, { ttl: 10_000 })
  const plain = new Redis(args.url)
  await plain.ping()
  const rl = readline.createInterface({ input: process.stdin })
  const lines = rl[Symbol.asyncIterator]()
  process.stdout.write('ready\n')
  const go = await lines.next()
  if (go.done || go.value.trim() !== 'go') throw new Error('expected go')
  rl.close()
  const n = Number(args.iterations)
  const opts = { timeout: Infinity }
  const records = []
  for (let i = 0; i < n; i++) {
    const t0 = nowNs()
    const held = await lock.acquire(opts)
    const t1 = nowNs()
    const v = Number((await plain.get(args.counter)) || 0) // deliberately not atomic
    await plain.set(args.counter, v + 1)
    const t2 = nowNs()
    await held.release()
    records.push(`{"w": ${args.worker}, "t0": ${t0}, "t1": ${t1}, "t2": ${t2}}`)
  }
  process.stdout.write(records.join('\n') + '\ndone\n')
  plain.disconnect()
  await locks.close()
}

const args = parse(process.argv.slice(2))
;(args.mode === 'pair' ? pair(args) : worker(args)).catch((e) => {
  console.error(e && e.stack ? e.stack : String(e))
  process.exit(1)
})
