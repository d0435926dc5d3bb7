import Config
import EventLoop
import Testing
@testable import HealthCheck

/// What an HTTP probe sends and how an answer is judged, without sockets.
@Suite struct HealthRequestTests {
    private func text(_ request: HealthRequest) -> String { String(decoding: request.bytes, as: UTF8.self) }

    @Test func theRequestNamesPathHostAndClosesTheConnection() throws {
        let request = HealthRequest(try healthCheck(path: "/healthz"), hostHeader: "127.0.0.1:9001")
        #expect(text(request) == "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: cutover-health\r\nConnection: close\r\n\r\n")
    }

    @Test func aConfiguredHostReplacesTheAddressAndCannotInjectLines() throws {
        let request = HealthRequest(try healthCheck(host: "status.internal\r\nX-Evil: 1"), hostHeader: "127.0.0.1:9001")
        #expect(text(request).contains("\r\nHost: status.internalX-Evil:1\r\nUser-Agent"))
    }

    @Test func aTCPCheckSendsNothing() throws {
        #expect(HealthRequest(try healthCheck(.tcp), hostHeader: "h:1").bytes.isEmpty)
    }

    @Test func statusesAreJudgedByTheExpectedRanges() throws {
        let request = HealthRequest(try healthCheck(expect: [200...200, 300...399]), hostHeader: "h:1")
        #expect(request.accepts(status: 200))
        #expect(request.accepts(status: 302))
        #expect(!request.accepts(status: 204))
        #expect(!request.accepts(status: 500))
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HealthProbe.Outcome.passed),
        ("HTTP/1.1 503 Busy\r\n\r\n", .failed),
        ("HTTP/1.0 204\r\n\r\n", .passed),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", .passed),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 No\r\n\r\n", .failed),
        ("HTTP/1.1 100 Continue\r\n\r\n", .pending),
        ("HTTP/1.1 200 OK\r\nServer: x\r\n", .pending),
        ("HTTP/1.1 2", .pending),
        ("SSH-2.0-OpenSSH_9.6\r\n", .failed),
        ("HTTP/1.1 200 OK\nBare: lf\n\n", .failed),
    ])
    func responseHeadsAreJudged(response: String, expected: HealthProbe.Outcome) throws {
        let request = HealthRequest(try healthCheck(), hostHeader: "h:1")
        let io = HealthProbeIO()
        withExtendedLifetime(io) {  // the pool outlives the buffer it lends
            var received = ByteBuffer(pool: io.pool)
            received.append(Array(response.utf8))
            #expect(io.judge(&received, request: request) == expected)
        }
    }
}
