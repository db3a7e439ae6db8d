// A chaos worker in Node (tests/chaos/README.md), on the installed
// `ferrolock` package (resolved from FERROLOCK_NODE_PROJECT): until --until
// (epoch ms), acquire the lock, write `begin` and `end` to the fenced store
// with the fence (a random time in the critical section between them),
// release; every step recorded as a JSON line in --log.
import { appendFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import path from 'node:path'

const require = createRequire(path.join(process.env.FERROLOCK_NODE_PROJECT, 'package.json'))
const { Locks } = require('ferrolock')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const num = (k) => Number(args[k])
const holder = `node-${process.pid}`
const nowNs = () => (BigInt(Date.now()) * 1000000n + process.hrtime.bigint() % 1000000n).toString()
const record = (ev, fields = '') =>
  appendFileSync(args.log, `{"pid": ${process.pid}, "lang": "node", "ev": "${ev}", "t_ns": ${nowNs()}${fields}}\n`)

// The store: one request, one reply line.
const socket = net.connect(num('store'), '127.0.0.1')
await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
let buffered = ''
const replies = []
socket.on('data', (d) => {
  buffered += d
  let at
  while ((at = buffered.indexOf('\n')) >= 0) {
    replies.shift()(buffered.slice(0, at))
    buffered = buffered.slice(at + 1)
  }
})
const write = (fence, phase) =>
  new Promise((resolve) => {
    replies.push((line) => resolve(line.startsWith('OK')))
    socket.write(`W ${fence} ${holder} ${phase}\n`)
  })

const locks = await Locks.connect(args.url)
const lock = locks.lock(args.name, { ttl: num('ttl-ms'), holder })
while (Date.now() < num('until')) {
  const start = performance.now()
  const waited = () => `, "waited_ms": ${(performance.now() - start).toFixed(3)}`
  let held
  try {
    held = await lock.acquire({ timeout: num('wait-ms') })
  } catch (e) {
    if (e.code === 'TIMEOUT') {
      record('timeout', waited())
    } else {
      record('unavailable', `${waited()}, "code": ${JSON.stringify(String(e.code))}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    continue
  }
  const fence = held.fence
  record('acquired', `, "fence": ${fence}${waited()}`)
  const begin = await write(fence, 'begin')
  await new Promise((r) => setTimeout(r, Math.random() * num('hold-ms')))
  const end = await write(fence, 'end')
  const lost = held.lost.aborted
  let ok
  try {
    ok = await held.release()
  } catch {
    ok = null
  }
  record('released', `, "fence": ${fence}, "ok": ${ok}, "lost": ${lost}, "begin": ${begin}, "end": ${end}`)
}
await locks.close()
socket.end()
record('exit')
