/// The access log's two counters in Prometheus text format, appended to `/metrics`.
package enum AccessLogMetrics {
    package static func render(_ stats: AccessLogStats) -> String {
        """
        # HELP cutover_access_log_lines_total Access log lines written to the access log's destination.
        # TYPE cutover_access_log_lines_total counter
        cutover_access_log_lines_total \(stats.linesWritten)
        # HELP cutover_access_log_dropped_total Access log lines dropped: a worker's queue was full, or the write failed. Requests are never held back.
        # TYPE cutover_access_log_dropped_total counter
        cutover_access_log_dropped_total \(stats.linesDropped)

        """
    }
}
