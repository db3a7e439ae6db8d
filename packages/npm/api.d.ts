/**
 * The TypeScript layer of ferrolock, over a native object: the Node addon
 * (`bindings/node`, loaded by `index.ts`) or the WebAssembly build
 * (`bindings/wasm`, loaded by `wasm/node.js` or `wasm/browser.js`):
 * argument checks, durations, errors, AbortSignal and `await using`. Every
 * lock rule lives in the engine.
 */
import { EventEmitter } from 'node:events';
/** Every error ferrolock raises; `code` is a row of the error table. */
export declare class LockError extends Error {
    /** `INVALID_ARGUMENT`, `INVALID_TOKEN`, `TIMEOUT`, `LOST`, `NOT_HELD`, `UNSUPPORTED`, `BACKEND_UNAVAILABLE`, `CLOSED` or `INTERNAL`. */
    readonly code: string;
    constructor(message: string, code?: string);
}
/** A bad argument: name, namespace, ttl, timeout, holder or URL. */
export declare class InvalidArgument extends LockError {
    constructor(message: string, code?: string);
}
/** A malformed, truncated, oversized or foreign token. */
export declare class InvalidToken extends InvalidArgument {
    constructor(message: string);
}
/** The lock could not be had in time. */
export declare class LockTimeout extends LockError {
    constructor(message: string);
}
/** The lock was lost: it expired, was taken over or force-released. */
export declare class LockLost extends LockError {
    constructor(message: string);
}
/** The handle was already released or handed off. */
export declare class NotHeld extends LockError {
    constructor(message: string);
}
/** The backend cannot do this. */
export declare class Unsupported extends LockError {
    constructor(message: string);
}
/** The backend could not be reached or failed. */
export declare class BackendUnavailable extends LockError {
    constructor(message: string);
}
/** The provider was closed. */
export declare class Closed extends LockError {
    constructor(message: string);
}
/** The class of each code of the error table. */
export declare const errorClasses: Readonly<Record<string, new (message: string) => LockError>>;
/**
 * @internal The entry point (`index.ts` for the addon, `wasm/*.js` for the
 * WebAssembly build) installs its native object once, before any use, and
 * (the WebAssembly entry) how `Locks.connect({ redis: client })` registers
 * the client.
 */
export declare function useNative(n: object, redisClientUrl?: (options: Record<string, unknown>) => string): void;
/**
 * Milliseconds (a number), or a string with its unit: `'500ms'`, `'10s'`,
 * `'1.5m'`, `'2h'`, `'1d'`. A string without a unit (`'30'`) is refused:
 * Python reads a bare 30 as seconds, so the string must say which
 * (docs/durations.md).
 */
export type Duration = number | string;
/**
 * A duration in milliseconds. `Infinity` is allowed where `forever` is
 * (timeouts). Wrong JS types are a `TypeError`; bad values an
 * `InvalidArgument` naming `what` and the value as it was given.
 */
export declare function parseDuration(what: string, value: Duration, forever?: boolean): number;
/** Options of `locks.lock(name, options)`. */
export interface LockOptions {
    /** How long the lease lives unless renewed (default 30 s). */
    ttl?: Duration;
    /** Take the lock shared: many shared holders, no exclusive one. */
    shared?: boolean;
    /** The public label shown by `state` and `list` (default `host:pid`). */
    holder?: string;
    /** Renew the lease at ttl/3 while held (default true). */
    autoRenew?: boolean;
}
/** Options of a wait. */
export interface AcquireOptions {
    /** How long to wait (default 10 s); `Infinity` waits forever. */
    timeout?: Duration;
    /** Stops the wait: the promise rejects with the signal's reason and nothing stays held. */
    signal?: AbortSignal;
}
/** `exclusive` or `shared`. */
export type Mode = 'exclusive' | 'shared';
/**
 * What `JSON.stringify` writes for a record of this package: its fields,
 * bigints (fences) as decimal strings.
 */
export type Jsonified<T> = {
    [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: T[K] extends bigint ? string : T[K];
};
/** One active lock, as `list` reports it. Never carries an owner id. */
export interface LockInfo {
    name: string;
    fence: bigint;
    mode: Mode;
    holder: string;
    /** Milliseconds until the lease expires unless renewed. */
    expiresIn: number;
    /** How many hold it shared (0 for an exclusive lock). */
    readers: number;
    /** For `JSON.stringify`: the fence as a decimal string. */
    toJSON(): Jsonified<LockInfo>;
}
/** What `state` finds: free, or who holds it. */
export type LockState = {
    held: false;
    toJSON(): {
        held: false;
    };
} | ({
    held: true;
} & LockInfo);
/** The public fields of a token (never its owner id). */
export interface TokenInfo {
    backend: 'memory' | 'sqlite' | 'redis' | 'postgres' | 'couchbase';
    namespace: string;
    name: string;
    fence: bigint;
    mode: Mode;
    /** When the lease expires unless renewed, in unix milliseconds (as of the token's writing). */
    expiresAtMs: bigint;
    /** The ttl the resumed handle renews with, in milliseconds. */
    ttlMs: bigint;
    holder: string;
    /** For `JSON.stringify`: fence, expiresAtMs and ttlMs as decimal strings. */
    toJSON(): Jsonified<TokenInfo>;
}
/** What `JSON.stringify(held)` writes: a `Held`'s public fields, the fence as a decimal string. */
export interface HeldJSON {
    name: string;
    namespace: string;
    fence: string;
    mode: Mode;
    holder: string;
    /** The ttl renewals use, in milliseconds. */
    ttl: number;
    /** When the lease expires unless renewed, in unix milliseconds. */
    expiresAt: number;
    isLost: boolean;
    isArmed: boolean;
}
/**
 * `Locks.connect({ redis: client })` of `ferrolock/wasm`: Redis through a
 * client you already have, an ioredis or node-redis (v4+) client as it is,
 * or any object of the {@link RedisScripts} shape (an Upstash-style REST
 * client has `scriptLoad` and `evalsha`). The client stays yours: close it
 * after `locks.close()`.
 */
export interface ConnectOptions {
    redis: unknown;
    /** The namespace (default `default`), as `?namespace=` of a URL. */
    namespace?: string;
    /** The default holder label, as `?holder=` of a URL. */
    holder?: string;
    /** Grant every lock without asking Redis (tests), as `?bypass=true` of a URL. */
    bypass?: boolean;
}
/**
 * What the engine asks of a Redis client (an adapter for clients other than
 * ioredis and node-redis). Replies as the client gives them: integers as
 * numbers, bulk strings as strings, arrays as arrays, nil as null.
 */
export interface RedisScripts {
    /** `SCRIPT LOAD source`: the script's SHA1. */
    scriptLoad(source: string): Promise<string>;
    /** `EVALSHA sha keys.length ...keys ...args`; an error mentioning NOSCRIPT makes the engine load the script again. */
    evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
    /** Every key matching a glob pattern (`SCAN ... MATCH`): for `list`, UNSUPPORTED without it. */
    scanKeys?(pattern: string): Promise<string[]>;
    /** A health check (`PING`). */
    ping?(): Promise<unknown>;
    /** Subscribe (on a connection of its own); release notices wake waiters at once, else they poll. */
    subscribe?(channels: string[], onMessage: (channel: string, message: string) => void): Promise<unknown>;
    /** `locks.close()` ends the subscription. */
    close?(): void;
}
/** The kinds of event a provider emits. */
export type EventKind = 'acquired' | 'released' | 'queued' | 'timed_out' | 'renewed' | 'lost' | 'force_released';
/** One event (never an owner id). */
export interface LockEvent {
    kind: EventKind;
    namespace: string;
    name: string;
    /** The fence of the acquisition concerned (0n where there is none). */
    fence: bigint;
    mode: Mode;
    holder: string;
    /** For `JSON.stringify`: the fence as a decimal string. */
    toJSON(): Jsonified<LockEvent>;
}
/** What the backend can do. */
export interface Capabilities {
    /** The longest ttl, in milliseconds. */
    maxTtl: number;
    shared: boolean;
    /** A lock outlives its process, so it can be handed off as a token. */
    handoff: boolean;
    /** A FIFO wait queue kept in the backend. */
    queue: boolean;
    /** Waiters are told when a lock may have been freed. */
    notices: boolean;
}
/** How long a wait lasts when no timeout is given. */
export declare const DEFAULT_TIMEOUT = 10000;
/**
 * A connection to one backend, made from a URL: `memory://`,
 * `sqlite://PATH`, `redis://host:port` (a quorum: `redis://h1,h2,h3`;
 * Redis Cluster: `redis+cluster://…`).
 *
 * Events (`acquired`, `released`, `queued`, `timed_out`, `renewed`, `lost`,
 * `force_released`, and `event` for all of them) are emitted while someone
 * listens; listening does not keep the process alive.
 */
export declare class Locks extends EventEmitter {
    #private;
    /** @internal Use `Locks.connect(url)`. */
    constructor(key: symbol, nativeLocks: unknown);
    /**
     * Connect to the backend `url` names. Without a URL: `$FERROLOCK_URL`,
     * else the SQLite file `$XDG_DATA_HOME/ferrolock/locks.db`.
     */
    static connect(url?: string | ConnectOptions): Promise<Locks>;
    /** Describe the lock `name` (no I/O; a bad name or ttl is reported by the first operation). */
    lock(name: string, options?: LockOptions): Lock;
    /** Make an armed handle from a token written by `intoToken` in any process or language. */
    resume(tokenString: string): Promise<Held>;
    /** Who holds `name`, if anyone. */
    state(name: string): Promise<LockState>;
    /** The active locks of this namespace whose names start with `prefix`. */
    list(prefix?: string): Promise<LockInfo[]>;
    /** Release `name` whoever holds it (an administrator's tool); whether it was held. */
    forceRelease(name: string): Promise<boolean>;
    /** A health check: resolves if the backend answers. */
    ping(): Promise<void>;
    /**
     * Close the provider: renewals stop and every later operation is
     * `CLOSED`. Locks still held free at their ttl. The process can exit
     * right after.
     */
    close(): Promise<void>;
    /** `await using locks = await Locks.connect(url)` closes it at the end of the scope. */
    [Symbol.asyncDispose](): Promise<void>;
    /** The URL, password replaced by `***`. */
    get url(): string;
    get namespace(): string;
    /** `memory`, `sqlite` or `redis`. */
    get backend(): string;
    get capabilities(): Capabilities;
}
/** A named lock: name, ttl, mode and options. Cheap, no I/O; reuse freely. */
export declare class Lock {
    #private;
    /** The lock's name. */
    readonly name: string;
    /** @internal Use `locks.lock(name, options)`. */
    constructor(key: symbol, nativeLocks: unknown, name: string, options?: LockOptions);
    /** Take the lock if it is free now; `null` if someone holds it. */
    tryAcquire(): Promise<Held | null>;
    /**
     * Wait up to `timeout` (default 10 s; `Infinity`: forever) for the lock;
     * a `LockTimeout` after it. Use with `await using` to release at the end
     * of the scope.
     */
    acquire(options?: AcquireOptions): Promise<Held>;
    /** Like `acquire`, but `null` on timeout. */
    acquireOrNull(options?: AcquireOptions): Promise<Held | null>;
    /**
     * Acquire (waiting up to `timeout`), run `fn` with the handle while the
     * lock is renewed, then release it, and return what `fn` returned. If the
     * lock was lost meanwhile (see `held.lost`), a `LockLost` once `fn`
     * returns, unless `fn` threw first.
     */
    run<T>(fn: (held: Held) => T | PromiseLike<T>, options?: AcquireOptions): Promise<Awaited<T>>;
    /**
     * `run` for older code: `fn` may return a value or a promise. With a
     * callback, it is called Node-style as `cb(err, result)`; without one, a
     * promise is returned. Waits the default 10 s.
     */
    withLock<T>(fn: (held: Held) => T | PromiseLike<T>): Promise<Awaited<T>>;
    withLock<T>(fn: (held: Held) => T | PromiseLike<T>, cb: (err: unknown, result?: Awaited<T>) => void): void;
}
/**
 * Proof of an acquired lock. Renewed in the background (unless
 * `autoRenew: false`) until released or handed off. `await using held =
 * await lock.acquire()` releases it at the end of the scope.
 */
export declare class Held {
    #private;
    /** @internal */
    constructor(key: symbol, nativeHeld: unknown, ending?: unknown);
    get name(): string;
    get namespace(): string;
    /** Strictly increasing with every exclusive acquisition of this lock: pass it to the resource you protect. */
    get fence(): bigint;
    get mode(): Mode;
    get holder(): string;
    /** The ttl renewals use, in milliseconds. */
    get ttl(): number;
    /** When the lease expires unless renewed, in unix milliseconds. */
    get expiresAt(): number;
    /** Whether the lock was found lost (by renewal or `refresh`). */
    get isLost(): boolean;
    /** Whether this handle still owns the lock (not released or handed off). */
    get isArmed(): boolean;
    /**
     * Fires (with a `LockLost` reason) if the lock is found lost while this
     * handle holds it: pass it to the work the lock protects.
     */
    get lost(): AbortSignal;
    /** Release the lock: whether this handle still held it (false if it expired, was taken over, released or handed off). */
    release(): Promise<boolean>;
    /** Extend the lease to `ttl` from now (default: the current ttl); a `LockLost` if it was lost meanwhile. */
    refresh(ttl?: Duration): Promise<void>;
    /**
     * Hand the lock off: returns its token and disarms this handle, so that
     * nothing in this process releases or renews it any more. Resume it with
     * `locks.resume(token)` in any process or language.
     */
    intoToken(): string;
    /**
     * For `JSON.stringify`: the public fields (never the token or owner id),
     * the fence as a decimal string.
     */
    toJSON(): HeldJSON;
    /** Releases the lock at the end of an `await using` scope. */
    [Symbol.asyncDispose](): Promise<void>;
}
/** A token's public fields, checking its format (an `InvalidToken` if malformed). */
export declare function decodeToken(tokenString: string): TokenInfo;
