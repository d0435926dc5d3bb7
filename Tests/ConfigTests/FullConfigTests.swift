import Config
import Testing

/// The example from INTERFACE.md (the external contract) parses, with every default filled in.
@Suite struct FullConfigTests {
    /// Verbatim from INTERFACE.md, "Configuration file (YAML)" (the external contract).
    static let interfaceExample = """
        workers: auto                 # data-plane threads; auto = number of cores
        admin:
          listen: 127.0.0.1:9901      # admin API; loopback unless the operator says otherwise
          # token: CHANGE-ME          # optional: then every admin request but /healthz and /ready needs
          #                           # "Authorization: Bearer <token>"
        listeners:
          - name: web
            listen: 127.0.0.1:8080
            protocol: http            # http | tcp
            route: app
            # tls:                    # optional TLS termination (OpenSSL)
            #   certificates:
            #     - { cert: conf/tls/site.crt, key: conf/tls/site.key }   # more than one: chosen by SNI
        routes:
          app:
            pools: { blue: 100, green: 0 }   # split of new requests between pools, by weight
            ramp: 0s                  # on reload, move from the old split to the new one over this time
            sticky:                   # optional: a client stays on one pool while the split is fractional
              cookie: cutover_pool
            override:                 # optional: pin a request to a pool (smoke-testing the standby colour)
              header: X-Cutover-Pool
              allow_from: [127.0.0.0/8]
        pools:
          blue:
            balance: round_robin      # round_robin | least_request | random
            backends:
              - { address: 127.0.0.1:9001, weight: 1 }
              - { address: 127.0.0.1:9002 }           # weight defaults to 1
            health_check:             # optional; without it every backend counts as healthy
              type: http              # http | tcp
              path: /healthz
              interval: 2s
              timeout: 1s
              rise: 2
              fall: 3
              expect_status: 200-399
            slow_start: 30s           # a backend that becomes healthy, or is added, ramps up over this time
            deregistration_delay: 30s # a removed backend finishes its in-flight work for at most this long
          green:
            backends:
              - { address: 127.0.0.1:9101 }
        timeouts:
          connect: 3s
          client_header: 10s
          upstream_response: 60s
          idle: 60s
          shutdown_delay: 0s
          shutdown: 30s
        limits:
          max_connections: 10000
          max_header_bytes: 16384
        access_log: off               # off | stdout | PATH
        """

    @Test func interfaceExampleParses() throws {
        let config = try #require(parseValid(Self.interfaceExample))
        #expect(config.file == testFile)
        #expect(config.workers == .auto)
        #expect(config.admin?.listen == HostPort(host: "127.0.0.1", port: 9901))
        #expect(config.admin?.token == nil)

        #expect(config.listeners.count == 1)
        let web = try #require(config.listeners.first)
        #expect(web.name == "web")
        #expect(web.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(web.proto == .http)
        #expect(web.route == "app")
        #expect(web.tls == nil)
        #expect(web.location == Config.SourceLocation(file: testFile, line: 7, column: 5))

        let app = try #require(config.route(named: "app"))
        #expect(app.pools.map(\.name) == ["blue", "green"])
        #expect(app.pools.map(\.weight) == [100, 0])
        #expect(app.ramp == .seconds(0))
        #expect(app.sticky?.cookie == "cutover_pool")
        #expect(app.override?.header == "X-Cutover-Pool")
        #expect(app.override?.allowFrom == ["127.0.0.0/8"])

        #expect(config.pools.map(\.name) == ["blue", "green"])
        let blue = try #require(config.pool(named: "blue"))
        #expect(blue.balance == .roundRobin)
        #expect(blue.backends.map(\.address) == [HostPort(host: "127.0.0.1", port: 9001), HostPort(host: "127.0.0.1", port: 9002)])
        #expect(blue.backends.map(\.weight) == [1, 1])
        let check = try #require(blue.healthCheck)
        #expect(check.type == .http)
        #expect(check.path == "/healthz")
        #expect(check.interval == .seconds(2))
        #expect(check.timeout == .seconds(1))
        #expect(check.rise == 2)
        #expect(check.fall == 3)
        #expect(check.expectStatus == [200...399])
        #expect(blue.passive == nil)
        #expect(blue.slowStart == .seconds(30))
        #expect(blue.deregistrationDelay == .seconds(30))
        #expect(blue.tls == nil)

        let green = try #require(config.pool(named: "green"))
        #expect(green.balance == .roundRobin)
        #expect(green.backends.map(\.address.description) == ["127.0.0.1:9101"])
        #expect(green.backends.map(\.weight) == [1])
        #expect(green.healthCheck == nil)
        #expect(green.slowStart == .seconds(0))
        #expect(green.deregistrationDelay == .seconds(30))

        #expect(config.timeouts == TimeoutsConfig())
        #expect(config.limits == LimitsConfig())
        #expect(config.accessLog == .off)
    }

    @Test func minimalConfigTakesEveryDefault() throws {
        let config = try #require(parseValid(minimalConfig))
        #expect(config.workers == .auto)
        #expect(config.admin == nil)
        #expect(config.listeners.map(\.proto) == [.http])
        #expect(config.listeners.first?.tls == nil)
        let route = try #require(config.route(named: "app"))
        #expect(route.ramp == .seconds(0))
        #expect(route.sticky == nil)
        #expect(route.override == nil)
        let t = config.timeouts
        #expect([t.connect, t.clientHeader, t.upstreamResponse, t.idle, t.shutdownDelay, t.shutdown]
            == [.seconds(3), .seconds(10), .seconds(60), .seconds(60), .seconds(0), .seconds(30)])
        #expect(config.limits.maxConnections == 10000)
        #expect(config.limits.maxHeaderBytes == 16384)
        #expect(config.accessLog == .off)
    }

    @Test func errorDescriptionIsFileLineColumnMessage() {
        #expect {
            _ = try ConfigLoader.parse(yaml: minimalConfig + "listner: x\n", file: "conf/cutover.yaml")
        } throws: { error in
            "\(error)" == "conf/cutover.yaml:12:1: unknown key 'listner' at the top level (did you mean 'listeners'?)"
        }
    }
}
