/// Stable ids for the names that label metrics (routes, pools, listeners), so the workers'
/// series arrays keep their meaning across reloads; an id is never reused for another name, so
/// a counter never jumps to another series. Backends have theirs in `BackendBook`.
struct MetricLabels: Sendable {
    private(set) var routes: [String] = []
    private(set) var pools: [String] = []
    private(set) var listeners: [String] = []
    private var routeIDs: [String: Int] = [:]
    private var poolIDs: [String: Int] = [:]
    private var listenerIDs: [String: Int] = [:]

    mutating func routeID(_ name: String) -> Int { MetricLabels.id(name, &routeIDs, &routes) }
    mutating func poolID(_ name: String) -> Int { MetricLabels.id(name, &poolIDs, &pools) }
    mutating func listenerID(_ name: String) -> Int { MetricLabels.id(name, &listenerIDs, &listeners) }

    private static func id(_ name: String, _ ids: inout [String: Int], _ names: inout [String]) -> Int {
        if let id = ids[name] { return id }
        ids[name] = names.count
        names.append(name)
        return names.count - 1
    }
}
