import Foundation
import Testing

/// Scenario 7: after a 101 the connection is a two-way byte tunnel.
@Suite struct WebSocketTests {
    @Test func upgradedConnectionTunnelsBytesBothWays() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let client = try RawClient(port: proxy.port)

        // Bytes right behind the upgrade request already belong to the tunnel.
        try client.send("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\nearly bytes;")
        let switching = try await client.readResponse()
        #expect(switching.status == 101)
        #expect(switching.header("Upgrade")?.lowercased() == "websocket")
        #expect(switching.header("Connection")?.lowercased().contains("upgrade") == true)
        #expect(try await client.read(exactly: 12) == Array("EARLY BYTES;".utf8))

        try client.send("hello, tunnel")
        #expect(try await client.read(exactly: 13) == Array("HELLO, TUNNEL".utf8))
        let big = String(repeating: "abcdefghij", count: 20_000)
        try await client.sendWhileReading(Array(big.utf8))
        #expect(try await client.read(exactly: big.utf8.count) == Array(big.uppercased().utf8))

        // The client's half-close reaches the backend, whose close comes back as EOF.
        client.shutdownWrite()
        #expect(try await client.closesWithoutMoreData())
        #expect(!client.sawReset)
    }
}
