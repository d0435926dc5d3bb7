import Foundation
import TestCertificates

/// Everything one test starts: a scratch directory, backends, proxies. `tearDown()` (deferred by
/// every test, and run again by `deinit`) kills every process and removes the directory, whether
/// the test passed, failed or threw.
final class TestBed: @unchecked Sendable {
    let directory: URL
    private var children: [ChildProcess] = []
    private var refusingPorts: [RefusingPort] = []
    private let lock = NSLock()

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cutover-e2e-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { tearDown() }

    private func track(_ child: ChildProcess) {
        lock.withLock { children.append(child) }
    }

    /// Makes `child` one of this test's processes: killed by `tearDown()`.
    func adopt(_ child: ChildProcess) {
        track(child)
    }

    func backend(_ name: String) async throws -> Backend {
        let backend = try await Backend.start(name: name, in: directory)
        track(backend.child)
        return backend
    }

    /// A backend that answers every request with `status`.
    func failingBackend(_ name: String, status: Int) async throws -> Backend {
        let backend = try await Backend.start(name: name, mode: .failing(status: status), in: directory)
        track(backend.child)
        return backend
    }

    func tcpEchoBackend(_ name: String) async throws -> Backend {
        let backend = try await Backend.start(name: name, mode: .tcpEcho, in: directory)
        track(backend.child)
        return backend
    }

    /// A backend speaking HTTP over TLS with `certificate`.
    func tlsBackend(_ name: String, certificate: TestCertificate) async throws -> Backend {
        let backend = try await Backend.start(name: name, mode: .https(cert: certificate.certificateFile.path,
                                                                      key: certificate.keyFile.path), in: directory)
        track(backend.child)
        return backend
    }

    /// Makes certificates in this test's directory.
    var certificates: CertificateFactory { CertificateFactory(directory: directory) }

    /// A backend address that refuses connections until the test ends.
    func refusingPort() throws -> UInt16 {
        let reserved = try Ports.refusing()
        lock.withLock { refusingPorts.append(reserved) }
        return reserved.port
    }

    func proxy(_ config: ProxyConfig) async throws -> ProxyProcess {
        let proxy = try await ProxyProcess.start(config, in: directory)
        track(proxy.child)
        return proxy
    }

    /// A proxy on a fresh port in front of one pool `blue` holding `backends`.
    func proxy(for backends: [Backend], adjust: (ProxyConfig) -> ProxyConfig = { $0 }) async throws -> ProxyProcess {
        try await proxy(adjust(.http(port: try Ports.free(), backends: backends)))
    }

    func curl(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CurlResult {
        try await EndToEndTests.curl(arguments, in: directory, timeout: timeout)
    }

    func tearDown() {
        let all = lock.withLock { () -> [ChildProcess] in
            defer { children.removeAll() }
            return children
        }
        for child in all { child.kill() }
        lock.withLock { refusingPorts.removeAll() }
        try? FileManager.default.removeItem(at: directory)
    }
}
