import Admin
import Config
import ControlPlane
import Foundation

/// The admin API as `cutover switch` uses it. Unlike `AdminOptions.call`, which ends the process
/// on any failure, every failure comes back as a `SwitchFailure`, so the switch can put the file
/// back before it exits.
struct SwitchAdmin {
    let address: HostPort
    let token: String?

    /// Resolves the address and token as `reload` and `status` do (an unknown address exits 2:
    /// nothing has been written yet when this runs).
    init(options: AdminOptions) {
        (address, token) = options.endpoint()
    }

    func call(_ method: String, _ path: String, timeoutSeconds: Int) throws(SwitchFailure) -> AdminAnswer {
        let answer: AdminAnswer
        do {
            answer = try AdminClient.request(method, path, to: address, token: token, timeoutSeconds: timeoutSeconds)
        } catch {
            throw SwitchFailure(code: AdminExit.unreachable, message: "\(error) (is cutover running with admin.listen \(address)?)")
        }
        if answer.status == 401 {
            throw SwitchFailure(code: AdminExit.unreachable, message: "the admin API at \(address) refused the request (401): pass --token, set CUTOVER_ADMIN_TOKEN, or set admin.token")
        }
        return answer
    }

    func status() throws(SwitchFailure) -> AdminStatus {
        let answer = try call("GET", "/status", timeoutSeconds: 10)
        guard answer.status == 200, let status = try? AdminJSON.decode(AdminStatus.self, from: answer.body) else {
            throw .refused("unexpected answer from the admin API's /status (\(answer.status)): \(answer.text.prefix(200))")
        }
        return status
    }

    /// POST /reload; the new generation, or why the proxy refused.
    func reload() throws(SwitchFailure) -> UInt64 {
        try postForGeneration("/reload", unexpected: "unexpected answer from the admin API's /reload") { error in
            "the proxy rejected the reload: \(error); the running configuration keeps serving"
        }
    }

    /// A POST answered `{"ok":true,"generation":N}` (reloads, backend operations): N, or why not.
    /// `refusal` words the proxy's own error.
    func postForGeneration(_ path: String, unexpected: String,
                           refusal: (String) -> String) throws(SwitchFailure) -> UInt64 {
        let answer = try call("POST", path, timeoutSeconds: 120)
        guard let result = try? AdminJSON.decode(AdminReloadAnswer.self, from: answer.body) else {
            throw .refused("\(unexpected) (\(answer.status)): \(answer.text.prefix(200))")
        }
        guard answer.status == 200, result.ok, let generation = result.generation else {
            throw .refused(refusal(result.error ?? answer.text))
        }
        return generation
    }

    /// Polls /status until `route` runs under generation `generation` or later with `weights`
    /// configured and the same pools effective (positive where the target is, 0 elsewhere);
    /// gives up after `seconds`. A configured split other than the target means the proxy read
    /// another file: that fails at once, since waiting cannot fix it.
    func waitForSplit(route name: String, weights: [(name: String, weight: Int)], since generation: UInt64,
                      seconds: Double) throws(SwitchFailure) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = "no /status answer yet"
        while true {
            var answer: AdminStatus?
            do { answer = try status() } catch { last = error.message }
            if let answer {
                switch progress(answer, route: name, weights: weights, since: generation) {
                case .reached: return
                case .waiting(let seen): last = seen
                case .otherFile(let message): throw .refused(message)
                }
            }
            guard Date() < deadline else {
                throw .refused("route \(name) did not reach the new split within \(Int(seconds.rounded())) s (last seen: \(last))")
            }
            usleep(100_000)
        }
    }

    enum Progress {
        case reached
        case waiting(String)
        case otherFile(String)
    }

    /// How far one /status answer is from the target split.
    func progress(_ status: AdminStatus, route name: String, weights: [(name: String, weight: Int)],
                  since generation: UInt64) -> Progress {
        guard status.generation >= generation, let route = status.routes.first(where: { $0.name == name }) else {
            return .waiting("generation \(status.generation)")
        }
        let configured = Dictionary(route.pools.map { ($0.name, $0.configuredWeight) }, uniquingKeysWith: { a, _ in a })
        let effective = Dictionary(route.pools.map { ($0.name, $0.effectiveWeight) }, uniquingKeysWith: { a, _ in a })
        guard weights.allSatisfy({ configured[$0.name] == $0.weight }) else {
            let split = route.pools.map { "\($0.name) \($0.configuredWeight)" }.joined(separator: ", ")
            return .otherFile("after the reload the proxy's route \(name) is configured '\(split)', not the rewritten split: does it run \(status.configFile) rather than this file?")
        }
        if weights.allSatisfy({ ($0.weight > 0) == ((effective[$0.name] ?? 0) > 0) }) { return .reached }
        return .waiting("effective split " + route.pools.map { "\($0.name) \($0.effectiveWeight)" }.joined(separator: ", "))
    }
}
