// Shared fixtures of the test files: one URL per backend fixture and
// scenario, made as the fixture's row of tests/vectors/backends.json says
// (the table every suite reads).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Locks } from 'ferrolock'

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

let counter = 0
const suffix = () => `${process.pid}-${Date.now()}-${++counter}`

/** A Redis topology scripts/test (or scripts/suites/node) started. */
export function redisUrl(variable = 'FERROLOCK_TEST_REDIS_URL') {
  const url = process.env[variable]
  if (!url) throw new Error(`${variable} is not set: run scripts/suites/node, which starts Redis`)
  return url
}

export function tempDir(prefix = 'ferrolock-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** tests/vectors/backends.json's rows by name: how each fixture makes its URL
 * (rows with a `feature` need a cargo feature this binding builds without). */
export const FIXTURES = new Map(
  JSON.parse(fs.readFileSync(path.join(repo, 'tests', 'vectors', 'backends.json'), 'utf8'))
    .fixtures.filter((row) => !('feature' in row))
    .map((row) => [row.name, row]),
)
/** Where the conformance scenarios run: every row of backends.json. */
export const CONFORMANCE_BACKENDS = [...FIXTURES.keys()]
/** One of each kind of backend, for the tests that need not run on every topology. */
export const BACKENDS = ['memory', 'sqlite', 'redis']

export class Fixture {
  /** A fresh store of the backends.json row `backend` for `scenario`. */
  constructor(backend, scenario) {
    const row = FIXTURES.get(backend)
    if (!row) throw new Error(`backends.json has no fixture ${backend}`)
    this.backend = backend
    this.kind = row.backend
    if (row.url === 'memory') {
      this.url = `memory://${scenario}-${suffix()}`
    } else if (row.url === 'sqlite') {
      this.dir = tempDir()
      this.url = `sqlite://${path.join(this.dir, 'locks.db')}`
    } else if (row.url === 'env') {
      const base = redisUrl(row.env)
      const ns = `${scenario}-${suffix()}`.replace(/[^A-Za-z0-9_.-]/g, '-')
      this.url = `${base}${base.includes('?') ? '&' : '?'}namespace=${ns.slice(-64)}`
    } else {
      throw new Error(`backends.json: ${backend} makes its URL by ${row.url}`)
    }
    this.providers = []
  }
  async connect() {
    const locks = await Locks.connect(this.url)
    this.providers.push(locks)
    if (locks.backend !== this.kind) throw new Error(`backends.json: ${this.backend} opens ${this.kind}, not ${locks.backend}`)
    return locks
  }
  urlWith(query) {
    return `${this.url}${this.url.includes('?') ? '&' : '?'}${query}`
  }
  async cleanup() {
    for (const p of this.providers) await p.close().catch(() => {})
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Run `fn(fixture)` and clean up after it. */
export async function withFixture(backend, scenario, fn) {
  const fx = new Fixture(backend, scenario)
  try {
    await fn(fx)
  } finally {
    await fx.cleanup()
  }
}

/** The ferrolock command: $FERROLOCK_CLI, else the workspace's debug build. */
export function cliPath() {
  const cli = process.env.FERROLOCK_CLI || path.join(repo, 'target', 'debug', 'ferrolock')
  if (!fs.existsSync(cli)) throw new Error(`no ferrolock command at ${cli}: set FERROLOCK_CLI or build ferrolock-cli`)
  return cli
}
