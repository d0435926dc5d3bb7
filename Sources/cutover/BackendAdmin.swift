import Admin
import Config
import ControlPlane
import Foundation

/// The admin API as the backend commands and `cutover roll` use it: one operation (the proxy
/// edits its own file and reloads), then waits on `/status` for its outcome.
struct BackendAdmin {
    let admin: SwitchAdmin
    let pool: String

    /// `POST /backends/POOL/OPERATION?address=…`; the generation that has it, or why not.
    func operate(_ operation: String, _ address: HostPort, weight: Int? = nil) throws(SwitchFailure) -> UInt64 {
        var path = "/backends/\(RolloutCommand.escape(pool))/\(operation)?address=\(RolloutCommand.escape(address.description))"
        if let weight { path += "&weight=\(weight)" }
        return try admin.postForGeneration(path, unexpected: "unexpected answer from the admin API (an older cutover without /backends?)") { $0 }
    }

    /// The backend as `/status` shows it in the pool when the config has it (nil: not there).
    /// A backend removed from the file but still draining is listed without an admin state.
    func backend(_ address: HostPort, in status: AdminStatus) -> AdminStatus.Backend? {
        listed(address, in: status).flatMap { $0.adminState == nil ? nil : $0 }
    }

    /// Any entry of the pool for `address`, configured or still draining after its removal.
    func listed(_ address: HostPort, in status: AdminStatus) -> AdminStatus.Backend? {
        status.pools.first { $0.name == pool }?.backends.first { $0.address == address.description }
    }

    /// Polls `/status` every 200 ms until `done` says so (returns nil) or `timeout` passes; `done`
    /// returns what it still waits for. Transient failures to reach the admin API are retried.
    func wait(timeout: Double, since generation: UInt64, _ done: (AdminStatus) -> String?) throws(SwitchFailure) {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer yet"
        while true {
            if let status = try? admin.status(), status.generation >= generation {
                guard let waiting = done(status) else { return }
                last = waiting
            }
            guard Date() < deadline else {
                throw .refused("not done within \(BackendAdmin.duration(timeout)): \(last)")
            }
            usleep(200_000)
        }
    }

    /// What keeps a new backend from being ready (healthy and past slow start), or nil.
    func notReady(_ address: HostPort, _ status: AdminStatus) -> String? {
        guard let b = backend(address, in: status) else { return "\(address) is not in pool \(pool)" }
        if b.adminState == "drain" { return "\(address) is drained" }
        let health = b.health ?? b.state
        guard health == "healthy" else { return "\(address) is \(health)" }
        if let left = b.slowStartSecondsLeft, left > 0 { return "\(address) in slow start (\(left)s left)" }
        if b.weight > 0 && b.effectiveWeight == 0 { return "\(address) takes no requests yet" }
        return nil
    }

    /// What still runs on a drained backend, or nil once nothing does (or its delay is over).
    func notDrained(_ address: HostPort, _ status: AdminStatus) -> String? {
        guard let b = backend(address, in: status) else { return nil }
        if b.adminState == "active" { return "\(address) is active" }
        if (b.inFlight == 0 && b.connections == 0) || b.drainSecondsLeft == 0 { return nil }
        return "\(address) draining: \(b.inFlight) in flight, \(b.connections) connections open\(b.drainSecondsLeft.map { ", \($0)s of deregistration delay left" } ?? "")"
    }

    /// The pool's backends that take new requests now.
    func usable(_ status: AdminStatus) -> Int {
        (status.pools.first { $0.name == pool }?.backends ?? []).filter {
            $0.adminState == "active" && $0.state == "healthy" && $0.effectiveWeight > 0
        }.count
    }

    static func duration(_ seconds: Double) -> String {
        seconds >= 120 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60))m" : "\(Int(seconds.rounded()))s"
    }
}
