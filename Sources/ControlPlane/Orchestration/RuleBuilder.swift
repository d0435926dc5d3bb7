import Config
import DataPlane
import HTTP1

/// Turns a listener's `rules` and a route's `hash_on` and header edits from the config into the
/// prepared forms the data plane matches and writes without allocating.
enum RuleBuilder {
    static func rule(_ config: RuleConfig, metricsID: Int) -> RequestRule {
        let action: RequestRule.Action = switch config.action {
        case .route(let name): .route(name)
        case .respond(let status, let body): .respond(status: status, body: Array(body.utf8))
        case .redirect(let location, let status): .redirect(location: Array(location.utf8), status: status)
        }
        var path: PathPattern?
        if let exact = config.path { path = .exact(Array(exact.utf8)) }
        if let prefix = config.pathPrefix { path = .prefix(prefix) }
        return RequestRule(
            name: config.name, host: config.host.map(HostPattern.init), path: path,
            headers: config.headers.map { .init(name: $0.name, value: $0.value) },
            cookies: config.cookies.map { .init(name: $0.name, value: $0.value) },
            action: action, requestEdits: edits(config.requestHeaders), responseEdits: edits(config.responseHeaders),
            metricsID: metricsID)
    }

    static func edits(_ config: HeaderEditsConfig) -> HeaderEdits {
        guard !config.isEmpty else { return .none }
        return HeaderEdits(replacing: config.replacing.map { ($0.name, $0.value) },
                           adding: config.adding.map { ($0.name, $0.value) }, removing: config.removing)
    }

    static func cohortKey(_ config: HashOnConfig?) -> RoutingTable.CohortKey? {
        switch config {
        case .header(let name): .header(Array(name.utf8))
        case .cookie(let name): .cookie(Array(name.utf8))
        case .clientAddress: .clientAddress
        case nil: nil
        }
    }
}
