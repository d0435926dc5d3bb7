import Config
import Testing

/// `describePlan`: the summary `cutover check` prints.
@Suite struct PlanTests {
    @Test func planOfTheInterfaceExample() throws {
        let config = try #require(parseValid(FullConfigTests.interfaceExample))
        let lines = describePlan(config).split(separator: "\n").map(String.init)
        let expected = [
            "workers: auto (one per core)",
            "admin: 127.0.0.1:9901 (token: none)",
            "listeners:",
            "  web: 127.0.0.1:8080 http -> route app, tls: no",
            "routes:",
            "  app: blue 100%, green 0% (ramp 0s)",
            "    sticky: cookie cutover_pool",
            "    override: header X-Cutover-Pool from 127.0.0.0/8",
            "pools:",
            "  blue: round_robin, 2 backends, slow_start 30s, deregistration_delay 30s",
            "    health check: http GET /healthz every 2s, timeout 1s, rise 2, fall 3, expect 200-399",
            "    backend 127.0.0.1:9001 weight 1",
            "    backend 127.0.0.1:9002 weight 1",
            "  green: round_robin, 1 backend, slow_start 0s, deregistration_delay 30s",
            "    health check: none (every backend counts as healthy)",
            "    backend 127.0.0.1:9101 weight 1",
            "timeouts: connect 3s, client_header 10s, upstream_response 60s, idle 60s, shutdown_delay 0s, shutdown 30s",
            "limits: max_connections 10000, max_header_bytes 16384",
            "access_log: off",
        ]
        #expect(lines == expected)
    }

    @Test func planShowsFractionalSplitsTLSAndNeverTheToken() throws {
        let yaml = """
            workers: 2
            admin: { listen: "[::1]:9901", token: s3cret }
            listeners:
              - name: web
                listen: 0.0.0.0:8443
                route: app
                tls:
                  certificates:
                    - { cert: a.crt, key: a.key }
                    - { cert: b.crt, key: b.key }
              - name: db
                listen: 0.0.0.0:5432
                protocol: tcp
                route: app
            routes:
              app:
                pools: { blue: 2, green: 1 }
                ramp: 5m
            pools:
              blue:
                balance: least_request
                passive: {}
                tls: { verify: false }
                health_check: { type: tcp, port: 9100, interval: 500ms }
                backends: [{ address: "[2001:db8::1]:9001", weight: 10 }]
              green:
                backends: [{ address: green.internal:9101 }]
            access_log: /var/log/cutover.log
            """
        let plan = describePlan(try #require(parseValid(yaml)))
        let lines = plan.split(separator: "\n").map(String.init)
        #expect(lines.contains("workers: 2"))
        #expect(lines.contains("admin: [::1]:9901 (token: set)"))
        #expect(!plan.contains("s3cret"))
        #expect(lines.contains("  web: 0.0.0.0:8443 http -> route app, tls: yes (2 certificates)"))
        #expect(lines.contains("  db: 0.0.0.0:5432 tcp -> route app, tls: no"))
        #expect(lines.contains("  app: blue 66.7%, green 33.3% (ramp 300s)"))
        #expect(lines.contains("  blue: least_request, 1 backend, slow_start 0s, deregistration_delay 30s, tls (verify: no)"))
        #expect(lines.contains("    health check: tcp connect on port 9100 every 500ms, timeout 1s, rise 2, fall 3"))
        #expect(lines.contains("    passive: eject for 30s after 5 consecutive failures"))
        #expect(lines.contains("    backend [2001:db8::1]:9001 weight 10"))
        #expect(lines.contains("    backend green.internal:9101 weight 1"))
        #expect(lines.contains("access_log: /var/log/cutover.log"))
    }
}
