// The Swift layer over the generated bindings (FerrolockFFI): async calls,
// `withLock`, an AsyncStream of events, and `LockError` with its code.
// Conversion only; every lock rule lives in the Rust core.

import Foundation
import FerrolockFFI

/// Every ferrolock error: `code` is the stable code of the error table
/// (`INVALID_ARGUMENT`, `TIMEOUT`, `BACKEND_UNAVAILABLE`…), the same in every
/// language. Messages name what is wrong and never show a password.
public struct LockError: Error, CustomStringConvertible, Equatable {
    public let code: String
    public let message: String
    /// The backend's own error, for `BACKEND_UNAVAILABLE`.
    public let cause: String?

    public var description: String { "[\(code)] \(message)" }

    init(_ e: FfiError) {
        switch e {
        case let .InvalidArgument(code, detail, cause), let .InvalidToken(code, detail, cause),
             let .Timeout(code, detail, cause), let .Lost(code, detail, cause),
             let .NotHeld(code, detail, cause), let .Unsupported(code, detail, cause),
             let .Unavailable(code, detail, cause), let .Closed(code, detail, cause),
             let .Internal(code, detail, cause):
            self.code = code
            self.message = detail
            self.cause = cause
        }
    }
}

/// Run a native call, its error made a `LockError`.
@inline(__always)
func mapped<T>(_ call: () async throws -> T) async throws -> T {
    do {
        return try await call()
    } catch let e as FfiError {
        throw LockError(e)
    }
}

func millis(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
    if overflow { return seconds < 0 ? Int64.min : Int64.max }
    return ms + attoseconds / 1_000_000_000_000_000
}

/// Exclusive (one holder) or shared (many readers, no writer meanwhile).
public enum LockMode: String, Sendable {
    case exclusive, shared

    init(_ m: FerrolockFFI.LockMode) {
        switch m {
        case .exclusive: self = .exclusive
        case .shared: self = .shared
        }
    }
}

/// One held lock, as `state` and `list` report it. Never an owner id.
public struct LockInfo: Sendable, Equatable {
    public let name: String
    public let fence: UInt64
    public let mode: LockMode
    public let holder: String
    public let expiresIn: Duration
    public let readers: UInt32

    init(_ i: FerrolockFFI.LockInfo) {
        name = i.name
        fence = i.fence
        mode = LockMode(i.mode)
        holder = i.holder
        expiresIn = .milliseconds(Int64(clamping: i.expiresInMs))
        readers = i.readers
    }
}

/// One event of a provider; `kind` is the name every language uses (`timed_out`…).
public struct LockEvent: Sendable, Equatable {
    public let kind: String
    public let namespace: String
    public let name: String
    public let fence: UInt64
    public let mode: LockMode
    public let holder: String

    init(_ e: FerrolockFFI.LockEvent) {
        switch e.kind {
        case .acquired: kind = "acquired"
        case .released: kind = "released"
        case .queued: kind = "queued"
        case .timedOut: kind = "timed_out"
        case .renewed: kind = "renewed"
        case .lost: kind = "lost"
        case .forceReleased: kind = "force_released"
        }
        namespace = e.namespace
        name = e.name
        fence = e.fence
        mode = LockMode(e.mode)
        holder = e.holder
    }
}

/// A token's public fields (never its owner id).
public func decodeToken(_ token: String) throws -> TokenInfo {
    do {
        return try FerrolockFFI.decodeToken(token: token)
    } catch let e as FfiError {
        throw LockError(e)
    }
}

public typealias TokenInfo = FerrolockFFI.TokenInfo

/// A connection to one backend, chosen by URL (`memory://NAME`,
/// `sqlite:///path/locks.db`, `redis://host:6379`, `postgres://…`).
public final class Locks: @unchecked Sendable {
    let native: FerrolockFFI.Locks

    init(_ native: FerrolockFFI.Locks) { self.native = native }

    /// Connect to the backend `url` names ("": the default URL).
    public static func connect(_ url: String = "") async throws -> Locks {
        Locks(try await mapped { try await FerrolockFFI.connect(url: url) })
    }

    public var backend: String { native.backend() }
    public var namespace: String { native.namespace() }
    /// The URL, its password replaced by `***`.
    public var url: String { native.url() }
    public var capabilities: Capabilities { native.capabilities() }

    /// The lock `name` with these options (no I/O: a bad name or ttl is
    /// reported by its first operation).
    public func lock(_ name: String, ttl: Duration = .seconds(30), shared: Bool = false,
                     holder: String? = nil, autoRenew: Bool = true) -> Lock {
        Lock(native.lock(name: name, ttlMs: millis(ttl), shared: shared, holder: holder, autoRenew: autoRenew))
    }

    /// Acquire `name` (waiting up to `timeout`), run `body` while the lock is
    /// renewed, release it; `LockError` LOST after the body if it was lost.
    public func withLock<T>(_ name: String, ttl: Duration = .seconds(30), shared: Bool = false,
                            timeout: Duration = .seconds(10),
                            _ body: (Held) async throws -> T) async throws -> T {
        try await lock(name, ttl: ttl, shared: shared).withLock(timeout: timeout, body)
    }

    /// An armed handle from a token written by `intoToken` in any process or language.
    public func resume(_ token: String) async throws -> Held {
        Held(try await mapped { try await native.resume(token: token) })
    }

    /// Who holds `name`, or nil when it is free.
    public func state(_ name: String) async throws -> LockInfo? {
        try await mapped { try await native.state(name: name) }.map(LockInfo.init)
    }

    public func list(prefix: String = "") async throws -> [LockInfo] {
        try await mapped { try await native.list(prefix: prefix) }.map(LockInfo.init)
    }

    public func forceRelease(_ name: String) async throws -> Bool {
        try await mapped { try await native.forceRelease(name: name) }
    }

    public func ping() async throws {
        try await mapped { try await native.ping() }
    }

    /// The provider's events from now on (subscribed when called); the
    /// stream ends when the provider is closed or the consumer stops.
    public func events() -> AsyncStream<LockEvent> {
        let subscription = native.events()
        return AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled, let e = try? await subscription.next() {
                    continuation.yield(LockEvent(e))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Close: pending waits end with CLOSED, renewals stop, later calls are CLOSED.
    public func close() async {
        await native.shutdown()
    }
}

/// A named lock with its options. No I/O until used.
public final class Lock: @unchecked Sendable {
    let native: FerrolockFFI.Lock

    init(_ native: FerrolockFFI.Lock) { self.native = native }

    public var name: String { native.name() }

    /// The lock if it is free now; nil if someone holds it. Never waits.
    public func tryAcquire() async throws -> Held? {
        try await mapped { try await native.tryAcquire() }.map(Held.init)
    }

    /// Wait up to `timeout` for the lock; `LockError` TIMEOUT after it.
    /// Cancelling the task ends the wait and leaves the queue.
    public func acquire(timeout: Duration = .seconds(10)) async throws -> Held {
        Held(try await mapped { try await native.acquire(timeoutMs: millis(timeout)) })
    }

    /// Like `acquire`, but nil instead of a TIMEOUT.
    public func acquireOrNil(timeout: Duration = .seconds(10)) async throws -> Held? {
        try await mapped { try await native.acquireOrNone(timeoutMs: millis(timeout)) }.map(Held.init)
    }

    /// Acquire, run `body` while renewed, release (also when it throws).
    public func withLock<T>(timeout: Duration = .seconds(10), _ body: (Held) async throws -> T) async throws -> T {
        let held = try await acquire(timeout: timeout)
        let value: T
        do {
            value = try await body(held)
        } catch {
            try? await held.finish(bodyFailed: true)
            throw error
        }
        try await held.finish(bodyFailed: false)
        return value
    }
}

/// Proof of an acquired lock, renewed in the background; released by
/// `release()`, or when the last reference goes away.
public final class Held: @unchecked Sendable {
    let native: FerrolockFFI.Held

    init(_ native: FerrolockFFI.Held) { self.native = native }

    public var name: String { native.name() }
    /// The fencing token: higher than every earlier acquisition's.
    public var fence: UInt64 { native.fence() }
    public var mode: LockMode { LockMode(native.mode()) }
    public var holder: String { native.holder() }
    public var isLost: Bool { native.isLost() }
    public var isArmed: Bool { native.isArmed() }

    /// Whether this handle still held the lock (false the second time).
    @discardableResult
    public func release() async throws -> Bool {
        try await mapped { try await native.release() }
    }

    public func refresh(ttl: Duration) async throws {
        try await mapped { try await native.refresh(ttlMs: millis(ttl)) }
    }

    /// Hand the lock off as a token; this handle is disarmed.
    public func intoToken() throws -> String {
        do {
            return try native.takeToken()
        } catch let e as FfiError {
            throw LockError(e)
        }
    }

    /// Wait until the lock is found lost, up to `timeout`; whether it was.
    public func awaitLost(timeout: Duration) async throws -> Bool {
        try await mapped { try await native.waitLost(timeoutMs: millis(timeout)) }
    }

    func finish(bodyFailed: Bool) async throws {
        try await mapped { try await native.finish(bodyFailed: bodyFailed) }
    }
}
