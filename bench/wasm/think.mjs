// What the time between a reply and the next command costs a pair of round
// trips on this machine: SET NX PX + DEL through ioredis, with a busy wait
// of 0, 5, 10, 20, 40 µs after each reply (rounds interleaved, medians).
// On a virtual machine the wall time and CPU of a pair grow faster than the
// wait itself once the peer's CPU idles between commands (its wake-up costs
// more): a client's own work between a reply and its next command counts
// for more than its CPU. Not a test; run by hand in the project
// bench/run-wasm installed:
//
//   node bench/wasm/think.mjs --project target/bench/wasm --url redis://127.0.0.1:PORT [--pairs 3000] [--rounds 5]
import { createRequire } from 'node:module'
import path from 'node:path'

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1]] : null)).filter(Boolean))
const require = createRequire(path.join(path.resolve(args.project ?? 'target/bench/wasm'), 'package.json'))
const Redis = require('ioredis')
const client = new Redis(args.url ?? 'redis://127.0.0.1:6379')
const pairs = Number(args.pairs ?? 3000)
const rounds = Number(args.rounds ?? 5)
const key = `think-${process.pid}`
const spin = (us) => {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000))
  while (process.hrtime.bigint() < end);
}
const waits = [0, 5, 10, 20, 40]
const figures = Object.fromEntries(waits.map((w) => [w, { cpu: [], wall: [] }]))
for (let r = 0; r < rounds; r++) {
  for (const w of waits) {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < pairs; i++) {
      await client.set(key, 'v', 'PX', 10_000, 'NX')
      spin(w)
      await client.del(key)
      spin(w)
    }
    const c = process.cpuUsage(c0)
    figures[w].cpu.push((c.user + c.system) / pairs)
    figures[w].wall.push(Number(process.hrtime.bigint() - t0) / 1000 / pairs)
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
const base = figures[0]
console.log(`${pairs} pairs a round, ${rounds} rounds, interleaved; medians (us/pair); "added" is over no wait, against the 2 waits' own time`)
for (const w of waits) {
  const f = figures[w]
  const cpu = median(f.cpu)
  const wall = median(f.wall)
  console.log(`wait ${String(w).padStart(2)} us x2: cpu ${cpu.toFixed(1).padStart(6)} (added ${(cpu - median(base.cpu)).toFixed(1)})   wall ${wall.toFixed(1).padStart(6)} (added ${(wall - median(base.wall)).toFixed(1)}, waits ${2 * w})`)
}
client.disconnect()
