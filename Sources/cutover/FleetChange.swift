import Config
import Fleet
import Foundation

/// A change of the fleet's desired state, as `cutover switch` and `cutover backend drain|enable`
/// make it when the config has `cluster:`: read the generation in force, build the next one from
/// it plus the change, write both with one compare-and-swap transaction, and wait until every
/// live instance reports it. An instance that refuses it makes the command put the previous
/// state back (as a further generation), so the fleet never stays split.
struct FleetChange {
    /// The operator's config: the next generation carries nothing it says cannot fit.
    let config: CutoverConfig
    var cluster: ClusterConfig { config.cluster! }
    /// "switch app green", "backend drain blue 127.0.0.1:9001": for `written_by` and messages.
    let what: String
    /// Seconds to wait for every instance.
    let timeout: Double
    /// Checks the live instances before writing (a pool without a healthy backend somewhere).
    var precheck: ([InstanceReport]) throws(SwitchFailure) -> Void = { _ throws(SwitchFailure) in }

    /// Runs the change; returns the line to print on success.
    func perform(_ change: (inout FleetDocument) -> Void) throws(SwitchFailure) -> String {
        let writer = FleetWriter(cluster: cluster)
        let current = try mapped { () throws(FleetCommandFailure) in try writer.current() }
        let instances = try mapped { () throws(FleetCommandFailure) in try writer.instances() }
        try precheck(instances)
        var base = current.document
        if let document = base {
            let (fitting, problems) = FleetOverlay.fitting(document, to: config)
            for problem in problems { print("left out of generation \(document.generation + 1): \(problem) (\(config.file))") }
            base = fitting
        }
        var next = base?.next(writtenBy: FleetWriter.writer("cutover \(what)"))
            ?? FleetDocument(generation: current.generation + 1, previous: current.generation == 0 ? nil : current.generation,
                             writtenBy: FleetWriter.writer("cutover \(what)"))
        change(&next)
        var generation = current.generation
        if let document = current.document, document.routes == next.routes, document.backends == next.backends {
            print("fleet \(cluster.prefix): generation \(generation) already says so; checking the instances")
        } else {
            let revision = try mapped { () throws(FleetCommandFailure) in try writer.write(next, over: current) }
            generation = next.generation
            print("fleet \(cluster.prefix): generation \(generation) written (was \(current.generation), etcd revision \(revision)); waiting for \(instances.count) instance(s)")
        }
        let agreement = writer.waitForAgreement(on: generation, timeout: timeout)
        if !agreement.refused.isEmpty {
            let reasons = agreement.refused.map { "\($0.instance) (\($0.error ?? "no reason given"))" }.joined(separator: "; ")
            var message = "refused by \(reasons)"
            if generation == next.generation {
                message += "; " + restore(writer, refused: next, previous: current.document)
            }
            throw .refused(message)
        }
        if let unreachable = agreement.unreachable {
            throw SwitchFailure(code: AdminExit.unreachable,
                                message: "generation \(generation) is written, but etcd stopped answering while waiting (\(unreachable)); run cutover fleet status")
        }
        if !agreement.behind.isEmpty {
            let lagging = agreement.behind.map { "\($0.instance) runs generation \($0.generation) (\($0.ok ? "ok" : $0.error ?? "refused"), version \($0.version), reported \($0.updatedAt))" }
            throw .refused("\(agreement.behind.count) instance(s) did not report generation \(generation) within \(Int(timeout)) s: \(lagging.joined(separator: "; ")). It stays the desired state; they apply it when they reach etcd")
        }
        let names = agreement.applied.map(\.instance).joined(separator: ", ")
        let elapsed = String(format: "%.2f", agreement.seconds)
        if agreement.applied.isEmpty {
            return "fleet generation \(generation): no live instance reports under \(cluster.prefix)/instances; each applies it when it starts"
        }
        return "fleet generation \(generation) applied by \(agreement.applied.count) of \(agreement.applied.count) instance(s) (\(names)) in \(elapsed) s"
    }

    /// Puts `previous` back as the generation after `refused`, unless someone wrote meanwhile.
    private func restore(_ writer: FleetWriter, refused: FleetDocument, previous: FleetDocument?) -> String {
        guard let current = try? writer.current(), current.generation == refused.generation else {
            return "the desired state was changed by someone else meanwhile, so it was left as it is"
        }
        var back = refused.next(writtenBy: FleetWriter.writer("cutover \(what): restoring generation \(previous?.generation ?? 0) after a refusal"))
        let restored = previous.map { FleetOverlay.fitting($0, to: config).0 }
        back.routes = restored?.routes ?? [:]
        back.backends = restored?.backends ?? [:]
        do {
            _ = try writer.write(back, over: current)
        } catch {
            return "putting generation \(previous?.generation ?? 0) back FAILED (\(error)): fix the desired state with cutover switch"
        }
        let agreement = writer.waitForAgreement(on: back.generation, timeout: min(timeout, 10))
        return "generation \(back.generation) puts generation \(previous?.generation ?? 0)'s state back (applied by \(agreement.applied.count) instance(s))"
    }

    private func mapped<T>(_ body: () throws(FleetCommandFailure) -> T) throws(SwitchFailure) -> T {
        do {
            return try body()
        } catch {
            throw SwitchFailure(code: error.unreachable ? AdminExit.unreachable : AdminExit.rejected, message: error.description)
        }
    }
}
