// Shared fixtures of the test files: one URL per backend and scenario, as
// core/tests/conformance.rs makes them.
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

const REDIS_VARIABLES = {
  redis: 'FERROLOCK_TEST_REDIS_URL',
  'redis-quorum': 'FERROLOCK_TEST_REDIS_QUORUM_URL',
  'redis-cluster': 'FERROLOCK_TEST_REDIS_CLUSTER_URL',
}

export function tempDir(prefix = 'ferrolock-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export const BACKENDS = ['memory', 'sqlite', 'redis']
/** Where the conformance scenarios run: every backend and Redis topology. */
export const CONFORMANCE_BACKENDS = [...BACKENDS, 'redis-quorum', 'redis-cluster']

export class Fixture {
  constructor(backend, scenario) {
    this.backend = backend
    if (backend === 'memory') {
      this.url = `memory://${scenario}-${suffix()}`
    } else if (backend === 'sqlite') {
      this.dir = tempDir()
      this.url = `sqlite://${path.join(this.dir, 'locks.db')}`
    } else {
      const ns = `${scenario}-${suffix()}`.replace(/[^A-Za-z0-9_.-]/g, '-')
      this.url = `${redisUrl(REDIS_VARIABLES[backend])}?namespace=${ns.slice(-64)}`
    }
    this.providers = []
  }
  async connect() {
    const locks = await Locks.connect(this.url)
    this.providers.push(locks)
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
