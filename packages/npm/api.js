"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Held = exports.Lock = exports.Locks = exports.DEFAULT_TIMEOUT = exports.errorClasses = exports.Closed = exports.BackendUnavailable = exports.Unsupported = exports.NotHeld = exports.LockLost = exports.LockTimeout = exports.InvalidToken = exports.InvalidArgument = exports.LockError = void 0;
exports.useNative = useNative;
exports.parseDuration = parseDuration;
exports.decodeToken = decodeToken;
/**
 * The TypeScript layer of ferrolock, over a native object: the Node addon
 * (`bindings/node`, loaded by `index.ts`) or the WebAssembly build
 * (`bindings/wasm`, loaded by `wasm/node.js` or `wasm/browser.js`):
 * argument checks, durations, errors, AbortSignal and `await using`. Every
 * lock rule lives in the engine.
 */
const node_events_1 = require("node:events");
// ----------------------------------------------------------------- errors
/** Every error ferrolock raises; `code` is a row of the error table. */
class LockError extends Error {
    /** `INVALID_ARGUMENT`, `INVALID_TOKEN`, `TIMEOUT`, `LOST`, `NOT_HELD`, `UNSUPPORTED`, `BACKEND_UNAVAILABLE`, `CLOSED` or `INTERNAL`. */
    code;
    constructor(message, code = 'INTERNAL') {
        super(message);
        this.code = code;
        this.name = new.target.name;
    }
}
exports.LockError = LockError;
/** A bad argument: name, namespace, ttl, timeout, holder or URL. */
class InvalidArgument extends LockError {
    constructor(message, code = 'INVALID_ARGUMENT') {
        super(message, code);
    }
}
exports.InvalidArgument = InvalidArgument;
/** A malformed, truncated, oversized or foreign token. */
class InvalidToken extends InvalidArgument {
    constructor(message) {
        super(message, 'INVALID_TOKEN');
    }
}
exports.InvalidToken = InvalidToken;
/** The lock could not be had in time. */
class LockTimeout extends LockError {
    constructor(message) {
        super(message, 'TIMEOUT');
    }
}
exports.LockTimeout = LockTimeout;
/** The lock was lost: it expired, was taken over or force-released. */
class LockLost extends LockError {
    constructor(message) {
        super(message, 'LOST');
    }
}
exports.LockLost = LockLost;
/** The handle was already released or handed off. */
class NotHeld extends LockError {
    constructor(message) {
        super(message, 'NOT_HELD');
    }
}
exports.NotHeld = NotHeld;
/** The backend cannot do this. */
class Unsupported extends LockError {
    constructor(message) {
        super(message, 'UNSUPPORTED');
    }
}
exports.Unsupported = Unsupported;
/** The backend could not be reached or failed. */
class BackendUnavailable extends LockError {
    constructor(message) {
        super(message, 'BACKEND_UNAVAILABLE');
    }
}
exports.BackendUnavailable = BackendUnavailable;
/** The provider was closed. */
class Closed extends LockError {
    constructor(message) {
        super(message, 'CLOSED');
    }
}
exports.Closed = Closed;
/** The class of each code of the error table. */
exports.errorClasses = Object.freeze({
    INVALID_ARGUMENT: InvalidArgument,
    INVALID_TOKEN: InvalidToken,
    TIMEOUT: LockTimeout,
    LOST: LockLost,
    NOT_HELD: NotHeld,
    UNSUPPORTED: Unsupported,
    BACKEND_UNAVAILABLE: BackendUnavailable,
    CLOSED: Closed,
    INTERNAL: LockError,
});
const ABORTED = 'ABORTED';
/**
 * The one mapping: the addon prefixes each message with its code, and ends
 * it with the backend's own error after `\n[cause] `, which becomes `cause`.
 */
function mapError(e) {
    const message = e?.message;
    if (typeof message !== 'string')
        return e;
    const m = /^\[([A-Z_]+)\] ([\s\S]*?)(?:\n\[cause\] ([\s\S]*))?$/.exec(message);
    if (!m)
        return e;
    if (m[1] === ABORTED)
        return e;
    const Class = exports.errorClasses[m[1]] ?? LockError;
    const err = Class === LockError ? new LockError(m[2], m[1]) : new Class(m[2]);
    if (m[3] !== undefined) {
        Object.defineProperty(err, 'cause', { value: new Error(m[3]), writable: true, configurable: true });
    }
    return err;
}
function isAborted(e) {
    const message = e?.message;
    return typeof message === 'string' && message.startsWith(`[${ABORTED}]`);
}
/** An `Error` of the table from the addon's `[CODE] text` message. */
function errorFrom(message) {
    return mapError(new Error(message));
}
const pending = new Map();
let keepAlive;
/** Operations pending: ids (of the addon and the WebAssembly build), and Promises. */
let inFlight = 0;
function hold() {
    if (inFlight++ === 0) {
        keepAlive ??= setInterval(() => { }, 2 ** 31 - 1);
        keepAlive.ref?.();
    }
}
function letGo() {
    if (--inFlight === 0)
        keepAlive?.unref?.();
}
let native;
let bridge;
/** The WebAssembly entry's: the URL of a provider over a user's Redis client. */
let clientUrl;
/**
 * @internal The entry point (`index.ts` for the addon, `wasm/*.js` for the
 * WebAssembly build) installs its native object once, before any use, and
 * (the WebAssembly entry) how `Locks.connect({ redis: client })` registers
 * the client.
 */
function useNative(n, redisClientUrl) {
    native = n;
    clientUrl = redisClientUrl;
    const onHeldForgotten = n.onHeldForgotten;
    heldWarns = onHeldForgotten !== undefined;
    onHeldForgotten?.(warnForgotten);
    endsHandles = typeof n.NativeLock?.prototype?.ended === 'function';
    bridge = new native.NativeBridge((id, error, value) => {
        const p = pending.get(id);
        if (p === undefined)
            return;
        pending.delete(id);
        letGo();
        if (error === null)
            p[0](p[2] === undefined ? value : p[2](value));
        else
            p[1](errorFrom(error));
    });
}
function settle(r, map) {
    if (typeof r === 'number') {
        return new Promise((resolve, reject) => {
            hold();
            pending.set(r, [resolve, reject, map]);
        });
    }
    if (r instanceof Promise) {
        hold();
        return r.finally(letGo);
    }
    return r;
}
/**
 * A native operation's outcome, errors mapped, made into `map`'s when given:
 * no more Promises than the one the caller awaits (an id's rejects with a
 * mapped error already, and resolves with `map`'s value, so that the
 * caller needs no `await` of its own before it returns).
 */
function call(f, map) {
    let r;
    try {
        r = f();
    }
    catch (e) {
        return Promise.reject(mapError(e));
    }
    if (typeof r === 'number')
        return settle(r, map);
    if (r instanceof Promise)
        return settle(r).then(map, rethrowMapped);
    return Promise.resolve(map === undefined ? r : map(r));
}
function rethrowMapped(e) {
    throw mapError(e);
}
function callSync(f) {
    try {
        return f();
    }
    catch (e) {
        throw mapError(e);
    }
}
/** `process.nextTick` where there is one (Node), else a microtask (browsers). */
function later(f) {
    if (typeof process !== 'undefined' && typeof process.nextTick === 'function')
        process.nextTick(f);
    else
        queueMicrotask(f);
}
/** Milliseconds per unit: the grammar every language shares (tests/vectors/durations.json). */
const UNITS = {
    ms: 1, s: 1000, sec: 1000, secs: 1000, m: 60_000, min: 60_000, mins: 60_000,
    h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, d: 86_400_000,
};
/**
 * A duration in milliseconds. `Infinity` is allowed where `forever` is
 * (timeouts). Wrong JS types are a `TypeError`; bad values an
 * `InvalidArgument` naming `what` and the value as it was given.
 */
function parseDuration(what, value, forever = false) {
    let ms;
    let shown;
    if (typeof value === 'number') {
        ms = value;
        shown = `${value} ms`;
    }
    else if (typeof value === 'string') {
        shown = JSON.stringify(value);
        const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/.exec(value);
        if (!m || (m[2] !== '' && !Object.hasOwn(UNITS, m[2]))) {
            throw new InvalidArgument(`invalid argument: ${what} ${shown} is not a duration: give milliseconds as a number, or a string with its unit ('500ms', '10s', '2m', '1h')`);
        }
        if (m[2] === '') {
            throw new InvalidArgument(`invalid argument: ${what} ${shown} has no unit: write '${m[1]}ms' or '${m[1]}s', or the number ${m[1]} for milliseconds`);
        }
        ms = Number(m[1]) * UNITS[m[2]];
    }
    else {
        throw new TypeError(`${what} must be milliseconds (a number) or a string like '10s', not ${describe(value)}`);
    }
    if (Number.isNaN(ms))
        throw new InvalidArgument(`invalid argument: ${what} is NaN`);
    if (ms < 0)
        throw new InvalidArgument(`invalid argument: ${what} ${shown} is negative`);
    if (ms === Infinity && !forever)
        throw new InvalidArgument(`invalid argument: ${what} cannot be Infinity`);
    if (ms !== Infinity && ms > MAX_MS) {
        throw new InvalidArgument(`invalid argument: ${what} ${shown} is too large${forever ? '; use Infinity to wait forever' : ''}`);
    }
    if (what === 'ttl' && ms < 1) {
        throw new InvalidArgument(`invalid argument: ttl ${shown} is too short; it must be at least 1 ms`);
    }
    return ms;
}
/** The largest duration accepted: about 285,000 years. */
const MAX_MS = Number.MAX_SAFE_INTEGER;
/** A value as a message names it: `undefined`, `the number 5`, `an object`. */
function describe(v) {
    if (v === null)
        return 'null';
    if (v === undefined)
        return 'undefined';
    if (Array.isArray(v))
        return 'an array';
    switch (typeof v) {
        case 'object':
            return 'an object';
        case 'function':
            return 'a function';
        case 'symbol':
            return 'a symbol';
        case 'string':
            return `the string ${JSON.stringify(v)}`;
        case 'bigint':
            return `the bigint ${v}n`;
        default:
            return `the ${typeof v} ${String(v)}`;
    }
}
/**
 * `toJSON` of the records with bigint fields (fences, token times): each
 * bigint as a decimal string, so that `JSON.stringify` works on them
 * without a global `BigInt.prototype.toJSON`.
 */
function bigintsAsStrings() {
    const out = {};
    for (const [k, v] of Object.entries(this))
        out[k] = typeof v === 'bigint' ? v.toString() : v;
    return out;
}
/** Give `record` a `toJSON` (not enumerable: spreads and comparisons do not see it). */
function jsonable(record) {
    Object.defineProperty(record, 'toJSON', { value: bigintsAsStrings, enumerable: false, writable: true, configurable: true });
    return record;
}
function checkString(what, v) {
    if (typeof v !== 'string')
        throw new TypeError(`${what} must be a string, not ${describe(v)}`);
    return v;
}
function checkOptions(what, v, allowed) {
    if (v === undefined)
        return {};
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new TypeError(`${what} must be an object, not ${describe(v)}`);
    }
    for (const key of Object.keys(v)) {
        if (!allowed.includes(key)) {
            throw new TypeError(`${what} has an unknown option ${JSON.stringify(key)} (known: ${allowed.join(', ')})`);
        }
    }
    return v;
}
function checkSignal(v) {
    if (v === undefined)
        return undefined;
    if (!(v instanceof AbortSignal))
        throw new TypeError(`signal must be an AbortSignal, not ${describe(v)}`);
    return v;
}
const EVENT_KINDS = ['acquired', 'released', 'queued', 'timed_out', 'renewed', 'lost', 'force_released'];
/** How long a wait lasts when no timeout is given. */
exports.DEFAULT_TIMEOUT = 10_000;
// ------------------------------------------------------------------ Locks
const token = Symbol('ferrolock.internal');
/**
 * A connection to one backend, made from a URL: `memory://`,
 * `sqlite://PATH`, `redis://host:port` (a quorum: `redis://h1,h2,h3`;
 * Redis Cluster: `redis+cluster://…`).
 *
 * Events (`acquired`, `released`, `queued`, `timed_out`, `renewed`, `lost`,
 * `force_released`, and `event` for all of them) are emitted while someone
 * listens; listening does not keep the process alive.
 */
class Locks extends node_events_1.EventEmitter {
    #native;
    #subscription;
    #closed = false;
    /** @internal Use `Locks.connect(url)`. */
    constructor(key, nativeLocks) {
        super();
        if (key !== token)
            throw new TypeError('use `await Locks.connect(url)` to make a Locks');
        this.#native = nativeLocks;
        this.on('newListener', (event) => {
            if (typeof event === 'string' && (event === 'event' || EVENT_KINDS.includes(event)))
                this.#subscribe();
        });
        this.on('removeListener', () => {
            if (!this.#listening())
                this.#unsubscribe();
        });
    }
    /**
     * Connect to the backend `url` names. Without a URL: `$FERROLOCK_URL`,
     * else the SQLite file `$XDG_DATA_HOME/ferrolock/locks.db`.
     */
    static async connect(url) {
        if (url !== null && typeof url === 'object' && !Array.isArray(url) && 'redis' in url) {
            const o = checkOptions('options', url, ['redis', 'namespace', 'holder', 'bypass']);
            if (o.namespace !== undefined)
                checkString('options.namespace', o.namespace);
            if (o.bypass !== undefined && typeof o.bypass !== 'boolean')
                throw new TypeError(`options.bypass must be a boolean, not ${describe(o.bypass)}`);
            if (o.holder !== undefined)
                checkString('options.holder', o.holder);
            if (clientUrl === undefined) {
                throw new Unsupported("the redis backend does not support a client object here: it is for 'ferrolock/wasm'; this entry connects with a URL such as redis://127.0.0.1:6379");
            }
            url = clientUrl(o);
        }
        else if (url !== undefined) {
            checkString('url', url);
        }
        const u = url;
        const n = await call(() => native.connect(u, bridge));
        return new Locks(token, n);
    }
    /** Describe the lock `name` (no I/O; a bad name or ttl is reported by the first operation). */
    lock(name, options) {
        checkString('name', name);
        return new Lock(token, this.#native, name, options);
    }
    /** Make an armed handle from a token written by `intoToken` in any process or language. */
    async resume(tokenString) {
        checkString('token', tokenString);
        return new Held(token, await call(() => this.#native.resume(tokenString)));
    }
    /** Who holds `name`, if anyone. */
    async state(name) {
        checkString('name', name);
        const info = await call(() => this.#native.state(name));
        return jsonable(info == null ? { held: false } : { held: true, ...info });
    }
    /** The active locks of this namespace whose names start with `prefix`. */
    async list(prefix = '') {
        checkString('prefix', prefix);
        return (await call(() => this.#native.list(prefix))).map(jsonable);
    }
    /** Release `name` whoever holds it (an administrator's tool); whether it was held. */
    async forceRelease(name) {
        checkString('name', name);
        return call(() => this.#native.forceRelease(name));
    }
    /** A health check: resolves if the backend answers. */
    async ping() {
        return call(() => this.#native.ping());
    }
    /**
     * Close the provider: renewals stop and every later operation is
     * `CLOSED`. Locks still held free at their ttl. The process can exit
     * right after.
     */
    async close() {
        this.#closed = true;
        this.#unsubscribe();
        await call(() => this.#native.close());
    }
    /** `await using locks = await Locks.connect(url)` closes it at the end of the scope. */
    async [Symbol.asyncDispose]() {
        await this.close();
    }
    /** The URL, password replaced by `***`. */
    get url() {
        return this.#native.url;
    }
    get namespace() {
        return this.#native.namespace;
    }
    /** `memory`, `sqlite` or `redis`. */
    get backend() {
        return this.#native.backend;
    }
    get capabilities() {
        return this.#native.capabilities;
    }
    #listening() {
        return this.listenerCount('event') > 0 || EVENT_KINDS.some((k) => this.listenerCount(k) > 0);
    }
    #subscribe() {
        if (this.#subscription || this.#closed)
            return;
        this.#subscription = this.#native.subscribe((native) => {
            const e = jsonable(native);
            this.emit(e.kind, e);
            this.emit('event', e);
        });
    }
    #unsubscribe() {
        this.#subscription?.stop();
        this.#subscription = undefined;
    }
}
exports.Locks = Locks;
// ------------------------------------------------------------------- Lock
/** A named lock: name, ttl, mode and options. Cheap, no I/O; reuse freely. */
class Lock {
    /** The lock's name. */
    name;
    #native;
    /** A bad option value, reported by the first operation (as in every binding). */
    #invalid;
    /** A native handle of this lock as a `Held` (`null` as is). */
    #held;
    /** @internal Use `locks.lock(name, options)`. */
    constructor(key, nativeLocks, name, options) {
        if (key !== token)
            throw new TypeError('use `locks.lock(name, options)` to make a Lock');
        const locks = nativeLocks;
        this.name = name;
        const o = checkOptions('options', options, ['ttl', 'shared', 'holder', 'autoRenew']);
        if (o.shared !== undefined && typeof o.shared !== 'boolean')
            throw new TypeError(`options.shared must be a boolean, not ${describe(o.shared)}`);
        if (o.autoRenew !== undefined && typeof o.autoRenew !== 'boolean')
            throw new TypeError(`options.autoRenew must be a boolean, not ${describe(o.autoRenew)}`);
        if (o.holder !== undefined)
            checkString('options.holder', o.holder);
        let ttl;
        let invalid;
        let n;
        try {
            if (o.ttl !== undefined) {
                ttl = parseDuration('ttl', o.ttl);
                // Named in the unit given (the engine's message would be in seconds).
                const max = ttl > 86_400_000 ? locks.capabilities.maxTtl : Infinity;
                if (ttl > max) {
                    const shown = typeof o.ttl === 'string' ? JSON.stringify(o.ttl) : `${o.ttl} ms`;
                    throw new InvalidArgument(`invalid argument: ttl ${shown} is above this backend's maximum of ${max} ms`);
                }
            }
            n = callSync(() => locks.lock(name, ttl, o.shared, o.holder, o.autoRenew));
        }
        catch (e) {
            if (e instanceof TypeError)
                throw e;
            invalid = e;
        }
        this.#native = n;
        this.#invalid = invalid;
        const ending = endsHandles ? n : undefined;
        this.#held = (h) => (h == null ? null : new Held(token, h, ending));
    }
    #lock() {
        if (this.#native === undefined)
            throw this.#invalid;
        return this.#native;
    }
    /** Take the lock if it is free now; `null` if someone holds it. */
    tryAcquire() {
        return call(() => this.#lock().tryAcquire(), this.#held);
    }
    /**
     * Wait up to `timeout` (default 10 s; `Infinity`: forever) for the lock;
     * a `LockTimeout` after it. Use with `await using` to release at the end
     * of the scope.
     */
    async acquire(options) {
        return (await this.#acquire(options, false));
    }
    /** Like `acquire`, but `null` on timeout. */
    async acquireOrNull(options) {
        return this.#acquire(options, true);
    }
    async #acquire(options, orNull) {
        let timeout = exports.DEFAULT_TIMEOUT;
        let signal;
        if (options !== undefined) {
            const o = checkOptions('options', options, ['timeout', 'signal']);
            if (o.timeout !== undefined)
                timeout = parseDuration('timeout', o.timeout, true);
            signal = checkSignal(o.signal);
        }
        const n = this.#lock();
        if (signal === undefined) {
            return call(() => n.acquire(timeout, orNull), this.#held);
        }
        signal.throwIfAborted();
        const cancel = new native.NativeCancel();
        const onAbort = () => cancel.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
            let h;
            try {
                h = await settle(n.acquire(timeout, orNull, cancel));
            }
            catch (e) {
                if (signal.aborted || isAborted(e))
                    signal.throwIfAborted();
                throw mapError(e);
            }
            if (signal.aborted) {
                // Aborted as the lock came: give it back, so nothing stays held.
                if (h != null)
                    await Promise.resolve(settle(h.release())).catch(() => false);
                signal.throwIfAborted();
            }
            return this.#held(h);
        }
        finally {
            signal.removeEventListener('abort', onAbort);
        }
    }
    /**
     * Acquire (waiting up to `timeout`), run `fn` with the handle while the
     * lock is renewed, then release it, and return what `fn` returned. If the
     * lock was lost meanwhile (see `held.lost`), a `LockLost` once `fn`
     * returns, unless `fn` threw first.
     */
    async run(fn, options) {
        if (typeof fn !== 'function')
            throw new TypeError(`fn must be a function, not ${describe(fn)}`);
        const held = await this.acquire(options);
        let value;
        let failed = false;
        let error;
        try {
            value = await fn(held);
        }
        catch (e) {
            failed = true;
            error = e;
        }
        // The engine's one end of `run`: release; LOST if lost, unless fn threw.
        await finish(held, failed);
        if (failed)
            throw error;
        return value;
    }
    withLock(fn, cb) {
        if (cb !== undefined && typeof cb !== 'function')
            throw new TypeError(`cb must be a function, not ${describe(cb)}`);
        const p = this.run(fn);
        if (cb === undefined)
            return p;
        p.then((v) => later(() => cb(null, v)), (e) => later(() => cb(e)));
    }
}
exports.Lock = Lock;
// ------------------------------------------------------------------- Held
/**
 * Whether the native `Held` objects call `warnForgotten` themselves when
 * collected still held (the native module has `onHeldForgotten`, given it
 * at `useNative`): the WebAssembly build's do (wasm-bindgen's finalizer
 * runs their drop, which may call JavaScript); the addon's are finalized
 * during garbage collection, where no JavaScript may run. Then `forgotten`
 * is not needed: a registration with its unregistration costs V8 about
 * half a µs a handle (bench/wasm/cpu.mjs's fake contender).
 */
let heldWarns = false;
/**
 * A handle collected while it still held its lock: the engine's drop
 * releases the lock in the background; this warns, as the engine's log
 * line does in Rust.
 */
function warnForgotten(name) {
    if (typeof process === 'undefined' || typeof process.emitWarning !== 'function') {
        console.warn(`ferrolock: a held lock ${JSON.stringify(name)} was garbage-collected without release(); it is being released now`);
        return;
    }
    process.emitWarning(`a held lock ${JSON.stringify(name)} was garbage-collected without release(); it is being released now`, { type: 'FerrolockWarning', code: 'FERROLOCK_NOT_RELEASED' });
}
/**
 * Whether a native lock can stand in for its ended handles (`ended`: the
 * WebAssembly build's): then a `Held` frees its native handle when it
 * ends (released, ended by `run`, handed off), and makes the stand-in only
 * if it is used again. A native handle left to the garbage collector costs
 * V8 a finalization each, and a loop that never yields to the event loop
 * piles them up until every collection is slow. (The addon's handles are
 * not freed by hand.)
 */
let endsHandles = false;
/** The addon's handles collected still held (see `heldWarns`); its object releases when collected in turn. */
const forgotten = new FinalizationRegistry((nativeHeld) => warnForgotten(nativeHeld.name));
/** The end of a scope (`run`): see `NativeHeld.finish`. Set by `Held`. */
let finish;
/**
 * Proof of an acquired lock. Renewed in the background (unless
 * `autoRenew: false`) until released or handed off. `await using held =
 * await lock.acquire()` releases it at the end of the scope.
 */
class Held {
    /** The native handle; after `#end`, its lock's stand-in, once needed. */
    #native;
    /** Its lock, while the native handle is to be freed at its end (see `endsHandles`). */
    #ending;
    /** After `#end`: the stand-in's lock and fields, until it is made. */
    #ended;
    #lost;
    /** @internal */
    constructor(key, nativeHeld, ending) {
        if (key !== token)
            throw new TypeError('a Held comes from acquire, tryAcquire, acquireOrNull or resume');
        this.#native = nativeHeld;
        this.#ending = ending;
        // The native object itself, not its name: no string read per acquisition.
        if (!heldWarns)
            forgotten.register(this, this.#native, this);
    }
    /** The native handle, or the stand-in for it once it has ended. */
    #n() {
        if (this.#native === undefined) {
            const [lock, ...fields] = this.#ended;
            this.#native = lock.ended(...fields);
            this.#ended = undefined;
        }
        return this.#native;
    }
    /** The handle has ended: free its native object (see `endsHandles`), keeping its fields. */
    #end() {
        const lock = this.#ending;
        const n = this.#native;
        if (lock === undefined || n === undefined)
            return;
        this.#ending = undefined;
        this.#ended = [lock, n.fence, n.ttl, n.expiresAt, n.isLost];
        this.#native = undefined;
        n.free();
    }
    /** `value`, once the handle has ended with it. */
    #endWith(value) {
        this.#end();
        return value;
    }
    static {
        finish = (held, bodyFailed) => {
            if (!heldWarns)
                forgotten.unregister(held);
            const n = held.#n();
            if (held.#ending === undefined)
                return call(() => n.finish(bodyFailed));
            return call(() => n.finish(bodyFailed), (v) => held.#endWith(v));
        };
    }
    get name() {
        return this.#n().name;
    }
    get namespace() {
        return this.#n().namespace;
    }
    /** Strictly increasing with every exclusive acquisition of this lock: pass it to the resource you protect. */
    get fence() {
        return this.#n().fence;
    }
    get mode() {
        return this.#n().mode;
    }
    get holder() {
        return this.#n().holder;
    }
    /** The ttl renewals use, in milliseconds. */
    get ttl() {
        return this.#n().ttl;
    }
    /** When the lease expires unless renewed, in unix milliseconds. */
    get expiresAt() {
        return this.#n().expiresAt;
    }
    /** Whether the lock was found lost (by renewal or `refresh`). */
    get isLost() {
        return this.#n().isLost;
    }
    /** Whether this handle still owns the lock (not released or handed off). */
    get isArmed() {
        return this.#n().isArmed;
    }
    /**
     * Fires (with a `LockLost` reason) if the lock is found lost while this
     * handle holds it: pass it to the work the lock protects.
     */
    get lost() {
        if (this.#lost === undefined) {
            const controller = new AbortController();
            this.#lost = controller;
            const fire = () => {
                if (!controller.signal.aborted) {
                    controller.abort(new LockLost(`lock ${JSON.stringify(this.name)} was lost: this owner no longer holds it (it expired, or was released with its token elsewhere, force-released or taken over)`));
                }
            };
            if (this.#n().isLost)
                fire();
            else
                this.#n().watchLost(fire);
        }
        return this.#lost.signal;
    }
    /** Release the lock: whether this handle still held it (false if it expired, was taken over, released or handed off). */
    release() {
        if (!heldWarns)
            forgotten.unregister(this);
        const n = this.#n();
        if (this.#ending === undefined)
            return call(() => n.release());
        return call(() => n.release(), (v) => this.#endWith(v));
    }
    /** Extend the lease to `ttl` from now (default: the current ttl); a `LockLost` if it was lost meanwhile. */
    async refresh(ttl) {
        const ms = ttl === undefined ? this.#n().ttl : parseDuration('ttl', ttl);
        try {
            await settle(this.#n().refresh(ms));
        }
        catch (e) {
            const err = mapError(e);
            if (err instanceof LockLost && this.#lost && !this.#lost.signal.aborted)
                this.#lost.abort(err);
            throw err;
        }
    }
    /**
     * Hand the lock off: returns its token and disarms this handle, so that
     * nothing in this process releases or renews it any more. Resume it with
     * `locks.resume(token)` in any process or language.
     */
    intoToken() {
        const t = callSync(() => this.#n().intoToken());
        this.#end();
        if (!heldWarns)
            forgotten.unregister(this);
        return t;
    }
    /**
     * For `JSON.stringify`: the public fields (never the token or owner id),
     * the fence as a decimal string.
     */
    toJSON() {
        return {
            name: this.name,
            namespace: this.namespace,
            fence: this.fence.toString(),
            mode: this.mode,
            holder: this.holder,
            ttl: this.ttl,
            expiresAt: this.expiresAt,
            isLost: this.isLost,
            isArmed: this.isArmed,
        };
    }
    /** Releases the lock at the end of an `await using` scope. */
    async [Symbol.asyncDispose]() {
        await this.release();
    }
}
exports.Held = Held;
// ----------------------------------------------------------------- tokens
/** A token's public fields, checking its format (an `InvalidToken` if malformed). */
function decodeToken(tokenString) {
    checkString('token', tokenString);
    return jsonable(callSync(() => native.decodeToken(tokenString)));
}
