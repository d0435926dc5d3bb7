import Config
import DataPlane
import EventLoop
import TLS

/// The listening sockets of the running process: per listener, one SO_REUSEPORT socket per
/// worker. Bound on the control plane so a bind error is reported (at start-up, or by a reload
/// that adds a listener) before any worker is told about it.
struct BoundListener {
    var config: ListenerConfig
    var fds: [Int32]
    /// The listener's id in the connection metrics (`MetricLabels`).
    var metricsID = 0
    /// Its rules' ids in the rule-hit metrics, in rule order.
    var ruleMetricsIDs: [Int] = []
    /// The listener's TLS context (when it has `tls:`), as loaded for the config in force.
    var tls: TLSServerContext?

    var spec: ListenerSpec {
        let rules = zip(config.rules, ruleMetricsIDs).map { RuleBuilder.rule($0, metricsID: $1) }
        var spec = ListenerSpec(name: config.name, kind: config.proto == .tcp ? .tcp : .http, routeName: config.route,
                                forwardedProto: config.tls == nil ? .http : .https, tls: tls, metricsID: metricsID,
                                rules: rules)
        spec.http2 = switch config.http2 {
        case .off: .off
        case .alpn: .alpn
        case .h2c: .h2c
        }
        return spec
    }

    /// Takes the metric ids of the listener and of its rules (stable for their names).
    mutating func label(_ labels: inout MetricLabels) {
        metricsID = labels.listenerID(config.name)
        ruleMetricsIDs = config.rules.map { labels.ruleID(listener: config.name, rule: $0.name) }
    }
}

enum ListenerBinder {
    /// Sockets handed over by an upgrade (see `InheritedSockets`): kept as they are — the same
    /// sockets, so nothing queued on them is lost — plus fresh ones (SO_REUSEPORT) when this
    /// process runs more workers than the old one did. Extra inherited ones stay too: the caller
    /// gives them to workers in turn, since closing one would drop what waits in its queue.
    static func adopt(_ inherited: [Int32], _ listener: ListenerConfig, workers: Int,
                      tls: TLSServerContext?) throws(ConfigError) -> BoundListener {
        var fds = inherited
        if fds.count < workers {
            let more = try bind(listener, workers: workers - fds.count, tls: tls)
            fds += more.fds
        }
        return BoundListener(config: listener, fds: fds, tls: tls)
    }

    static func bind(_ listener: ListenerConfig, workers: Int, tls: TLSServerContext?) throws(ConfigError) -> BoundListener {
        guard let address = SocketAddress.resolve(host: listener.listen.host, port: listener.listen.port) else {
            throw ConfigError(listener.location, "listener '\(listener.name)': cannot resolve '\(listener.listen)'")
        }
        var fds: [Int32] = []
        for _ in 0..<workers {
            do {
                fds.append(try Socket.listen(on: address))
            } catch {
                fds.forEach(Socket.close)
                throw ConfigError(listener.location, "listener '\(listener.name)': cannot listen on \(listener.listen): \(error)")
            }
        }
        return BoundListener(config: listener, fds: fds, tls: tls)
    }
}
