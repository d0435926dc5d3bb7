import Balancer
import Config
import Foundation

/// The runtime state an upgrading process hands to the new binary, so nothing an operator or a
/// health check established is forgotten: each backend's health with its rise/fall progress,
/// (not its partial progress toward rise/fall), slow-start start times, drains (`state: drain`) and passive ejections with their deadlines,
/// the splits in effect and the ramps moving them, and the config generation. Times are
/// CLOCK_MONOTONIC nanoseconds, which both processes share. A running rollout travels in its
/// own state file (`state_dir`), read by the new process at start as after any restart.
struct UpgradeState: Codable {
    struct Backend: Codable {
        var pool: String
        var address: String
        /// `checking`, `healthy`, `unhealthy` (only for pools with a health check).
        var health: String?
        var slowStartBegan: UInt64?
        var adminDrainBegan: UInt64?
        var ejectedUntil: UInt64?
        var ejectionRefusedUntil: UInt64?
    }

    struct Ramp: Codable {
        var route: String
        var effective: [Int]
        var pools: [String]
        var from: [Int]?
        var to: [Int]?
        var start: UInt64?
        var duration: UInt64?
    }

    var version = 1
    var generation: UInt64
    var backends: [Backend]
    var ramps: [Ramp]
    var reloadsSucceeded: Int
    var reloadsFailed: Int
    /// Upgrades before this one (the counter continues in `/metrics`).
    var upgradesSucceeded: Int
    var upgradesFailed: Int

    func write(to path: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func read(from path: String) throws -> UpgradeState {
        try JSONDecoder().decode(UpgradeState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

extension HealthState {
    var name: String {
        switch self {
        case .checking: "checking"
        case .healthy: "healthy"
        case .unhealthy: "unhealthy"
        }
    }

    init?(name: String) {
        switch name {
        case "checking": self = .checking
        case "healthy": self = .healthy
        case "unhealthy": self = .unhealthy
        default: return nil
        }
    }
}
