import Foundation
import Testing

/// `POST /backends/POOL/add|drain|enable|weight|remove?address=HOST:PORT` directly: each answers
/// 200 with the generation that has it and the file follows; 404 for an unknown pool, 409 for a
/// backend already there or not there, 422 for an edit or reload the proxy refuses (the file put
/// back), 401 without the bearer token when the admin section has one.
@Suite struct RollingAdminAPITests {
    /// The answer's JSON, with `ok` checked against the status.
    private func answer(_ response: HTTPResponse, _ what: String) throws -> [String: Any] {
        let json = try RollingBed.json(response)
        #expect(json["ok"] as? Bool == (response.status == 200), "\(what): \(response.status) \(response.bodyText)")
        if response.status != 200 { #expect(!(json["error"] as? String ?? "").isEmpty, "\(what): no error text") }
        return json
    }

    @Test func addDrainEnableWeightRemoveAndTheirRefusals() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let c = try await bed.backend("c")
        // a written in block style: the edits must keep that layout too.
        let entries = ["      - address: 127.0.0.1:\(a.port)   # block style", "        weight: 1"]
        let s = try await RollingBed.start([a.port], entries: entries, poolLines: RollingBed.check() + ["deregistration_delay: 2s"], in: bed)
        let C = s.address(c.port)
        var generation = try await s.generation()

        // add, with a weight
        let add = try await s.admin("POST", "/backends/blue/add?address=\(C)&weight=2")
        #expect(add.status == 200, "\(add.bodyText)")
        var json = try answer(add, "add")
        #expect(json["generation"] as? Int == generation + 1, "\(json)")
        #expect((json["changes"] as? [Any])?.isEmpty == false, "\(json)")
        generation += 1
        #expect(try s.filePorts() == [a.port, c.port], "\(s.text)")
        #expect(try s.linesLost(editing: []).isEmpty, "\(s.text)")
        try await waitUntil("c is usable") { try await s.backend(c.port).map(RollingBed.isUsable) == true }
        #expect(try await s.backend(c.port)?["weight"] as? Int == 2)
        #expect(try await s.answers(6).contains("c"))

        // already there: 409, file untouched
        var before = try s.fileText()
        let twice = try await s.admin("POST", "/backends/blue/add?address=\(C)")
        #expect(twice.status == 409, "\(twice.bodyText)")
        _ = try answer(twice, "add twice")
        #expect(try s.fileText() == before)
        // unknown pool: 404
        let unknownPool = try await s.admin("POST", "/backends/green/add?address=\(C)")
        #expect(unknownPool.status == 404, "\(unknownPool.bodyText)")
        _ = try answer(unknownPool, "unknown pool")
        #expect(try s.fileText() == before)

        // drain
        let drain = try await s.admin("POST", "/backends/blue/drain?address=\(C)")
        #expect(drain.status == 200, "\(drain.bodyText)")
        json = try answer(drain, "drain")
        #expect(json["generation"] as? Int == generation + 1, "\(json)")
        generation += 1
        #expect(s.entryText(c.port).contains("state: drain"), "\(s.text)")
        #expect(try s.linesLost(editing: [c.port]).isEmpty, "\(s.text)")
        let drained = try await s.backend(c.port) ?? [:]
        #expect(drained["admin_state"] as? String == "drain", "\(drained)")
        #expect(drained["state"] as? String == "draining", "\(drained)")
        #expect(drained["health"] as? String == "healthy", "\(drained)")
        #expect(drained["drain_seconds_left"] is Double, "\(drained)")
        #expect(drained["in_flight"] is Int && drained["connections"] is Int, "\(drained)")
        #expect(try await s.answers(6) == Array(repeating: "a", count: 6))
        let metrics = try await MetricsScrape.fetch(adminPort: s.adminPort, in: bed.directory)
        #expect(metrics.value("cutover_backend_admin_state", ["pool": "blue", "backend": C, "state": "drain"]) == 1)
        #expect(metrics.value("cutover_backend_admin_state", ["pool": "blue", "backend": C, "state": "active"]) == 0)
        // Draining a drained backend changes nothing.
        let again = try await s.admin("POST", "/backends/blue/drain?address=\(C)")
        #expect(again.status == 200, "\(again.bodyText)")

        // enable
        let enable = try await s.admin("POST", "/backends/blue/enable?address=\(C)")
        #expect(enable.status == 200, "\(enable.bodyText)")
        _ = try answer(enable, "enable")
        #expect(try await s.backend(c.port)?["admin_state"] as? String == "active")
        try await waitUntil("c takes requests again") { try await s.answers(4).contains("c") }

        // weight: in the file and in /status; out of range and missing are 422
        let weight = try await s.admin("POST", "/backends/blue/weight?address=\(C)&weight=5")
        #expect(weight.status == 200, "\(weight.bodyText)")
        _ = try answer(weight, "weight")
        #expect(try await s.backend(c.port)?["weight"] as? Int == 5)
        #expect(try s.fileText().contains("weight: 5"), "\(s.text)")
        before = try s.fileText()
        for path in ["/backends/blue/weight?address=\(C)&weight=999", "/backends/blue/weight?address=\(C)",
                     "/backends/blue/add?weight=1", "/backends/blue/drain?address=nonsense"] {
            let refused = try await s.admin("POST", path)
            #expect(refused.status == 422, "\(path): \(refused.status) \(refused.bodyText)")
            _ = try answer(refused, path)
        }
        #expect(try s.fileText() == before)
        // GET is not an operation.
        #expect(try await s.admin("GET", "/backends/blue/drain?address=\(C)").status == 405)

        // remove; then the backend is not there: 409 for every operation on it
        let remove = try await s.admin("POST", "/backends/blue/remove?address=\(C)")
        #expect(remove.status == 200, "\(remove.bodyText)")
        _ = try answer(remove, "remove")
        #expect(try s.filePorts() == [a.port], "\(s.text)")
        #expect(try s.fileText() == s.original, "add then remove should give the file back:\n\(s.text)")
        try await waitUntil("c is no longer listed", timeout: .seconds(3)) { try await s.listedPorts() == [a.port] }
        for operation in ["drain", "enable", "remove", "weight"] {
            let gone = try await s.admin("POST", "/backends/blue/\(operation)?address=\(C)&weight=1")
            #expect(gone.status == 409, "\(operation) of a backend not there: \(gone.status) \(gone.bodyText)")
            _ = try answer(gone, operation)
        }
        // The last backend of a pool cannot be removed (a pool needs one): the edit is refused.
        let last = try await s.admin("POST", "/backends/blue/remove?address=\(s.address(a.port))")
        #expect(last.status == 422, "\(last.status) \(last.bodyText)")
        #expect(try s.fileText() == s.original)
        #expect(try await s.answers(3) == ["a", "a", "a"])
    }

    @Test func aReloadTheProxyRejectsIsA422AndTheFileIsPutBack() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let c = try await bed.backend("c")
        let s = try await RollingBed.start([a.port], in: bed)
        // Valid YAML and a valid config, but the new listener's port is taken: the reload fails to bind it.
        let taken = try bed.refusingPort()
        let edited = s.original.replacingOccurrences(
            of: "\nroutes:\n", with: "  - name: extra\n    listen: 127.0.0.1:\(taken)\n    route: app\n\nroutes:\n")
        try edited.write(to: s.file, atomically: true, encoding: .utf8)

        let add = try await s.admin("POST", "/backends/blue/add?address=\(s.address(c.port))")
        #expect(add.status == 422, "\(add.status) \(add.bodyText)")
        _ = try answer(add, "add with a failing reload")
        #expect(add.bodyText.contains("restored"), "\(add.bodyText)")
        #expect(try s.fileText() == edited)
        #expect(try await s.listedPorts() == [a.port])

        let cli = try await s.cutover(["backend", "add", "blue", s.address(c.port)])
        #expect(cli.status == 1, "\(cli)")
        #expect(cli.stderr.contains("rejected"), "\(cli.stderr)")
        #expect(try s.fileText() == edited)
        #expect(try await s.answers(3) == ["a", "a", "a"])
    }

    @Test func withATokenOperationsNeedIt() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let a = try await bed.backend("a")
        let c = try await bed.backend("c")
        let s = try await RollingBed.start([a.port], token: "s3cret", in: bed)
        let path = "/backends/blue/add?address=\(s.address(c.port))"

        let none = try await s.admin("POST", path, token: .some(nil))
        #expect(none.status == 401, "\(none.status) \(none.bodyText)")
        let wrong = try await s.admin("POST", path, token: "nope")
        #expect(wrong.status == 401, "\(wrong.status) \(wrong.bodyText)")
        #expect(try s.fileText() == s.original)

        // The CLI with a wrong token: 2, the file untouched; with the file's own token: done.
        let refused = try await s.cutover(["backend", "add", "blue", s.address(c.port), "--token", "nope"])
        #expect(refused.status == 2, "\(refused)")
        #expect(try s.fileText() == s.original)
        let added = try await s.cutover(["backend", "add", "blue", s.address(c.port)])
        #expect(added.status == 0, "\(added)")
        #expect(try s.filePorts() == [a.port, c.port])

        let right = try await s.admin("POST", "/backends/blue/drain?address=\(s.address(c.port))")
        #expect(right.status == 200, "\(right.status) \(right.bodyText)")
        #expect(try await s.backend(c.port)?["admin_state"] as? String == "drain")
    }
}
