// Redis through the user's own client, for ferrolock/wasm: the adapters
// that give the engine (bindings/wasm/src/redis.rs) what it asks of a
// client (the RedisScripts interface of api.ts: scriptLoad, evalsha,
// scanKeys, ping, subscribe, close) from an ioredis or node-redis (v4+)
// client, or take an object of that shape as it is. Release notices use a
// duplicate of the client (its `duplicate()`), which `close()` ends; the
// client itself stays the user's. No runtime dependency on either client.

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object without scriptLoad/evalsha' : `the ${typeof v} ${String(v)}`
}

/** Marks our adapters, whose `evalsha` only reads the arrays it is given: they get the engine's own key array. */
const READS_ONLY = Symbol('evalsha reads its arrays only')

/** Ends each argument in the line the engine hands `run` (see bindings/wasm/src/redis.rs). */
const END = '\x1f'

/**
 * The object the engine drives (bindings/wasm/src/redis.rs): the adapter's
 * methods, and `run`, a script call that crosses once each way: the SHA1
 * and the keys come as values the engine keeps for the next calls (the
 * keys an array it reuses: read, never changed; other adapters get a
 * copy), the arguments as one string, each ended by U+001F (or as an
 * array, `args`), and the reply or the error goes back through the
 * engine's `settle(id, ok, value)`, always after `run` returns, also when
 * the adapter throws at once (`run` never throws: nothing of the engine's
 * is left half-done by an exception).
 */
function forEngine(a) {
  const evalsha = a[READS_ONLY] ? a.evalsha : (sha, keys, args) => a.evalsha(sha, keys.slice(), args)
  const side = {
    run(settle, id, sha, keys, line, args) {
      if (args === undefined) {
        args = line.split(END)
        args.pop()
      }
      let reply
      try {
        reply = Promise.resolve(evalsha(sha, keys, args))
      } catch (e) {
        reply = Promise.reject(e)
      }
      reply.then(
        (value) => settle(id, true, value),
        (error) => settle(id, false, error),
      )
    },
    scriptLoad: (source) => a.scriptLoad(source),
  }
  // The engine tells what a client can do by the methods it has.
  if (typeof a.scanKeys === 'function') side.scanKeys = (pattern) => a.scanKeys(pattern)
  if (typeof a.ping === 'function') side.ping = () => a.ping()
  if (typeof a.subscribe === 'function') side.subscribe = (channels, onMessage) => a.subscribe(channels, onMessage)
  if (typeof a.close === 'function') side.close = () => a.close()
  return side
}

/** Every key matching `pattern`, by SCAN through `command(args)`. */
async function scanAll(command, pattern) {
  const keys = []
  let cursor = '0'
  do {
    const [next, batch] = await command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])
    keys.push(...batch.map(String))
    cursor = String(next)
  } while (cursor !== '0')
  return keys
}

/** ioredis (`new Redis(...)`). */
function ioredis(client) {
  let sub
  const command = (args) => client.call(...args)
  return {
    scriptLoad: (source) => command(['SCRIPT', 'LOAD', source]),
    evalsha: (sha, keys, args) => client.call('EVALSHA', sha, keys.length, ...keys, ...args),
    [READS_ONLY]: true,
    scanKeys: (pattern) => scanAll(command, pattern),
    ping: () => command(['PING']),
    async subscribe(channels, onMessage) {
      sub = client.duplicate()
      sub.on('error', () => {}) // it reconnects by itself; close() ends it
      sub.on('message', (channel, message) => onMessage(channel, message))
      await sub.subscribe(...channels)
    },
    close() {
      const s = sub
      sub = undefined
      s?.disconnect()
    },
  }
}

/** node-redis v4+ (`createClient(...)`, connected). */
function nodeRedis(client) {
  let sub
  const command = (args) => client.sendCommand(args)
  return {
    scriptLoad: (source) => command(['SCRIPT', 'LOAD', source]),
    evalsha: (sha, keys, args) => command(['EVALSHA', sha, String(keys.length), ...keys, ...args]),
    [READS_ONLY]: true,
    scanKeys: (pattern) => scanAll(command, pattern),
    ping: () => command(['PING']),
    async subscribe(channels, onMessage) {
      sub = client.duplicate()
      sub.on('error', () => {})
      await sub.connect()
      await sub.subscribe(channels, (message, channel) => onMessage(channel, message))
    },
    close() {
      const s = sub
      sub = undefined
      if (!s) return
      const closing = typeof s.destroy === 'function' ? s.destroy() : s.disconnect()
      Promise.resolve(closing).catch(() => {})
    },
  }
}

/** The adapter for `client`: ioredis, node-redis, or an object of the RedisScripts shape as it is. */
export function adapt(client) {
  if (client !== null && typeof client === 'object') {
    // ioredis has sendCommand too (taking its Command objects): tell it by call and evalsha.
    if (typeof client.call === 'function' && typeof client.duplicate === 'function' && typeof client.evalsha === 'function') {
      if (client.options?.keyPrefix) {
        // It would prefix our keys: the locks would not be those every other ferrolock sees.
        throw new TypeError(
          `options.redis: an ioredis client with keyPrefix ${JSON.stringify(client.options.keyPrefix)} would move the locks away from the keys every other ferrolock uses; give a client without keyPrefix (and a namespace)`,
        )
      }
      return ioredis(client)
    }
    if (typeof client.sendCommand === 'function' && typeof client.duplicate === 'function') return nodeRedis(client)
    if (typeof client.scriptLoad === 'function' && typeof client.evalsha === 'function') return client
  }
  throw new TypeError(
    `options.redis must be an ioredis or node-redis client, or an object with scriptLoad and evalsha, not ${describe(client)}`,
  )
}

/** The URL of a provider over `options.redis` (registered with the engine), with its namespace and holder. */
export function clientUrl(register) {
  return (options) => {
    let url = register(forEngine(adapt(options.redis)))
    const query = []
    if (options.namespace !== undefined) query.push(`namespace=${encodeURIComponent(options.namespace)}`)
    if (options.holder !== undefined) query.push(`holder=${encodeURIComponent(options.holder)}`)
    if (options.bypass !== undefined) query.push(`bypass=${options.bypass}`)
    if (query.length) url += `?${query.join('&')}`
    return url
  }
}
