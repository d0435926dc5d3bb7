import Foundation
import Glibc
import Testing

/// Issue 6: a listener with `tls:` terminates TLS on the worker loops; real clients (curl,
/// openssl s_client) see TLS 1.2/1.3 only, AEAD suites, SNI, ALPN and resumption, and the HTTP
/// session runs over it as over plaintext.
@Suite struct TLSTerminationTests {
    /// A proxy terminating TLS for `site.test` (signed by its own CA) in front of `blue`.
    struct Setup {
        let bed: TestBed
        let blue: Backend
        let site: TestSite
        let proxy: ProxyProcess

        static func start(adjust: (ProxyConfig) -> ProxyConfig = { $0 }) async throws -> Setup {
            let bed = try TestBed()
            let blue = try await bed.backend("blue")
            let site = try TestSite.make(bed.certificates, "site", names: ["site.test"])
            let config = ProxyConfig.http(port: try Ports.free(), backends: [blue]).terminatingTLS([site.pair])
            let proxy = try await bed.proxy(adjust(config))
            return Setup(bed: bed, blue: blue, site: site, proxy: proxy)
        }

        var url: String { "https://site.test:\(proxy.port)" }

        /// curl trusting the site's CA, with site.test resolving to the proxy.
        func curl(_ arguments: [String]) async throws -> CurlResult {
            try await bed.curl(["--cacert", site.authority.certificateFile.path,
                                "--resolve", "site.test:\(proxy.port):127.0.0.1"] + arguments)
        }
    }

    @Test func curlGetsItsAnswerAndTheBackendSeesForwardedProtoHTTPS() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }

        // curl offers h2 and http/1.1 by ALPN; a TLS listener speaks HTTP/2 unless told not to.
        let root = try await setup.curl(["\(setup.url)/", "-w", " %{http_code} %{http_version}"])
        #expect(root.exitCode == 0, "\(root.stderr)")
        #expect(root.text == "blue 200 2")
        let h1 = try await setup.curl(["--http1.1", "\(setup.url)/", "-w", " %{http_code} %{http_version}"])
        #expect(h1.text == "blue 200 1.1", "\(h1.stderr)")

        let headers = try await setup.curl(["\(setup.url)/headers"])
        let json = try #require(try JSONSerialization.jsonObject(with: headers.stdout) as? [String: Any])
        let fields = try #require(json["headers"] as? [[String]])
        #expect(fields.contains(["X-Forwarded-Proto", "https"]), "\(fields)")
        #expect(fields.contains(["X-Forwarded-For", "127.0.0.1"]), "\(fields)")
        #expect(fields.contains(["Host", "site.test:\(setup.proxy.port)"]), "\(fields)")
    }

    @Test func keepAliveAndPipeliningWorkOverTLS() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }

        var arguments = ["-w", CurlFormat.exchange]
        for _ in 0..<5 { arguments += ["\(setup.url)/", "-o", "/dev/null"] }
        let result = try await setup.curl(arguments)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let exchanges = try result.lines.map(Exchange.init(line:))
        #expect(exchanges.map(\.status) == [200, 200, 200, 200, 200])
        #expect(exchanges.map(\.newClientConnections) == [1, 0, 0, 0, 0], "one TLS connection for all five")
        #expect(Set(exchanges.map(\.upstreamConnection)).count == 1, "one upstream connection for all five")

        // Three requests in one write: three answers, in order.
        let terminal = try TLSTerminal(port: setup.proxy.port, serverName: "site.test", trusting: setup.site.authority,
                                       in: setup.bed.directory)
        defer { terminal.close() }
        terminal.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\n\r\nGET /status?code=204 HTTP/1.1\r\nHost: x\r\n\r\n")
        try await terminal.waitFor("HTTP/1.1 204")
        let text = terminal.child.stdoutText
        let order = ["HTTP/1.1 200", "request_line", "HTTP/1.1 204"].map { text.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
    }

    @Test func largeBodiesCrossTLSIntactBothWays() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let input = setup.bed.directory.appendingPathComponent("upload.bin")
        let echoed = setup.bed.directory.appendingPathComponent("echoed.bin")
        let downloaded = setup.bed.directory.appendingPathComponent("big.bin")
        let sent = BodyTests.payload(3_000_000)
        try sent.write(to: input)

        let up = try await setup.curl(["\(setup.url)/echo", "--data-binary", "@\(input.path)", "-o", echoed.path,
                                       "-w", "%{http_code}"])
        #expect(up.exitCode == 0, "\(up.stderr)")
        #expect(up.text == "200")
        #expect(try Data(contentsOf: echoed) == sent)

        // Expect: 100-continue goes through the TLS session like any interim answer.
        let continued = try await setup.curl(["\(setup.url)/echo", "-H", "Expect: 100-continue",
                                              "--data-binary", "@\(input.path)", "-o", echoed.path, "-w", "%{http_code}"])
        #expect(continued.text == "200")
        #expect(try Data(contentsOf: echoed) == sent)

        let down = try await setup.curl(["\(setup.url)/big?bytes=5000000", "-o", downloaded.path, "-w", "%{http_code}"])
        #expect(down.text == "200")
        #expect(try Data(contentsOf: downloaded) == BodyTests.bigBody(5_000_000))
    }

    @Test func aWebSocketTunnelRunsOverTLS() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let terminal = try TLSTerminal(port: setup.proxy.port, serverName: "site.test", trusting: setup.site.authority,
                                       in: setup.bed.directory)
        defer { terminal.close() }
        terminal.send("GET /socket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly;")
        try await terminal.waitFor("HTTP/1.1 101")
        try await terminal.waitFor("EARLY;")
        terminal.send("through the tunnel")
        try await terminal.waitFor("THROUGH THE TUNNEL")
    }

    @Test func tls13AndTls12NegotiateForwardSecretAEADSuites() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let ca = setup.site.authority.certificateFile.path
        let modern = try await sClient(port: setup.proxy.port, ["-servername", "site.test", "-CAfile", ca, "-verify_return_error"],
                                       in: setup.bed.directory)
        #expect(modern.protocolVersion == "TLSv1.3", "\(modern.output)")
        #expect(modern.cipher == "TLS_AES_128_GCM_SHA256")
        #expect(modern.output.contains("Verify return code: 0 (ok)"))

        let older = try await sClient(port: setup.proxy.port, ["-tls1_2", "-servername", "site.test", "-CAfile", ca],
                                      in: setup.bed.directory)
        #expect(older.protocolVersion == "TLSv1.2", "\(older.output)")
        #expect(older.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256")

        // A TLS 1.2 client offering only CBC or non-forward-secret suites gets no session.
        let weak = try await sClient(port: setup.proxy.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256:@SECLEVEL=0"],
                                     in: setup.bed.directory)
        #expect(weak.protocolVersion == nil, "\(weak.output)")
        #expect(weak.output.contains("handshake failure"), "\(weak.output)")
    }

    @Test(arguments: ["-tls1", "-tls1_1"])
    func tls10And11AreRefused(flag: String) async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        // Security level 0, or OpenSSL 3 would not even offer the old protocol: the refusal
        // must come from the proxy.
        let report = try await sClient(port: setup.proxy.port, [flag, "-cipher", "DEFAULT:@SECLEVEL=0"], in: setup.bed.directory)
        #expect(report.protocolVersion == nil, "\(report.output)")
        #expect(report.output.contains("alert protocol version"), "\(report.output)")
        #expect(setup.proxy.child.isRunning)
    }

    /// ALPN: h2 when the client offers it, else http/1.1.
    @Test func alpnSelectsH2ThenHTTP11() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        // curl offers h2 and http/1.1 (s_client quits before its summary when an HTTP/2 server
        // speaks first, so curl's own account of the handshake is read instead).
        let both = try await setup.curl(["-sv", "--http2", "-o", "/dev/null", "\(setup.url)/"])
        let verbose = both.stderr
        #expect(verbose.contains("ALPN: server accepted h2"), "\(verbose)")
        let h11 = try await sClient(port: setup.proxy.port, ["-alpn", "http/1.1"], in: setup.bed.directory)
        #expect(h11.alpn == "http/1.1", "\(h11.output)")
    }

    /// `http2: false`: http/1.1 and nothing else; a client offering only h2 gets no ALPN answer
    /// rather than a fatal alert, as HAProxy does.
    @Test func alpnWithoutHTTP2SelectsHTTP11AndNothingElse() async throws {
        let setup = try await Setup.start(adjust: { config in
            var copy = config
            copy.listeners[0].lines = ["http2: false"]
            return copy
        })
        defer { setup.bed.tearDown() }
        let both = try await sClient(port: setup.proxy.port, ["-alpn", "h2,http/1.1"], in: setup.bed.directory)
        #expect(both.alpn == "http/1.1", "\(both.output)")
        let h2Only = try await sClient(port: setup.proxy.port, ["-alpn", "h2"], in: setup.bed.directory)
        #expect(h2Only.protocolVersion == "TLSv1.3", "a client offering only h2 still gets a session: \(h2Only.output)")
        #expect(h2Only.output.contains("No ALPN negotiated"), "\(h2Only.output)")
    }

    @Test func sniPicksTheCertificateByItsNamesWithTheFirstAsDefault() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let factory = bed.certificates
        let first = try factory.certificate("default", commonName: "default.test", names: ["default.test"])
        let exact = try factory.certificate("api", commonName: "api.example.test", names: ["api.example.test"])
        let wildcard = try factory.certificate("wild", commonName: "wildcard", names: ["*.example.test"])
        let pairs = [first, exact, wildcard].map { ($0.certificateFile.path, $0.keyFile.path) }
        let proxy = try await bed.proxy(ProxyConfig.http(port: try Ports.free(), backends: [blue]).terminatingTLS(pairs))

        let cases: [([String], String)] = [
            (["-servername", "api.example.test"], "api.example.test"),
            (["-servername", "www.example.test"], "wildcard"),
            (["-servername", "deep.www.example.test"], "default.test"),
            (["-servername", "example.test"], "default.test"),
            (["-servername", "unknown.test"], "default.test"),
            (["-noservername"], "default.test"),
        ]
        for (arguments, expected) in cases {
            let report = try await sClient(port: proxy.port, arguments, in: bed.directory)
            #expect(report.commonName == expected, "\(arguments): \(report.output)")
        }
    }

    @Test(arguments: ["-tls1_2", "-tls1_3"])
    func sessionsResume(flag: String) async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let session = setup.bed.directory.appendingPathComponent("session\(flag).pem").path
        let first = try await sClient(port: setup.proxy.port, [flag, "-servername", "site.test", "-sess_out", session],
                                      in: setup.bed.directory, awaiting: session)
        #expect(first.protocolVersion != nil && !first.reused, "\(first.output)")
        let second = try await sClient(port: setup.proxy.port, [flag, "-servername", "site.test", "-sess_in", session],
                                       in: setup.bed.directory)
        #expect(second.reused, "\(second.output)")
        // A TLS 1.2 client without tickets resumes from the server-side session cache.
        if flag == "-tls1_2" {
            let cached = setup.bed.directory.appendingPathComponent("cached.pem").path
            _ = try await sClient(port: setup.proxy.port, [flag, "-no_ticket", "-sess_out", cached], in: setup.bed.directory,
                                  awaiting: cached)
            let again = try await sClient(port: setup.proxy.port, [flag, "-no_ticket", "-sess_in", cached], in: setup.bed.directory)
            #expect(again.reused, "\(again.output)")
        }
    }

    @Test func aStalledHandshakeIsClosedAtTheHeaderTimeoutWhileOthersAreServed() async throws {
        let setup = try await Setup.start { $0.setting(timeout: "client_header", "1s") }
        defer { setup.bed.tearDown() }
        let stalled = try RawClient(port: setup.proxy.port)
        let half = try RawClient(port: setup.proxy.port)
        // The first bytes of a ClientHello record header, and no more.
        try half.send([0x16, 0x03, 0x01])

        let sent = ContinuousClock.now
        // Served meanwhile, on the same (only) worker. The closes are timed where they are seen, so
        // neither a slow curl nor a test process busy with other tests counts against the timeout.
        async let served = setup.curl(["\(setup.url)/", "-w", " %{http_code}"])
        let closes = (try await stalled.closeInstant(), try await half.closeInstant())
        let answer = try await served
        #expect(answer.text == "blue 200", "\(answer.stderr)")
        let stalledClosed = try #require(closes.0, "the stalled connection got data instead of a close")
        let halfClosed = try #require(closes.1, "the half-open handshake got data instead of a close")
        let elapsed = max(stalledClosed, halfClosed) - sent
        #expect(elapsed >= .milliseconds(800) && elapsed < .seconds(3), "closed after \(elapsed)")
        #expect(setup.proxy.child.isRunning)
    }

    @Test func garbageInsteadOfAClientHelloClosesThatConnectionOnly() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let plaintext = try RawClient(port: setup.proxy.port)
        try plaintext.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try await plaintext.readToEnd()
        // At most a TLS alert record (content type 21); never an HTTP answer.
        #expect(answer.isEmpty || answer.first == 0x15, "\(answer)")

        let served = try await setup.curl(["\(setup.url)/", "-w", " %{http_code}"])
        #expect(served.text == "blue 200", "\(served.stderr)")
        #expect(setup.proxy.child.isRunning)
    }
}

extension TLSTerminationTests {
    @Test func anIdleTLSConnectionIsClosedWithACloseNotify() async throws {
        let setup = try await Setup.start { $0.setting(timeout: "idle", "1s") }
        defer { setup.bed.tearDown() }
        let terminal = try TLSTerminal(port: setup.proxy.port, serverName: "site.test", trusting: setup.site.authority,
                                       in: setup.bed.directory)
        defer { terminal.close() }
        terminal.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try await terminal.waitFor("HTTP/1.1 200")
        // s_client reports the peer's close_notify as "closed" and leaves.
        try await waitUntil("the proxy closes the idle connection", timeout: .seconds(5)) { !terminal.child.isRunning }
        #expect(terminal.child.stdoutText.contains("closed") || terminal.child.stderrText.contains("closed"),
                "\(terminal.child.stdoutText)\(terminal.child.stderrText)")
        #expect(!terminal.child.stderrText.contains("unexpected eof"), "\(terminal.child.stderrText)")
    }
}

extension TLSTerminationTests {
    /// A keep-alive client that has sent the first bytes of a TLS record and no more: the worker
    /// waits for the rest without spinning, and a stop still closes the connection promptly.
    @Test func aPartialRecordOnAnIdleConnectionDoesNotHoldUpAStop() async throws {
        let setup = try await Setup.start()
        defer { setup.bed.tearDown() }
        let script = """
            import os, socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[2])
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            tls = context.wrap_socket(raw, server_hostname="site.test")
            tls.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
            answer = b""
            while not answer.endswith(b"blue"):
                answer += tls.recv(4096)
            os.write(tls.fileno(), b"\\x17\\x03\\x03")  # a record header, cut short, under TLS's feet
            print("PARTIAL", flush=True)
            sys.stdin.read()
            """
        let client = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                      ["python3", "-c", script, "\(setup.proxy.port)", setup.site.authority.certificateFile.path],
                                      label: "partial-record", in: setup.bed.directory)
        defer { client.kill() }
        try await waitUntil("the client has sent its partial record") { client.stdoutText.contains("PARTIAL") }
        // Still serving others meanwhile.
        let served = try await setup.curl(["\(setup.url)/", "-w", " %{http_code}"])
        #expect(served.text == "blue 200", "\(served.stderr)")

        let (status, elapsed) = try await timed {
            setup.proxy.child.send(signal: SIGINT)
            return try await setup.proxy.child.waitForExit(timeout: .seconds(4))
        }
        #expect(status == 0)
        #expect(elapsed < .seconds(3), "exit took \(elapsed)")
    }
}
