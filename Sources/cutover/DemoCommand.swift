import ArgumentParser
import Config
import ControlPlane
import EventLoop
import Foundation
import Logging

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a demo: two built-in backends (blue, green) behind the proxy on 127.0.0.1:8080.")

    @Option(name: .shortAndLong, help: "The demo configuration (default: conf/demo.yaml if present, else the embedded copy).")
    var config: String?

    @Flag(help: "Print the embedded demo configuration and exit.")
    var printConfig = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        if printConfig {
            print(DemoConfig.yaml, terminator: "")
            return
        }
        logging.bootstrap()
        let file = config ?? demoConfigFile()
        let loaded = loadOrExit(file, warn: { ProcessLog.logger.warning("\($0)") })
        for pool in loaded.pools {
            for backend in pool.backends {
                guard let address = SocketAddress.resolve(host: backend.address.host, port: backend.address.port) else { continue }
                do {
                    try DemoBackend(name: pool.name, address: address).start()
                } catch {
                    ProcessLog.logger.critical("demo backend \(pool.name) on \(backend.address): \(error)")
                    Foundation.exit(1)
                }
            }
        }
        let listen = loaded.listeners.first.map { $0.listen.description } ?? "127.0.0.1:8080"
        runProxy(file: file, config: loaded) {
            print("""
            cutover demo is running (pid \(getpid())), config \(file)
              backends: \(loaded.pools.map { "\($0.name) on \($0.backends.map(\.address.description).joined(separator: ", "))" }.joined(separator: "; "))

            Try:
              curl http://\(listen)/                  # answered by the blue pool
              edit \(file): pools: { blue: 50, green: 50 }
              kill -HUP \(getpid())                    # reload: the split changes, no request dropped
              for i in $(seq 10); do curl -s http://\(listen)/; done
              Ctrl-C                                  # stops cleanly
            """)
            fflush(nil)  // the banner must show even when stdout is a pipe
        }
    }

    /// conf/demo.yaml when run from a checkout; otherwise the embedded copy, written out so it can
    /// be edited and reloaded.
    private func demoConfigFile() -> String {
        if FileManager.default.fileExists(atPath: "conf/demo.yaml") { return "conf/demo.yaml" }
        let path = NSTemporaryDirectory() + "cutover-demo.yaml"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(DemoConfig.yaml.utf8))
        }
        return path
    }
}
