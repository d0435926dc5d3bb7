import Admin
import Config
import DataPlane
import Dispatch
import EventLoop
import Fleet
import Foundation
import Glibc
import HealthCheck
import Logging
import Metrics

/// The fleet: this proxy as one of several switched together through etcd (`cluster:`).
///
/// The document in force is laid over the local file's config at every reload (`fleetConfig`),
/// so a SIGHUP never undoes a fleet switch; a new document is applied as one reload from the
/// local config last loaded. Nothing here is on the data path, and `/ready` never asks etcd.
extension Proxy {
    /// At start-up, before the first snapshot: the fleet's state, and the cached document laid
    /// over `config` when it still fits. Returns the config to start with (nil: unchanged).
    func prepareFleet() -> CutoverConfig? {
        guard let cluster = config.cluster else { return nil }
        let runtime = FleetRuntime(cluster: cluster, base: config)
        fleet = runtime
        publishFleet { _ in }
        guard let cached = runtime.cache.load(prefix: cluster.prefix) else { return nil }
        let problems = FleetOverlay.problems(cached.document, against: config)
        guard problems.isEmpty else {
            log.warning("fleet: cached generation \(cached.document.generation) no longer fits \(configFile) (\(problems.joined(separator: "; "))); starting from the file alone")
            return nil
        }
        runtime.applied = cached.document
        runtime.revision = cached.revision
        log.info("fleet: starting from cached generation \(cached.document.generation) (\(runtime.cache.path))")
        publishFleet { _ in }
        return FleetOverlay.apply(cached.document, to: config)
    }

    /// Starts following etcd (after the admin API, so a report can name it).
    func startFleetAgent() {
        guard let runtime = fleet else { return }
        let hooks = FleetAgent.Hooks(
            apply: { [unowned self] document, revision in
                self.queue.sync {
                    let refusal = self.applyFleet(document)
                    if refusal == nil { self.cacheFleet(revision: revision) }
                    return refusal
                }
            },
            refuse: { [unowned self] generation, refusal in self.queue.sync { self.noteFleetRefusal(generation, refusal.description) } },
            report: { [unowned self] in self.fleetReport() },
            connection: { [unowned self] connected, endpoint, error in
                self.adminState.update { state in
                    state.fleet?.connected = connected
                    state.fleet?.endpoint = connected ? endpoint : nil
                    if !connected, let error { state.fleet?.lastError = error }
                }
            },
            log: { level, line in
                switch level {
                case "error": log.error("\(line)")
                case "warning": log.warning("\(line)")
                default: log.info("\(line)")
                }
            })
        let agent = FleetAgent(cluster: runtime.cluster, hooks: hooks, revision: runtime.revision,
                               applied: runtime.applied?.generation)
        runtime.agent = agent
        agent.start()
    }

    /// Revokes the lease so the instance leaves the fleet's list at once (on the way out).
    func stopFleet() {
        stopFleetRollouts()
        let agent = queue.sync { fleet?.agent }
        agent?.stop()
    }

    /// The config a reload applies: with `document` (a new fleet generation), the local config
    /// last loaded with it laid over; without, the file read again with the document in force
    /// laid over (what no longer fits is left out and said).
    func fleetConfig(applying document: FleetDocument?) throws(ConfigError) -> (base: CutoverConfig, next: CutoverConfig) {
        guard let runtime = fleet else {
            let loaded = try ConfigLoader.load(file: configFile)
            return (loaded, loaded)
        }
        if let document { return (runtime.base, FleetOverlay.apply(document, to: runtime.base)) }
        let loaded = try ConfigLoader.load(file: configFile)
        guard let applied = runtime.applied else { return (loaded, loaded) }
        let problems = FleetOverlay.problems(applied, against: loaded)
        if !problems.isEmpty {
            let message = "fleet generation \(applied.generation) no longer fits \(configFile) in full: \(problems.joined(separator: "; ")) (those entries are left out)"
            log.warning("\(message)")
            publishFleet { $0.lastError = message }
        }
        return (loaded, FleetOverlay.apply(applied, to: loaded))
    }

    /// After a reload applied `base`: kept as the local config the next document is laid over.
    /// A generation refused before is tried again (the file may now have what it needs).
    func fleetReloaded(base: CutoverConfig) {
        guard let runtime = fleet else { return }
        runtime.base = base
        if runtime.refused != nil { runtime.agent?.retryActive() }
        runtime.agent?.reportSoon()
    }

    /// Validates `document` against the local config and applies it as one reload; the refusal
    /// when it does not fit or the reload fails. Control queue.
    func applyFleet(_ document: FleetDocument) -> FleetRefusal? {
        guard let runtime = fleet else { return FleetRefusal("no cluster section") }
        let problems = FleetOverlay.problems(document, against: runtime.base)
        if !problems.isEmpty {
            let reason = problems.joined(separator: "; ")
            noteFleetRefusal(document.generation, reason)
            return FleetRefusal(reason)
        }
        let started = MonotonicClock.now()
        runtime.applyingRolloutGeneration = document.writtenBy.hasPrefix("cutover rollout ")
        let outcome = reloadReporting(fleet: document)
        runtime.applyingRolloutGeneration = false
        if case .failure(let error) = outcome.result {
            noteFleetRefusal(document.generation, "\(error)")
            return FleetRefusal("\(error)")
        }
        runtime.applied = document
        runtime.refused = nil
        runtime.revision = nil
        let splits = document.routes.sorted { $0.key < $1.key }.map { route in
            "\(route.key) " + route.value.pools.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }.joined(separator: "; ")
        let millis = Double(MonotonicClock.now() &- started) / 1e6
        log.info("fleet: generation \(document.generation) applied in \(String(format: "%.1f", millis)) ms (\(document.writtenBy))\(splits.isEmpty ? "" : ": \(splits)")")
        publishFleet { summary in
            summary.appliedGeneration = document.generation
            summary.appliedWrittenBy = document.writtenBy
            summary.refusedGeneration = nil
            summary.lastError = nil
        }
        return nil
    }

    /// Records the `active` revision of the document just applied and caches both on disk.
    func cacheFleet(revision: Int64) {
        guard let runtime = fleet, let document = runtime.applied else { return }
        runtime.revision = revision
        runtime.cache.save(.init(prefix: runtime.cluster.prefix, revision: revision, document: document))
    }

    func noteFleetRefusal(_ generation: Int64, _ reason: String) {
        fleet?.refused = (generation, reason)
        log.error("fleet: generation \(generation) refused, still serving generation \(fleet?.applied?.generation ?? 0): \(reason)")
        publishFleet { summary in
            summary.refusedGeneration = generation
            summary.lastError = "generation \(generation) refused: \(reason)"
        }
    }

    /// Updates the fleet part of the admin state (creating it from the runtime when absent).
    func publishFleet(_ change: @escaping (inout FleetSummary) -> Void) {
        guard let runtime = fleet else { return }
        let applied = runtime.applied
        adminState.update { state in
            var summary = state.fleet ?? FleetSummary(instance: runtime.cluster.instance, prefix: runtime.cluster.prefix,
                                                      endpoints: runtime.cluster.endpoints.map(\.description))
            summary.appliedGeneration = applied?.generation ?? 0
            summary.appliedWrittenBy = applied?.writtenBy
            change(&summary)
            state.fleet = summary
        }
    }

    /// This instance's report, from the admin state and the workers' counters (any thread).
    func fleetReport() -> InstanceReport {
        let snapshot = adminState.read()
        let summary = snapshot.fleet
        var pools: [String: InstanceReport.PoolHealth] = [:]
        for pool in snapshot.config.pools {
            let healthy = pool.backends.filter { backend in
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                return (snapshot.backendStates[identity] ?? "healthy") == "healthy" && backend.state == .active
            }.count
            pools[pool.name] = .init(healthy: healthy, total: pool.backends.count)
        }
        let totals = WorkerMetrics.sum(gatherReports(timeout: .milliseconds(300)).map(\.metrics))
        let requests = totals.backendResponses.joined().reduce(0, +) + totals.poolResponses.joined().reduce(0, +)
        let refused = summary?.refusedGeneration
        return InstanceReport(
            instance: summary?.instance ?? "?", generation: summary?.appliedGeneration ?? 0,
            ok: refused == nil, error: refused == nil ? nil : summary?.lastError, refusedGeneration: refused,
            version: CutoverVersion.string, pid: getpid(), health: snapshot.stopping ? "stopping" : "ready",
            pools: pools, requests: Int(requests), configGeneration: snapshot.generation,
            admin: snapshot.config.admin?.listen.description)
    }
}
