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
    /// The listener's TLS context (when it has `tls:`), as loaded for the config in force.
    var tls: TLSServerContext?

    var spec: ListenerSpec {
        ListenerSpec(name: config.name, kind: config.proto == .tcp ? .tcp : .http, routeName: config.route,
                     forwardedProto: config.tls == nil ? .http : .https, tls: tls, metricsID: metricsID)
    }
}

enum ListenerBinder {
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
