import Foundation
import Testing

/// Issue 4: route splits are accurate at any weight (±1 percentage point over 20,000 requests;
/// exact with one worker, whose smooth weighted round robin is exact in every window), and a pool
/// at weight 0 gets no new request at all.
@Suite struct SplitAccuracyTests {
    struct SplitCase: CustomTestStringConvertible, Sendable {
        var blue: Int
        var green: Int
        var workers: Int
        var clients: Int
        var testDescription: String { "\(blue)/\(green), \(workers) worker(s), \(clients) keep-alive client(s)" }
    }

    @Test(arguments: [
        SplitCase(blue: 95, green: 5, workers: 1, clients: 1),
        SplitCase(blue: 1, green: 99, workers: 1, clients: 1),
        SplitCase(blue: 95, green: 5, workers: 2, clients: 4),
    ])
    func splitOverTwentyThousandRequestsIsWithinOnePercentagePoint(_ c: SplitCase) async throws {
        let s = try await ColourBed.start([("blue", c.blue), ("green", c.green)], workers: c.workers)
        defer { s.bed.tearDown() }
        let total = 20_000

        let load = try LoadGenerator.start(port: s.port, keepAlive: c.clients, count: total, in: s.bed.directory)
        defer { load.kill() }
        let report = try await load.finish(timeout: .seconds(40))

        #expect(report.records.count == total)
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        let heads = try await s.heads()
        #expect(heads == report.backends, "backends counted \(heads), clients saw \(report.backends)")
        for (colour, weight) in [("blue", c.blue), ("green", c.green)] {
            let share = Double(heads[colour] ?? 0) * 100 / Double(total)
            #expect(abs(share - Double(weight)) <= 1, "\(colour): \(share)% for weight \(weight): \(heads)")
        }
        if c.workers == 1 {
            // One worker, one rotation: every window of 100 requests holds exactly the weights.
            #expect(heads == ["blue": total * c.blue / 100, "green": total * c.green / 100])
        }
    }

    struct ZeroCase: CustomTestStringConvertible, Sendable {
        var split: [Pair]
        struct Pair: Sendable { var pool: String; var weight: Int }
        var testDescription: String { split.map { "\($0.pool) \($0.weight)" }.joined(separator: ", ") }
    }

    @Test(arguments: [
        ZeroCase(split: [.init(pool: "blue", weight: 100), .init(pool: "green", weight: 0)]),
        ZeroCase(split: [.init(pool: "blue", weight: 0), .init(pool: "green", weight: 50), .init(pool: "red", weight: 50)]),
    ])
    func aPoolAtWeightZeroGetsNoRequestOverAThousand(_ c: ZeroCase) async throws {
        let s = try await ColourBed.start(c.split.map { ($0.pool, $0.weight) }, workers: 2)
        defer { s.bed.tearDown() }

        let load = try LoadGenerator.start(port: s.port, keepAlive: 2, fresh: 2, count: 1000, in: s.bed.directory)
        defer { load.kill() }
        let report = try await load.finish()

        #expect(report.records.count == 1000)
        #expect(report.failures.count == 0, "\(report.failureSummary)")
        let heads = try await s.heads()
        #expect(heads.values.reduce(0, +) == 1000, "\(heads)")
        for pair in c.split where pair.weight == 0 {
            #expect(heads[pair.pool] == 0, "\(pair.pool) at weight 0: \(heads)")
        }
        for pair in c.split where pair.weight > 0 {
            #expect(heads[pair.pool, default: 0] > 0, "\(pair.pool) at weight \(pair.weight): \(heads)")
        }
    }
}
