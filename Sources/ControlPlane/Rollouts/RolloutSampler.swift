import Config
import HealthCheck
import Metrics
import Rollout

/// Reads a pool's counters for the judge out of the workers' summed series: attempts and errors
/// of the pool's configured backends on the route (5xx answers plus failed exchanges), and the
/// route's fine latency buckets for the pool. Failed exchanges are counted per backend, not per
/// route: a backend shared by two routes' pools counts its failures in both.
struct RolloutSampler {
    let totals: WorkerMetrics
    let labels: MetricLabels
    let book: BackendBook
    let config: CutoverConfig

    func sample(route: String, pool: String) -> PoolSample {
        guard let r = labels.routes.firstIndex(of: route), r < totals.backendResponses.count,
              let poolID = labels.pools.firstIndex(of: pool), let poolConfig = config.pool(named: pool) else {
            return PoolSample(latencyCounts: LogLinearHistogram().counts)
        }
        var sample = PoolSample()
        let kinds = UpstreamErrorKind.allCases.count
        let fiveXX = StatusClass.index(of: 500)
        let responses = totals.backendResponses[r]
        for backend in poolConfig.backends {
            guard let id = book.knownID(BackendIdentity(pool: pool, address: backend.address.description)) else { continue }
            let base = id * StatusClass.count
            if base + StatusClass.count <= responses.count {
                for c in 0..<StatusClass.count { sample.requests &+= responses[base + c] }
                sample.errors &+= responses[base + fiveXX]
            }
            if (id + 1) * kinds <= totals.upstreamErrors.count {
                let failed = totals.upstreamErrors[(id * kinds)..<((id + 1) * kinds)].reduce(0, &+)
                sample.requests &+= failed
                sample.errors &+= failed
            }
        }
        let slot = poolID + 1
        sample.latencyCounts = r < totals.fineLatency.count && slot < totals.fineLatency[r].count
            ? totals.fineLatency[r][slot].counts : LogLinearHistogram().counts
        return sample
    }
}
