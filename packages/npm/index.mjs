// ES module entry: the same objects as the CommonJS entry (index.js), by name.
import cjs from './index.js'

export const {
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
} = cjs
export default cjs
