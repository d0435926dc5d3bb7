/// Stable ids for the names that label metrics (routes, pools, listeners), so the workers'
/// series arrays keep their meaning across reloads; an id is never reused for another name, so
/// a counter never jumps to another series. Backends have theirs in `BackendBook`.
struct MetricLabels: Sendable {
    private(set) var routes: [String] = []
    private(set) var pools: [String] = []
    private(set) var listeners: [String] = []
    /// Per rule id: its listener and its name.
    private(set) var rules: [(listener: String, rule: String)] = []
    private var ruleIDs: [String: Int] = [:]
    private var routeIDs: [String: Int] = [:]
    private var poolIDs: [String: Int] = [:]
    private var listenerIDs: [String: Int] = [:]

    mutating func routeID(_ name: String) -> Int { MetricLabels.id(name, &routeIDs, &routes) }
    mutating func poolID(_ name: String) -> Int { MetricLabels.id(name, &poolIDs, &pools) }
    mutating func listenerID(_ name: String) -> Int { MetricLabels.id(name, &listenerIDs, &listeners) }

    /// The id a rule already has, if any (a status read must not hand out ids).
    func knownRuleID(listener: String, rule: String) -> Int? { ruleIDs["\(listener)\u{0}\(rule)"] }

    mutating func ruleID(listener: String, rule: String) -> Int {
        let key = "\(listener)\u{0}\(rule)"
        if let id = ruleIDs[key] { return id }
        ruleIDs[key] = rules.count
        rules.append((listener, rule))
        return rules.count - 1
    }

    private static func id(_ name: String, _ ids: inout [String: Int], _ names: inout [String]) -> Int {
        if let id = ids[name] { return id }
        ids[name] = names.count
        names.append(name)
        return names.count - 1
    }
}
