import Admin
import Config
import Foundation
import Logging

/// The backend operations on the control plane: each is an edit of the config file (only the
/// pool's list changes, layout and comments kept), checked by parsing the result, written only
/// if the file on disk is still the one read, then a reload. A rejected reload puts the file back.
/// Control queue only; the caller waits for the outcome through `/status`.
extension Proxy {
    func backendOperation(pool: String, address: HostPort,
                          _ operation: BackendOperation) -> Result<AdminReloadOutcome, BackendOperationError> {
        guard !stopping else { return .failure(.init(status: 503, description: "shutting down: no backend operations")) }
        let original: [UInt8]
        do { original = try ConfigFile.read(configFile) } catch { return .failure(.init(status: 422, description: error.description)) }
        guard let text = String(validating: original, as: UTF8.self) else {
            return .failure(.init(status: 422, description: "\(configFile) is not UTF-8 text"))
        }
        let onDisk: CutoverConfig
        do { onDisk = try ConfigLoader.parse(yaml: text, file: configFile) } catch {
            return .failure(.init(status: 422, description: "\(configFile) does not load, so it was not edited: \(error)"))
        }
        guard let poolConfig = onDisk.pool(named: pool) else {
            let names = onDisk.pools.map(\.name).joined(separator: ", ")
            return .failure(.init(status: 404, description: "\(configFile) has no pool '\(pool)' (pools: \(names))"))
        }
        let present = poolConfig.backends.first { $0.address == address }
        let edit: BackendRewrite.Result
        do throws(BackendRewrite.Failure) {
            switch operation {
            case .add(let weight):
                if let present {
                    return .failure(.init(status: 409, description: "pool \(pool) already has backend \(address) (\(present.state.rawValue), weight \(present.weight))"))
                }
                edit = try BackendRewrite.add(text, config: onDisk, pool: pool, address: address, weight: weight)
            case .drain, .enable, .remove, .weight:
                guard let present else {
                    return .failure(.init(status: 409, description: "pool \(pool) has no backend \(address) (its backends: \(poolConfig.backends.map(\.address.description).joined(separator: ", ")))"))
                }
                switch operation {
                case .drain where present.state == .drain, .enable where present.state == .active:
                    return .success(AdminReloadOutcome(result: .success(generation), changes: []))
                case .weight(let weight) where present.weight == weight:
                    return .success(AdminReloadOutcome(result: .success(generation), changes: []))
                case .drain: edit = try BackendRewrite.setState(text, config: onDisk, pool: pool, address: address, to: .drain)
                case .enable: edit = try BackendRewrite.setState(text, config: onDisk, pool: pool, address: address, to: .active)
                case .weight(let weight): edit = try BackendRewrite.setWeight(text, config: onDisk, pool: pool, address: address, to: weight)
                default: edit = try BackendRewrite.remove(text, config: onDisk, pool: pool, address: address)
                }
            }
        } catch {
            return .failure(.init(status: 422, description: error.description))
        }
        // Nobody wrote the file between the read above and this write.
        guard (try? ConfigFile.read(configFile)) == original else {
            return .failure(.init(status: 409, description: "\(configFile) changed on disk while it was being edited; nothing was written (try again)"))
        }
        let written = Array(edit.text.utf8)
        do { try ConfigFile.replace(configFile, with: written) } catch {
            return .failure(.init(status: 422, description: error.description))
        }
        log.info("backend \(operation.name) \(pool) \(address): \(configFile) edited, reloading")
        let outcome = reloadReporting()
        if case .failure(let error) = outcome.result {
            var restored = "\(configFile) was edited by someone else meanwhile and left as it is"
            if (try? ConfigFile.read(configFile)) == written {
                restored = (try? ConfigFile.replace(configFile, with: original)) != nil ? "\(configFile) restored" : "restoring \(configFile) FAILED"
            }
            return .failure(.init(status: 422, description: "the reload was rejected (\(error)); \(restored); the running configuration keeps serving"))
        }
        // The reload read the file again: a write by someone else in between would be what
        // serves now. Say so rather than answer a lost edit with 200.
        func entries(_ config: CutoverConfig) -> [String] {
            (config.pool(named: pool)?.backends ?? []).map { "\($0.address) \($0.weight) \($0.state.rawValue)" }
        }
        guard entries(config) == entries(edit.config) else {
            return .failure(.init(status: 409, description: "\(configFile) changed on disk during the edit; the proxy now runs what the file says (generation \(generation)); try again"))
        }
        return .success(outcome)
    }
}
