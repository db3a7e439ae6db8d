/**
 * ferrolock: distributed locks with fencing tokens, fair waiting, renewal
 * and cross-language handoff, over one Rust engine.
 *
 * ```ts
 * import { Locks } from 'ferrolock'
 * const locks = await Locks.connect('redis://127.0.0.1:6379')
 * await locks.lock('invoice:42', { ttl: '30s' }).run(async (held) => {
 *   // held.fence grows with every acquisition; held.lost fires on loss
 * }, { timeout: '5s' })
 * ```
 *
 * This file loads the native addon (`bindings/node`) under the TypeScript
 * layer (`api.ts`, which the WebAssembly entry `ferrolock/wasm` shares).
 */
import * as path from 'node:path'
import type * as Native from './native'
import { useNative } from './api'

// ---------------------------------------------------------------- loading

function platformTriple(): string {
  const { platform, arch } = process
  if (platform !== 'linux') return `${platform}-${arch}`
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined
  return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

/**
 * The addon, by napi-rs's per-platform convention: `ferrolock.<triple>.node`
 * beside this file (a build from source, or a packed tarball), else the
 * package `ferrolock-<triple>`. `FERROLOCK_NATIVE_LIBRARY_PATH` overrides.
 */
function loadNative(): typeof Native {
  const override = process.env.FERROLOCK_NATIVE_LIBRARY_PATH
  if (override) return require(path.resolve(override))
  const triple = platformTriple()
  const tried: string[] = []
  for (const candidate of [path.join(__dirname, `ferrolock.${triple}.node`), `ferrolock-${triple}`]) {
    try {
      return require(candidate)
    } catch (e) {
      if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e
      tried.push(candidate)
    }
  }
  throw new Error(
    `ferrolock: no native addon for ${triple} (tried ${tried.join(', ')}); ` +
      'reinstall the package, or install it from the repository to build it from source',
  )
}

useNative(loadNative())

export {
  Locks,
  Lock,
  Held,
  LockError,
  InvalidArgument,
  InvalidToken,
  LockTimeout,
  LockLost,
  NotHeld,
  Unsupported,
  BackendUnavailable,
  Closed,
  errorClasses,
  decodeToken,
  parseDuration,
  DEFAULT_TIMEOUT,
} from './api'
export type {
  Duration,
  LockOptions,
  AcquireOptions,
  Mode,
  Jsonified,
  LockInfo,
  LockState,
  TokenInfo,
  HeldJSON,
  EventKind,
  LockEvent,
  Capabilities,
  ConnectOptions,
  RedisScripts,
} from './api'
