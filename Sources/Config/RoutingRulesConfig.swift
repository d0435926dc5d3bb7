/// Routing by request: a listener's `rules`, a route's `hash_on` and header edits.

/// One header condition of a rule: the field (or cookie) `name` with exactly `value`, or present
/// at all when `value` is nil (written `true`).
public struct FieldMatchConfig: Sendable, Hashable {
    public var name: String
    public var value: String?
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// What a rule does with a request it matches.
public enum RuleActionConfig: Sendable, Hashable {
    /// Route it (the route's split, sticky, cohorts and rollout apply).
    case route(String)
    /// The proxy answers itself: `respond: 200` (with `body:`).
    case respond(status: Int, body: String)
    /// `redirect: https://example.com` — the path and query are kept. `status`: nil means 301 for
    /// GET and HEAD, 308 for other methods (which must not turn into a GET).
    case redirect(to: String, status: Int?)
}

/// `request_headers:` / `response_headers:` — fields set (replacing any of that name), added
/// (beside any of that name) and removed. Values may name `${route}` and `${pool}`.
public struct HeaderEditsConfig: Sendable, Hashable {
    /// `set:` — each replaces every field of its name.
    public var replacing: [HeaderLineConfig] = []
    /// `add:` — each goes beside the fields of its name.
    public var adding: [HeaderLineConfig] = []
    /// `remove:` — names of fields dropped.
    public var removing: [String] = []
    public init(replacing: [HeaderLineConfig] = [], adding: [HeaderLineConfig] = [], removing: [String] = []) {
        self.replacing = replacing
        self.adding = adding
        self.removing = removing
    }
    public var isEmpty: Bool { replacing.isEmpty && adding.isEmpty && removing.isEmpty }
}

public struct HeaderLineConfig: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One entry of a listener's `rules`: conditions (all must hold; none is a catch-all), then
/// an action. First match wins; the listener's `route` takes what no rule matches.
public struct RuleConfig: Sendable, Hashable {
    /// `name:`, else `rule1`, `rule2`… by position: the label of its metrics and status.
    public var name: String
    /// Host pattern as written, lower-cased: `api.example.com` or `*.example.com`.
    public var host: String?
    public var path: String?
    public var pathPrefix: String?
    public var headers: [FieldMatchConfig] = []
    public var cookies: [FieldMatchConfig] = []
    public var action: RuleActionConfig
    public var requestHeaders = HeaderEditsConfig()
    public var responseHeaders = HeaderEditsConfig()
    public var location: SourceLocation

    public init(name: String, action: RuleActionConfig, location: SourceLocation) {
        self.name = name
        self.action = action
        self.location = location
    }

    /// No condition: every request matches (rules after it are never reached).
    public var isCatchAll: Bool {
        host == nil && path == nil && pathPrefix == nil && headers.isEmpty && cookies.isEmpty
    }

    /// Matches by path: the listener then matches and forwards the normalised path.
    public var matchesPath: Bool { path != nil || pathPrefix != nil }
}

/// `hash_on:` — what a route's stable cohorts are keyed by.
public enum HashOnConfig: Sendable, Hashable, CustomStringConvertible {
    case header(String)
    case cookie(String)
    case clientAddress

    public var description: String {
        switch self {
        case .header(let name): "header:\(name)"
        case .cookie(let name): "cookie:\(name)"
        case .clientAddress: "client_address"
        }
    }
}

/// Something the config allows but an operator should hear about (`check` prints it, a reload
/// logs it): a rule no request can reach, say.
public struct ConfigWarning: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): warning: \(message)" }
}
