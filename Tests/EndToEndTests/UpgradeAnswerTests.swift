import Foundation
import Testing

/// Binary upgrade: `POST /upgrade` is answered (200 `{"ok":true,"pid":N}`) every time, also when
/// the old process has nothing to drain and exits at once: the answer is written by the old
/// process, after the hand-over, and must not be lost to its exit (`cutover upgrade` would
/// then exit 2, "did not answer HTTP", for an upgrade that happened).
@Suite struct UpgradeAnswerTests {
    static let rounds = 200

    @Test func everyUpgradeIsAnsweredEvenWhenTheOldProcessHasNothingToDrain() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let u = try await UpgradeBed.start(for: [a], shutdown: "3s", in: bed)
        defer { u.tearDown() }

        var pid = try await u.servingPid()
        var lost: [String] = []
        let started = monotonicNanoseconds()
        for round in 1...Self.rounds {
            let old = pid
            var answer: HTTPResponse?
            var failure: (any Error)?
            do { answer = try await u.admin("POST", "/upgrade") } catch { failure = error }
            pid = try await u.servingPid()
            let json = answer.flatMap { try? UpgradeBed.json($0) }
            if answer?.status != 200 || json?["pid"] as? Int != Int(pid) {
                let seen = answer.map { "\($0.status) \($0.bodyText.prefix(120))" } ?? "\(failure.map { "\($0)" } ?? "?")"
                lost.append("round \(round): \(seen) (pid \(old) -> \(pid))")
            }
            #expect(pid != old, "round \(round): no new process")
            try await u.waitUntilGone(old, timeout: .seconds(5))
        }
        let elapsed = milliseconds(started, monotonicNanoseconds())
        print("upgrade answers: \(Self.rounds) idle upgrades through POST /upgrade in \(elapsed) ms, \(lost.count) answers lost: \(lost.prefix(5))")
        #expect(lost.isEmpty, "\(lost.count) of \(Self.rounds) upgrades happened without an answer: \(lost)")
        #expect(try await u.get().status == 200)
    }
}
