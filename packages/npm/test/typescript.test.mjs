// The package as TypeScript users see it: a strict tsc compile of an
// example that uses `await using`, down-levelled to ES2022 (Node 20 has no
// `using`), then run on this Node. A second example with type errors must
// not compile, so the types really constrain callers.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { WASM } from './helpers.mjs'

// Under scripts/suites/wasm: the same examples on 'ferrolock/wasm' (its types are
// the same api.d.ts), compiled as ES modules (its entry is one).
const ENTRY = WASM ? 'ferrolock/wasm' : 'ferrolock'

function project() {
  const dir = process.env.FERROLOCK_TEST_PROJECT
  if (!dir) throw new Error('FERROLOCK_TEST_PROJECT is not set: run scripts/suites/node (a project with ferrolock installed and typescript)')
  return dir
}

const EXAMPLE = `
import { Locks, Held, LockTimeout, LockError, decodeToken, type LockState } from '${ENTRY}'

async function main(): Promise<void> {
  await using locks = await Locks.connect(process.argv[2])
  const lock = locks.lock('invoice:42', { ttl: '30s', holder: 'ts-example' })
  let fence: bigint
  {
    await using held = await lock.acquire({ timeout: '5s' })
    fence = held.fence
    const again: Held | null = await lock.tryAcquire()
    if (again !== null) throw new Error('not exclusive')
  }
  const state: LockState = await locks.state('invoice:42')
  if (state.held) throw new Error('await using did not release')

  const doubled: bigint = await lock.run(async (held) => held.fence * 2n, { timeout: 1000 })
  try {
    await using _held = await lock.acquire()
    throw new Error('boom')
  } catch (e) {
    if (!(e instanceof Error) || e.message !== 'boom') throw e
  }
  const free = await locks.state('invoice:42')
  if (free.held) throw new Error('not released after a throw')

  const blocker = await lock.acquire()
  try {
    await lock.acquire({ timeout: 50 })
    throw new Error('no timeout')
  } catch (e) {
    if (!(e instanceof LockTimeout) || !(e instanceof LockError) || e.code !== 'TIMEOUT') throw e
  }
  const token: string = blocker.intoToken()
  const info = decodeToken(token)
  const resumed: Held = await locks.resume(token)
  // JSON: fences as decimal strings, in the types too.
  const infoFence: string = info.toJSON().fence
  const heldFence: string = resumed.toJSON().fence
  if (infoFence !== heldFence || JSON.parse(JSON.stringify(resumed)).fence !== heldFence) throw new Error('toJSON')
  if (!(await resumed.release())) throw new Error('resume')

  const viaCallback = await new Promise<number>((resolve, reject) =>
    lock.withLock(() => 21 * 2, (err, value) => (err ? reject(err) : resolve(value as number))))
  if (viaCallback !== 42) throw new Error('withLock')
  console.log(JSON.stringify({ fence: String(fence), doubled: String(doubled), name: info.name }))
}
main().catch((e) => { console.error(e); process.exit(1) })
`

const BAD = `
import { Locks } from '${ENTRY}'
async function main() {
  const locks = await Locks.connect('memory://')
  const held = await locks.lock('a').tryAcquire()
  const n: number = held.fence          // null not handled, and bigint is not number
  await locks.lock('a', { ttl: true })  // ttl is a duration
  await locks.lock('a').acquire({ timeout: '5s', signal: 'abort' })
  void n
}
void main
`

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'ESNext.Disposable'],
    module: 'commonjs',
    moduleResolution: 'node10',
    strict: true,
    noEmitOnError: true,
    types: ['node'],
    outDir: 'out',
    ...(WASM ? { module: 'nodenext', moduleResolution: 'nodenext' } : {}),
  },
}

function tsc(dir) {
  const bin = path.join(project(), 'node_modules', '.bin', 'tsc')
  return spawnSync(bin, ['-p', dir], { encoding: 'utf8' })
}

test('a strict tsc compile of an example with `await using` runs on this Node', (t) => {
  const dir = fs.mkdtempSync(path.join(project(), 'ts-example-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'example.ts'), EXAMPLE)
  if (WASM) fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}')
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['example.ts'] }))
  const r = tsc(dir)
  assert.equal(r.status, 0, r.stdout + r.stderr)
  const js = fs.readFileSync(path.join(dir, 'out', 'example.js'), 'utf8')
  assert.match(js, /__addDisposableResource/, 'await using was down-levelled')
  assert.doesNotMatch(js, /^\s*await using\s/m)
  const out = execFileSync(process.execPath, [path.join(dir, 'out', 'example.js'), `memory://ts-${process.pid}`], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { fence: '1', doubled: '4', name: 'invoice:42' })
})

test('the types reject wrong uses', (t) => {
  const dir = fs.mkdtempSync(path.join(project(), 'ts-bad-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'bad.ts'), BAD)
  if (WASM) fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}')
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['bad.ts'] }))
  const r = tsc(dir)
  assert.notEqual(r.status, 0)
  const errors = r.stdout.split('\n').filter((l) => l.includes('error TS'))
  assert.equal(errors.length, 4, r.stdout) // null fence, bigint as number, ttl: true, signal: string
})
