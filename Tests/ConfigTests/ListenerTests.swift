import Config
import Testing

/// `listeners:` rules. The `routes`/`pools` tail shared by these tests is appended after the
/// listeners, so positions are counted from the top of each literal.
@Suite struct ListenerTests {
    static let tail = """
        routes:
          app:
            pools: { blue: 100 }
        pools:
          blue:
            backends:
              - address: 127.0.0.1:9001
        """

    @Test func listenersMustNotBeEmpty() {
        expectError("listeners: []\n" + Self.tail, line: 1, column: 12, "invalid 'listeners': must not be empty")
    }

    @Test func listenersMustBeAList() {
        expectError("listeners:\n  web: {}\n" + Self.tail, line: 2, column: 3,
                    "invalid 'listeners': expected a list, found a mapping")
    }

    @Test func namesMustBeUnique() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
              - name: web
                listen: 127.0.0.1:8081
                route: app

            """ + Self.tail
        expectError(yaml, line: 5, column: 11, "duplicate listener name 'web' (first used on line 2)")
    }

    @Test func listenAddressesMustBeUnique() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
              - name: api
                listen: 127.0.0.1:8080
                route: app

            """ + Self.tail
        expectError(yaml, line: 6, column: 13, "listen address 127.0.0.1:8080 is already used by listener 'web'")
    }

    @Test func namesUseASafeAlphabet() {
        let yaml = """
            listeners:
              - name: my web
                listen: 127.0.0.1:8080
                route: app

            """ + Self.tail
        expectError(yaml, line: 2, column: 11, "invalid listener name 'my web'")
    }

    @Test func listenMustBeAnAddress() {
        let yaml = """
            listeners:
              - name: web
                listen: 8080
                route: app

            """ + Self.tail
        expectError(yaml, line: 3, column: 13, "invalid 'listeners[0].listen': '8080' has no port")
    }

    @Test func protocolDefaultsToHTTPAndAcceptsTCP() throws {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: app
              - name: db
                listen: "[::1]:5432"
                protocol: tcp
                route: app

            """ + Self.tail
        let listeners = try #require(parseValid(yaml)).listeners
        #expect(listeners.map(\.proto) == [.http, .tcp])
        #expect(listeners[1].listen == HostPort(host: "::1", port: 5432))
        #expect(listeners[1].location == Config.SourceLocation(file: testFile, line: 5, column: 5))
    }

    @Test func protocolMustBeKnown() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                protocol: htp
                route: app

            """ + Self.tail
        expectError(yaml, line: 4, column: 15,
                    "invalid 'listeners[0].protocol': expected one of 'http', 'tcp', found 'htp' (did you mean 'http'?)")
    }

    @Test func routeMustBeDefined() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                route: ap

            """ + Self.tail
        expectError(yaml, line: 4, column: 12, "route 'ap' is not defined in 'routes' (did you mean 'app'?)")
    }

    @Test func unknownListenerKeySuggests() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8080
                rout: app

            """ + Self.tail
        expectError(yaml, line: 4, column: 5, "unknown key 'rout' in listeners[0] (did you mean 'route'?)")
    }

    @Test func tlsCertificatesAreKeptInOrderWithoutOpeningTheFiles() throws {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8443
                route: app
                tls:
                  certificates:
                    - { cert: /nonexistent/a.crt, key: /nonexistent/a.key }
                    - { cert: b.crt, key: b.key }

            """ + Self.tail
        let tls = try #require(parseValid(yaml)?.listeners.first?.tls)
        #expect(tls.certificates.map(\.cert) == ["/nonexistent/a.crt", "b.crt"])
        #expect(tls.certificates.map(\.key) == ["/nonexistent/a.key", "b.key"])
    }

    @Test func tlsNeedsAtLeastOneCertificate() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8443
                route: app
                tls:
                  certificates: []

            """ + Self.tail
        expectError(yaml, line: 6, column: 21, "invalid 'listeners[0].tls.certificates': must not be empty")
    }

    @Test func tlsCertificateNeedsAKey() {
        let yaml = """
            listeners:
              - name: web
                listen: 127.0.0.1:8443
                route: app
                tls:
                  certificates:
                    - cert: site.crt

            """ + Self.tail
        expectError(yaml, line: 7, column: 11, "missing required key 'key' in listeners[0].tls.certificates[0]")
    }
}
