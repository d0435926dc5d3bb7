import Config
import EventLoop
import Foundation
import Glibc

/// One instance's side of the fleet: a thread that follows `PREFIX/active` (read, then watched;
/// every new generation's document fetched and handed to `apply`), and a thread that keeps the
/// instance's lease and report at `PREFIX/instances/<instance>`.
///
/// etcd may go away at any time: both threads retry with a doubling pause (100 ms to 5 s, with
/// jitter), endpoint after endpoint; meanwhile the proxy serves what it applied last. A watch
/// resumes from the revision after the last one seen, so no switch is missed; when that revision
/// was compacted away, the pointer is read again and watched from the current revision.
public final class FleetAgent: Sendable {
    /// What the agent needs from the proxy. Each is called on the agent's threads.
    public struct Hooks: Sendable {
        /// Validates and applies a document (as one reload); a refusal when it does not fit.
        /// The second argument is the `active` revision that named it (for the cache).
        public var apply: @Sendable (FleetDocument, Int64) -> FleetRefusal?
        /// A document that could not even be read (missing, not JSON, wrong format).
        public var refuse: @Sendable (Int64, FleetRefusal) -> Void
        /// The instance's report, as of now.
        public var report: @Sendable () -> InstanceReport
        /// The store became reachable (endpoint) or not (the reason).
        public var connection: @Sendable (_ connected: Bool, _ endpoint: String?, _ error: String?) -> Void
        /// A line for the process log: level (`info`, `warning`, `error`) and text.
        public var log: @Sendable (String, String) -> Void

        public init(apply: @escaping @Sendable (FleetDocument, Int64) -> FleetRefusal?,
                    refuse: @escaping @Sendable (Int64, FleetRefusal) -> Void,
                    report: @escaping @Sendable () -> InstanceReport,
                    connection: @escaping @Sendable (Bool, String?, String?) -> Void,
                    log: @escaping @Sendable (String, String) -> Void) {
            self.apply = apply
            self.refuse = refuse
            self.report = report
            self.connection = connection
            self.log = log
        }
    }

    /// Seconds a report outlives its instance when it dies without stopping.
    public static let leaseTTL = 6
    /// Seconds between two reports (and lease renewals).
    public static let reportInterval = 2.0

    private struct State: Sendable {
        var stopped = false
        /// The last `active` revision handled (the watch resumes after it); nil: read it first.
        var revision: Int64?
        /// The generation last applied or refused (not tried again unless `retry` is set).
        var handled: Int64?
        var retry = false
        var publishNow = false
        var connected = false
        var lease: Int64?
    }

    public let cluster: ClusterConfig
    public let client: EtcdClient
    public let keys: FleetKeys
    private let hooks: Hooks
    private let state: Locked<State>
    private let wake = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - revision: the `active` revision the applied document came with (from the cache), so
    ///     the watch resumes right after it; nil reads the pointer first.
    ///   - applied: the generation already in force (from the cache): not applied again.
    public init(cluster: ClusterConfig, hooks: Hooks, revision: Int64?, applied: Int64?) {
        self.cluster = cluster
        self.client = EtcdClient(endpoints: cluster.endpoints)
        self.keys = FleetKeys(prefix: cluster.prefix)
        self.hooks = hooks
        self.state = Locked(State(revision: revision, handled: applied))
    }

    public func start() {
        Thread { [self] in follow() }.start()
        Thread { [self] in reportLoop() }.start()
    }

    /// Stops both threads and revokes the lease, so the instance leaves the fleet's list at once.
    public func stop() {
        let lease = state.withLock { s -> Int64? in
            s.stopped = true
            return s.lease
        }
        wake.signal()
        if let lease { try? client.revoke(lease: lease, timeout: 1) }
    }

    /// Reports soon (after an apply, a refusal, a change of health).
    public func reportSoon() {
        state.withLock { $0.publishNow = true }
        wake.signal()
    }

    /// Tries the active generation again even if it was refused (the local file changed).
    public func retryActive() {
        state.withLock { $0.retry = true }
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    /// The lease the instance's report is held by (nil until granted, or after it expired and
    /// before the next one): what the instance's other leased keys (rollout leader, counts) use.
    public var lease: Int64? { state.withLock { $0.lease } }

    // MARK: - Following the pointer

    private func follow() {
        var pause = 0.1
        while !stopped {
            do throws(FleetFollowError) {
                try followOnce()
                pause = 0.1
            } catch {
                setConnected(false, endpoint: nil, error: error.description)
                if stopped { return }
                let jitter = Double.random(in: 0.8...1.2)
                usleep(UInt32(pause * jitter * 1e6))
                pause = min(pause * 2, 5)
            }
        }
    }

    private struct FleetFollowError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the pointer when no revision is known, then watches it until the stream ends.
    /// Returns normally to start over (compaction, cancellation); throws when etcd failed.
    private func followOnce() throws(FleetFollowError) {
        if let known = state.withLock({ $0.revision }) {
            // A store behind the revision we saw is another store (rebuilt, restored): what it
            // holds now is read rather than waited for.
            let now: Int64
            do { now = try client.get(keys.active).revision } catch { throw FleetFollowError(description: error.description) }
            if now < known {
                hooks.log("warning", "fleet: etcd is at revision \(now), behind revision \(known) seen before (a new store?); reading \(keys.active) again")
                state.withLock { $0.revision = nil }
            }
        }
        if state.withLock({ $0.revision }) == nil {
            let current: (value: EtcdKeyValue?, revision: Int64)
            do { current = try client.get(keys.active) } catch { throw FleetFollowError(description: error.description) }
            setConnected(true, endpoint: client.currentEndpoint.description, error: nil)
            if let value = current.value { try handle(value) }
            state.withLock { $0.revision = current.revision }
        }
        let from = (state.withLock { $0.revision } ?? 0) + 1
        let stream: WatchStream
        do { stream = try client.watch(keys.active, fromRevision: from) } catch { throw FleetFollowError(description: error.description) }
        setConnected(true, endpoint: stream.endpoint.description, error: nil)
        var quiet = 0
        while !stopped {
            if state.withLock({ s in defer { s.retry = false }; return s.retry }) {
                state.withLock { $0.handled = nil; $0.revision = nil }
                return
            }
            let message: WatchStream.Message
            do {
                message = try stream.next(deadline: EtcdClient.deadline(1))
            } catch {
                if case .timedOut = error {
                    // A store that went silent (a partition) is found by the report thread; a
                    // long-quiet watch is renewed now and then anyway.
                    quiet += 1
                    if quiet >= 60 || !state.withLock({ $0.connected }) { return }
                    continue
                }
                throw FleetFollowError(description: error.description)
            }
            quiet = 0
            switch message {
            case .created, .other:
                continue
            case .events(let values, _):
                for value in values {
                    try handle(value)
                    state.withLock { $0.revision = max($0.revision ?? 0, value.modRevision) }
                }
            case .compacted(let compactRevision):
                hooks.log("warning", "fleet: revision \(from) of \(keys.active) is compacted (etcd compacted up to \(compactRevision)); reading it again")
                state.withLock { $0.revision = nil }
                return
            case .canceled(let reason):
                hooks.log("warning", "fleet: etcd ended the watch of \(keys.active) (\(reason)); reading it again")
                state.withLock { $0.revision = nil }
                return
            }
        }
    }

    /// A value of the pointer: fetches its document and applies it, unless it is handled already.
    private func handle(_ pointer: EtcdKeyValue) throws(FleetFollowError) {
        guard pointer.version > 0 else {
            hooks.log("warning", "fleet: \(keys.active) was deleted; keeping the generation in force")
            return
        }
        guard let generation = FleetKeys.generation(pointer) else {
            hooks.log("error", "fleet: \(keys.active) holds '\(pointer.text.prefix(40))', not a generation; ignored")
            return
        }
        if state.withLock({ $0.handled }) == generation { return }
        let stored: EtcdKeyValue?
        do { stored = try client.get(keys.desired(generation)).value } catch { throw FleetFollowError(description: error.description) }
        var refusal: FleetRefusal?
        if let stored {
            switch FleetDocument.decode(stored.value) {
            case .failure(let reason):
                refusal = reason
                hooks.refuse(generation, reason)
            case .success(let document) where document.generation != generation:
                refusal = FleetRefusal("\(keys.desired(generation)) says it is generation \(document.generation)")
                hooks.refuse(generation, refusal!)
            case .success(let document):
                refusal = hooks.apply(document, pointer.modRevision)
            }
        } else {
            refusal = FleetRefusal("\(keys.active) names generation \(generation), but \(keys.desired(generation)) does not exist")
            hooks.refuse(generation, refusal!)
        }
        state.withLock { $0.handled = generation }
        reportSoon()
    }

    private func setConnected(_ connected: Bool, endpoint: String?, error: String?) {
        let changed = state.withLock { s -> Bool in
            defer { s.connected = connected }
            return s.connected != connected
        }
        if changed {
            if connected {
                hooks.log("info", "fleet: connected to etcd at \(endpoint ?? "?") (\(keys.prefix), instance \(cluster.instance))")
            } else {
                hooks.log("warning", "fleet: etcd unreachable, serving the last applied state and retrying: \(error ?? "?")")
            }
        }
        hooks.connection(connected, endpoint, error)
    }

    // MARK: - Reporting

    private func reportLoop() {
        while !stopped {
            publish()
            _ = wake.wait(timeout: .now() + FleetAgent.reportInterval)
            state.withLock { $0.publishNow = false }
        }
    }

    /// Renews the lease (a new one when it has expired) and writes the report under it.
    private func publish() {
        let report = hooks.report()
        do throws(EtcdError) {
            var lease = state.withLock { $0.lease }
            if let held = lease, try client.keepAlive(lease: held) <= 0 { lease = nil }
            if lease == nil {
                lease = try client.grantLease(ttl: FleetAgent.leaseTTL)
                state.withLock { $0.lease = lease }
            }
            try client.put(keys.instance(cluster.instance), report.encoded(), lease: lease)
        } catch {
            if state.withLock({ $0.connected }) {
                // The watch has not noticed yet (a silent store): let it start over.
                setConnected(false, endpoint: nil, error: error.description)
            }
        }
    }
}
