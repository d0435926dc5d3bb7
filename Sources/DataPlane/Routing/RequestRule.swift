import EventLoop
import HTTP1

/// One rule of a listener, as the data plane matches it: conditions prepared as bytes, and what
/// to do with a request that meets them all. First match wins; none: the listener's route.
public struct RequestRule: Sendable {
    public enum Action: Sendable {
        /// Routed to the route of this name (resolved per snapshot by the worker).
        case route(String)
        /// Answered by the proxy.
        case respond(status: Int, body: [UInt8])
        /// Redirected to `location` + the request's path and query; `status` nil: 301 for GET and
        /// HEAD, 308 for the rest.
        case redirect(location: [UInt8], status: Int?)
    }

    /// A header or cookie condition: exactly `value`, or present when nil.
    public struct FieldCondition: Sendable {
        public var name: [UInt8]
        public var value: [UInt8]?
        public init(name: String, value: String?) {
            self.name = Array(name.utf8)
            self.value = value.map { Array($0.utf8) }
        }
    }

    public var name: String
    public var host: HostPattern?
    public var path: PathPattern?
    public var headers: [FieldCondition]
    public var cookies: [FieldCondition]
    public var action: Action
    public var requestEdits: HeaderEdits
    public var responseEdits: HeaderEdits
    /// Stable across reloads for the listener and rule names: the workers' hit counters use it.
    public var metricsID: Int

    public init(name: String, host: HostPattern? = nil, path: PathPattern? = nil, headers: [FieldCondition] = [],
                cookies: [FieldCondition] = [], action: Action, requestEdits: HeaderEdits = .none,
                responseEdits: HeaderEdits = .none, metricsID: Int = 0) {
        self.name = name
        self.host = host
        self.path = path
        self.headers = headers
        self.cookies = cookies
        self.action = action
        self.requestEdits = requestEdits
        self.responseEdits = responseEdits
        self.metricsID = metricsID
    }

    /// Whether the request meets every condition. `host`: its host name (`hostName(of:)`), nil
    /// when it has none; `path`: its normalised path.
    func matches(host requestHost: UnsafeRawBufferPointer?, path requestPath: UnsafeRawBufferPointer,
                 head: RequestHead, source: UnsafeRawBufferPointer) -> Bool {
        if let host {
            guard let requestHost, host.matches(requestHost) else { return false }
        }
        if let path, !path.matches(requestPath) { return false }
        for condition in headers {
            let met = condition.name.withUnsafeBytes { name in
                condition.value.withUnsafeBytesIfPresent { value in
                    anyField(named: name, equals: value, in: head.fields, source: source)
                }
            }
            if !met { return false }
        }
        for condition in cookies {
            let met = condition.name.withUnsafeBytes { name in
                condition.value.withUnsafeBytesIfPresent { value in
                    anyCookie(named: name, equals: value, in: head.fields, source: source)
                }
            }
            if !met { return false }
        }
        return true
    }
}

extension Optional where Wrapped == [UInt8] {
    /// `body` with the bytes, or with nil when there are none.
    @inline(__always)
    func withUnsafeBytesIfPresent<R>(_ body: (UnsafeRawBufferPointer?) -> R) -> R {
        switch self {
        case .some(let bytes): bytes.withUnsafeBytes { body($0) }
        case .none: body(nil)
        }
    }
}

/// A listener's rules with what a request's match needs: whether paths are normalised, and per
/// rule the route index under the current snapshot.
struct ListenerRules {
    let rules: [RequestRule]
    /// Some rule matches by path: requests are matched, and forwarded, with the normal form.
    let normalizesPaths: Bool
    /// Per rule: its route's index in the current snapshot (nil: an answer rule, or a route the
    /// snapshot lacks).
    private(set) var routeIndices: [Int?]

    init(_ rules: [RequestRule]) {
        self.rules = rules
        normalizesPaths = rules.contains { $0.path != nil }
        routeIndices = Array(repeating: nil, count: rules.count)
    }

    var isEmpty: Bool { rules.isEmpty }

    /// "/", for requests whose target has no path (absolute-form without one, `*`).
    static var rootPath: UnsafeRawBufferPointer {
        let root: StaticString = "/"
        return UnsafeRawBufferPointer(start: root.utf8Start, count: root.utf8CodeUnitCount)
    }

    /// Rule `i` answers the request itself (`respond`, `redirect`) instead of routing it.
    func answers(_ i: Int) -> Bool {
        if case .route = rules[i].action { return false }
        return true
    }

    /// Resolves route names under a new snapshot.
    mutating func resolve(_ routing: WorkerRouting) {
        for (i, rule) in rules.enumerated() {
            if case .route(let name) = rule.action { routeIndices[i] = routing.routeIndex(named: name) } else { routeIndices[i] = nil }
        }
    }

    /// The index of the first rule the request meets.
    func firstMatch(host: UnsafeRawBufferPointer?, path: UnsafeRawBufferPointer, head: RequestHead,
                    source: UnsafeRawBufferPointer) -> Int? {
        for i in rules.indices where rules[i].matches(host: host, path: path, head: head, source: source) { return i }
        return nil
    }
}
