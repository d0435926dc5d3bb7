import AccessLogWriter
import Admin
import DataPlane

extension AdminView {
    /// What one admin request reads: `snapshot` (read once by the caller), with `/status` and
    /// `/metrics` built from it on demand. `reports` asks the workers for their gauges and series;
    /// `accessLogStats` reads the access log's counters (both per request, on the admin thread).
    init(_ snapshot: AdminState.Snapshot, reports: @escaping @Sendable () -> [WorkerReport],
         accessLogStats: @escaping @Sendable () -> AccessLogStats) {
        self.init(stopping: snapshot.stopping, token: snapshot.token, rollouts: snapshot.rollouts,
                  status: { AdminStatus(snapshot, gauges: AdminGauges(reports())) },
                  metrics: { AdminMetrics.render(snapshot, reports: reports()) + AccessLogMetrics.render(accessLogStats()) })
    }
}
