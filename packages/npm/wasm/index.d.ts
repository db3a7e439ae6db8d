// ferrolock/wasm: the same API and types as the native entry (api.d.ts,
// the one TypeScript layer), over the engine built for WebAssembly.
// `Locks.connect(url)` takes `memory://`; Redis comes through your own
// client: `Locks.connect({ redis: client, namespace, holder })`.
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
} from '../api.js'
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
} from '../api.js'
