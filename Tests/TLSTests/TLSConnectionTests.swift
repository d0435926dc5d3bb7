import COpenSSL
import Foundation
import TLS
import TestCertificates
import Testing

/// In-memory handshakes between our server contexts and clients (ours, or OpenSSL's configured
/// to offer what cutover must refuse).
@Suite struct TLSConnectionTests {
    @Test func tls13HandshakeWithALPNAndDataBothWays() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let ca = try bed.factory.authority("ca")
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"], issuer: ca)
        let server = Ours(try TLSConnection(server: try bed.server([site])))
        let client = Ours(try TLSConnection(client: try bed.trusting(ca), serverName: "site.test"))

        let outcome = handshake(client, server)
        #expect(outcome.succeeded)
        #expect(server.tls.protocolVersion == "TLSv1.3")
        #expect(client.tls.applicationProtocol == "http/1.1")
        #expect(server.tls.applicationProtocol == "http/1.1")
        #expect(client.tls.certificateNames == ["site.test"])

        // A request, and an answer larger than a record, sealed into little room (several calls).
        let request = Array("GET / HTTP/1.1\r\nHost: site.test\r\n\r\n".utf8)
        let fromClient = server.open(client.seal(request))
        #expect(fromClient.plaintext == request)
        #expect(fromClient.status == .wantInput)
        let answer = (0..<100_000).map { UInt8($0 % 251) }
        let wire = server.seal(answer, room: 20_000)
        let received = client.open(outcome.pendingForClient + wire)
        #expect(received.plaintext == answer)
    }

    @Test func closeNotifyReadsAsClosed() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let ca = try bed.factory.authority("ca")
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"], issuer: ca)
        let server = Ours(try TLSConnection(server: try bed.server([site])))
        let client = Ours(try TLSConnection(client: try bed.trusting(ca), serverName: "site.test"))
        let outcome = handshake(client, server)
        #expect(outcome.succeeded)

        var alert = [UInt8](repeating: 0, count: 1024)
        let shut = alert.withUnsafeMutableBytes { server.tls.shutdown(output: $0) }
        #expect(shut.status == .ok)
        #expect(shut.produced > 0)
        let again = alert.withUnsafeMutableBytes { server.tls.shutdown(output: $0) }
        #expect(again.produced == 0, "close_notify goes out once")
        let read = client.open(outcome.pendingForClient + Array(alert[0..<shut.produced]))
        #expect(read.plaintext.isEmpty)
        #expect(read.status == .closed)
    }

    @Test func sniSelectsExactAndWildcardCertificatesAndDefaultsToTheFirst() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let first = try bed.factory.certificate("default", commonName: "default.test", names: ["default.test"])
        let exact = try bed.factory.certificate("api", commonName: "api.example.com", names: ["api.example.com"])
        let wildcard = try bed.factory.certificate("wild", commonName: "wild", names: ["*.example.com"])
        let cnOnly = try bed.factory.certificate("cn", commonName: "cn-only.test", names: [])
        let context = try bed.server([first, exact, wildcard, cnOnly])
        #expect(context.names == [["default.test"], ["api.example.com"], ["*.example.com"], ["cn-only.test"]])

        let cases: [(String?, String)] = [
            ("api.example.com", "api.example.com"), ("API.EXAMPLE.COM", "api.example.com"),
            ("www.example.com", "wild"), ("example.com", "default.test"), ("a.b.example.com", "default.test"),
            ("cn-only.test", "cn-only.test"), ("unknown.test", "default.test"), (nil, "default.test"),
        ]
        for (name, expected) in cases {
            let client = RawClient(serverName: name)
            let outcome = handshake(client, Ours(try TLSConnection(server: context)))
            #expect(outcome.succeeded, "\(name ?? "no SNI")")
            #expect(client.peerCommonName == expected, "\(name ?? "no SNI")")
        }
    }

    @Test(arguments: [TLS1_VERSION, TLS1_1_VERSION])
    func oldProtocolVersionsAreRefused(version: Int32) throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let server = Ours(try TLSConnection(server: try bed.server([site])))
        let client = RawClient(maxVersion: version, minVersion: version, ciphers: "DEFAULT:@SECLEVEL=0")

        let outcome = handshake(client, server)
        #expect(outcome.server == .failed)
        #expect(server.tls.failure?.contains("unsupported protocol") == true, "\(server.tls.failure ?? "")")
        // The server's alert reaches the client, which then fails too.
        #expect(client.step(outcome.pendingForClient).status == .failed)
    }

    @Test func tls12NegotiatesAForwardSecretAEADSuite() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let ec = try bed.factory.certificate("ec", commonName: "ec.test", names: ["ec.test"])
        let rsa = try bed.factory.certificate("rsa", commonName: "rsa.test", names: ["rsa.test"], key: .rsa)
        for (cert, suite) in [(ec, "ECDHE-ECDSA-AES128-GCM-SHA256"), (rsa, "ECDHE-RSA-AES128-GCM-SHA256")] {
            let client = RawClient(maxVersion: TLS1_2_VERSION)
            let outcome = handshake(client, Ours(try TLSConnection(server: try bed.server([cert]))))
            #expect(outcome.succeeded)
            #expect(client.version == "TLSv1.2")
            #expect(client.cipher == suite)
        }
        // A client that prefers ChaCha20 (no AES hardware) gets it.
        let chacha = RawClient(maxVersion: TLS1_2_VERSION, ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(handshake(chacha, Ours(try TLSConnection(server: try bed.server([ec])))).succeeded)
        #expect(chacha.cipher == "ECDHE-ECDSA-CHACHA20-POLY1305")
    }

    @Test(arguments: ["ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "DES-CBC3-SHA", "RC4-SHA", "NULL-SHA256",
                      "DHE-RSA-AES128-GCM-SHA256"])
    func weakOrNonForwardSecretTLS12SuitesAreRefused(suite: String) throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let rsa = try bed.factory.certificate("rsa", commonName: "rsa.test", names: ["rsa.test"], key: .rsa)
        let server = Ours(try TLSConnection(server: try bed.server([rsa])))
        let client = RawClient(maxVersion: TLS1_2_VERSION, ciphers: "\(suite):@SECLEVEL=0")
        let outcome = handshake(client, server)
        #expect(!outcome.succeeded)
        #expect(outcome.server == .failed || outcome.client == .failed)
    }

    @Test func alpnSelectsHTTP11AndNeverAnotherProtocol() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let context = try bed.server([site])
        let cases: [([String]?, String)] = [(["h2", "http/1.1"], "http/1.1"), (["h2"], ""), (nil, "")]
        for (offer, expected) in cases {
            let client = RawClient(alpn: offer)
            let server = Ours(try TLSConnection(server: context))
            #expect(handshake(client, server).succeeded, "\(offer ?? [])")
            #expect(client.alpn == expected, "\(offer ?? [])")
            #expect(server.tls.applicationProtocol == expected)
        }
    }

    @Test(arguments: [TLS1_2_VERSION, TLS1_3_VERSION])
    func sessionsResumeAcrossContextsSharingTicketKeys(version: Int32) throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let keys = try TicketKeys()
        let before = try bed.server([site], keys: keys)

        let first = RawClient(maxVersion: version)
        let outcome = handshake(first, Ours(try TLSConnection(server: before)))
        #expect(outcome.succeeded)
        _ = first.read(outcome.pendingForClient)  // TLS 1.3 tickets arrive after the handshake
        let session = try #require(first.session)
        defer { SSL_SESSION_free(session) }

        // The same context (session cache or ticket), a context rebuilt by a reload with the
        // same keys (ticket), and one with other keys (a full handshake).
        let reloaded = try bed.server([site], keys: keys)
        let stranger = try bed.server([site])
        for (context, resumes) in [(before, true), (reloaded, true), (stranger, false)] {
            let client = RawClient(maxVersion: version, session: session)
            let server = Ours(try TLSConnection(server: context))
            #expect(handshake(client, server).succeeded)
            #expect(client.reused == resumes)
            #expect(server.tls.sessionReused == resumes)
        }
        #expect(before.resumedSessions == 1)
        #expect(reloaded.resumedSessions == 1)
    }

    @Test func tls12SessionIdsResumeFromTheServerCache() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let context = try bed.server([site])
        let first = RawClient(maxVersion: TLS1_2_VERSION)
        SSL_set_options(first.ssl, UInt64(1) << 14)  // SSL_OP_NO_TICKET: a client without tickets
        #expect(handshake(first, Ours(try TLSConnection(server: context))).succeeded)
        let session = try #require(first.session)
        defer { SSL_SESSION_free(session) }
        var length: UInt32 = 0
        _ = SSL_SESSION_get_id(session, &length)
        #expect(length > 0, "a session id, not a ticket")

        let second = RawClient(maxVersion: TLS1_2_VERSION, session: session)
        SSL_set_options(second.ssl, UInt64(1) << 14)
        #expect(handshake(second, Ours(try TLSConnection(server: context))).succeeded)
        #expect(second.reused)
    }

    @Test func aKeyThatIsNotTheCertificatesIsRejectedNamingBothFiles() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let one = try bed.factory.certificate("one", commonName: "one.test", names: ["one.test"])
        let other = try bed.factory.certificate("other", commonName: "other.test", names: ["other.test"])
        let rsa = try bed.factory.certificate("rsa", commonName: "rsa.test", names: ["rsa.test"], key: .rsa)
        for wrongKey in [other.keyFile, rsa.keyFile] {
            let mismatched = TestCertificate(certificateFile: one.certificateFile, keyFile: wrongKey)
            #expect {
                try bed.server([mismatched])
            } throws: { error in
                let message = "\(error)"
                return message.contains(wrongKey.path) && message.contains("does not match")
                    && message.contains(one.certificateFile.path)
            }
        }
    }

    @Test func unreadablePEMIsRejectedNamingTheFile() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let good = try bed.source(site)
        var noCertificate = good
        noCertificate.certificatePEM = Array("not a certificate\n".utf8)
        var noKey = good
        noKey.keyPEM = good.certificatePEM
        for (source, file, words) in [(noCertificate, good.certificateFile, "no PEM certificate"),
                                      (noKey, good.keyFile, "no PEM private key")] {
            #expect {
                try TLSServerContext(certificates: [source], sessionContext: "t", ticketKeys: TicketKeys())
            } throws: { error in "\(error)".contains(file) && "\(error)".contains(words) }
        }
    }

    @Test func anEncryptedKeyIsRefusedWithoutPrompting() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let encrypted = bed.directory.appendingPathComponent("encrypted.key")
        try bed.factory.openssl(["pkey", "-in", site.keyFile.path, "-aes256", "-passout", "pass:secret",
                                 "-out", encrypted.path])
        #expect {
            try bed.server([TestCertificate(certificateFile: site.certificateFile, keyFile: encrypted)])
        } throws: { error in "\(error)".contains("encrypted") && "\(error)".contains(encrypted.path) }
    }

    @Test func theChainInTheCertificateFileIsSent() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let root = try bed.factory.authority("root")
        let intermediate = try bed.factory.certificate("intermediate", commonName: "Intermediate", names: [],
                                                       issuer: root, intermediate: true)
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"],
                                               issuer: intermediate, chain: [intermediate])
        let client = Ours(try TLSConnection(client: try bed.trusting(root), serverName: "site.test"))
        #expect(handshake(client, Ours(try TLSConnection(server: try bed.server([site])))).succeeded)
    }

    @Test func clientVerificationFailsOnAnUnknownAuthorityOrAnotherName() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let ca = try bed.factory.authority("ca")
        let stranger = try bed.factory.authority("stranger")
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test", "127.0.0.1"], issuer: ca)
        let context = try bed.server([site])

        let cases: [(TLSClientContext, String, Bool)] = [
            (try bed.trusting(ca), "site.test", true),
            (try bed.trusting(ca), "127.0.0.1", true),
            (try bed.trusting(stranger), "site.test", false),
            (try bed.trusting(ca), "other.test", false),
            (try bed.trusting(ca), "127.0.0.2", false),
            (try TLSClientContext(verify: false, caPEM: nil, caFile: nil), "other.test", true),
        ]
        for (clientContext, name, succeeds) in cases {
            let client = Ours(try TLSConnection(client: clientContext, serverName: name))
            let outcome = handshake(client, Ours(try TLSConnection(server: context)))
            #expect(outcome.succeeded == succeeds, "\(name)")
            if !succeeds {
                #expect(client.tls.failure?.contains("certificate verify failed") == true, "\(client.tls.failure ?? "")")
            }
        }
    }

    @Test func garbageInsteadOfAClientHelloFailsTheConnection() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"])
        let server = Ours(try TLSConnection(server: try bed.server([site])))
        let step = server.step(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(step.status == .failed)
        #expect(server.tls.failure != nil)
    }

    @Test func aHandshakeThatNeedsMoreRoomAsksForItAndResumes() throws {
        let bed = try CertificateBed()
        defer { bed.tearDown() }
        let ca = try bed.factory.authority("ca")
        let site = try bed.factory.certificate("site", commonName: "site.test", names: ["site.test"], issuer: ca, key: .rsa)
        let server = try TLSConnection(server: try bed.server([site]))
        let client = Ours(try TLSConnection(client: try bed.trusting(ca), serverName: "site.test"))
        let hello = client.step([])
        // The server's flight (certificate included) does not fit in 100 bytes: it is given in pieces.
        var flight: [UInt8] = []
        var input = hello.output
        var statuses: [TLSStatus] = []
        for _ in 0..<200 {
            var room = [UInt8](repeating: 0, count: 100)
            let p = input.withUnsafeBytes { i in room.withUnsafeMutableBytes { server.handshake(input: i, output: $0) } }
            input.removeFirst(p.consumed)
            flight += room[0..<p.produced]
            statuses.append(p.status)
            if p.status != .wantOutput { break }
        }
        #expect(statuses.first == .wantOutput)
        #expect(statuses.last == .wantInput)
        #expect(flight.count > 1000)
        let finished = client.step(flight)
        #expect(finished.status == .ok)
    }
}
