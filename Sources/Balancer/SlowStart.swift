/// Slow start: a backend that turns healthy, or is added by a reload, takes a growing share of its
/// pool over `duration` instead of its full share at once, so a cold instance (empty caches, JIT,
/// connection pools) is not flooded. As HAProxy does it: the factor is stepped (5 % at a time by
/// default, from a 10 % floor as Envoy's `min_weight_percent`), the control plane re-publishes the
/// effective weight at each `nextStep`, and nothing is computed per request.
///
/// Pure: `since` (when the slow start began) and `now` are parameters, UInt64 nanoseconds on the
/// caller's monotonic clock. The start time is kept per backend identity across reloads, so a
/// reload never restarts a finished slow start.
public struct SlowStart: Sendable, Equatable {
    /// Effective weights are `weight × weightScale × factor`, in integers: a backend at full
    /// weight 1 has effective weight 1000, at the 10 % floor 100.
    public static let weightScale = 1000

    public let duration: UInt64
    /// The share at the first instant, in percent (0…100).
    public let minimumPercent: Int
    /// The size of one step, in percent (1…100).
    public let stepPercent: Int

    public init(duration: UInt64, minimumPercent: Int = 10, stepPercent: Int = 5) {
        self.duration = duration
        self.minimumPercent = min(100, max(0, minimumPercent))
        self.stepPercent = min(100, max(1, stepPercent))
    }

    /// The effective weight of a backend not in slow start (or without one configured).
    public static func fullWeight(_ weight: Int) -> Int {
        max(0, weight) * weightScale
    }

    /// The share of its weight a backend gets at `now`, in percent: `minimumPercent` at `since`,
    /// then up by `stepPercent` each time the linear ramp from the floor to 100 % passes another
    /// step, and 100 from `since + duration` on (the last step may be shorter). Monotonic in `now`.
    public func percent(since start: UInt64, now: UInt64) -> Int {
        let span = 100 - minimumPercent
        guard span > 0, duration > 0 else { return 100 }
        let elapsed = now > start ? now &- start : 0
        guard elapsed < duration else { return 100 }
        let gained = Int(multiplyDivide(elapsed, UInt64(span), duration))
        return minimumPercent + gained / stepPercent * stepPercent
    }

    /// `percent(since:now:)` in per-mille, the factor effective weights are built from.
    public func factorPerMille(since start: UInt64, now: UInt64) -> Int {
        percent(since: start, now: now) * 10
    }

    /// `weight × weightScale × factor`: what the worker's `effectiveWeights` holds for a usable
    /// backend whose slow start began at `startedAt`.
    public func effectiveWeight(weight: Int, startedAt: UInt64, now: UInt64) -> Int {
        max(0, weight) * factorPerMille(since: startedAt, now: now)
    }

    public func isFinished(since start: UInt64, now: UInt64) -> Bool {
        percent(since: start, now: now) >= 100
    }

    /// When the factor next changes after `now` (the control plane's next timer for this
    /// backend), or nil once it has reached 100 %.
    public func nextStep(since start: UInt64, after now: UInt64) -> UInt64? {
        let span = 100 - minimumPercent
        guard span > 0, duration > 0 else { return nil }
        let elapsed = now > start ? now &- start : 0
        guard elapsed < duration else { return nil }
        let stepsTaken = Int(multiplyDivide(elapsed, UInt64(span), duration)) / stepPercent
        let nextGain = (stepsTaken + 1) * stepPercent
        guard nextGain < span else { return start &+ duration }
        return start &+ multiplyDivideRoundingUp(duration, UInt64(nextGain), UInt64(span))
    }
}
