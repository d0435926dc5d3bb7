import Foundation

/// A test bed whose proxy has an admin API: one request per connection, `/status` as JSON.
protocol AdminAPIBed {
    var adminPort: UInt16 { get }
    /// How long one admin answer may take (an upgrade's waits for the new process).
    var adminTimeout: Duration { get }
}

extension AdminAPIBed {
    var adminTimeout: Duration { .seconds(10) }

    /// One request to the admin API on a connection of its own.
    func admin(_ method: String, _ path: String) async throws -> HTTPResponse {
        let client = try RawClient(port: adminPort, timeout: adminTimeout)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
        if method == "POST" { request += "Content-Length: 0\r\n" }
        try client.send(request + "\r\n")
        return try await client.readResponse()
    }

    func status() async throws -> [String: Any] {
        let response = try await admin("GET", "/status")
        guard response.status == 200,
              let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else { throw ChildFailure("bad /status answer: \(response.status) \(response.bodyText)") }
        return object
    }

    func generation() async throws -> Int {
        guard let generation = try await status()["generation"] as? Int else { throw ChildFailure("no generation in /status") }
        return generation
    }
}

/// A bed with one backend per pool (or colour), by name.
protocol BackendsByName {
    var backends: [String: Backend] { get }
}

extension BackendsByName {
    /// Request heads each backend has received, by its pool's name.
    func heads() async throws -> [String: Int] {
        var heads: [String: Int] = [:]
        for (name, backend) in backends { heads[name] = try await backend.counts().heads }
        return heads
    }
}
