// ferrolock/wasm under Node: the engine built for WebAssembly
// (bindings/wasm) under the package's one TypeScript layer (api.js). It
// never loads the native addon.
import { readFileSync } from 'node:fs'
import * as glue from './ferrolock_wasm.js'
import { useNative } from './api.js'
import { clientUrl } from './redis.js'

glue.initSync({ module: readFileSync(new URL('./ferrolock_wasm_bg.wasm', import.meta.url)) })
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
} from './api.js'
