import Foundation
import Glibc

/// A real etcd server for a fleet test: Debian's `etcd` (package `etcd-server`) on two loopback
/// ports, its data in the test's directory. `kill()` and `start()` again keep the data.
final class EtcdServer: @unchecked Sendable {
    let clientPort: UInt16
    let peerPort: UInt16
    let dataDirectory: URL
    let directory: URL
    private(set) var child: ChildProcess?

    static let binary = URL(fileURLWithPath: "/usr/bin/etcd")
    static let control = URL(fileURLWithPath: "/usr/bin/etcdctl")

    init(in directory: URL) throws {
        guard FileManager.default.isExecutableFile(atPath: EtcdServer.binary.path),
              FileManager.default.isExecutableFile(atPath: EtcdServer.control.path) else {
            throw ChildFailure("no etcd: install Debian's etcd-server and etcd-client (scripts/test does)")
        }
        self.directory = directory
        clientPort = try Ports.free()
        peerPort = try Ports.free()
        dataDirectory = directory.appendingPathComponent("etcd-data", isDirectory: true)
    }

    var url: String { "http://127.0.0.1:\(clientPort)" }

    /// Starts etcd and waits until it answers a read.
    func start() async throws -> ChildProcess {
        let peer = "http://127.0.0.1:\(peerPort)"
        let child = try ChildProcess(EtcdServer.binary, [
            "--name", "fleet-test", "--data-dir", dataDirectory.path,
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "fleet-test=\(peer)", "--log-level", "warn",
        ], label: "etcd", in: directory, environment: ["ETCDCTL_API": "3"])
        self.child = child
        try await waitUntil("etcd answers on \(clientPort)", timeout: .seconds(20), every: .milliseconds(50)) {
            if !child.isRunning { throw ChildFailure("etcd exited: \(child.stderrText.suffix(2000))") }
            guard Ports.isAccepting(clientPort) else { return false }
            return (try? await ctl(["get", "/ready-probe"]).status) == 0
        }
        return child
    }

    /// SIGKILL: etcd gone at once, as in a crash.
    func kill() {
        child?.kill()
    }

    /// `etcdctl --endpoints URL ARGS…`.
    func ctl(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(EtcdServer.control, ["--endpoints", url, "--command-timeout", "3s"] + arguments,
                                     label: "etcdctl", in: directory, environment: ["ETCDCTL_API": "3"])
        defer { child.kill() }
        let status = try await child.waitForExit(timeout: .seconds(15))
        return (status, child.stdoutText, child.stderrText)
    }

    /// The store's current revision.
    func revision() async throws -> Int {
        let out = try await ctl(["get", "/", "--prefix", "--keys-only", "--limit", "1", "-w", "json"])
        guard let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any],
              let header = json["header"] as? [String: Any], let revision = header["revision"] as? Int
        else { throw ChildFailure("etcdctl get -w json: \(out)") }
        return revision
    }
}

/// Three (or more) cutover instances of one fleet in front of the same two pools (`blue`, `green`,
/// one backend each), each with its own listener, admin API and state directory, sharing etcd.
final class FleetBed: @unchecked Sendable {
    struct Instance {
        var name: String
        var port: UInt16
        var adminPort: UInt16
        var configURL: URL
        var stateDirectory: URL
        var child: ChildProcess?
    }

    let bed: TestBed
    let etcd: EtcdServer
    let blue: Backend
    let green: Backend
    let prefix = "/cutover/test"
    /// Route `app`'s `rollout:` policy in every instance's file (nil: none).
    private(set) var rollout: RolloutYAML?
    private(set) var instances: [Instance] = []

    private init(bed: TestBed, etcd: EtcdServer, blue: Backend, green: Backend) {
        self.bed = bed
        self.etcd = etcd
        self.blue = blue
        self.green = green
    }

    /// etcd, the two backends, and `names` instances started and reporting to etcd.
    static func start(_ names: [String] = ["edge-1", "edge-2", "edge-3"], rollout: RolloutYAML? = nil) async throws -> FleetBed {
        let bed = try TestBed()
        let etcd = try EtcdServer(in: bed.directory)
        bed.adopt(try await etcd.start())
        let fleet = FleetBed(bed: bed, etcd: etcd, blue: try await bed.backend("blue"), green: try await bed.backend("green"))
        fleet.rollout = rollout
        for name in names {
            let state = bed.directory.appendingPathComponent("state-\(name)", isDirectory: true)
            fleet.instances.append(Instance(name: name, port: try Ports.free(), adminPort: try Ports.free(),
                                            configURL: bed.directory.appendingPathComponent("\(name).yaml"),
                                            stateDirectory: state))
            try fleet.writeConfig(fleet.instances.count - 1)
        }
        for i in fleet.instances.indices { try await fleet.startInstance(i) }
        try await fleet.waitForReports(count: names.count)
        return fleet
    }

    /// The instance's file; `extraPool` adds a pool `red` (on the blue backend) to route app.
    func yaml(_ i: Int, extraPool: Bool = false) -> String {
        let instance = instances[i]
        return """
            workers: 1
            admin: { listen: 127.0.0.1:\(instance.adminPort) }
            listeners:
              - { name: web, listen: 127.0.0.1:\(instance.port), route: app }
            routes:
              app:
                pools: { blue: 100, green: 0\(extraPool ? ", red: 0" : "") }
                override: { header: X-Cutover-Pool }\(rollout.map { "\n" + $0.lines.map { "    " + $0 }.joined(separator: "\n") } ?? "")
            pools:
              blue:
                backends: [ { address: 127.0.0.1:\(blue.port) } ]
              green:
                backends: [ { address: 127.0.0.1:\(green.port) } ]
            \(extraPool ? "  red:\n    backends: [ { address: 127.0.0.1:\(blue.port) } ]\n" : "")timeouts: { connect: 1s, shutdown: 5s }
            state_dir: \(instance.stateDirectory.path)
            cluster:
              etcd: [\(etcd.url)]
              prefix: \(prefix)
              instance: \(instance.name)

            """
    }

    func writeConfig(_ i: Int) throws {
        try yaml(i).write(to: instances[i].configURL, atomically: true, encoding: .utf8)
    }

    /// Starts instance `i` and waits until its listener accepts.
    func startInstance(_ i: Int) async throws {
        let child = try ChildProcess(try CutoverBinary.url, ["run", "-c", instances[i].configURL.path],
                                     label: "cutover-\(instances[i].name)", in: bed.directory)
        bed.adopt(child)
        instances[i].child = child
        let port = instances[i].port
        try await waitUntil("\(instances[i].name) accepts on \(port)") {
            if !child.isRunning { throw ChildFailure("\(instances[i].name) exited: \(child.stderrText)") }
            return Ports.isAccepting(port)
        }
    }

    /// SIGTERM, and waits for the exit (the instance revokes its lease on the way out).
    func stopInstance(_ i: Int) async throws {
        guard let child = instances[i].child else { return }
        child.send(signal: SIGTERM)
        try await child.waitForExit(timeout: .seconds(15))
    }

    /// Runs `cutover ARGS -c <instance 0's file>` (or `file`).
    func cutover(_ arguments: [String], file: URL? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await CutoverBinary.run(arguments + ["-c", (file ?? instances[0].configURL).path], in: bed.directory, timeout: .seconds(60))
    }

    /// Instance `i`'s `/status`.
    func status(_ i: Int) async throws -> [String: Any] {
        let result = try await bed.curl(["-s", "--max-time", "5", "http://127.0.0.1:\(instances[i].adminPort)/status"])
        guard result.exitCode == 0, let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any] else {
            throw ChildFailure("\(instances[i].name) /status: \(result.stderr)")
        }
        return json
    }

    /// Instance `i`'s `/status` `fleet` object.
    func fleet(_ i: Int) async throws -> [String: Any] {
        guard let fleet = try await status(i)["fleet"] as? [String: Any] else { throw ChildFailure("no fleet object in /status") }
        return fleet
    }

    /// The backends that answered `count` requests through instance `i`.
    func answers(_ i: Int, count: Int = 4) async throws -> [String] {
        try await curlSequence(port: instances[i].port, count: count, in: bed.directory)
            .map { $0.status == 200 ? $0.backend : "status \($0.status)" }
    }

    /// Waits until `count` instances report under the prefix.
    func waitForReports(count: Int) async throws {
        try await waitUntil("\(count) instances report to etcd", timeout: .seconds(15), every: .milliseconds(50)) {
            let out = try await etcd.ctl(["get", "\(prefix)/instances/", "--prefix", "--keys-only"])
            return out.stdout.split(separator: "\n").filter { !$0.isEmpty }.count == count
        }
    }

    /// Waits until instance `i` has fleet generation `generation` in force.
    func waitForGeneration(_ i: Int, _ generation: Int, timeout: Duration = .seconds(20)) async throws {
        try await waitUntil("\(instances[i].name) applies fleet generation \(generation)", timeout: timeout, every: .milliseconds(50)) {
            (try await fleet(i)["applied_generation"] as? Int) == generation
        }
    }

    /// Waits until every running instance says it is connected (or not) to etcd.
    func waitForConnected(_ connected: Bool, _ indices: [Int]? = nil) async throws {
        for i in indices ?? Array(instances.indices) {
            try await waitUntil("\(instances[i].name) says connected: \(connected)", timeout: .seconds(30), every: .milliseconds(50)) {
                (try await fleet(i)["connected"] as? Bool) == connected
            }
        }
    }

    /// Seconds the command reported the fleet took to agree ("… in 0.12 s").
    static func agreementSeconds(_ output: String) -> Double? {
        guard let range = output.range(of: #"in [0-9.]+ s"#, options: .regularExpression) else { return nil }
        return Double(output[range].dropFirst(3).dropLast(2))
    }
}
