/// A route's split moving linearly from its old weights to its new ones after a reload (`ramp`):
/// a pool-level slow start, for when every backend of the new colour is new and per-backend slow
/// start cannot help.
///
/// Pure: time is a parameter. The control plane holds one per ramping route, publishes
/// `weights(at:)` in a new snapshot at each `nextStep(after:)`, and drops the ramp once
/// `isFinished(at:)`; workers only ever see plain weights. Publishing on a timer in about 1 %
/// steps, not per request, keeps interpolation off the hot path.
///
/// The two sides are compared as shares, not raw numbers: each side is scaled to `scale` parts of
/// its own total, so 100/0 → 0/100 and 1/0 → 0/3 both pass 50/50 at half time. Between the ends
/// the weights are in those parts; at the ends they are the operator's own numbers, so a finished
/// ramp is exactly the split that was written (`SplitPicker.setWeights` absorbs the change of scale).
public struct SplitRamp: Sendable, Equatable {
    /// Parts per million: fine enough that any positive share stays positive (1/999,999 included).
    public static let scale = 1_000_000

    /// The old weights, padded with zeros to the longer side (a pool added by the reload).
    public let from: [Int]
    /// The new weights, padded with zeros to the longer side (a pool removed by the reload).
    public let to: [Int]
    public let start: UInt64
    public let duration: UInt64
    /// How many equal steps the ramp takes (100: 1 % at a time).
    public let steps: Int
    private let scaledFrom: [Int]
    private let scaledTo: [Int]

    /// A ramp of `duration` nanoseconds from `start`. With `duration` 0, or nothing to ramp from
    /// (every old weight 0), it is finished at once: the new weights apply immediately.
    public init(from: [Int], to: [Int], start: UInt64, duration: UInt64, steps: Int = 100) {
        let count = max(from.count, to.count)
        let from = Self.padded(from, to: count)
        let to = Self.padded(to, to: count)
        self.from = from
        self.to = to
        self.start = start
        self.steps = max(1, steps)
        self.scaledFrom = Self.scaled(from)
        self.scaledTo = Self.scaled(to)
        self.duration = scaledFrom.allSatisfy({ $0 == 0 }) ? 0 : duration
    }

    /// Which step the ramp is on at `now`: 0 up to `start`, `steps` from `start + duration` on.
    /// Step `k` begins at `start + ⌈duration × k / steps⌉`.
    public func step(at now: UInt64) -> Int {
        guard duration > 0 else { return steps }
        guard now > start else { return 0 }
        let elapsed = now &- start
        guard elapsed < duration else { return steps }
        return Int(multiplyDivide(elapsed, UInt64(steps), duration))
    }

    /// The split to publish at `now`: `from` before and at `start`, `to` from the end on, and in
    /// between the linear interpolation of the two sides' shares, constant within a step. Each
    /// pool with a positive weight on either side keeps a positive weight throughout.
    ///
    /// Allocates the result: for the control plane, not the hot path.
    public func weights(at now: UInt64) -> [Int] {
        let k = step(at: now)
        if k == 0 { return from }
        if k >= steps { return to }
        var result = [Int](repeating: 0, count: from.count)
        for i in 0..<result.count {
            let a = scaledFrom[i]
            let b = scaledTo[i]
            result[i] = a + (b - a) * k / steps
        }
        return result
    }

    public func isFinished(at now: UInt64) -> Bool {
        step(at: now) >= steps
    }

    /// When the weights next change after `now` (the control plane's next timer), or nil when the
    /// ramp is finished at `now`.
    public func nextStep(after now: UInt64) -> UInt64? {
        let k = step(at: now)
        guard k < steps else { return nil }
        let offset = multiplyDivideRoundingUp(duration, UInt64(k + 1), UInt64(steps))
        return start &+ offset
    }

    private static func padded(_ weights: [Int], to count: Int) -> [Int] {
        weights.map { max(0, $0) } + [Int](repeating: 0, count: count - weights.count)
    }

    /// Each weight as parts of `scale` of the side's total; a positive weight never rounds to 0.
    private static func scaled(_ weights: [Int]) -> [Int] {
        var total: UInt64 = 0
        for w in weights { total &+= UInt64(w) }
        guard total > 0 else { return weights.map { _ in 0 } }
        return weights.map { w in
            guard w > 0 else { return 0 }
            return max(1, Int(multiplyDivide(UInt64(w), UInt64(scale), total)))
        }
    }
}
