import Config
import EventLoop
import Foundation
import Glibc

/// One key's value as etcd keeps it.
public struct EtcdKeyValue: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: Int64
    public var text: String { String(decoding: value, as: UTF8.self) }
}

/// A condition of a transaction: the key's `mod_revision` or `version` equals a value (0 for a
/// key that does not exist).
public enum EtcdCompare: Sendable {
    case modRevision(key: String, equals: Int64)
    case version(key: String, equals: Int64)
}

/// An operation of a transaction.
public enum EtcdOperation: Sendable {
    case put(key: String, value: [UInt8], lease: Int64?)
    case get(key: String)
    case delete(key: String)
}

/// A transaction's outcome: whether the compares held (the success branch ran), the store's
/// revision after it, and the values the branch's gets read.
public struct EtcdTxnResult: Sendable {
    public var succeeded: Bool
    public var revision: Int64
    public var values: [EtcdKeyValue]
}

/// A client of etcd's v3 API over its JSON gateway (`POST /v3/kv/range` …): HTTP/1.1, keys and
/// values base64, 64-bit numbers as strings. No gRPC, no dependency beyond Foundation's JSON.
///
/// Each call tries the endpoints in turn, starting from the one that answered last, and fails
/// with `EtcdError.unreachable` only when none answered; `attempts` rounds are made with a
/// doubling pause (from 100 ms) between them. Safe to use from several threads.
public final class EtcdClient: Sendable {
    public let endpoints: [ClusterConfig.Endpoint]
    private let preferred = Locked(0)

    public init(endpoints: [ClusterConfig.Endpoint]) {
        precondition(!endpoints.isEmpty, "an etcd client needs an endpoint")
        self.endpoints = endpoints
    }

    /// The endpoint that answered last (where the next call starts).
    public var currentEndpoint: ClusterConfig.Endpoint { endpoints[preferred.withLock { $0 }] }

    // MARK: - Calls

    /// The key's value (nil: absent) and the store's revision.
    public func get(_ key: String, timeout: Double = 3, attempts: Int = 1) throws(EtcdError) -> (value: EtcdKeyValue?, revision: Int64) {
        let answer = try call("/v3/kv/range", ["key": Self.b64(key)], timeout: timeout, attempts: attempts)
        return (Self.keyValues(answer["kvs"]).first, Self.revision(answer))
    }

    /// Every key under `prefix` (sorted by key) and the store's revision.
    public func list(prefix: String, timeout: Double = 3, attempts: Int = 1) throws(EtcdError) -> (values: [EtcdKeyValue], revision: Int64) {
        let answer = try call("/v3/kv/range", ["key": Self.b64(prefix), "range_end": Self.b64(Self.rangeEnd(prefix))],
                              timeout: timeout, attempts: attempts)
        return (Self.keyValues(answer["kvs"]).sorted { $0.key < $1.key }, Self.revision(answer))
    }

    /// Writes `value` at `key` (held by `lease` when given); returns the store's revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil, timeout: Double = 3, attempts: Int = 1) throws(EtcdError) -> Int64 {
        var body: [String: Any] = ["key": Self.b64(key), "value": Data(value).base64EncodedString()]
        if let lease { body["lease"] = String(lease) }
        return Self.revision(try call("/v3/kv/put", body, timeout: timeout, attempts: attempts))
    }

    /// One transaction: `success` if every compare holds, else `failure`.
    public func txn(_ compares: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation] = [],
                    timeout: Double = 3, attempts: Int = 1) throws(EtcdError) -> EtcdTxnResult {
        let body: [String: Any] = [
            "compare": compares.map(Self.json),
            "success": success.map(Self.json),
            "failure": failure.map(Self.json),
        ]
        let answer = try call("/v3/kv/txn", body, timeout: timeout, attempts: attempts)
        var values: [EtcdKeyValue] = []
        for response in answer["responses"] as? [[String: Any]] ?? [] {
            if let range = response["response_range"] as? [String: Any] { values += Self.keyValues(range["kvs"]) }
        }
        // proto3 JSON leaves out false booleans: no "succeeded" means the compares failed.
        return EtcdTxnResult(succeeded: answer["succeeded"] as? Bool ?? false, revision: Self.revision(answer), values: values)
    }

    /// A new lease of `ttl` seconds; returns its id.
    public func grantLease(ttl: Int, timeout: Double = 3) throws(EtcdError) -> Int64 {
        let answer = try call("/v3/lease/grant", ["TTL": String(ttl)], timeout: timeout, attempts: 1)
        guard let id = Self.int(answer["ID"]), id != 0 else {
            throw .failed(endpoint: currentEndpoint.description, message: "lease grant answered no id: \(answer["error"] ?? "")")
        }
        return id
    }

    /// Renews `lease`; returns the seconds it now has (0: it had expired, and is gone).
    public func keepAlive(lease: Int64, timeout: Double = 3) throws(EtcdError) -> Int64 {
        let answer = try call("/v3/lease/keepalive", ["ID": String(lease)], timeout: timeout, attempts: 1)
        let result = answer["result"] as? [String: Any] ?? answer
        return Self.int(result["TTL"]) ?? 0
    }

    /// Ends `lease` now: the keys it holds go at once.
    public func revoke(lease: Int64, timeout: Double = 1) throws(EtcdError) {
        _ = try call("/v3/lease/revoke", ["ID": String(lease)], timeout: timeout, attempts: 1)
    }

    /// Starts watching `key` from `revision` (events at that revision and after). The caller
    /// reads the stream with `WatchStream.next`.
    public func watch(_ key: String, fromRevision revision: Int64, timeout: Double = 3) throws(EtcdError) -> WatchStream {
        let body: [String: Any] = ["create_request": ["key": Self.b64(key), "start_revision": String(revision)]]
        var reasons: [String] = []
        for index in order() {
            let endpoint = endpoints[index]
            do throws(GatewayFailure) {
                let connection = try GatewayConnection(endpoint, path: "/v3/watch", json: Self.encode(body), deadline: Self.deadline(timeout))
                try connection.readHead(deadline: Self.deadline(timeout))
                guard connection.status == 200 else {
                    let text = String(decoding: (try? connection.readAll(deadline: Self.deadline(timeout))) ?? [], as: UTF8.self)
                    throw GatewayFailure("\(endpoint): HTTP \(connection.status) \(text.prefix(200))")
                }
                preferred.withLock { $0 = index }
                return WatchStream(connection: connection)
            } catch {
                reasons.append(error.description)
            }
        }
        throw .unreachable(reasons)
    }

    // MARK: - Plumbing

    private func order() -> [Int] {
        let start = preferred.withLock { $0 }
        return (0..<endpoints.count).map { (start + $0) % endpoints.count }
    }

    /// POSTs `body` to `path`, endpoint after endpoint, `attempts` rounds with a doubling pause.
    func call(_ path: String, _ body: [String: Any], timeout: Double, attempts: Int) throws(EtcdError) -> [String: Any] {
        let json = Self.encode(body)
        var reasons: [String] = []
        var pause: UInt32 = 100_000
        for round in 0..<max(1, attempts) {
            if round > 0 {
                usleep(pause)
                pause = min(pause * 2, 2_000_000)
            }
            reasons.removeAll()
            for index in order() {
                let endpoint = endpoints[index]
                let deadline = Self.deadline(timeout)
                let bytes: [UInt8]
                let status: Int
                do throws(GatewayFailure) {
                    let connection = try GatewayConnection(endpoint, path: path, json: json, deadline: deadline)
                    try connection.readHead(deadline: deadline)
                    bytes = try connection.readAll(deadline: deadline)
                    status = connection.status
                } catch {
                    reasons.append(error.description)
                    continue
                }
                preferred.withLock { $0 = index }
                let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
                guard status == 200, let object else {
                    let message = (object?["message"] as? String) ?? (object?["error"] as? String) ?? String(decoding: bytes.prefix(200), as: UTF8.self)
                    throw .failed(endpoint: endpoint.description, message: "HTTP \(status): \(message)")
                }
                return object
            }
        }
        throw .unreachable(reasons)
    }

    static func deadline(_ seconds: Double) -> UInt64 {
        MonotonicClock.now() &+ UInt64(max(0, seconds) * 1e9)
    }

    static func encode(_ body: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8))
    }

    static func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    static func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The first key after every key that starts with `prefix` (its last byte plus one).
    static func rangeEnd(_ prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }

    /// etcd's 64-bit numbers come as strings; small ones may come as numbers.
    static func int(_ value: Any?) -> Int64? {
        if let text = value as? String { return Int64(text) }
        if let number = value as? NSNumber { return number.int64Value }
        return nil
    }

    static func revision(_ answer: [String: Any]) -> Int64 {
        int((answer["header"] as? [String: Any])?["revision"]) ?? 0
    }

    static func keyValues(_ value: Any?) -> [EtcdKeyValue] {
        (value as? [[String: Any]] ?? []).compactMap(keyValue)
    }

    static func keyValue(_ kv: [String: Any]) -> EtcdKeyValue? {
        guard let keyText = kv["key"] as? String, let key = Data(base64Encoded: keyText) else { return nil }
        let value = (kv["value"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
        return EtcdKeyValue(key: String(decoding: key, as: UTF8.self), value: Array(value),
                            createRevision: int(kv["create_revision"]) ?? 0, modRevision: int(kv["mod_revision"]) ?? 0,
                            version: int(kv["version"]) ?? 0, lease: int(kv["lease"]) ?? 0)
    }

    static func json(_ compare: EtcdCompare) -> [String: Any] {
        switch compare {
        case .modRevision(let key, let value):
            ["key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": String(value)]
        case .version(let key, let value):
            ["key": b64(key), "target": "VERSION", "result": "EQUAL", "version": String(value)]
        }
    }

    static func json(_ operation: EtcdOperation) -> [String: Any] {
        switch operation {
        case .put(let key, let value, let lease):
            var put: [String: Any] = ["key": b64(key), "value": b64(value)]
            if let lease { put["lease"] = String(lease) }
            return ["request_put": put]
        case .get(let key):
            return ["request_range": ["key": b64(key)]]
        case .delete(let key):
            return ["request_delete_range": ["key": b64(key)]]
        }
    }
}

/// One watch's stream of answers, read by the thread that opened it.
public final class WatchStream {
    /// What one answer of the stream says.
    public enum Message: Sendable {
        /// The watch is in place; `revision` is the store's revision then.
        case created(revision: Int64)
        /// Changes to the key: its values (a deletion has an empty value and version 0).
        case events([EtcdKeyValue], revision: Int64)
        /// The revision asked for is compacted away: read the key again and watch from now.
        case compacted(compactRevision: Int64)
        /// etcd ended the watch (for another reason).
        case canceled(reason: String)
        /// A progress notice or something this client does not use.
        case other
    }

    private let connection: GatewayConnection

    init(connection: GatewayConnection) {
        self.connection = connection
    }

    public var endpoint: ClusterConfig.Endpoint { connection.endpoint }

    /// The next message, waiting until `deadline` (`EtcdError` with a `timedOut` reason then:
    /// see `WatchTimeout`). Throws when the connection breaks or the stream ends.
    public func next(deadline: UInt64) throws(WatchEnd) -> Message {
        let object: [UInt8]?
        do {
            object = try connection.nextObject(deadline: deadline)
        } catch {
            throw error.timedOut ? .timedOut : .broken(error.description)
        }
        guard let object else { throw .broken("\(connection.endpoint): the watch stream ended") }
        guard let json = (try? JSONSerialization.jsonObject(with: Data(object))) as? [String: Any] else {
            throw .broken("\(connection.endpoint): the watch stream sent something that is not JSON")
        }
        if let error = json["error"] as? [String: Any] {
            throw .broken("\(connection.endpoint): \(error["message"] as? String ?? "watch error")")
        }
        guard let result = json["result"] as? [String: Any] else { return .other }
        let revision = EtcdClient.revision(result)
        if let compacted = EtcdClient.int(result["compact_revision"]), compacted > 0 {
            return .compacted(compactRevision: compacted)
        }
        if result["canceled"] as? Bool == true {
            return .canceled(reason: result["cancel_reason"] as? String ?? "canceled")
        }
        if result["created"] as? Bool == true { return .created(revision: revision) }
        if let events = result["events"] as? [[String: Any]] {
            return .events(events.compactMap { ($0["kv"] as? [String: Any]).flatMap(EtcdClient.keyValue) }, revision: revision)
        }
        return .other
    }
}

/// Why a watch stream gave no message.
public enum WatchEnd: Error, Sendable, CustomStringConvertible {
    /// Nothing arrived before the deadline (the stream is still usable).
    case timedOut
    /// The connection broke or the stream ended.
    case broken(String)

    public var description: String {
        switch self {
        case .timedOut: "no message in time"
        case .broken(let reason): reason
        }
    }
}
