import ArgumentParser
import Config
import Fleet
import Foundation

/// `cutover fleet status`: every live instance of the fleet the config's `cluster:` names, with
/// the generation it runs, whether it refused one, its version, health and traffic.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "The fleet of instances switched together through etcd (cluster: in the config).",
        subcommands: [StatusCommand.self])

    struct StatusCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "List the fleet's instances: generation, version, health, traffic.",
            discussion: "Exit status: 0 listed; 1 the config has no cluster section; 2 etcd unreachable.")

        @Option(name: .shortAndLong, help: "The configuration file (its cluster section names etcd and the prefix).")
        var config = "conf/cutover.yaml"

        @Flag(help: "Print JSON: the active generation and every instance's report.")
        var json = false

        func run() throws {
            let cluster = try clusterOrExit(config)
            let writer = FleetWriter(cluster: cluster)
            let current: FleetWriter.Current
            let instances: [InstanceReport]
            do {
                current = try writer.current()
                instances = try writer.instances()
            } catch {
                printError("cutover: fleet status: \(error)")
                throw ExitCode(error.unreachable ? 2 : 1)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                struct Output: Encodable {
                    var prefix: String
                    var activeGeneration: Int64
                    var writtenBy: String?
                    var instances: [InstanceReport]
                    enum CodingKeys: String, CodingKey {
                        case prefix, instances
                        case activeGeneration = "active_generation"
                        case writtenBy = "written_by"
                    }
                }
                let data = try encoder.encode(Output(prefix: cluster.prefix, activeGeneration: current.generation,
                                                     writtenBy: current.document?.writtenBy, instances: instances))
                print(String(decoding: data, as: UTF8.self))
                return
            }
            let by = current.document.map { " (\($0.writtenBy), \($0.writtenAt))" } ?? ""
            print("fleet \(cluster.prefix) at \(writer.client.currentEndpoint): active generation \(current.generation)\(by)")
            var rows = [["INSTANCE", "GENERATION", "STATE", "VERSION", "HEALTH", "POOLS", "REQUESTS", "ADMIN", "REPORTED"]]
            for report in instances {
                let state = report.ok ? (report.generation == current.generation ? "in sync" : "behind")
                    : "refused \(report.refusedGeneration.map(String.init) ?? "?")"
                let pools = report.pools.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.healthy)/\($0.value.total)" }.joined(separator: " ")
                rows.append([report.instance, String(report.generation), state, report.version, report.health, pools,
                             String(report.requests), report.admin ?? "-", report.updatedAt])
            }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
            if instances.isEmpty { print("(no live instance)") }
            for report in instances where !report.ok {
                print("\(report.instance): \(report.error ?? "refused")")
            }
        }
    }
}

/// The config's cluster section, or a message and exit 1.
func clusterOrExit(_ file: String) throws -> ClusterConfig {
    let config: CutoverConfig
    do { config = try ConfigLoader.load(file: file) } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
    guard let cluster = config.cluster else {
        printError("cutover: \(file) has no cluster section: this instance is not part of a fleet")
        throw ExitCode(1)
    }
    return cluster
}
