import Config
import Foundation

/// What `POST /reload` did: the reload's result and, when applied, what changed.
package struct AdminReloadOutcome: Sendable {
    package var result: Result<UInt64, ConfigError>
    package var changes: [String]

    package init(result: Result<UInt64, ConfigError>, changes: [String]) {
        self.result = result
        self.changes = changes
    }
}

/// The admin API's routes (INTERFACE.md): a pure function of the request, the published state
/// and the actions, so the socket code knows nothing about what it serves. The control plane
/// supplies both as closures, so this target knows nothing of the control plane either.
package struct AdminAPI: Sendable {
    /// The control plane's published state, read once per request (see `AdminView`).
    let view: @Sendable () -> AdminView
    /// Runs a reload on the control plane's serial queue and waits for it.
    let reload: @Sendable () -> AdminReloadOutcome
    /// Runs a backend operation (file edit + reload) on the control plane's queue and waits for it.
    package var backendOperation: @Sendable (String, HostPort, BackendOperation) -> Result<AdminReloadOutcome, BackendOperationError> = { _, _, _ in
        .failure(BackendOperationError(status: 503, description: "backend operations are not available"))
    }
    /// Upgrades the binary (`POST /upgrade`); returns the new process's pid once it serves.
    package var upgrade: @Sendable (String?, Config.Duration?) -> Result<Int32, UpgradeFailure> = { _, _ in
        .failure(UpgradeFailure(status: 503, description: "upgrades are not available"))
    }
    /// Runs a rollout command on the control plane's queue and waits for it.
    package var rollout: @Sendable (String, RolloutAction) -> Result<RolloutDocument, RolloutCommandError> = { _, _ in
        .failure(RolloutCommandError(status: 503, description: "rollouts are not available"))
    }

    package init(view: @escaping @Sendable () -> AdminView, reload: @escaping @Sendable () -> AdminReloadOutcome) {
        self.view = view
        self.reload = reload
    }

    package func handle(_ request: AdminRequest) -> AdminResponse {
        let snapshot = view()
        switch request.path {
        // Liveness and readiness stay open: load balancers and orchestrators probe them
        // without credentials.
        case "/healthz":
            return only(["GET", "HEAD"], request) { AdminResponse(status: 200, text: "ok\n") }
        case "/ready":
            return only(["GET", "HEAD"], request) {
                snapshot.stopping ? AdminResponse(status: 503, text: "shutting down\n") : AdminResponse(status: 200, text: "ready\n")
            }
        default:
            break
        }
        if let token = snapshot.token, !AdminAuth.authorizes(request.authorization, token: token) {
            var response = AdminResponse(status: 401, text: "unauthorized: send Authorization: Bearer <admin.token>\n")
            response.headers.append(("WWW-Authenticate", "Bearer realm=\"cutover\""))
            return response
        }
        switch request.path {
        case "/status":
            return only(["GET", "HEAD"], request) { AdminResponse(status: 200, json: AdminJSON.encode(snapshot.status())) }
        case "/metrics":
            return only(["GET", "HEAD"], request) {
                var response = AdminResponse(status: 200, text: snapshot.metrics())
                response.contentType = "text/plain; version=0.0.4; charset=utf-8"
                return response
            }
        case "/reload":
            return only(["POST"], request) { reloadResponse(stopping: snapshot.stopping) }
        case "/upgrade":
            return only(["POST"], request) { upgradeResponse(request) }
        case "/rollouts", "/rollouts/":
            return only(["GET", "HEAD"], request) { AdminResponse(status: 200, json: AdminJSON.encode(RolloutList(rollouts: snapshot.rollouts))) }
        case let path where path.hasPrefix("/backends/"):
            return backendResponse(request, path: path.dropFirst("/backends/".count))
        case let path where path.hasPrefix("/rollouts/"):
            return rolloutResponse(request, path: path.dropFirst("/rollouts/".count), snapshot: snapshot)
        default:
            return AdminResponse(status: 404, text: "not found: the admin API has /status, /metrics, /healthz, /ready, /reload, /rollouts\n")
        }
    }

    private func reloadResponse(stopping: Bool) -> AdminResponse {
        guard !stopping else {
            return AdminResponse(status: 503, json: AdminJSON.encode(AdminReloadAnswer(ok: false, error: "shutting down: not reloading")))
        }
        let outcome = reload()
        switch outcome.result {
        case .success(let generation):
            return AdminResponse(status: 200, json: AdminJSON.encode(AdminReloadAnswer(ok: true, generation: generation, changes: outcome.changes)))
        case .failure(let error):
            return AdminResponse(status: 422, json: AdminJSON.encode(AdminReloadAnswer(ok: false, error: error.description)))
        }
    }

    /// `GET /rollouts/ROUTE`, `POST /rollouts/ROUTE/start?pool=P[&baseline=B]`,
    /// `POST /rollouts/ROUTE/pause|resume|abort`, `POST /rollouts/ROUTE/promote[?now=1]`.
    private func rolloutResponse(_ request: AdminRequest, path: Substring, snapshot: AdminView) -> AdminResponse {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let route = parts[0]
        if parts.count == 1 {
            return only(["GET", "HEAD"], request) {
                guard let document = snapshot.rollouts.first(where: { $0.route == route }) else {
                    return refused(RolloutCommandError(status: 404, description: "route '\(route)' has no rollout policy and no rollout"))
                }
                return AdminResponse(status: 200, json: AdminJSON.encode(document))
            }
        }
        guard parts.count == 2 else { return AdminResponse(status: 404, text: "not found: \(request.path)\n") }
        let action: RolloutAction
        switch parts[1] {
        case "start":
            guard let pool = request.query["pool"], !pool.isEmpty else {
                return refused(RolloutCommandError(status: 422, description: "start needs ?pool=CANARY (and optionally &baseline=POOL)"))
            }
            action = .start(canary: pool, baseline: request.query["baseline"].flatMap { $0.isEmpty ? nil : $0 })
        case "pause": action = .pause
        case "resume": action = .resume
        case "abort": action = .abort
        case "promote": action = .promote(now: ["1", "true", "yes"].contains(request.query["now"]?.lowercased() ?? ""))
        default:
            return AdminResponse(status: 404, text: "not found: rollout commands are start, pause, resume, promote, abort\n")
        }
        return only(["POST"], request) {
            switch rollout(route, action) {
            case .success(let document): return AdminResponse(status: 200, json: AdminJSON.encode(document))
            case .failure(let error): return refused(error)
            }
        }
    }

    /// `POST /backends/POOL/add?address=HOST:PORT[&weight=W]`,
    /// `POST /backends/POOL/drain|enable|remove?address=HOST:PORT`,
    /// `POST /backends/POOL/weight?address=HOST:PORT&weight=W`.
    private func backendResponse(_ request: AdminRequest, path: Substring) -> AdminResponse {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func refuse(_ status: Int, _ message: String) -> AdminResponse {
            AdminResponse(status: status, json: AdminJSON.encode(AdminReloadAnswer(ok: false, error: message)))
        }
        guard parts.count == 2, !parts[0].isEmpty else {
            return AdminResponse(status: 404, text: "not found: backend operations are POST /backends/POOL/add|drain|enable|remove|weight?address=HOST:PORT\n")
        }
        guard let raw = request.query["address"], let address = HostPort(parsing: raw) else {
            return refuse(422, "give the backend as ?address=HOST:PORT (IPv6 as [::1]:8080)")
        }
        var weight: Int?
        if let text = request.query["weight"] {
            guard let value = Int(text), (0...256).contains(value) else { return refuse(422, "weight must be 0 to 256, not '\(text)'") }
            weight = value
        }
        let operation: BackendOperation
        switch parts[1] {
        case "add": operation = .add(weight: weight)
        case "drain": operation = .drain
        case "enable": operation = .enable
        case "remove": operation = .remove
        case "weight":
            guard let weight else { return refuse(422, "weight needs ?weight=W (0 to 256)") }
            operation = .weight(weight)
        default:
            return AdminResponse(status: 404, text: "not found: backend operations are add, drain, enable, remove, weight\n")
        }
        return only(["POST"], request) {
            switch backendOperation(parts[0], address, operation) {
            case .success(let outcome):
                guard case .success(let generation) = outcome.result else { return refuse(422, "the reload was rejected") }
                return AdminResponse(status: 200, json: AdminJSON.encode(AdminReloadAnswer(ok: true, generation: generation, changes: outcome.changes)))
            case .failure(let error):
                return refuse(error.status, error.description)
            }
        }
    }

    /// `POST /upgrade[?binary=PATH][&timeout=30s]`: 200 `{"ok":true,"pid":N}` once the new process
    /// serves (this one then drains), else 409/422/503 with `{"ok":false,"error":"…"}`.
    private func upgradeResponse(_ request: AdminRequest) -> AdminResponse {
        var timeout: Config.Duration?
        if let text = request.query["timeout"] {
            guard let parsed = Config.Duration(parsing: text), parsed.nanoseconds > 0 else {
                return AdminResponse(status: 422, json: AdminJSON.encode(UpgradeAnswer(ok: false, error: "timeout must be a duration like 30s, not '\(text)'")))
            }
            timeout = parsed
        }
        let binary = request.query["binary"].flatMap { $0.isEmpty ? nil : $0 }
        switch upgrade(binary, timeout) {
        case .success(let pid):
            return AdminResponse(status: 200, json: AdminJSON.encode(UpgradeAnswer(ok: true, pid: pid)))
        case .failure(let error):
            return AdminResponse(status: error.status, json: AdminJSON.encode(UpgradeAnswer(ok: false, error: error.description)))
        }
    }

    private func refused(_ error: RolloutCommandError) -> AdminResponse {
        AdminResponse(status: error.status, json: AdminJSON.encode(RolloutCommandAnswer(ok: false, error: error.description)))
    }

    /// 405 with `Allow` unless the method is one of `methods`.
    private func only(_ methods: [String], _ request: AdminRequest, _ answer: () -> AdminResponse) -> AdminResponse {
        guard methods.contains(request.method) else {
            var response = AdminResponse(status: 405, text: "method not allowed: use \(methods.joined(separator: " or "))\n")
            response.headers.append(("Allow", methods.joined(separator: ", ")))
            return response
        }
        return answer()
    }
}

/// The bearer-token check.
enum AdminAuth {
    /// `Authorization: Bearer <token>` (the scheme case-insensitive, RFC 9110 §11.1) carrying
    /// exactly `token`.
    static func authorizes(_ authorization: String?, token: String) -> Bool {
        guard let authorization else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        return constantTimeEquals(Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), Array(token.utf8))
    }

    /// Compares without an early exit, so the time taken does not tell an attacker how many
    /// leading bytes were right. It loops over the expected token's length whatever was sent:
    /// only that length (not its content) could show in the timing.
    static func constantTimeEquals(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for i in 0..<expected.count {
            difference |= (i < given.count ? given[i] : 0) ^ expected[i]
        }
        return difference == 0
    }
}
