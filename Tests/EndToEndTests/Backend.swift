import Foundation

/// A backend started by a test: `Fixtures/backend.py`, an HTTP/1.1 server (or a raw TCP echo
/// server) on a loopback port the kernel chose, answering with its name.
final class Backend: @unchecked Sendable {
    let name: String
    let port: UInt16
    let child: ChildProcess

    enum Mode: Equatable {
        case http, tcpEcho
        /// Answers every request with this status (a broken release).
        case failing(status: Int)
        /// HTTP over TLS with this certificate and key.
        case https(cert: String, key: String)
    }

    private init(name: String, port: UInt16, child: ChildProcess) {
        self.name = name
        self.port = port
        self.child = child
    }

    static var script: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "backend", withExtension: "py", subdirectory: "Fixtures") else {
                throw ChildFailure("Fixtures/backend.py is missing from the test bundle")
            }
            return url
        }
    }

    static func start(name: String, mode: Mode = .http, in directory: URL) async throws -> Backend {
        var arguments = [try script.path, "--name", name]
        switch mode {
        case .http: break
        case .tcpEcho: arguments.append("--tcp-echo")
        case .failing(let status): arguments += ["--fail-with", "\(status)"]
        case .https(let cert, let key): arguments += ["--tls-cert", cert, "--tls-key", key]
        }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments,
                                     label: "backend-\(name)", in: directory)
        var port: UInt16?
        do {
            try await waitUntil("backend \(name) reports its port") {
                if let line = child.stdoutText.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                    port = UInt16(line.dropFirst("READY ".count))
                    return true
                }
                if !child.isRunning { throw ChildFailure("backend \(name) exited: \(child.stderrText)") }
                return false
            }
        } catch {
            child.kill()
            throw error
        }
        guard let port else {
            child.kill()
            throw ChildFailure("backend \(name) printed no valid port: \(child.stdoutText)")
        }
        return Backend(name: name, port: port, child: child)
    }

    /// The backend's own tally, asked directly (not through the proxy): request heads received,
    /// and requests whose body arrived whole.
    func counts() async throws -> (heads: Int, complete: Int) {
        let client = try RawClient(port: port)
        try client.send("GET /count HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        guard response.status == 200,
              let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int],
              let heads = json["heads"], let complete = json["complete"]
        else { throw ChildFailure("backend \(name): bad /count answer \(response.bodyText)") }
        return (heads, complete)
    }
}
