/// The short plan `cutover check` prints for a valid config: what will listen where, how each route
/// splits, and which backends each pool holds, so an operator can eyeball a change before a reload.
///
/// One fact per line, indented by section; secrets (the admin token) are never printed. The format is
/// for people, not scripts: scripts should use the exit status or the admin API's JSON.
public func describePlan(_ config: CutoverConfig) -> String {
    var lines: [String] = []
    switch config.workers {
    case .auto: lines.append("workers: auto (one per core)")
    case .fixed(let count): lines.append("workers: \(count)")
    }
    if let admin = config.admin {
        lines.append("admin: \(admin.listen) (token: \(admin.token == nil ? "none" : "set"))")
    } else {
        lines.append("admin: off")
    }
    lines.append("listeners:")
    for listener in config.listeners {
        let tls = listener.tls.map { "yes (\($0.certificates.count) certificate\($0.certificates.count == 1 ? "" : "s"))" } ?? "no"
        lines.append("  \(listener.name): \(listener.listen) \(listener.proto.rawValue) -> route \(listener.route), tls: \(tls)")
        for rule in listener.rules { lines.append("    rule \(rule.name): \(PlanFormat.rule(rule))") }
    }
    lines.append("routes:")
    for route in config.routes {
        let total = route.pools.reduce(0) { $0 + $1.weight }
        let split = route.pools.map { "\($0.name) \(PlanFormat.percent($0.weight, of: total))" }.joined(separator: ", ")
        lines.append("  \(route.name): \(split) (ramp \(route.ramp))")
        if let sticky = route.sticky { lines.append("    sticky: cookie \(sticky.cookie)") }
        if let override = route.override {
            lines.append("    override: header \(override.header) from \(override.allowFrom.joined(separator: ", "))")
        }
        if let hashOn = route.hashOn { lines.append("    cohorts: hash of \(hashOn)") }
        if !route.requestHeaders.isEmpty { lines.append("    request headers: \(PlanFormat.edits(route.requestHeaders))") }
        if !route.responseHeaders.isEmpty { lines.append("    response headers: \(PlanFormat.edits(route.responseHeaders))") }
    }
    lines.append("pools:")
    for pool in config.pools {
        let count = "\(pool.backends.count) backend\(pool.backends.count == 1 ? "" : "s")"
        var summary = "  \(pool.name): \(pool.balance.rawValue), \(count), slow_start \(pool.slowStart), deregistration_delay \(pool.deregistrationDelay)"
        if let tls = pool.tls { summary += ", tls (verify: \(tls.verify ? "yes" : "no"))" }
        lines.append(summary)
        lines.append("    health check: \(PlanFormat.healthCheck(pool.healthCheck))")
        if let passive = pool.passive {
            lines.append("    passive: eject for \(passive.ejectFor) after \(passive.consecutiveFailures) consecutive failures")
        }
        for backend in pool.backends {
            lines.append("    backend \(backend.address) weight \(backend.weight)")
        }
    }
    let t = config.timeouts
    lines.append("timeouts: connect \(t.connect), client_header \(t.clientHeader), upstream_response \(t.upstreamResponse), idle \(t.idle), shutdown_delay \(t.shutdownDelay), shutdown \(t.shutdown)")
    lines.append("limits: max_connections \(config.limits.maxConnections), max_header_bytes \(config.limits.maxHeaderBytes)")
    switch config.accessLog {
    case .off: lines.append("access_log: off")
    case .stdout: lines.append("access_log: stdout")
    case .file(let path): lines.append("access_log: \(path)")
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Formatting helpers for the plan, kept free of Foundation's `String(format:)`.
public enum PlanFormat {
    /// `weight / total` as a percentage with at most one decimal: `100%`, `33.3%`, `0%`.
    static func percent(_ weight: Int, of total: Int) -> String {
        guard total > 0 else { return "0%" }
        let tenths = (weight * 1000 + total / 2) / total
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }

    /// `host api.example.com, path_prefix /v2 -> route api-v2`.
    public static func rule(_ rule: RuleConfig) -> String {
        var conditions: [String] = []
        if let host = rule.host { conditions.append("host \(host)") }
        if let path = rule.path { conditions.append("path \(path)") }
        if let prefix = rule.pathPrefix { conditions.append("path_prefix \(prefix)") }
        for field in rule.headers { conditions.append("header \(field.name)" + (field.value.map { "=\($0)" } ?? " present")) }
        for cookie in rule.cookies { conditions.append("cookie \(cookie.name)" + (cookie.value.map { "=\($0)" } ?? " present")) }
        let action = switch rule.action {
        case .route(let name): "route \(name)"
        case .respond(let status, _): "respond \(status)"
        case .redirect(let to, let status): "redirect \(status.map(String.init) ?? "301/308") to \(to.isEmpty ? "/" : to)"
        }
        var text = (conditions.isEmpty ? "every request" : conditions.joined(separator: ", ")) + " -> " + action
        if !rule.requestHeaders.isEmpty { text += "; request headers: \(edits(rule.requestHeaders))" }
        if !rule.responseHeaders.isEmpty { text += "; response headers: \(edits(rule.responseHeaders))" }
        return text
    }

    /// `set X-A, add X-B, remove Server`.
    static func edits(_ edits: HeaderEditsConfig) -> String {
        var parts: [String] = []
        if !edits.replacing.isEmpty { parts.append("set " + edits.replacing.map(\.name).joined(separator: ", ")) }
        if !edits.adding.isEmpty { parts.append("add " + edits.adding.map(\.name).joined(separator: ", ")) }
        if !edits.removing.isEmpty { parts.append("remove " + edits.removing.joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    static func healthCheck(_ check: HealthCheckConfig?) -> String {
        guard let check else { return "none (every backend counts as healthy)" }
        var text: String
        switch check.type {
        case .http:
            text = "http GET \(check.path)"
            if let host = check.host { text += " (Host: \(host))" }
        case .tcp:
            text = "tcp connect"
        }
        if let port = check.port { text += " on port \(port)" }
        text += " every \(check.interval), timeout \(check.timeout), rise \(check.rise), fall \(check.fall)"
        if check.type == .http { text += ", expect \(StatusRanges.describe(check.expectStatus))" }
        return text
    }
}
