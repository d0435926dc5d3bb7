import Foundation
import Glibc
import Testing

/// Issue 17: HTTP/2 for clients — ALPN h2 on TLS listeners, h2c with prior knowledge where asked.
/// Each stream is an exchange like an HTTP/1 request (rules, accounting), translated for HTTP/1.1
/// backends; flow control per stream; graceful GOAWAY at SIGTERM; limits against abuse. Driven by
/// real clients: curl, nghttp, h2load, and a frame-level client on Python's h2 stack
/// (`Fixtures/h2frames.py`). curl 7.88 cannot reuse an h2c prior-knowledge connection (curl
/// issue 10634), so several streams on one h2c connection are nghttp's or h2load's.
@Suite struct HTTP2Tests {
    static let nghttp = "/usr/bin/nghttp"
    static let h2load = "/usr/bin/h2load"

    @Test func curlSpeaksHTTP2OverTLSAndH2cAndHTTP11StillWorksOnBoth() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        let format = ["-w", " %{http_code} %{http_version}"]

        let tls = try await s.curl(["--http2", "\(s.tlsURL)/"] + format)
        #expect(tls.text == "blue 200 2", "\(tls.stderr)")
        let h2c = try await s.curl(["--http2-prior-knowledge", "\(s.h2cURL)/"] + format)
        #expect(h2c.text == "blue 200 2", "\(h2c.stderr)")
        let tls11 = try await s.curl(["--http1.1", "\(s.tlsURL)/"] + format)
        #expect(tls11.text == "blue 200 1.1", "\(tls11.stderr)")
        let plain11 = try await s.curl(["--http1.1", "\(s.h2cURL)/"] + format)
        #expect(plain11.text == "blue 200 1.1", "\(plain11.stderr)")

        // What the backend receives: an HTTP/1.1 request with the usual forwarding fields.
        func received(_ result: CurlResult) throws -> (requestLine: String, fields: [[String]]) {
            let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.text)")
            return (json["request_line"] as? String ?? "", json["headers"] as? [[String]] ?? [])
        }
        let overTLS = try received(try await s.curl(["--http2", "\(s.tlsURL)/headers?q=1", "-H", "Cookie: a=1",
                                                     "-H", "Cookie: b=2"]))
        #expect(overTLS.requestLine == "GET /headers?q=1 HTTP/1.1")
        #expect(overTLS.fields.contains(["X-Forwarded-Proto", "https"]), "\(overTLS.fields)")
        #expect(overTLS.fields.contains(["Host", "site.test:\(s.tlsPort)"]), "\(overTLS.fields)")
        let cookies = overTLS.fields.filter { $0.first?.lowercased() == "cookie" }.map { $0[1] }
        #expect(cookies == ["a=1; b=2"], "cookies are joined into one field: \(overTLS.fields)")
        // On the h2c listener /headers is a rule's: route api, backend green.
        let h2cHeaders = try await s.curl(["--http2-prior-knowledge", "\(s.h2cURL)/headers", "-i"])
        #expect(h2cHeaders.text.hasPrefix("HTTP/2 200"), "\(h2cHeaders.text)")
        #expect(h2cHeaders.text.lowercased().contains("x-backend: green"), "\(h2cHeaders.text)")
        let body = try #require(h2cHeaders.text.range(of: "\r\n\r\n").map { h2cHeaders.text[$0.upperBound...] })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let fields = try #require(json["headers"] as? [[String]])
        #expect(fields.contains(["X-Forwarded-Proto", "http"]), "\(fields)")
        #expect(fields.contains(["Host", "127.0.0.1:\(s.h2cPort)"]), "\(fields)")
    }

    @Test func manyConcurrentStreamsToDifferentRoutesAreAllAnsweredAndCounted() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        // 2 connections × 50 streams at once, alternating between route app (/) and route api (/headers).
        let h2c = try await s.run(Self.h2load, ["-n", "2000", "-c", "2", "-m", "50", "\(s.h2cURL)/", "\(s.h2cURL)/headers"])
        let plain = try H2LoadReport(h2c.text)
        #expect(plain.applicationProtocol == "h2c", "\(h2c.text)")
        #expect(plain.succeeded == 2000 && plain.status2xx == 2000, "\(plain)")
        // Over TLS (ALPN h2), with the probe header sending everything to route api.
        let tls = try await s.run(Self.h2load, ["-n", "400", "-c", "2", "-m", "20", "-H", "X-Probe: 1",
                                                "https://127.0.0.1:\(s.tlsPort)/"])
        let secure = try H2LoadReport(tls.text)
        #expect(secure.applicationProtocol == "h2", "\(tls.text)")
        #expect(secure.succeeded == 400 && secure.status2xx == 400, "\(secure)")

        let m = try await s.metrics()
        #expect(m.value("cutover_requests_total", ["route": "app", "pool": "blue", "code": "2xx"]) == 1000, "\(m.text)")
        #expect(m.value("cutover_requests_total", ["route": "api", "pool": "green", "code": "2xx"]) == 1400)
        #expect(m.sum("cutover_requests_total") == 2400)
        #expect(try await s.blue.counts().heads == 1000)
        #expect(try await s.green.counts().heads == 1400)
    }

    @Test func largeBodiesCrossBothWaysByteExactUnderFlowControl() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        let upload = s.bed.directory.appendingPathComponent("upload.bin")
        let sent = BodyTests.payload(5_000_000)
        try sent.write(to: upload)
        let big = BodyTests.bigBody(5_000_000)

        // curl over TLS: 5 MB up through 64 KiB stream windows, 5 MB down.
        let echoed = s.bed.directory.appendingPathComponent("echoed.bin")
        let up = try await s.curl(["--http2", "\(s.tlsURL)/echo", "--data-binary", "@\(upload.path)", "-o", echoed.path,
                                   "-w", "%{http_code} %{http_version}"])
        #expect(up.text == "200 2", "\(up.stderr)")
        #expect(try Data(contentsOf: echoed) == sent)
        let downloaded = s.bed.directory.appendingPathComponent("big.bin")
        let down = try await s.curl(["--http2", "\(s.tlsURL)/big?bytes=5000000", "-o", downloaded.path,
                                     "-w", "%{http_code} %{http_version}"])
        #expect(down.text == "200 2", "\(down.stderr)")
        #expect(try Data(contentsOf: downloaded) == big)

        // nghttp over h2c, both on one connection at once.
        let both = try await s.run(Self.nghttp, ["-d", upload.path, "\(s.h2cURL)/echo"])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(both.stdout == sent, "nghttp got \(both.stdout.count) bytes back")
        let nghttpDown = try await s.run(Self.nghttp, ["\(s.h2cURL)/big?bytes=5000000"])
        #expect(nghttpDown.status == 0, "\(nghttpDown.stderr)")
        #expect(nghttpDown.stdout == big, "nghttp got \(nghttpDown.stdout.count) bytes")
        #expect(try await s.blue.counts().complete == 4)
    }

    @Test func aSlowStreamDoesNotHoldUpTheOthersOnItsConnection() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        // nghttp: one connection, the slow stream first, 20 quick ones after it; sorted by completion.
        let fast = (1...20).map { "\(s.h2cURL)/?n=\($0)" }
        let nghttp = try await s.run(Self.nghttp, ["-n", "-s", "\(s.h2cURL)/slow?ms=1500"] + fast)
        #expect(nghttp.status == 0, "\(nghttp.stderr)")
        let rows = nghttp.text.split(separator: "\n").filter { $0.contains(" 200 ") }.map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(rows.count == 21, "\(nghttp.text)")
        #expect(rows.last == "/slow?ms=1500", "completion order: \(rows)")
        #expect(Set(rows.dropLast()) == Set(fast.map { String($0.dropFirst(s.h2cURL.count)) }))

        // curl over TLS, multiplexed: it prints each transfer's line as it completes.
        var arguments = ["--http2", "--parallel", "--parallel-max", "30",
                         "-w", "%{url_effective} %{http_code} %{http_version} %{num_connects}\\n",
                         "\(s.tlsURL)/slow?ms=1500", "-o", "/dev/null"]
        for n in 1...20 { arguments += ["\(s.tlsURL)/?n=\(n)", "-o", "/dev/null"] }
        let curl = try await s.curl(arguments)
        #expect(curl.exitCode == 0, "\(curl.stderr)")
        let lines = curl.lines
        #expect(lines.count == 21, "\(curl.text)")
        #expect(lines.last?.hasPrefix("\(s.tlsURL)/slow?ms=1500 200 2") == true, "completion order: \(lines)")
        #expect(lines.allSatisfy { $0.contains(" 200 2 ") }, "\(lines)")
        let connects = lines.map { line -> Int in Int(line.split(separator: " ").last ?? "") ?? -1 }
        #expect(connects.reduce(0, +) == 1, "one connection: \(lines)")
    }

    @Test func anUpgradeIsNotTunnelledOverHTTP2ButStillWorksOverHTTP11() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        for kind in ["fields", "upgrade-only", "connect-protocol"] {
            let before = try await s.blue.counts().heads
            let report = try await s.frames(["upgrade", kind])
            let first = report.outcome("first")
            // Refused (a malformed request for HTTP/2: RST_STREAM or an error status), never a 101 or a tunnel.
            #expect(first.reset != nil || (first.status ?? 0) >= 400, "\(kind): \(report)")
            #expect(report.int("first_data") == 0, "\(kind): \(report)")
            // The connection goes on.
            #expect(report.outcome("second").status == 200, "\(kind): \(report)")
            #expect(report.goaways.isEmpty, "\(kind): \(report)")
            #expect(try await s.blue.counts().heads == before + 1, "\(kind): only the plain GET reached the backend")
        }

        // The same upgrade over HTTP/1.1: a 101 and a tunnel, on the h2c listener and over TLS.
        let client = try RawClient(port: s.h2cPort)
        try client.send("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly;")
        #expect(try await client.readResponse().status == 101)
        #expect(try await client.read(exactly: 6) == Array("EARLY;".utf8))
        let terminal = try TLSTerminal(port: s.tlsPort, serverName: "site.test", trusting: s.site.authority, in: s.bed.directory)
        defer { terminal.close() }
        terminal.send("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nover tls;")
        try await terminal.waitFor("HTTP/1.1 101")
        try await terminal.waitFor("OVER TLS;")
    }

    /// Interim answers reach HTTP/2 clients as HEADERS frames before the final head: a 103's
    /// hints, and the 100 Continue an `expect` waits for (without it curl sits out its 1 s
    /// expect timeout before sending the body).
    @Test func interimAnswersReachHTTP2ClientsBeforeTheFinalHead() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        for url in ["\(s.tlsURL)/early-hints", "\(s.h2cURL)/early-hints"] {
            let mode = url.hasPrefix("https") ? "--http2" : "--http2-prior-knowledge"
            let hinted = try await s.curl([mode, "-v", url])
            #expect(hinted.text == "hinted", "\(hinted.stderr)")
            let lines = hinted.stderr.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
            let interim = try #require(lines.firstIndex(of: "< HTTP/2 103"), "\(hinted.stderr)")
            let final = try #require(lines.firstIndex(of: "< HTTP/2 200"), "\(hinted.stderr)")
            #expect(interim < final)
            #expect(lines[interim..<final].contains("< link: </style.css>; rel=preload; as=style"), "\(hinted.stderr)")
        }
        let upload = s.bed.directory.appendingPathComponent("upload.txt")
        try Data(repeating: UInt8(ascii: "x"), count: 100_000).write(to: upload)
        let echoed = try await s.curl(["--http2", "-v", "-H", "Expect: 100-continue", "--expect100-timeout", "20",
                                       "--data-binary", "@\(upload.path)", "\(s.tlsURL)/echo", "-o", "/dev/null",
                                       "-w", "%{http_code} %{size_upload}"])
        #expect(echoed.text == "200 100000", "\(echoed.stderr)")
        #expect(echoed.stderr.contains("< HTTP/2 100"), "\(echoed.stderr)")
    }

    @Test func sigtermUnderLoadSendsGoAwayAndFinishesEveryAcceptedStream() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        // A frame-level client keeping 8 streams in flight, which goes on opening streams for
        // 0.2 s after the first GOAWAY (as a client whose requests crossed it would).
        let watcher = try s.startFrames(["sigterm-watch", "/slow?ms=100"])
        try await waitUntil("the watcher runs") { watcher.stderrText.contains("RUNNING") }
        // h2load: 4 connections × 10 streams, far more requests than it can send before the stop.
        let load = try s.start(Self.h2load, ["-n", "1000000", "-c", "4", "-m", "10", "\(s.h2cURL)/slow?ms=20&via=h2load"])
        try await waitUntil("h2load runs") {
            try AccessLogFile.lines(at: s.accessLog).filter { $0.string("target")?.contains("via=h2load") == true }.count >= 50
        }
        // nghttp over TLS: one stream in flight (route api, backend green) across both GOAWAYs (the
        // final one goes 1 s after the notice: the answer takes longer than that even when a busy
        // machine delays the SIGTERM).
        let nghttp = try s.start(Self.nghttp, ["-v", "-H", "X-Probe: 1", "https://127.0.0.1:\(s.tlsPort)/slow?ms=4000"])
        try await waitUntil("nghttp's request reached the backend") { try await s.green.counts().heads == 1 }

        s.proxy.child.send(signal: SIGTERM)
        #expect(try await s.proxy.child.waitForExit(timeout: .seconds(8)) == 0)
        _ = try await watcher.waitForExit(timeout: .seconds(10))
        _ = try await load.waitForExit(timeout: .seconds(10))
        _ = try await nghttp.waitForExit(timeout: .seconds(10))

        // The watcher: a notice (last id 2^31-1, NO_ERROR) then the final GOAWAY with the last
        // stream id; every stream up to it answered 200 in full, none above it answered.
        let report = try FrameReport(watcher.stdoutText)
        let goaways = report.goaways
        #expect(goaways.count == 2, "\(report)")
        #expect(goaways.first.map { $0.last == H2Code.maxStreamID && $0.error == H2Code.noError } == true, "\(report)")
        let last = try #require(goaways.last).last
        #expect(last < H2Code.maxStreamID && goaways.last?.error == H2Code.noError, "\(report)")
        let streams = try #require(report.json["streams"] as? [String: [String: Any]])
        let accepted = streams.filter { (Int($0.key) ?? .max) <= last }
        let unanswered = accepted.filter { $0.value["status"] as? Int != 200 || $0.value["ended"] as? Bool != true }
        #expect(unanswered.isEmpty, "accepted streams not answered in full: \(unanswered)")
        #expect(streams.filter { (Int($0.key) ?? 0) > last && $0.value["status"] is Int }.isEmpty, "\(report)")
        let late = (report.json["late"] as? [Int]) ?? []
        #expect(late.contains { $0 <= last }, "streams opened after the notice still counted: late \(late), last \(last)")

        // h2load: every stream it started either got its 200 or never reached the proxy (refused
        // after GOAWAY, by its own nghttp2 or by the last stream id). The proxy logged one line per
        // stream it accepted: as many as h2load's successes, all 200. h2load's "errored" are the
        // requests it could not start once the connections closed (the listeners are gone).
        let h2 = try H2LoadReport(String(decoding: try Data(contentsOf: load.stdoutURL), as: UTF8.self))
        #expect(h2.started == h2.done && h2.timeout == 0, "\(h2)")
        #expect(h2.status4xx == 0 && h2.status5xx == 0 && h2.status3xx == 0, "\(h2)")
        #expect(h2.succeeded >= 50, "\(h2)")
        let logged = try AccessLogFile.lines(at: s.accessLog).filter { $0.string("target")?.contains("via=h2load") == true }
        #expect(logged.count == h2.succeeded, "the proxy accepted \(logged.count) h2load streams; \(h2)")
        #expect(logged.allSatisfy { $0.int("status") == 200 }, "\(logged.filter { $0.int("status") != 200 })")

        // nghttp saw both GOAWAYs, the final one naming its request's stream (nghttp opens its
        // request after a few idle priority streams), and still got its answer.
        let output = nghttp.stdoutText
        #expect(output.contains("last_stream_id=2147483647, error_code=NO_ERROR"), "\(output)")
        let answered = output.firstMatch(of: /recv \(stream_id=(\d+)\) :status: 200/).map { String($0.1) }
        #expect(answered != nil, "\(output)")
        #expect(output.contains("last_stream_id=\(answered ?? "?"), error_code=NO_ERROR"), "\(output)")
        #expect(output.contains("recv DATA frame") && output.contains("slow"), "\(output)")
    }

    @Test func accessLogAndMetricsCountAnHTTP2RequestLikeAnHTTP1One() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        let h1 = try await s.curl(["--http1.1", "\(s.tlsURL)/?via=h1"])
        let h2 = try await s.curl(["--http2", "\(s.tlsURL)/?via=h2"])
        let h2c = try await s.curl(["--http2-prior-knowledge", "\(s.h2cURL)/?via=h2c"])
        #expect([h1.text, h2.text, h2c.text] == ["blue", "blue", "blue"])
        let lines = try await AccessLogFile.waitForLines(at: s.accessLog, count: 3)
        let byTarget = Dictionary(lines.map { ($0.string("target") ?? "", $0) }) { a, _ in a }
        let one = try #require(byTarget["/?via=h1"], "\(lines)")
        #expect(one.string("protocol") == "HTTP/1.1", "\(one)")
        for target in ["/?via=h2", "/?via=h2c"] {
            let line = try #require(byTarget[target], "\(lines)")
            #expect(line.string("method") == "GET" && line.int("status") == 200, "\(line)")
            #expect(line.string("route") == "app" && line.string("pool") == "blue", "\(line)")
            #expect(line.string("backend") == "127.0.0.1:\(s.blue.port)", "\(line)")
            #expect((line.int("bytes_in") ?? 0) > 0 && (line.int("bytes_out") ?? 0) > 0, "\(line)")
            #expect(line.seconds("upstream_duration") != nil && line.string("client") == "127.0.0.1", "\(line)")
            #expect(Set(line.fields.keys).isSuperset(of: one.fields.keys), "the same facts as HTTP/1: \(line) vs \(one)")
            // Issue 17: "accounted … like an HTTP/1 request, with the protocol as a field".
            #expect(line.string("protocol") == "HTTP/2.0", "\(line)")
        }
        let m = try await s.metrics()
        #expect(m.value("cutover_requests_total", ["route": "app", "pool": "blue", "code": "2xx"]) == 3, "\(m.text)")
        #expect(m.value("cutover_request_duration_seconds_count", ["route": "app", "pool": "blue"]) == 3)
    }
}

/// Issue 17, limits and attacks: each abuse ends that connection (with a GOAWAY) or that stream,
/// and the proxy's one worker goes on serving everyone else.
@Suite struct HTTP2AbuseTests {
    @Test func rapidResetGetsGoAwayAndTheProxyServesOthers() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        let report = try await s.frames(["rapid-reset", "2000"])
        let goaway = try #require(report.goaways.last, "no GOAWAY: \(report)")
        #expect(goaway.error != H2Code.noError, "\(report)")
        // Cut long before the 2000th stream (id 3999): the reset budget is about 1000.
        #expect(goaway.last < 3999, "\(report)")
        #expect(report.closed == "eof" || report.closed == "reset", "\(report)")
        #expect(try await s.servesOthers())
        #expect(s.proxy.child.isRunning)
    }

    @Test func continuationSettingsAndPingFloodsGetGoAway() async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        // A legitimate request split into HEADERS and 8 CONTINUATIONs is served.
        let legit = try await s.frames(["continuation", "8", "end"])
        #expect(legit.outcome("first").status == 200, "\(legit)")

        for flood in [["continuation", "50"], ["settings-flood", "20000"], ["ping-flood", "1000000"]] {
            let before = try await s.blue.counts().heads
            let report = try await s.frames(flood)
            #expect(report.closed == "eof" || report.closed == "reset", "\(flood[0]): the connection stays open: \(report)")
            // A PING flooder that reads nothing while it sends cannot be told: its connection is
            // cut once its queued answers have waited 5 s; the others get their GOAWAY.
            if flood[0] != "ping-flood" {
                #expect(report.goaways.contains { $0.error != H2Code.noError }, "\(flood[0]): no GOAWAY with an error code: \(report)")
            }
            if flood[0] == "ping-flood" { #expect(report.frames("ping") < 1_000_000, "every PING answered: \(report)") }
            if flood[0] == "settings-flood" { #expect(report.frames("settings") < 20_000, "every SETTINGS answered: \(report)") }
            #expect(try await s.blue.counts().heads == before, "\(flood[0])")
            #expect(try await s.servesOthers(), "\(flood[0])")
        }
        #expect(s.proxy.child.isRunning)
    }

    @Test func aHeaderListOverTheLimitIsRefusedAndTheConnectionGoesOn() async throws {
        let s = try await HTTP2Bed.start { $0.setting(limit: "http2_max_header_list_bytes", 32_768) }
        defer { s.bed.tearDown() }
        let before = try await s.blue.counts().heads
        let small = try await s.frames(["big-headers", "24000"])
        #expect(small.outcome("first").status == 200 && small.outcome("second").status == 200, "\(small)")
        let big = try await s.frames(["big-headers", "40000"])
        let first = big.outcome("first")
        #expect(first.status == 431 || first.reset != nil, "\(big)")
        #expect(big.outcome("second").status == 200, "\(big)")
        #expect(big.goaways.isEmpty && big.closed == nil, "\(big)")
        #expect(try await s.blue.counts().heads == before + 3, "the oversized request never reached the backend")
    }

    @Test func aZeroWindowClientIsClosedAfterTheIdleTimeoutWhileOthersAreServed() async throws {
        let s = try await HTTP2Bed.start { $0.setting(timeout: "idle", "1s") }
        defer { s.bed.tearDown() }
        let stalled = try s.startFrames(["zero-window", "/big?bytes=2000000"])
        try await waitUntil("the backend got the stalled request") { try await s.blue.counts().heads == 1 }
        #expect(try await s.servesOthers())
        _ = try await stalled.waitForExit(timeout: .seconds(25))
        let report = try FrameReport(stalled.stdoutText)
        #expect(report.int("status") == 200 && report.int("data_bytes") == 0, "\(report)")
        #expect(report.closed == "eof" || report.closed == "reset", "never closed: \(report)")
        let after = report.double("closed_after") ?? .infinity
        #expect(after >= 0.8 && after < 4, "closed \(after) s after the response head (idle 1s): \(report)")
        #expect(try await s.servesOthers())
    }

    @Test(arguments: [("bad-hpack", H2Code.compressionError), ("data-on-zero", H2Code.protocolError),
                      ("short-settings", H2Code.frameSizeError)])
    func aMalformedFrameGetsGoAwayAndNothingReachesTheBackend(kind: String, code: Int) async throws {
        let s = try await HTTP2Bed.start()
        defer { s.bed.tearDown() }
        let report = try await s.frames(["malformed", kind])
        #expect(report.goaways.count == 1 && report.goaways.first?.error == code, "\(report)")
        #expect(report.closed == "eof" || report.closed == "reset", "\(report)")
        #expect(try await s.blue.counts().heads == 0)
        #expect(try await s.servesOthers())
    }
}
