import Config
import Foundation
@testable import Fleet
import Glibc
import Testing

/// The etcd client and the writer against a real etcd (Debian's etcd-server) on loopback ports.
@Suite(.serialized) struct EtcdClientTests {
    /// An etcd process in a temporary directory, ended (SIGKILL) and removed by `stop`.
    final class Server {
        let process = Process()
        let directory: URL
        let port: UInt16

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("cutover-etcd-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            port = Server.freePort()
            let peer = "http://127.0.0.1:\(Server.freePort())"
            process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
            process.arguments = ["--name", "t", "--data-dir", directory.appendingPathComponent("data").path,
                                 "--listen-client-urls", "http://127.0.0.1:\(port)", "--advertise-client-urls", "http://127.0.0.1:\(port)",
                                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=\(peer)",
                                 "--log-level", "error"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// A loopback port the kernel chose a moment ago.
        static func freePort() -> UInt16 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            return UInt16(bigEndian: address.sin_port)
        }

        var client: EtcdClient { EtcdClient(endpoints: [.init(host: "127.0.0.1", port: port)]) }

        func ready() throws {
            for _ in 0..<200 {
                if (try? client.get("/probe")) != nil { return }
                usleep(50_000)
            }
            throw FleetRefusal("etcd did not start")
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func twoWritersOverOneGenerationOnlyOneWins() throws {
        let server = try Server()
        defer { server.stop() }
        try server.ready()
        let cluster = ClusterConfig(endpoints: [.init(host: "127.0.0.1", port: 1), .init(host: "127.0.0.1", port: server.port)],
                                    prefix: "/t", instance: "a", location: SourceLocation(file: "t", line: 1, column: 1))
        let a = FleetWriter(cluster: cluster)
        let b = FleetWriter(cluster: cluster)
        let seen = try a.current()
        #expect(seen.generation == 0)
        let first = FleetDocument(generation: 1, previous: nil, routes: ["app": .init(pools: ["green": 100])], writtenBy: "a")
        let second = FleetDocument(generation: 1, previous: nil, routes: ["app": .init(pools: ["blue": 100])], writtenBy: "b")
        _ = try a.write(first, over: seen)
        #expect(throws: FleetCommandFailure.self) { try b.write(second, over: seen) }
        do {
            _ = try b.write(second, over: seen)
        } catch {
            #expect(!error.unreachable)
            #expect(error.description.hasPrefix("another change won: generation 1 (a, at "), "\(error)")
        }
        let now = try b.current()
        #expect(now.generation == 1)
        #expect(now.document == first)
        // The first endpoint refuses connections: every call went on to the second.
        #expect(a.client.currentEndpoint.port == server.port)
    }

    @Test func leasesHoldReportsAndWatchesSeeChangesAndCompaction() throws {
        let server = try Server()
        defer { server.stop() }
        try server.ready()
        let client = server.client
        let lease = try client.grantLease(ttl: 5)
        try client.put("/t/instances/a", Array("{}".utf8), lease: lease)
        #expect(try client.keepAlive(lease: lease) > 0)
        #expect(try client.list(prefix: "/t/instances/").values.map(\.key) == ["/t/instances/a"])
        try client.revoke(lease: lease)
        #expect(try client.list(prefix: "/t/instances/").values.isEmpty)
        #expect(try client.keepAlive(lease: lease) == 0)

        let start = try client.put("/t/active", Array("1".utf8))
        let watch = try client.watch("/t/active", fromRevision: start + 1)
        try client.put("/t/active", Array("2".utf8))
        var seen: [String] = []
        while seen.isEmpty {
            if case .events(let values, _) = try watch.next(deadline: EtcdClient.deadline(5)) { seen = values.map(\.text) }
        }
        #expect(seen == ["2"])

        let latest = try client.put("/t/active", Array("3".utf8))
        _ = try client.call("/v3/kv/compaction", ["revision": String(latest)], timeout: 3, attempts: 1)
        let stale = try client.watch("/t/active", fromRevision: start)
        var compacted: Int64?
        while compacted == nil {
            if case .compacted(let revision) = try stale.next(deadline: EtcdClient.deadline(5)) { compacted = revision }
        }
        #expect(compacted == latest)
    }

    @Test func nothingListeningIsUnreachableNamingEachEndpoint() {
        let client = EtcdClient(endpoints: [.init(host: "127.0.0.1", port: 1), .init(host: "127.0.0.1", port: 2)])
        do {
            _ = try client.get("/x")
            Issue.record("expected a failure")
        } catch {
            #expect(error.isUnreachable)
            #expect(error.description.contains("http://127.0.0.1:1: Connection refused"), "\(error)")
            #expect(error.description.contains("http://127.0.0.1:2: Connection refused"), "\(error)")
        }
    }
}
