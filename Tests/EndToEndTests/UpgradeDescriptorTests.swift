import Foundation
import Testing

/// Binary upgrade: the new process gets the listening sockets and nothing else of the old one's
/// descriptors. A descriptor the old process inherited from whoever started it (a file on
/// descriptor 9 here; Foundation's child-monitoring socket for the test's own handle) must not
/// live on in the new process: a supervisor that watches such a descriptor would otherwise see
/// the old process alive for as long as its successors run.
@Suite struct UpgradeDescriptorTests {
    @Test func theNewProcessInheritsTheListeningSocketsAndNothingElse() async throws {
        let bed = try TestBed()
        let a = try await bed.backend("a")
        let marker = bed.directory.appendingPathComponent("descriptor9.txt")
        let config = ProxyConfig.http(port: try Ports.free(), backends: [a])
            .withAdmin(port: try Ports.free())
            .setting(timeout: "shutdown", "3s")
        let u = try await UpgradeBed.start(config, descriptor9: marker, in: bed)
        defer { u.tearDown() }
        #expect(UpgradeBed.descriptors(u.first.pid)[9] == marker.path, "\(UpgradeBed.descriptors(u.first.pid))")
        let listening = Set(try await u.listeningInodes(u.port) + u.listeningInodes(u.adminPort)).map { "socket:[\($0)]" }

        let idle = try await u.idleKeepAlive()
        let upgrade = try await u.upgrade()
        withExtendedLifetime(idle) {}
        #expect(upgrade.status == 0, "\(upgrade)")
        let pid = try await u.servingPid()
        let held = UpgradeBed.descriptors(pid)
        #expect(!held.values.contains(marker.path), "the new process holds descriptor 9 of the old one: \(held)")
        #expect(listening.allSatisfy { held.values.contains($0) }, "listening \(listening); the new process holds \(held)")

        try await u.waitUntilGone(u.first.pid, timeout: .seconds(5))
        // The test's own handle (Foundation's Process) sees the old process exit too.
        let seen: Bool
        do {
            try await waitUntil("Foundation sees pid \(u.first.pid) exit", timeout: .seconds(2)) { !u.first.isRunning }
            seen = true
        } catch { seen = false }
        #expect(seen, "pid \(u.first.pid) has exited (a zombie), but its parent is not told while pid \(pid) holds a descriptor it inherited")
        print("upgrade descriptors: new process pid \(pid) holds \(held.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }); "
              + "old process exit seen by its parent: \(seen)")
    }
}
