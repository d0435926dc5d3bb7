import Yams

/// The top level of `cutover.yaml`: reads each section, then checks what spans sections
/// (a listener's route exists, a route's pools exist, addresses are not used twice).
enum RootSection {
    static let keys = ["workers", "admin", "listeners", "routes", "pools", "timeouts", "limits", "access_log", "state_dir", "cluster"]

    static func parse(_ root: Node, reader: NodeReader) throws(ConfigError) -> CutoverConfig {
        let section = try reader.section(root, "", allowed: keys)
        var workers = WorkerCount.auto
        if let node = section.value("workers") { workers = try parseWorkers(node, reader: reader) }
        var admin: AdminSection.Parsed?
        if let node = section.value("admin") { admin = try AdminSection.parse(node, path: "admin", reader: reader) }
        let listeners = try ListenerSection.parseAll(section.required("listeners"), path: "listeners", reader: reader)
        let routes = try RouteSection.parseAll(section.required("routes"), path: "routes", reader: reader)
        let pools = try PoolSection.parseAll(section.required("pools"), path: "pools", reader: reader)
        var timeouts = TimeoutsConfig()
        if let node = section.value("timeouts") { timeouts = try TimeoutsSection.parse(node, path: "timeouts", reader: reader) }
        var limits = LimitsConfig()
        if let node = section.value("limits") { limits = try LimitsSection.parse(node, path: "limits", reader: reader) }
        var accessLog = AccessLogConfig.off
        var accessLogLocation: SourceLocation?
        if let node = section.value("access_log") {
            accessLog = try parseAccessLog(node, reader: reader)
            accessLogLocation = reader.location(of: node)
        }

        var stateDirectory = defaultStateDirectory(reader.file)
        if let node = section.value("state_dir") { stateDirectory = try reader.string(node, "state_dir") }
        var cluster: ClusterConfig?
        if let node = section.value("cluster") { cluster = try ClusterSection.parse(node, path: "cluster", reader: reader) }

        try CrossReferences.check(admin: admin, listeners: listeners, routes: routes, pools: pools, reader: reader)

        return CutoverConfig(
            file: reader.file,
            workers: workers,
            admin: admin?.config,
            listeners: listeners.map(\.config),
            routes: routes.map(\.config),
            pools: pools,
            timeouts: timeouts,
            limits: limits,
            accessLog: accessLog,
            accessLogLocation: accessLogLocation,
            stateDirectory: stateDirectory,
            cluster: cluster,
            warnings: CrossReferences.warnings(listeners: listeners))
    }

    /// The config file's directory ("." for a bare file name).
    static func defaultStateDirectory(_ file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "." }
        return slash == file.startIndex ? "/" : String(file[..<slash])
    }

    /// `auto` or 1...1024 threads (the cap only catches typos such as `workers: 40000`).
    static func parseWorkers(_ node: Node, reader: NodeReader) throws(ConfigError) -> WorkerCount {
        let expected = "'auto' or a number of threads from 1 to 1024"
        let raw = try reader.text(node, "workers", expected: expected)
        if raw == "auto" { return .auto }
        guard let count = NodeReader.decimal(raw), (1...1024).contains(count) else {
            throw reader.mismatch(node, "workers", expected: expected)
        }
        return .fixed(count)
    }

    /// `off | stdout | PATH`. YAML 1.1 reads a plain `off` as the boolean false, so `false` and `no`
    /// also mean off; `true`/`yes`/`on` are refused rather than taken as a file named "true".
    static func parseAccessLog(_ node: Node, reader: NodeReader) throws(ConfigError) -> AccessLogConfig {
        let expected = "'off', 'stdout' or a file path"
        let raw = try reader.text(node, "access_log", expected: expected)
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch raw.lowercased() {
            case "off", "false", "no": return .off
            case "on", "true", "yes": throw reader.mismatch(node, "access_log", expected: expected)
            default: break
            }
        }
        switch raw {
        case "off": return .off
        case "stdout": return .stdout
        case "": throw reader.mismatch(node, "access_log", expected: expected)
        default: return .file(raw)
        }
    }
}
