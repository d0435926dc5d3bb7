import Config
import EventLoop
import Foundation
import Glibc

/// Why a fleet command stopped: `unreachable` (etcd did not answer; exit 2) or `refused` (exit 1).
public struct FleetCommandFailure: Error, Sendable, CustomStringConvertible {
    public var unreachable: Bool
    public var description: String

    public static func unreachable(_ message: String) -> FleetCommandFailure { .init(unreachable: true, description: message) }
    public static func refused(_ message: String) -> FleetCommandFailure { .init(unreachable: false, description: message) }
}

/// The commands' side of the fleet: read the generation in force, write the next one with one
/// compare-and-swap transaction, and watch the instances' reports until they all have it.
public struct FleetWriter: Sendable {
    public let client: EtcdClient
    public let keys: FleetKeys

    public init(cluster: ClusterConfig) {
        client = EtcdClient(endpoints: cluster.endpoints)
        keys = FleetKeys(prefix: cluster.prefix)
    }

    /// The generation in force: the `active` pointer as read (nil: none yet) and its document.
    public struct Current: Sendable {
        public var pointer: EtcdKeyValue?
        public var document: FleetDocument?
        public var generation: Int64 { pointer.flatMap(FleetKeys.generation) ?? 0 }
    }

    public func current() throws(FleetCommandFailure) -> Current {
        do {
            guard let pointer = try client.get(keys.active, attempts: 3).value, pointer.version > 0 else { return Current() }
            guard let generation = FleetKeys.generation(pointer) else {
                throw FleetCommandFailure.refused("\(keys.active) holds '\(pointer.text.prefix(40))', not a generation; put a valid one back first")
            }
            guard let stored = try client.get(keys.desired(generation), attempts: 3).value else {
                throw FleetCommandFailure.refused("\(keys.active) names generation \(generation), but \(keys.desired(generation)) does not exist")
            }
            switch FleetDocument.decode(stored.value) {
            case .success(let document): return Current(pointer: pointer, document: document)
            case .failure(let reason): throw FleetCommandFailure.refused("generation \(generation) in force cannot be read: \(reason)")
            }
        } catch let error as EtcdError {
            throw .unreachable("\(error): nothing was written; every instance keeps serving what it has")
        } catch let error as FleetCommandFailure {
            throw error
        } catch {
            throw .refused("\(error)")
        }
    }

    /// Writes `document` as the generation after `current`, in one transaction that holds only if
    /// nobody else wrote since `current` was read. Returns the store's revision after it.
    /// Another writer first: `.refused` naming their generation; etcd gone: `.unreachable`.
    public func write(_ document: FleetDocument, over current: Current) throws(FleetCommandFailure) -> Int64 {
        let compare: EtcdCompare = current.pointer.map { .modRevision(key: keys.active, equals: $0.modRevision) }
            ?? .version(key: keys.active, equals: 0)
        var lastError: EtcdError?
        for attempt in 0..<3 {
            if attempt > 0 {
                usleep(UInt32(200_000 << attempt))
                // The answer to a transaction that went through may have been lost: ours if the
                // pointer names our generation and the document there is ours.
                if let mine = try? mineAlready(document) { return mine }
            }
            var success: [EtcdOperation] = [
                .put(key: keys.desired(document.generation), value: document.encoded(), lease: nil),
                .put(key: keys.active, value: Array(String(document.generation).utf8), lease: nil),
            ]
            let expired = document.generation - FleetKeys.keptGenerations
            if expired > 0 { success.append(.delete(key: keys.desired(expired))) }
            do {
                let result = try client.txn(
                    [compare, .version(key: keys.desired(document.generation), equals: 0)],
                    success: success, failure: [.get(key: keys.active)])
                if result.succeeded { return result.revision }
                let winner = result.values.first.flatMap(FleetKeys.generation)
                var who = ""
                if let winner, let stored = try? client.get(keys.desired(winner)).value,
                   case .success(let theirs) = FleetDocument.decode(stored.value) {
                    who = " (\(theirs.writtenBy), at \(theirs.writtenAt))"
                }
                throw FleetCommandFailure.refused(
                    "another change won: generation \(winner.map(String.init) ?? "?")\(who) was written after this command read generation \(current.generation); nothing was written, run it again to apply it over that one")
            } catch let error as EtcdError {
                lastError = error
                if case .failed = error { break }
            } catch let error as FleetCommandFailure {
                throw error
            } catch {
                throw .refused("\(error)")
            }
        }
        throw .unreachable("\(lastError.map { "\($0)" } ?? "etcd unreachable"): nothing was written; every instance keeps serving generation \(current.generation)")
    }

    private func mineAlready(_ document: FleetDocument) throws -> Int64? {
        let (pointer, revision) = try client.get(keys.active)
        guard let pointer, FleetKeys.generation(pointer) == document.generation,
              let stored = try client.get(keys.desired(document.generation)).value,
              case .success(let found) = FleetDocument.decode(stored.value), found.id == document.id else { return nil }
        return revision
    }

    /// The live instances' reports (sorted by name).
    public func instances() throws(FleetCommandFailure) -> [InstanceReport] {
        do {
            return try client.list(prefix: keys.instances, attempts: 3).values.compactMap { InstanceReport.decode($0.value) }
        } catch {
            throw .unreachable("\(error)")
        }
    }

    /// Where the instances stand with one generation.
    public struct Agreement: Sendable {
        /// Have it in force (or a later one).
        public var applied: [InstanceReport] = []
        /// Refused it (`error` says why).
        public var refused: [InstanceReport] = []
        /// Neither yet.
        public var behind: [InstanceReport] = []
        /// Seconds from the start of the wait to the last answer.
        public var seconds = 0.0
        /// etcd could not be read at the end of the wait (the reason).
        public var unreachable: String?
        public var settled: Bool { behind.isEmpty && unreachable == nil }
    }

    public static func classify(_ reports: [InstanceReport], generation: Int64) -> Agreement {
        var agreement = Agreement()
        for report in reports {
            if report.generation >= generation {
                agreement.applied.append(report)
            } else if let refused = report.refusedGeneration, refused >= generation {
                agreement.refused.append(report)
            } else {
                agreement.behind.append(report)
            }
        }
        return agreement
    }

    /// Polls the reports until every live instance has applied or refused `generation`, or
    /// `timeout` seconds pass.
    public func waitForAgreement(on generation: Int64, timeout: Double) -> Agreement {
        let start = MonotonicClock.now()
        let deadline = start &+ UInt64(timeout * 1e9)
        var agreement = Agreement()
        while true {
            do {
                agreement = FleetWriter.classify(try client.list(prefix: keys.instances, timeout: 2).values.compactMap { InstanceReport.decode($0.value) },
                                                 generation: generation)
            } catch {
                agreement.unreachable = "\(error)"
            }
            agreement.seconds = Double(MonotonicClock.now() &- start) / 1e9
            if agreement.settled || MonotonicClock.now() >= deadline { return agreement }
            usleep(20_000)
        }
    }

    /// Who is writing: "cutover switch app green (host, pid N)".
    public static func writer(_ what: String) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, 255) == 0 ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        return "\(what) (\(host), pid \(getpid()))"
    }
}
