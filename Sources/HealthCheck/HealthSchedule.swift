import Balancer

/// When probes run. Pure: times are parameters (monotonic nanoseconds), randomness comes from a
/// seeded generator, so tests can replay a schedule exactly.
///
/// Why jitter at all: a fleet of proxies (or one proxy reloaded with a thousand backends) would
/// otherwise probe every backend at the same instant, every interval, forever. The first probe of
/// a target is spread uniformly over one interval; every later gap is the interval ± up to
/// `intervalJitterPercent`, so targets that happened to start together drift apart (as Envoy's
/// `interval_jitter_percent` does).
struct HealthSchedule: Sendable {
    /// The largest deviation of one gap from the interval, in percent of it.
    static let intervalJitterPercent: UInt64 = 10

    private var random: WyRand

    init(seed: UInt64) {
        random = WyRand(seed: seed)
    }

    /// The first probe of a new (or re-configured) target: `now` + a uniform delay in [0, interval)
    /// (rounded up to the grid of `coalesced`).
    mutating func firstProbe(now: UInt64, interval: UInt64) -> UInt64 {
        Self.coalesced(now &+ random.next(below: interval), interval: interval)
    }

    /// The probe after one that started at `started`: interval ± jitter after that start, so the
    /// cadence does not stretch by each probe's own duration. Never earlier than `now` (a probe
    /// that took longer than the interval, timeout > interval, is followed at once, not skipped).
    mutating func nextProbe(started: UInt64, now: UInt64, interval: UInt64) -> UInt64 {
        let spread = interval / 100 * Self.intervalJitterPercent
        let gap = spread == 0 ? interval : interval - spread + random.next(below: 2 * spread + 1)
        return max(Self.coalesced(started &+ gap, interval: interval), now)
    }

    /// When a probe that started at `started` times out.
    static func deadline(started: UInt64, timeout: UInt64, interval: UInt64) -> UInt64 {
        coalesced(started &+ timeout, interval: interval)
    }

    /// Rounds a deadline up to a grid of 4 ms (finer for intervals under 200 ms: 1/50 of the
    /// interval). Why: every deadline is a wake-up of the checker thread (epoll_wait, the timerfd
    /// read and re-arm); a thousand targets at 1 s, each with a probe start and a timeout deadline
    /// (most of which find the probe long finished), would wake it 2000 times a second. On the grid
    /// deadlines fall together and fire in one wake-up, at the cost of at most one grid step of
    /// delay, and the jitter still spreads probes over hundreds of slots per interval.
    static func coalesced(_ deadline: UInt64, interval: UInt64) -> UInt64 {
        let grid = max(1, min(4_000_000, interval / 50))
        let (rounded, overflow) = (deadline / grid &+ (deadline % grid == 0 ? 0 : 1)).multipliedReportingOverflow(by: grid)
        return overflow ? deadline : rounded
    }
}
