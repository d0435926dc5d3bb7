/// How a pool chooses among its backends. Config has its own `BalanceAlgorithm`; Balancer must not
/// import Config (see the layer table in ARCHITECTURE.md), so the control plane maps one onto the
/// other when it builds a snapshot.
public enum BalancerKind: Sendable, Equatable, CaseIterable {
    /// Smooth weighted round robin: exact shares over any window of `total` picks.
    case roundRobin
    /// Power of two choices over in-flight requests, weighted.
    case leastRequest
    /// Weight-proportional random.
    case random
}
