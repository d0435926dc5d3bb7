import Config
import Balancer
import EventLoop

/// What the control plane sends the checker thread.
enum HealthCommand: Sendable {
    /// The complete set of targets, numbered by `HealthStateTable.configure`.
    case configure([HealthTarget], sequence: UInt64)
    /// States to start from for identities not probed yet (handed over by an upgrade).
    case seed([BackendIdentity: HealthState])
    case stop
}

/// The checker thread's event-loop handler: every target's timers sit in the loop's one timer
/// heap, every probe's socket in its one epoll set. Nothing blocks and nothing is allocated per
/// probe beyond the socket (and a TLS probe's channel): buffers come from the shared
/// `HealthProbeIO`'s pool, which is what lets one thread probe thousands of backends.
///
/// Timers are never cancelled (the heap cannot remove entries): each slot keeps its real
/// deadlines, and a timer that fires early for its slot (left over from a probe that already
/// ended, or from before a reconfiguration) finds nothing due and does nothing.
final class HealthLoop: EventLoopHandler {
    private let loop: EventLoop
    private let mailbox: Mailbox<HealthCommand>
    private let table: HealthStateTable
    private let onChange: @Sendable (BackendIdentity, HealthState) -> Void
    private var schedule: HealthSchedule
    private let io = HealthProbeIO()

    private var byIdentity: [BackendIdentity: HealthSlot] = [:]
    private var byToken: [UInt64: HealthSlot] = [:]
    private var byFD: [Int32: HealthSlot] = [:]
    private var nextToken: UInt64 = 1
    /// Handed-over states, used once when their identity's slot is created.
    private var seeds: [BackendIdentity: HealthState] = [:]

    init(loop: EventLoop, mailbox: Mailbox<HealthCommand>, table: HealthStateTable, seed: UInt64,
         onChange: @escaping @Sendable (BackendIdentity, HealthState) -> Void) {
        self.loop = loop
        self.mailbox = mailbox
        self.table = table
        self.onChange = onChange
        schedule = HealthSchedule(seed: seed)
    }

    func handle(fd: Int32, events: IOEvents) {
        guard let slot = byFD[fd], let outcome = slot.probe?.advance(events: events, request: slot.request, io: io)
        else { return }
        if outcome != .pending { finish(slot, outcome) }
    }

    func timerFired(token: UInt64) {
        guard let slot = byToken[token] else { return }
        let now = loop.now
        if slot.probe != nil {
            if now >= slot.probeDeadline { finish(slot, .failed) }
        } else if now >= slot.nextProbe {
            startProbe(slot, now: now)
        }
    }

    func mailboxReady() {
        for command in mailbox.drain() {
            switch command {
            case .configure(let targets, let sequence):
                configure(targets, sequence: sequence)
            case .seed(let states):
                seeds.merge(states) { _, new in new }
            case .stop:
                for slot in byIdentity.values { abortProbe(slot) }
                loop.stop()
            }
        }
    }

    func iterationEnded() {}

    /// Closes whatever is still open once the loop has stopped.
    func shutDown() {
        for slot in byIdentity.values { abortProbe(slot) }
        byIdentity = [:]
        byToken = [:]
    }

    // MARK: Configuration

    /// Applies the complete target set. Same identity and same settings: untouched (state, counter
    /// and schedule). Same identity, new settings: state kept, new thresholds, probe in flight
    /// dropped, a fresh jittered first probe. New identity: `checking`. Missing: forgotten.
    private func configure(_ targets: [HealthTarget], sequence: UInt64) {
        loop.refreshNow()
        let now = loop.now
        var kept: [BackendIdentity: HealthSlot] = [:]
        kept.reserveCapacity(targets.count)
        for target in targets where kept[target.identity] == nil {
            if let slot = byIdentity[target.identity] {
                if slot.target != target {
                    abortProbe(slot)
                    slot.reconfigure(target)
                    scheduleFirstProbe(slot, now: now)
                }
                kept[target.identity] = slot
            } else {
                let slot = HealthSlot(token: nextToken, target: target)
                if let seeded = seeds.removeValue(forKey: target.identity) {
                    slot.hysteresis = Hysteresis(rise: target.check.rise, fall: target.check.fall, state: seeded)
                }
                nextToken += 1
                byToken[slot.token] = slot
                scheduleFirstProbe(slot, now: now)
                kept[target.identity] = slot
            }
        }
        for (identity, slot) in byIdentity where kept[identity] == nil {
            abortProbe(slot)
            byToken[slot.token] = nil
        }
        byIdentity = kept
        table.publish(kept.mapValues(\.hysteresis.state), sequence: sequence)
    }

    private func scheduleFirstProbe(_ slot: HealthSlot, now: UInt64) {
        slot.nextProbe = schedule.firstProbe(now: now, interval: slot.interval)
        loop.schedule(deadline: slot.nextProbe, token: slot.token)
    }

    // MARK: Probes

    private func startProbe(_ slot: HealthSlot, now: UInt64) {
        slot.probeStarted = now
        slot.probeDeadline = HealthSchedule.deadline(started: now, timeout: slot.timeout, interval: slot.interval)
        switch HealthProbe.start(to: slot.probeAddress, request: slot.request, tls: slot.target.tls, selector: loop.selector,
                                 io: io) {
        case .running(let probe):
            byFD[probe.fd] = slot
            slot.probe = consume probe
            loop.schedule(deadline: slot.probeDeadline, token: slot.token)
        case .ended(let outcome):
            conclude(slot, outcome, now: now)
        }
    }

    /// Closes the probe in flight, records its outcome and schedules the next one.
    private func finish(_ slot: HealthSlot, _ outcome: HealthProbe.Outcome) {
        abortProbe(slot)
        conclude(slot, outcome, now: loop.now)
    }

    /// Closes the probe in flight, if any, without a verdict.
    private func abortProbe(_ slot: HealthSlot) {
        guard let probe = slot.probe.take() else { return }
        byFD[probe.fd] = nil
        probe.close(selector: loop.selector)
    }

    private func conclude(_ slot: HealthSlot, _ outcome: HealthProbe.Outcome, now: UInt64) {
        if outcome == .passed || outcome == .failed,
           let transition = slot.hysteresis.record(success: outcome == .passed) {
            table.update(slot.target.identity, to: transition.to)
            onChange(slot.target.identity, transition.to)
        }
        slot.nextProbe = schedule.nextProbe(started: slot.probeStarted, now: now, interval: slot.interval)
        loop.schedule(deadline: slot.nextProbe, token: slot.token)
    }
}
