// Ports of the conformance scenarios of tests/vectors/scenarios.json to
// XCTest, on the memory backend (and a SQLite file where a second process
// image matters). Not compiled nor run on the project's machines (no Swift
// toolchain there): scripts/suites/swift checks their syntax only.

import XCTest
@testable import Ferrolock

final class ScenarioTests: XCTestCase {
    private func fresh(_ scenario: String) async throws -> Locks {
        try await Locks.connect("memory://\(scenario)-\(UUID().uuidString)")
    }

    private func expectCode<T>(_ code: String, _ call: () async throws -> T,
                               file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await call()
            XCTFail("expected \(code)", file: file, line: line)
        } catch let e as LockError {
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
        } catch {
            XCTFail("expected LockError \(code), got \(error)", file: file, line: line)
        }
    }

    func test_mutual_exclusion_of_8_tasks() async throws {
        let locks = try await fresh("mutex")
        actor Counter { var value = 0; func get() -> Int { value }; func set(_ v: Int) { value = v } }
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let lock = locks.lock("counter")
                    for _ in 0..<25 {
                        let held = try await lock.acquire(timeout: .seconds(15))
                        let v = await counter.get() // a non-atomic increment: read, yield, write
                        await Task.yield()
                        await counter.set(v + 1)
                        let released = try await held.release()
                        XCTAssertTrue(released)
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = await counter.get()
        XCTAssertEqual(total, 200)
    }

    func test_try_acquire_on_held_lock_is_none() async throws {
        let locks = try await fresh("try")
        let held = try await locks.lock("a").tryAcquire()
        XCTAssertNotNil(held)
        let second = try await locks.lock("a").tryAcquire()
        XCTAssertNil(second)
        let waited = try await locks.lock("a").acquireOrNil(timeout: .milliseconds(50))
        XCTAssertNil(waited)
        let released = try await held!.release()
        XCTAssertTrue(released)
    }

    func test_acquire_times_out_not_early() async throws {
        let locks = try await fresh("timeout")
        let held = try await locks.lock("t").acquire(timeout: .seconds(1))
        let clock = ContinuousClock()
        let start = clock.now
        await expectCode("TIMEOUT") { try await locks.lock("t").acquire(timeout: .milliseconds(300)) }
        XCTAssertGreaterThanOrEqual(clock.now - start, .milliseconds(299))
        try await held.release()
    }

    func test_fences_start_at_1_and_increase() async throws {
        let locks = try await fresh("fences")
        var last: UInt64 = 0
        for i in 0..<5 {
            let held = try await locks.lock("f").tryAcquire()!
            if i == 0 { XCTAssertEqual(held.fence, 1) }
            XCTAssertGreaterThan(held.fence, last)
            last = held.fence
            try await held.release()
        }
        let other = try await locks.lock("g").tryAcquire()!
        XCTAssertEqual(other.fence, 1)
    }

    func test_release_is_idempotent() async throws {
        let locks = try await fresh("idem")
        let held = try await locks.lock("i").tryAcquire()!
        let first = try await held.release()
        let second = try await held.release()
        XCTAssertTrue(first)
        XCTAssertFalse(second)
    }

    func test_token_resumes_in_another_provider() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = "sqlite://\(dir.appendingPathComponent("locks.db").path)"
        let a = try await Locks.connect(url)
        let held = try await a.lock("job", holder: "worker-a").tryAcquire()!
        let fence = held.fence
        let token = try held.intoToken()
        XCTAssertTrue(token.hasPrefix("flk1."))
        XCTAssertEqual(try decodeToken(token).fence, fence)
        let b = try await Locks.connect(url)
        let resumed = try await b.resume(token)
        XCTAssertEqual(resumed.fence, fence)
        XCTAssertEqual(resumed.holder, "worker-a")
        let released = try await resumed.release()
        XCTAssertTrue(released)
        let state = try await a.state("job")
        XCTAssertNil(state)
        await expectCode("LOST") { try await b.resume(token) }
        await a.close()
        await b.close()
    }

    func test_run_returns_the_body_value_and_releases() async throws {
        let locks = try await fresh("run")
        let v = try await locks.withLock("run", ttl: .seconds(30)) { held in held.fence * 10 }
        XCTAssertEqual(v, 10)
        let state = try await locks.state("run")
        XCTAssertNil(state)
        struct Bad: Error {}
        do {
            _ = try await locks.withLock("run") { _ in throw Bad() }
            XCTFail("the body's error did not come back")
        } catch is Bad {}
        let after = try await locks.state("run")
        XCTAssertNil(after)
    }

    func test_loss_is_noticed_and_run_ends_with_lost() async throws {
        let locks = try await fresh("loss")
        await expectCode("LOST") {
            try await locks.withLock("lost", ttl: .milliseconds(300)) { held in
                _ = try await locks.forceRelease("lost")
                let lost = try await held.awaitLost(timeout: .seconds(10))
                XCTAssertTrue(lost)
                return 7
            }
        }
    }

    func test_events_report_what_happened() async throws {
        let locks = try await fresh("events")
        let events = locks.events()
        let held = try await locks.lock("ev", holder: "me").tryAcquire()!
        let none = try await locks.lock("ev").acquireOrNil(timeout: .milliseconds(50))
        XCTAssertNil(none)
        try await held.release()
        let again = try await locks.lock("ev").tryAcquire()!
        _ = try await locks.forceRelease("ev")
        var kinds: [String] = []
        for await e in events {
            XCTAssertEqual(e.name, "ev")
            kinds.append(e.kind)
            if kinds.count == 6 { break }
        }
        XCTAssertEqual(kinds, ["acquired", "queued", "timed_out", "released", "acquired", "force_released"])
        XCTAssertGreaterThan(again.fence, held.fence)
    }

    func test_cancelled_wait_leaves_nothing_held() async throws {
        let locks = try await fresh("cancel")
        let held = try await locks.lock("c").tryAcquire()!
        let events = locks.events()
        let waiter = Task { try await locks.lock("c", holder: "waiter").acquire(timeout: .seconds(3600)) }
        // Cancelled once it waits (its queued event), not after a time.
        for await e in events where e.kind == "queued" && e.holder == "waiter" { break }
        waiter.cancel()
        _ = try? await waiter.value
        try await held.release()
        let next = try await locks.lock("c").tryAcquire()
        XCTAssertNotNil(next)
    }

    func test_closed_provider_refuses_operations() async throws {
        let locks = try await fresh("closed")
        let held = try await locks.lock("x").tryAcquire()!
        await locks.close()
        await expectCode("CLOSED") { try await locks.lock("x").tryAcquire() }
        await expectCode("CLOSED") { try await locks.state("x") }
        await expectCode("CLOSED") { try await held.refresh(ttl: .seconds(1)) }
        await expectCode("CLOSED") { try await locks.ping() }
    }

    func test_bad_input_gives_typed_errors() async throws {
        let locks = try await fresh("bad")
        await expectCode("INVALID_ARGUMENT") { try await locks.lock("").tryAcquire() }
        await expectCode("INVALID_ARGUMENT") { try await locks.lock(String(repeating: "x", count: 513)).tryAcquire() }
        await expectCode("INVALID_ARGUMENT") { try await locks.lock("t", ttl: .zero).tryAcquire() }
        await expectCode("INVALID_ARGUMENT") { try await locks.lock("t").acquire(timeout: .milliseconds(-1)) }
        await expectCode("INVALID_ARGUMENT") { try await Locks.connect("nope://x") }
        await expectCode("UNSUPPORTED") { try await Locks.connect("couchbase://alice:hunter2@db/app") }
        await expectCode("INVALID_TOKEN") { try await locks.resume("flk1.!!!!") }
        let listed = try await locks.list(prefix: "t")
        XCTAssertEqual(listed, [])
    }
}
