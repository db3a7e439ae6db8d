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

/**
 * The entry under test: `native` (the addon), or `wasm` (`ferrolock/wasm`:
 * scripts/suites/wasm runs these files with test/wasm/register.mjs, which
 * points `ferrolock` at it). The WebAssembly build has memory:// and Redis
 * through a client the test makes (ioredis or node-redis).
 */
export const ENTRY = process.env.FERROLOCK_TEST_ENTRY === 'wasm' ? 'wasm' : 'native'
export const WASM = ENTRY === 'wasm'
/** The cargo features of backends.json's `feature` rows this entry's build
 * has: the addon has the core's `backends` (couchbase too), the WebAssembly
 * build none of them. */
export const BUILT_FEATURES = WASM ? [] : ['couchbase']
/** tests/vectors/backends.json's rows by name: how each fixture makes its URL. */
export const FIXTURES = new Map(
  JSON.parse(fs.readFileSync(path.join(repo, 'tests', 'vectors', 'backends.json'), 'utf8'))
    .fixtures.filter((row) => !('feature' in row) || BUILT_FEATURES.includes(row.feature))
    .map((row) => [row.name, row]),
)
/** What `fx.refused` returns where the backend refuses the operation. */
export const REFUSED = Symbol('refused')
/**
 * The wasm build's Redis fixtures: the `redis` row's server, through a
 * client (not in backends.json: they open the same `redis` backend).
 */
const CLIENT_FIXTURES = ['redis_ioredis', 'redis_node_redis']
/** Where the conformance scenarios run: every row of backends.json (FERROLOCK_TEST_BACKENDS narrows it). */
export const CONFORMANCE_BACKENDS = process.env.FERROLOCK_TEST_BACKENDS
  ? process.env.FERROLOCK_TEST_BACKENDS.split(',').filter(Boolean)
  : [...FIXTURES.keys()]

/** A Redis client of the test project (ioredis or node-redis) on `url`, connected. */
export async function redisClient(kind, url = redisUrl()) {
  const project = process.env.FERROLOCK_TEST_PROJECT
  const { createRequire } = await import('node:module')
  const require = createRequire(path.join(project ?? repo, 'package.json'))
  if (kind === 'ioredis') {
    const Redis = require('ioredis')
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await client.connect().catch((e) => {
      client.disconnect()
      throw e
    })
    return { client, close: () => client.quit().catch(() => client.disconnect()) }
  }
  const { createClient } = require('redis')
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  return { client, close: () => client.quit().catch(() => client.disconnect()) }
}
/** One of each kind of backend, for the tests that need not run on every topology. */
export const BACKENDS = process.env.FERROLOCK_TEST_BACKENDS ? CONFORMANCE_BACKENDS : ['memory', 'sqlite', 'redis']

export class Fixture {
  /** A fresh store of the backends.json row `backend` for `scenario`. */
  constructor(backend, scenario) {
    const client = CLIENT_FIXTURES.includes(backend)
    const row = client ? FIXTURES.get('redis') : FIXTURES.get(backend)
    if (!row) throw new Error(`backends.json has no fixture ${backend}`)
    this.backend = backend
    this.kind = row.backend
    this.providers = []
    // Operations the backend refuses as UNSUPPORTED (backends.json
    // `unsupported`), and its ttl step (`ttl_unit_ms`: Couchbase's
    // get-and-lock takes whole seconds).
    this.refuses = new Set(row.unsupported ?? [])
    this.ttlUnit = row.ttl_unit_ms ?? 1
    if (client) {
      // { redis: <a client>, namespace }: the client is made at connect.
      this.client = backend === 'redis_ioredis' ? 'ioredis' : 'node-redis'
      this.clients = []
      this.namespace = `${scenario}-${suffix()}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(-64)
      this.url = { namespace: this.namespace }
      return
    }
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
  /** What `Locks.connect` takes for this fixture (with `query`'s parameters): a URL, or options with a client. */
  async target(query) {
    if (!this.client) return query ? this.urlWith(query) : this.url
    const c = await redisClient(this.client)
    this.clients.push(c)
    const options = { redis: c.client, namespace: this.namespace }
    for (const [k, v] of new URLSearchParams(query ?? '')) options[k] = k === 'bypass' ? v === 'true' : v
    return options
  }
  async connect() {
    const locks = await Locks.connect(await this.target())
    this.providers.push(locks)
    if (locks.backend !== this.kind) throw new Error(`backends.json: ${this.backend} opens ${this.kind}, not ${locks.backend}`)
    return locks
  }
  /** A short ttl of `ms` milliseconds, rounded up to the backend's ttl step. */
  short(ms) {
    return Math.ceil(ms / this.ttlUnit) * this.ttlUnit
  }
  /**
   * `call()`'s result, or REFUSED where backends.json says the backend
   * refuses `operation`: then `call()` must reject with UNSUPPORTED naming
   * the backend.
   */
  async refused(operation, call) {
    if (!this.refuses.has(operation)) return await call()
    const e = await Promise.resolve().then(call).then(() => null, (e) => e)
    if (!(e instanceof Error) || e.code !== 'UNSUPPORTED' || !e.message.includes(this.kind)) {
      throw new Error(`backends.json says ${operation} is unsupported on ${this.backend}: got ${e}`)
    }
    return REFUSED
  }
  urlWith(query) {
    return `${this.url}${this.url.includes('?') ? '&' : '?'}${query}`
  }
  async cleanup() {
    for (const p of this.providers) await p.close().catch(() => {})
    for (const c of this.clients ?? []) await c.close()
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
