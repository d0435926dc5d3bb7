import Admin
import Config
import Foundation
import DataPlane
import HealthCheck
import Metrics

/// `GET /metrics`: the series of INTERFACE.md in Prometheus text format (0.0.4). The request-path
/// series are the workers' per-thread arrays summed here, at scrape time; the gauges come from the
/// published state. Every configured route/pool/backend has its series from the start (at 0), so
/// `rate()` and ratios work from the first scrape, and so does a pool that has not served yet.
enum AdminMetrics {
    static func render(_ snapshot: AdminState.Snapshot, reports: [WorkerReport]) -> String {
        let totals = WorkerMetrics.sum(reports.map(\.metrics))
        let inFlight = AdminGauges(reports)
        let labels = snapshot.labels
        let config = snapshot.config
        var out = PrometheusText()

        func backendLabel(_ id: Int) -> (pool: String, backend: String) {
            id < snapshot.backendIdentities.count
                ? (snapshot.backendIdentities[id].pool, snapshot.backendIdentities[id].address) : ("", "")
        }
        func poolName(slot: Int) -> String {
            slot > 0 && slot - 1 < labels.pools.count ? labels.pools[slot - 1] : ""
        }
        // Configured (route id, backend id) and (route id, pool slot) pairs, shown even at 0.
        var configuredBackends: Set<[Int]> = []
        var configuredPools: Set<[Int]> = []
        for route in config.routes {
            guard let r = labels.routes.firstIndex(of: route.name) else { continue }
            for entry in route.pools {
                guard let p = labels.pools.firstIndex(of: entry.name) else { continue }
                configuredPools.insert([r, p + 1])
                for backend in config.pools.first(where: { $0.name == entry.name })?.backends ?? [] {
                    let identity = BackendIdentity(pool: entry.name, address: backend.address.description)
                    if let id = snapshot.backendIDs[identity] { configuredBackends.insert([r, id]) }
                }
            }
        }

        out.family("cutover_requests_total", .counter,
                   help: "Requests answered, by route, pool, backend and status class; backend is empty for the proxy's own answers (400, 502, 503, 504, 499 client left).")
        for (r, row) in totals.backendResponses.enumerated() where r < labels.routes.count {
            for id in 0..<(row.count / StatusClass.count) {
                let counts = row[(id * StatusClass.count)..<((id + 1) * StatusClass.count)]
                guard configuredBackends.contains([r, id]) || counts.contains(where: { $0 > 0 }) else { continue }
                let (pool, backend) = backendLabel(id)
                for (c, n) in counts.enumerated() {
                    out.sample("cutover_requests_total", [("route", labels.routes[r]), ("pool", pool), ("backend", backend),
                                                          ("code", StatusClass.labels[c])], Double(n))
                }
            }
        }
        for (r, row) in totals.poolResponses.enumerated() where r < labels.routes.count {
            for slot in 0..<(row.count / StatusClass.count) {
                for c in 0..<StatusClass.count where row[slot * StatusClass.count + c] > 0 {
                    out.sample("cutover_requests_total", [("route", labels.routes[r]), ("pool", poolName(slot: slot)), ("backend", ""),
                                                          ("code", StatusClass.labels[c])], Double(row[slot * StatusClass.count + c]))
                }
            }
        }

        out.family("cutover_request_duration_seconds", .histogram,
                   help: "Time from a request's complete head to the end of its answer, by route and pool.")
        for (r, row) in totals.latency.enumerated() where r < labels.routes.count {
            for (slot, histogram) in row.enumerated() where configuredPools.contains([r, slot]) || histogram.count > 0 {
                out.histogram("cutover_request_duration_seconds", [("route", labels.routes[r]), ("pool", poolName(slot: slot))], histogram)
            }
        }

        out.family("cutover_upstream_errors_total", .counter,
                   help: "Failed exchanges with a backend, by kind: connect, timeout, reset, protocol.")
        let kinds = UpstreamErrorKind.allCases
        let configuredIDs = Set(configuredBackends.map { $0[1] })
        for id in 0..<(totals.upstreamErrors.count / kinds.count) {
            let counts = totals.upstreamErrors[(id * kinds.count)..<((id + 1) * kinds.count)]
            guard configuredIDs.contains(id) || counts.contains(where: { $0 > 0 }) else { continue }
            let (pool, backend) = backendLabel(id)
            for (k, n) in counts.enumerated() {
                out.sample("cutover_upstream_errors_total", [("pool", pool), ("backend", backend), ("kind", kinds[k].label)], Double(n))
            }
        }

        renderBackendGauges(snapshot, inFlight: inFlight, into: &out)

        out.family("cutover_route_pool_weight", .gauge, help: "The split of new requests between a route's pools, in effect now.")
        for route in config.routes {
            let configured = route.pools.map(\.weight)
            let effective = AdminStatus.rescale(snapshot.effectiveSplits[route.name], like: configured)
            for (i, entry) in route.pools.enumerated() {
                out.sample("cutover_route_pool_weight", ["route": route.name, "pool": entry.name], Double(effective[i]))
            }
        }

        out.family("cutover_connections_active", .gauge, help: "Client connections open, by listener.")
        for (l, name) in labels.listeners.enumerated() where l < totals.connectionsOpen.count {
            out.sample("cutover_connections_active", ["listener": name], Double(totals.connectionsOpen[l]))
        }
        out.family("cutover_connections_total", .counter, help: "Client connections accepted, by listener.")
        for (l, name) in labels.listeners.enumerated() where l < totals.connectionsAccepted.count {
            out.sample("cutover_connections_total", ["listener": name], Double(totals.connectionsAccepted[l]))
        }

        out.family("cutover_rule_hits_total", .counter, help: "Requests a listener's rule matched (first match wins), by listener and rule.")
        for (r, entry) in labels.rules.enumerated() where r < totals.ruleHits.count {
            out.sample("cutover_rule_hits_total", ["listener": entry.listener, "rule": entry.rule], Double(totals.ruleHits[r]))
        }

        out.family("cutover_accept_pauses_total", .counter,
                   help: "Times a worker stopped accepting: at limits.max_connections (the rest wait in the listen queue) or out of file descriptors (retried every 100 ms).")
        out.sample("cutover_accept_pauses_total", ["reason": "max_connections"], Double(totals.acceptPauses[0]))
        out.sample("cutover_accept_pauses_total", ["reason": "descriptors"], Double(totals.acceptPauses[1]))

        out.family("cutover_config_generation", .gauge,
                   help: "Generation of the configuration being served (1 at start, +1 per applied reload).")
        out.sample("cutover_config_generation", [:], Double(snapshot.generation))
        out.family("cutover_config_reloads_total", .counter, help: "Configuration reloads (SIGHUP and POST /reload), by result.")
        out.sample("cutover_config_reloads_total", ["result": "success"], Double(snapshot.reloadsSucceeded))
        out.sample("cutover_config_reloads_total", ["result": "failure"], Double(snapshot.reloadsFailed))
        out.family("cutover_build_info", .gauge, help: "1, labelled with the version of the binary serving.")
        out.sample("cutover_build_info", ["version": CutoverVersion.string], 1)
        out.family("cutover_start_time_seconds", .gauge, help: "When the process serving started, in seconds since the Unix epoch.")
        out.sample("cutover_start_time_seconds", [:], snapshot.startedAt.timeIntervalSince1970.rounded())
        out.family("cutover_upgrades_total", .counter, help: "Binary upgrades handed over (success) or failed with the old process still serving (failure).")
        out.sample("cutover_upgrades_total", ["result": "success"], Double(snapshot.upgradesSucceeded))
        out.sample("cutover_upgrades_total", ["result": "failure"], Double(snapshot.upgradesFailed))
        RolloutMetrics.render(snapshot, into: &out)
        if let fleet = snapshot.fleet {
            // The names (cutover_fleet_connected, _generation) and INTERFACE.md's
            // (cutover_fleet_store_connected, _applied_generation): the same two values.
            let connected = fleet.connected ? 1.0 : 0.0
            out.family("cutover_fleet_connected", .gauge, help: "1 while etcd answers this instance's watch, 0 while it serves its last applied state without it.")
            out.sample("cutover_fleet_connected", [:], connected)
            out.family("cutover_fleet_generation", .gauge, help: "The fleet generation in force on this instance (0: the local file alone).")
            out.sample("cutover_fleet_generation", [:], Double(fleet.appliedGeneration))
            out.family("cutover_fleet_store_connected", .gauge, help: "Same as cutover_fleet_connected.")
            out.sample("cutover_fleet_store_connected", [:], connected)
            out.family("cutover_fleet_applied_generation", .gauge, help: "Same as cutover_fleet_generation.")
            out.sample("cutover_fleet_applied_generation", [:], Double(fleet.appliedGeneration))
            out.family("cutover_fleet_refused_generation", .gauge, help: "The last fleet generation this instance refused (0: none since the last one applied).")
            out.sample("cutover_fleet_refused_generation", [:], Double(fleet.refusedGeneration ?? 0))
        }
        return out.text
    }

    /// Up, effective weight and in flight of every configured backend, and of draining ones.
    private static func renderBackendGauges(_ snapshot: AdminState.Snapshot, inFlight: AdminGauges, into out: inout PrometheusText) {
        var rows: [(pool: String, backend: String, up: Bool, weight: Double, inFlight: Int)] = []
        for pool in snapshot.config.pools {
            for backend in pool.backends {
                let identity = BackendIdentity(pool: pool.name, address: backend.address.description)
                let scaled = snapshot.backendEffectiveWeights[identity] ?? backend.weight * 1000
                let state = snapshot.backendStates[identity] ?? "healthy"
                rows.append((pool.name, identity.address, state == "healthy" && scaled > 0, Double(scaled) / 1000,
                             inFlight.inFlight(snapshot.backendIDs[identity])))
            }
        }
        for (identity, drain) in snapshot.draining.sorted(by: { ($0.key.pool, $0.key.address) < ($1.key.pool, $1.key.address) }) {
            rows.append((identity.pool, identity.address, false, 0, inFlight.inFlight(drain.id)))
        }
        out.family("cutover_backend_up", .gauge,
                   help: "1 while a backend takes new requests (healthy, not ejected, not draining), else 0.")
        for row in rows { out.sample("cutover_backend_up", ["pool": row.pool, "backend": row.backend], row.up ? 1 : 0) }
        out.family("cutover_backend_effective_weight", .gauge,
                   help: "A backend's weight after slow start, health and drain (the configured weight when at full).")
        for row in rows { out.sample("cutover_backend_effective_weight", ["pool": row.pool, "backend": row.backend], row.weight) }
        out.family("cutover_backend_admin_state", .gauge,
                   help: "1 for a configured backend's admin state (active, or drain: no new requests), 0 for the other.")
        for pool in snapshot.config.pools {
            for backend in pool.backends {
                for state in BackendAdminState.allCases {
                    out.sample("cutover_backend_admin_state", ["pool": pool.name, "backend": backend.address.description, "state": state.rawValue],
                               backend.state == state ? 1 : 0)
                }
            }
        }
        out.family("cutover_backend_in_flight", .gauge, help: "Requests and tunnels in progress on a backend.")
        for row in rows { out.sample("cutover_backend_in_flight", ["pool": row.pool, "backend": row.backend], Double(row.inFlight)) }
    }
}
