import Balancer
import Config
import EventLoop

/// One target's life inside the checker: its settings, hysteresis, schedule and the probe in
/// flight. A class so the checker's three indexes (identity, timer token, descriptor) share one
/// record. Confined to the checker thread.
final class HealthSlot {
    /// Its timers' token: unique for the checker's lifetime, so a timer left in the heap by a
    /// removed target can never fire into another one.
    let token: UInt64
    private(set) var target: HealthTarget
    private(set) var probeAddress: SocketAddress
    private(set) var request: HealthRequest
    /// Nanoseconds.
    private(set) var interval: UInt64
    private(set) var timeout: UInt64
    var hysteresis: Hysteresis

    /// When the next probe starts (monotonic nanoseconds); meaningful while `probe` is nil.
    var nextProbe: UInt64 = 0
    var probe: HealthProbe?
    var probeStarted: UInt64 = 0
    /// When the probe in flight fails by timeout: covers connect, request and response head.
    var probeDeadline: UInt64 = 0

    init(token: UInt64, target: HealthTarget) {
        self.token = token
        self.target = target
        probeAddress = target.probeAddress
        request = HealthRequest(target.check, hostHeader: target.identity.address)
        interval = Self.nanoseconds(target.check.interval)
        timeout = Self.nanoseconds(target.check.timeout)
        hysteresis = Hysteresis(rise: target.check.rise, fall: target.check.fall)
    }

    /// New settings for the same backend: the state it has now is kept, the new `rise`/`fall`
    /// apply from here on. The caller aborts the probe in flight and schedules afresh.
    func reconfigure(_ next: HealthTarget) {
        target = next
        probeAddress = next.probeAddress
        request = HealthRequest(next.check, hostHeader: next.identity.address)
        interval = Self.nanoseconds(next.check.interval)
        timeout = Self.nanoseconds(next.check.timeout)
        hysteresis = Hysteresis(rise: next.check.rise, fall: next.check.fall, state: hysteresis.state)
    }

    /// Config durations are validated positive; a zero would make the checker spin, so the
    /// floor is one millisecond.
    private static func nanoseconds(_ duration: Config.Duration) -> UInt64 {
        UInt64(max(1_000_000, duration.nanoseconds))
    }
}
