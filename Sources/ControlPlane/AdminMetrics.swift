/// `GET /metrics`: the control plane's own series in Prometheus text format (0.0.4). The
/// per-request series of INTERFACE.md come with the metrics issue; these two are what a
/// deployment dashboard needs to see that a reload happened, or failed.
enum AdminMetrics {
    static func render(_ snapshot: AdminState.Snapshot) -> String {
        """
        # HELP cutover_config_generation Generation of the configuration being served (1 at start, +1 per applied reload).
        # TYPE cutover_config_generation gauge
        cutover_config_generation \(snapshot.generation)
        # HELP cutover_config_reloads_total Configuration reloads (SIGHUP and POST /reload), by result.
        # TYPE cutover_config_reloads_total counter
        cutover_config_reloads_total{result="success"} \(snapshot.reloadsSucceeded)
        cutover_config_reloads_total{result="failure"} \(snapshot.reloadsFailed)

        """
    }
}
