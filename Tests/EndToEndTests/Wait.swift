import Foundation

/// A condition that did not become true in time.
struct WaitTimeout: Error, CustomStringConvertible {
    let what: String
    let timeout: Duration
    var description: String { "timed out after \(timeout) waiting until \(what)" }
}

/// Polls `condition` until it returns true; throws `WaitTimeout` if it has not within `timeout`.
/// The poll interval is short: callers wait for a condition, never for a guessed amount of time.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return }
        guard clock.now < deadline else { throw WaitTimeout(what: what, timeout: timeout) }
        try await Task.sleep(for: interval)
    }
}

/// Measures how long `body` takes.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try await body()
    return (value, clock.now - start)
}

/// Runs blocking work (a socket read that may wait seconds) on a thread of its own, so the
/// cooperative pool (two threads on a two-core machine) stays free for the other tests.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
