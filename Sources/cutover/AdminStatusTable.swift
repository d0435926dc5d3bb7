import Admin

/// `cutover status`'s table: what an operator glances at mid-deployment. Routes with the
/// configured and the effective split side by side (they differ while a ramp runs), then every
/// pool's backends. Colour marks states only when asked (a terminal, NO_COLOR unset), so piped
/// output stays plain text for grep and scripts.
func renderStatusTable(_ status: AdminStatus, colour: Bool) -> String {
    let style = StatusStyle(enabled: colour)
    var out: [String] = []
    var summary = "generation \(status.generation) · \(status.configFile) · "
    summary += status.ready ? style.good("ready") : style.bad("shutting down")
    out.append(summary)
    if let process = status.process {
        var line = "pid \(process.pid) · version \(process.version) · started \(process.startedAt)"
        if let upgrade = status.lastUpgrade {
            line += " · last upgrade: " + (upgrade.result == "success" ? style.good("success") : style.bad("failure")) + " at \(upgrade.at) — \(upgrade.detail)"
        }
        out.append(line)
    }
    if let last = status.lastReload {
        let result = last.result == "success" ? style.good("success") : style.bad("failure")
        out.append("last reload: \(result) at \(last.at)" + (last.error.map { " — \($0)" } ?? ""))
    } else {
        out.append("last reload: none since start")
    }
    out.append("")

    var routes: [[StatusCell]] = [["ROUTE", "POOL", "CONFIGURED", "EFFECTIVE"].map { StatusCell($0, style.header) }]
    for route in status.routes {
        let configuredTotal = route.pools.reduce(0) { $0 + $1.configuredWeight }
        let effectiveTotal = route.pools.reduce(0) { $0 + $1.effectiveWeight }
        for (i, pool) in route.pools.enumerated() {
            routes.append([StatusCell(i == 0 ? route.name : ""), StatusCell(pool.name),
                           StatusCell(share(pool.configuredWeight, of: configuredTotal)),
                           StatusCell(share(pool.effectiveWeight, of: effectiveTotal), pool.effectiveWeight > 0 ? style.good : style.plain)])
        }
    }
    out += layout(routes)
    out.append("")
    let ruled = status.listeners.filter { !($0.rules ?? []).isEmpty }
    if !ruled.isEmpty {
        var table: [[StatusCell]] = [["LISTENER", "RULE", "MATCH", "HITS"].map { StatusCell($0, style.header) }]
        for listener in ruled {
            for (i, rule) in (listener.rules ?? []).enumerated() {
                table.append([StatusCell(i == 0 ? listener.name : ""), StatusCell(rule.name), StatusCell(rule.match),
                              StatusCell("\(rule.hits)")])
            }
            table.append([StatusCell(""), StatusCell("(default)"), StatusCell("-> route \(listener.route)"), StatusCell("")])
        }
        out += layout(table)
        out.append("")
    }
    let rollouts = (status.rollouts ?? []).filter { $0.state != "idle" }
    if !rollouts.isEmpty {
        var table: [[StatusCell]] = [["ROLLOUT", "CANARY", "BASELINE", "STATE", "STEP", "CANARY %", "VERDICT", "WHY"]
            .map { StatusCell($0, style.header) }]
        for r in rollouts {
            let stateStyle = r.state == "failed" || r.pausedOnFailure ? style.bad : r.state == "promoted" ? style.good : style.plain
            table.append([StatusCell(r.route), StatusCell(r.canary), StatusCell(r.baseline), StatusCell(r.state, stateStyle),
                          StatusCell("\(r.step)/\(r.steps.count)"), StatusCell("\(r.canaryWeight)"),
                          StatusCell(r.verdict ?? "-"), StatusCell(r.reason)])
        }
        out += layout(table)
        out.append("")
    }

    var pools: [[StatusCell]] = [["POOL", "BACKEND", "STATE", "WEIGHT", "EFFECTIVE", "IN-FLIGHT", "CONNECTIONS", "REQUESTS", "ERRORS"]
        .map { StatusCell($0, style.header) }]
    for pool in status.pools {
        if pool.backends.isEmpty { pools.append([StatusCell(pool.name), StatusCell("(no backends)")]) }
        for (i, backend) in pool.backends.enumerated() {
            pools.append([StatusCell(i == 0 ? "\(pool.name) (\(pool.balance))" : ""), StatusCell(backend.address),
                          stateCell(backend, style),
                          StatusCell("\(backend.weight)"), StatusCell("\(backend.effectiveWeight)"),
                          StatusCell("\(backend.inFlight)"), StatusCell("\(backend.connections)"),
                          StatusCell("\(backend.requests)"), StatusCell("\(backend.errors)", backend.errors > 0 ? style.bad : style.plain)])
        }
    }
    out += layout(pools)
    return out.joined(separator: "\n") + "\n"
}

/// The state, with what else decides whether it takes traffic: the drain's or the ejection's
/// time left, or a failing backend kept because it is its pool's last.
private func stateCell(_ backend: AdminStatus.Backend, _ style: StatusStyle) -> StatusCell {
    if backend.adminState == "drain" {
        let left = (backend.drainSecondsLeft ?? 0) > 0 ? ", \(backend.drainSecondsLeft ?? 0)s left" : ""
        return StatusCell("drain (\(backend.health ?? "?")\(left))", style.warn)
    }
    if let left = backend.drainSecondsLeft { return StatusCell("draining (\(left)s left)", style.warn) }
    if let left = backend.ejectedSecondsLeft { return StatusCell("ejected (\(left)s left)", style.bad) }
    if backend.passive != nil { return StatusCell("\(backend.state), failing (last usable)", style.warn) }
    return StatusCell(backend.state, style.state(backend.state))
}

/// `100 (75%)`: the weight, and its share of the route.
private func share(_ weight: Int, of total: Int) -> String {
    let percent = total > 0 ? (weight * 1000 + total / 2) / total : 0
    let text = percent % 10 == 0 ? "\(percent / 10)%" : "\(percent / 10).\(percent % 10)%"
    return "\(weight) (\(text))"
}

/// One cell: its text, and how to paint it. Widths count the text only, never the escapes.
struct StatusCell: ExpressibleByStringLiteral {
    var text: String
    var paint: (String) -> String

    init(_ text: String, _ paint: @escaping (String) -> String = { $0 }) {
        self.text = text
        self.paint = paint
    }

    init(stringLiteral text: String) { self.init(text) }
}

/// Left-aligned columns two spaces apart; trailing spaces trimmed.
private func layout(_ rows: [[StatusCell]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) } }
    return rows.map { row in
        var line = ""
        for (i, cell) in row.enumerated() {
            let last = i == row.count - 1
            line += cell.paint(cell.text) + (last ? "" : String(repeating: " ", count: widths[i] - cell.text.count + 2))
        }
        return line
    }
}

/// ANSI SGR colours, or nothing.
struct StatusStyle {
    let enabled: Bool

    private func sgr(_ code: String) -> (String) -> String {
        let on = enabled
        return { on ? "\u{1B}[\(code)m\($0)\u{1B}[0m" : $0 }
    }

    var header: (String) -> String { sgr("1") }
    var plain: (String) -> String { { $0 } }
    var good: (String) -> String { sgr("32") }
    var bad: (String) -> String { sgr("31") }
    var warn: (String) -> String { sgr("33") }

    func state(_ state: String) -> (String) -> String {
        switch state {
        case "healthy": good
        case "unhealthy": bad
        default: warn  // checking, draining
        }
    }
}
