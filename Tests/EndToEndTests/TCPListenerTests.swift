import Foundation
import Testing

/// Scenario 11: a `protocol: tcp` listener relays bytes both ways and passes half-closes on.
@Suite struct TCPListenerTests {
    @Test func bytesAndHalfCloseAreRelayed() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let echo = try await bed.tcpEchoBackend("echo")
        let port = try Ports.free()
        let config = ProxyConfig(
            listeners: [.init(name: "raw", port: port, proto: "tcp", route: "app")],
            routes: [("app", [("echo", 1)])],
            pools: [.init(name: "echo", backends: [(echo.port, 1)])])
        _ = try await bed.proxy(config)
        let client = try RawClient(port: port)

        try client.send("ping")
        #expect(try await client.read(exactly: 4) == Array("ping".utf8))
        let block = (0..<300_000).map { UInt8($0 % 253) }
        try await client.sendWhileReading(block)
        #expect(try await client.read(exactly: block.count) == block)

        // Our FIN reaches the backend as EOF; its "BYE" still reaches us, then its own FIN.
        client.shutdownWrite()
        #expect(try await client.readToEnd() == Array("BYE".utf8))
        #expect(!client.sawReset)
    }
}
