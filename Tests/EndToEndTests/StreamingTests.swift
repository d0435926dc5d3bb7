import Foundation
import Testing

/// Scenario 4, large bodies: 50 MB each way goes through with the proxy's memory flat, because
/// it streams instead of buffering. Serialized: two 50 MB transfers at once on two cores would
/// measure the machine more than the proxy.
@Suite(.serialized) struct StreamingTests {
    static let limit = 30 * 1024 * 1024

    /// Runs curl to completion while sampling the proxy's resident memory; returns curl's result,
    /// the largest growth over the memory before the transfer, and the number of samples.
    func transferSamplingMemory(_ arguments: [String], proxy: ProxyProcess, bed: TestBed) async throws -> (result: CurlResult, growth: Int, samples: Int) {
        let baseline = try proxy.residentBytes()
        let sampler = MemorySampler(pid: proxy.pid)
        let result: CurlResult
        do {
            result = try await bed.curl(arguments, timeout: .seconds(90))
        } catch {
            _ = sampler.stop()
            throw error
        }
        let (peak, samples) = sampler.stop()
        return (result, max(0, peak - baseline), samples)
    }

    @Test func fiftyMegabyteDownloadStreamsWithFlatMemory() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let size = 50 * 1024 * 1024
        // Warm up: the first exchange allocates the session's buffers.
        _ = try await curlSequence(port: proxy.port, count: 1, in: bed.directory)

        // A client slower than the backend: a proxy that buffered would have to hold the difference.
        let (result, growth, samples) = try await transferSamplingMemory(
            ["http://127.0.0.1:\(proxy.port)/big?bytes=\(size)", "-o", "/dev/null", "--limit-rate", "40M",
             "-w", "%{http_code} %{size_download}"], proxy: proxy, bed: bed)

        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "200 \(size)")
        #expect(samples >= 10, "the transfer was too short to sample memory during it")
        #expect(growth < Self.limit, "proxy RSS grew by \(growth / 1024) KiB")
    }

    @Test func fiftyMegabyteUploadIsEchoedIntactWithFlatMemory() async throws {
        let bed = try TestBed()
        defer { bed.tearDown() }
        let blue = try await bed.backend("blue")
        let proxy = try await bed.proxy(for: [blue])
        let input = bed.directory.appendingPathComponent("upload.bin")
        let output = bed.directory.appendingPathComponent("echoed.bin")
        let block = BodyTests.payload(1_000_003)
        var sent = Data(capacity: block.count * 52)
        for _ in 0..<52 { sent.append(block) }
        try sent.write(to: input)
        _ = try await curlSequence(port: proxy.port, count: 1, in: bed.directory)

        let (result, growth, samples) = try await transferSamplingMemory(
            ["http://127.0.0.1:\(proxy.port)/echo", "-H", "Expect:", "-T", input.path, "-X", "POST",
             "-o", output.path, "-w", "%{http_code} %{size_upload} %{size_download}"], proxy: proxy, bed: bed)

        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.text == "200 \(sent.count) \(sent.count)")
        #expect(try Data(contentsOf: output) == sent)
        #expect(samples >= 10, "the transfer was too short to sample memory during it")
        #expect(growth < Self.limit, "proxy RSS grew by \(growth / 1024) KiB")
    }
}
