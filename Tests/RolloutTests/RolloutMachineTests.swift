import Testing
@testable import Rollout

/// The rollout state machine with an injected clock and a scripted judge: steps, warm-up, holds,
/// gates, pause and resume, promote, abort, failure (rollback or pause), resume from the state file.
@Suite struct RolloutMachineTests {
    static let second: UInt64 = 1_000_000_000

    static func policy(steps: [Int] = [10, 50, 100], gates: [Int] = [], onFailure: RolloutPolicy.FailureAction = .rollback,
                       warmup: UInt64 = 0) -> RolloutPolicy {
        RolloutPolicy(steps: steps, stepDuration: 10 * second, minRequests: 100, interval: second, warmup: warmup,
                      errorRate: nil, latency: nil, confidence: 0.99, onFailure: onFailure, gates: gates)
    }

    /// A run with a clock and cumulative counters that grow by `perLook` canary requests a look.
    struct Run {
        var machine: RolloutMachine
        var now: UInt64 = 1_000 * RolloutMachineTests.second
        var canary: UInt64 = 0
        var baseline: UInt64 = 0
        var verdict: Verdict = .pass
        var judgedLooks: [Int] = []

        init(_ policy: RolloutPolicy) {
            machine = RolloutMachine(route: "app", canary: "green", baseline: "blue", policy: policy, now: now)
        }

        var readings: RolloutMachine.Readings {
            .init(canary: PoolSample(requests: canary, errors: 0), baseline: PoolSample(requests: baseline, errors: 0))
        }

        /// Advances the clock one interval, adds traffic, looks.
        mutating func look(canaryRequests: UInt64 = 50, ready: Bool = true) -> [RolloutEvent.Kind] {
            now += RolloutMachineTests.second
            canary += canaryRequests
            baseline += canaryRequests * 9
            let verdict = self.verdict
            var looks: [Int] = []
            let events = machine.tick(now: now, canaryReady: ready, readings: readings) { canary, _, look in
                looks.append(look)
                return Judgement(verdict: canary.requests < 100 && verdict == .pass ? .insufficient : verdict,
                                 checks: [], reason: "scripted \(verdict.rawValue)")
            }
            judgedLooks += looks
            return events.map(\.kind)
        }

        mutating func looks(_ n: Int, canaryRequests: UInt64 = 50) -> [RolloutEvent.Kind] {
            (0..<n).flatMap { _ in look(canaryRequests: canaryRequests) }
        }
    }

    @Test func healthyCanaryWalksTheStepsAndIsPromoted() {
        var run = Run(Self.policy())
        #expect(run.machine.state == .warmup)
        #expect(run.machine.canaryShare == 10)
        #expect(run.look() == [.step])  // warm-up over: the first step's clock starts
        #expect(run.machine.state == .progressing)
        // 1 look below min_requests (insufficient: clock stopped), then 10 s of passing looks.
        var events: [RolloutEvent.Kind] = []
        var looks = 0
        while events.isEmpty && looks < 50 {
            events = run.look()
            looks += 1
        }
        #expect(events == [.step])
        #expect(looks == 11, "1 insufficient look + 10 passing seconds")
        #expect(run.machine.canaryShare == 50)
        #expect(run.machine.stepClock == 0)
        #expect(run.looks(12) == [.promoted])
        #expect(run.machine.state == .promoted)
        #expect(run.machine.canaryShare == 100)
    }

    @Test func warmupWaitsForTheCanaryAndItsDuration() {
        var run = Run(Self.policy(warmup: 3 * Self.second))
        #expect(run.look(ready: false) == [])
        #expect(run.look(ready: false) == [])
        #expect(run.look(ready: false) == [])
        #expect(run.machine.state == .warmup, "not ready: no verdict however long")
        #expect(run.look(ready: true) == [.step])
        #expect(run.judgedLooks.isEmpty, "no verdict during the warm-up")
    }

    @Test func noTrafficHoldsWithoutFailingOrAdvancing() {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(10)  // 9 s judged at step 1: one passing look short
        #expect(run.machine.stepClock == 9 * Self.second)
        let clock = run.machine.stepClock
        let judged = run.judgedLooks.count
        for _ in 0..<100 { #expect(run.look(canaryRequests: 0) == []) }
        #expect(run.machine.state == .progressing)
        #expect(run.machine.stepIndex == 0)
        #expect(run.machine.stepClock == clock, "the step's clock stops while there is no traffic")
        #expect(run.judgedLooks.count == judged, "looks without new data are not judged (no spending)")
        #expect(run.machine.lastJudgement?.verdict == .insufficient)
        #expect(run.look() == [.step], "traffic back: the step completes")
    }

    @Test func failureRollsBackAtOnce() {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(3)
        run.verdict = .fail
        #expect(run.look() == [.rolledBack])
        #expect(run.machine.state == .failed)
        #expect(run.machine.canaryShare == 0)
        #expect(run.machine.reason.hasSuffix("at step 10 %"), "\(run.machine.reason)")
        #expect(run.look() == [], "failed stays failed")
        #expect(throws: RolloutMachine.Refusal.self) { try run.machine.resume(now: run.now, readings: run.readings) }
    }

    @Test func failureWithOnFailurePausePausesAndResumeStartsTheStepOver() throws {
        var run = Run(Self.policy(onFailure: .pause))
        _ = run.look()
        _ = run.looks(12)
        #expect(run.machine.stepIndex == 1)
        run.verdict = .fail
        #expect(run.look() == [.paused])
        #expect(run.machine.state == .paused && run.machine.pausedOnFailure)
        #expect(run.machine.canaryShare == 50, "a pause keeps the share")
        run.verdict = .pass
        #expect(run.looks(20) == [], "paused: no look moves it")
        #expect(try run.machine.resume(now: run.now, readings: run.readings).map(\.kind) == [.resumed])
        #expect(run.machine.state == .progressing)
        #expect(run.machine.stepSample.canary.requests == 0, "the step's counters start over")
        #expect(run.looks(12) == [.promoted])
    }

    @Test func operatorPauseHoldsTheClockAndResumeContinues() throws {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(5)
        let clock = run.machine.stepClock
        _ = try run.machine.pause(now: run.now)
        #expect(run.looks(30) == [])
        #expect(run.machine.stepClock == clock)
        _ = try run.machine.resume(now: run.now, readings: run.readings)
        #expect(!run.machine.pausedOnFailure)
        #expect(run.looks(7) == [.step], "the rest of the step after the pause")
    }

    @Test func gateWaitsForPromoteThenTheStepRuns() throws {
        var run = Run(Self.policy(gates: [50]))
        _ = run.look()
        #expect(run.looks(12) == [.waitingGate])
        #expect(run.machine.state == .waitingGate)
        #expect(run.machine.canaryShare == 10, "the share stays at the step before the gate")
        #expect(run.looks(50) == [], "a gate waits however long")
        #expect(try run.machine.promote(now: run.now, skipSteps: false, readings: run.readings).map(\.kind) == [.step])
        #expect(run.machine.canaryShare == 50)
        #expect(run.machine.state == .progressing)
        #expect(run.looks(12) == [.promoted])
    }

    @Test func gateOnTheFirstStepSendsNothingUntilPromoted() throws {
        var run = Run(Self.policy(gates: [10]))
        #expect(run.machine.state == .waitingGate)
        #expect(run.machine.canaryShare == 0)
        _ = try run.machine.promote(now: run.now, skipSteps: false, readings: run.readings)
        #expect(run.machine.state == .warmup)
        #expect(run.machine.canaryShare == 10)
    }

    @Test func gateOnOneHundredWaitsBeforePromotion() throws {
        var run = Run(Self.policy(gates: [100]))
        _ = run.look()
        _ = run.looks(12)
        #expect(run.looks(12) == [.waitingGate])
        #expect(run.machine.canaryShare == 50)
        #expect(try run.machine.promote(now: run.now, skipSteps: false, readings: run.readings).map(\.kind) == [.promoted])
    }

    @Test func promoteNowSkipsTheRemainingSteps() throws {
        var run = Run(Self.policy())
        _ = run.look()
        #expect(throws: RolloutMachine.Refusal.self) { try run.machine.promote(now: run.now, skipSteps: false, readings: run.readings) }
        #expect(try run.machine.promote(now: run.now, skipSteps: true, readings: run.readings).map(\.kind) == [.promoted])
        #expect(run.machine.canaryShare == 100)
    }

    @Test func abortGoesBackToTheBaseline() throws {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(12)
        #expect(try run.machine.abort(reason: "by hand").map(\.kind) == [.aborted])
        #expect(run.machine.canaryShare == 0)
        #expect(run.machine.state == .aborted)
        #expect(throws: RolloutMachine.Refusal.self) { try run.machine.abort(reason: "again") }
        #expect(throws: RolloutMachine.Refusal.self) { try run.machine.pause(now: run.now) }
    }

    @Test func failureDuringAGateIsImpossibleButAbortWorks() throws {
        var run = Run(Self.policy(gates: [50]))
        _ = run.look()
        _ = run.looks(12)
        run.verdict = .fail
        #expect(run.looks(5) == [], "nothing is judged while waiting at a gate")
        #expect(run.machine.state == .waitingGate)
        _ = try run.machine.abort(reason: "operator")
        #expect(run.machine.canaryShare == 0)
    }

    @Test func lastStepBelowOneHundredPromotesAfterIt() {
        var run = Run(Self.policy(steps: [20, 60]))
        _ = run.look()
        #expect(run.looks(12) == [.step])
        #expect(run.looks(12) == [.promoted])
    }

    @Test func lookIndexRunsOverTheWholeRollout() {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(12)
        _ = run.looks(3)
        #expect(run.judgedLooks == Array(1...15), "the judge's spending index never restarts at a step")
    }

    @Test func resumeFromTheStateFileWarmsUpAndKeepsTheStepAndItsClock() throws {
        var run = Run(Self.policy())
        _ = run.look()
        _ = run.looks(12)  // step 2 began on the 11th; the 12th is below min_requests
        _ = run.looks(5)   // 5 s judged at step 2
        let saved = run.machine.persisted
        #expect(saved.stepIndex == 1)
        let clock = saved.stepClock
        #expect(clock == 5 * Self.second)
        var resumed = Run(Self.policy())
        resumed.machine = RolloutMachine(resuming: saved, policy: Self.policy(), now: resumed.now)
        #expect(resumed.machine.state == .warmup)
        #expect(resumed.machine.canaryShare == 50)
        #expect(resumed.machine.looks == saved.looks)
        #expect(resumed.look() == [.step])
        #expect(resumed.machine.stepClock == clock, "judged time carried over")
        #expect(resumed.machine.stepIndex == 1)
    }

    @Test func resumeKeepsAPauseAndAGate() {
        var paused = Run(Self.policy())
        _ = paused.look()
        _ = try? paused.machine.pause(now: paused.now)
        let p = RolloutMachine(resuming: paused.machine.persisted, policy: Self.policy(), now: 0)
        #expect(p.state == .paused)
        var gated = Run(Self.policy(gates: [50]))
        _ = gated.look()
        _ = gated.looks(12)
        let g = RolloutMachine(resuming: gated.machine.persisted, policy: Self.policy(gates: [50]), now: 0)
        #expect(g.state == .waitingGate)
        #expect(g.canaryShare == 10)
    }
}
