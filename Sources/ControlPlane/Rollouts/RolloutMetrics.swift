import Admin
import Metrics
import Rollout

/// The rollout series of `/metrics`: per route with a policy or a rollout, its state (1 for the
/// current one, 0 for the others, so a dashboard can graph the state as a stack), step, canary
/// share, results so far, and each check's last values and threshold.
enum RolloutMetrics {
    static let states = ["idle"] + RolloutMachine.State.allCases.map(\.rawValue)
    static let results = ["promoted", "rolled_back", "aborted"]

    static func render(_ snapshot: AdminState.Snapshot, into out: inout PrometheusText) {
        let documents = snapshot.rollouts
        out.family("cutover_rollout_state", .gauge, help: "1 for the state a route's rollout is in (idle, warmup, progressing, waiting_gate, paused, promoted, failed, aborted).")
        for document in documents {
            for state in states {
                out.sample("cutover_rollout_state", ["route": document.route, "state": state], state == document.state ? 1 : 0)
            }
        }
        out.family("cutover_rollout_step", .gauge, help: "The step a route's rollout is at (1-based; 0 before the first).")
        for document in documents { out.sample("cutover_rollout_step", ["route": document.route], Double(document.step)) }
        out.family("cutover_rollout_canary_weight", .gauge, help: "The canary's share of new requests, in percent.")
        for document in documents {
            out.sample("cutover_rollout_canary_weight", ["route": document.route], Double(document.canaryWeight))
        }
        out.family("cutover_rollouts_total", .counter, help: "Rollouts that ended, by result (promoted, rolled_back, aborted).")
        for document in documents {
            for result in results {
                out.sample("cutover_rollouts_total", ["route": document.route, "result": result],
                           Double(snapshot.rolloutResults[document.route]?[result] ?? 0))
            }
        }
        out.family("cutover_rollout_check_value", .gauge,
                   help: "A check's value at the last look, for the canary and the baseline pool: error_rate as a fraction, latency as the quantile in seconds.")
        for document in documents where !document.canary.isEmpty {
            for check in document.checks {
                if let value = check.canary {
                    out.sample("cutover_rollout_check_value", ["route": document.route, "check": check.check, "pool": document.canary], value)
                }
                if let value = check.baseline {
                    out.sample("cutover_rollout_check_value", ["route": document.route, "check": check.check, "pool": document.baseline], value)
                }
            }
        }
        out.family("cutover_rollout_check_threshold", .gauge, help: "The limit a check held the canary to at the last look.")
        for document in documents {
            for check in document.checks {
                if let threshold = check.threshold {
                    out.sample("cutover_rollout_check_threshold", ["route": document.route, "check": check.check], threshold)
                }
            }
        }
    }
}
