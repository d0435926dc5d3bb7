/// What one admin request reads of the control plane's published state, taken once per request
/// so every part of one answer agrees. The control plane builds it from its own copy of the state
/// (never on its queue: reads answer while a slow reload holds it). The two documents that ask
/// the workers for their gauges are built only when a route needs them.
package struct AdminView {
    /// Shutdown has begun: `/ready` answers 503 and `POST /reload` is refused.
    package var stopping: Bool
    /// The bearer token the API asks for; nil leaves it open.
    package var token: String?
    /// Every route with a rollout policy or a rollout (`/rollouts`).
    package var rollouts: [RolloutDocument]
    /// `GET /status`'s document.
    package var status: () -> AdminStatus
    /// `GET /metrics`' text, Prometheus format 0.0.4.
    package var metrics: () -> String

    package init(stopping: Bool, token: String?, rollouts: [RolloutDocument],
                 status: @escaping () -> AdminStatus, metrics: @escaping () -> String) {
        self.stopping = stopping
        self.token = token
        self.rollouts = rollouts
        self.status = status
        self.metrics = metrics
    }
}
