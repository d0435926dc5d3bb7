/// `/status`'s `fleet` object (present only with `cluster:` set): whether etcd answers, the
/// generation in force and the last error. The data plane and `/ready` never depend on it.
public struct FleetStatusDocument: Codable, Sendable {
    public var instance: String
    public var prefix: String
    /// Every configured endpoint, in the order tried.
    public var endpoints: [String]
    public var connected: Bool
    /// The endpoint answering now (null while none does).
    public var endpoint: String?
    /// The fleet generation in force (0: none yet, the local file alone).
    public var appliedGeneration: Int64
    /// Who wrote the generation in force.
    public var appliedBy: String?
    /// The last generation refused (null once a later one applied).
    public var refusedGeneration: Int64?
    /// The last error: a refusal, or why etcd is unreachable (null when none).
    public var lastError: String?

    package init(instance: String, prefix: String, endpoints: [String], connected: Bool, endpoint: String?,
                 appliedGeneration: Int64, appliedBy: String?, refusedGeneration: Int64?, lastError: String?) {
        self.instance = instance
        self.prefix = prefix
        self.endpoints = endpoints
        self.connected = connected
        self.endpoint = endpoint
        self.appliedGeneration = appliedGeneration
        self.appliedBy = appliedBy
        self.refusedGeneration = refusedGeneration
        self.lastError = lastError
    }

    private enum CodingKeys: String, CodingKey {
        case instance, prefix, endpoints, connected, endpoint, appliedGeneration, appliedBy, refusedGeneration, lastError
    }

    /// Written by hand so that absent values are explicit nulls.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(instance, forKey: .instance)
        try c.encode(prefix, forKey: .prefix)
        try c.encode(endpoints, forKey: .endpoints)
        try c.encode(connected, forKey: .connected)
        if let endpoint { try c.encode(endpoint, forKey: .endpoint) } else { try c.encodeNil(forKey: .endpoint) }
        try c.encode(appliedGeneration, forKey: .appliedGeneration)
        if let appliedBy { try c.encode(appliedBy, forKey: .appliedBy) } else { try c.encodeNil(forKey: .appliedBy) }
        if let refusedGeneration { try c.encode(refusedGeneration, forKey: .refusedGeneration) } else { try c.encodeNil(forKey: .refusedGeneration) }
        if let lastError { try c.encode(lastError, forKey: .lastError) } else { try c.encodeNil(forKey: .lastError) }
    }
}
