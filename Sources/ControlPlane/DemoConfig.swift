/// The demo's configuration, embedded so `cutover demo` works from any directory. It is the same
/// text as conf/demo.yaml (an end-to-end test holds them equal).
public enum DemoConfig {
    public static let yaml = """
# The configuration `cutover demo` runs: two built-in backends that answer with their colour,
# and the proxy in front of them on 127.0.0.1:8080. Edit the split below, then send SIGHUP.
workers: 1
listeners:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    route: app
routes:
  app:
    pools: { blue: 100, green: 0 }
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
