// ferrolock/wasm for browsers, workers, edge runtimes and bundlers: the
// engine built for WebAssembly (bindings/wasm) under the package's one
// TypeScript layer (api.browser.js: api.js with a small EventEmitter in
// place of node:events). The .wasm is fetched beside this file.
import init, * as glue from './ferrolock_wasm.js'
import { useNative } from './api.browser.js'
import { clientUrl } from './redis.js'

await init({ module_or_path: new URL('./ferrolock_wasm_bg.wasm', import.meta.url) })
useNative(glue, clientUrl(glue.registerRedis))

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
} from './api.browser.js'
