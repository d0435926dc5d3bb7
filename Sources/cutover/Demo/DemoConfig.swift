/// The demo's configuration, embedded so `cutover demo` works from any directory. It is the same
/// text as conf/demo.yaml (an end-to-end test holds them equal).
enum DemoConfig {
    static let yaml = """
# The configuration `cutover demo` runs: two built-in backends that answer with their colour,
# the proxy in front of them on 127.0.0.1:8080, and its admin API on 127.0.0.1:9901 (for
# cutover status, switch, rollout). The demo runs a copy of this file in a temporary directory.
workers: 1
admin:
  listen: 127.0.0.1:9901
listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    route: app
routes:
  app:
    pools: { blue: 100, green: 0 }
    override: { header: X-Cutover-Pool }   # cutover switch smoke-tests the standby with it
    # A canary rollout sized for the demo's 50 requests/s: 10 %, 50 %, 100 %, done in well under a minute.
    rollout:
      steps: [10, 50, 100]
      step_duration: 5s
      min_requests: 30
      interval: 1s
      warmup: 1s
      checks:
        error_rate: { max_ratio: 2, max_increase: 1%, max: 5% }
        latency: { quantile: 0.99, max_ratio: 2, max: 500ms }
      confidence: 99%
      on_failure: rollback
pools:
  blue:
    backends:
      - { address: 127.0.0.1:9001 }
  green:
    backends:
      - { address: 127.0.0.1:9002 }
timeouts:
  connect: 1s
  shutdown: 5s

"""
}
