import Admin
import Config
import Dispatch
import EventLoop
import Foundation
import Logging

/// Sends each rollout transition as one JSON POST to the policy's `notify` URL, in order, from a
/// queue of its own: a slow or dead receiver never holds up the control plane or a worker. Each
/// event is tried up to 4 times (1 s, 2 s, 4 s apart, 2 s timeout each) before the next is sent;
/// at most 100 wait, newer ones dropped (and logged) beyond that.
final class RolloutNotifier: @unchecked Sendable {
    private let queue = DispatchQueue(label: "cutover.rollout-notify")
    /// Events queued and not yet delivered or given up (counted when queued).
    private let pending = Locked(0)
    static let maxPending = 100
    static let attempts = 4

    func send(_ event: RolloutNotification, to target: NotifyTarget) {
        let admitted = pending.withLock { count in
            guard count < RolloutNotifier.maxPending else { return false }
            count += 1
            return true
        }
        guard admitted else {
            log.warning("rollout \(event.route): webhook \(target) is behind; event '\(event.event)' dropped")
            return
        }
        queue.async { [self] in
            deliver(AdminJSON.encode(event), event: event, to: target)
            pending.withLock { $0 -= 1 }
        }
    }

    /// Tries one event until it is delivered or out of tries, blocking this queue (its own) in
    /// between, so the next event never overtakes a retried one.
    private func deliver(_ body: [UInt8], event: RolloutNotification, to target: NotifyTarget) {
        for attempt in 1...RolloutNotifier.attempts {
            switch WebhookPost.post(body, to: target, timeoutSeconds: 2) {
            case .success:
                return
            case .failure(let reason) where attempt < RolloutNotifier.attempts:
                let delay = 1 << (attempt - 1)
                log.warning("rollout \(event.route): webhook \(target) failed (\(reason)); retrying in \(delay) s")
                sleep(UInt32(delay))
            case .failure(let reason):
                log.error("rollout \(event.route): webhook \(target) failed \(attempt) times (\(reason)); event '\(event.event)' not delivered")
            }
        }
    }
}

/// The webhook's body.
struct RolloutNotification: Codable, Sendable {
    var event: String
    var route: String
    var canary: String
    var baseline: String
    var state: String
    var step: Int
    var canaryWeight: Int
    var reason: String
    var at: String
    var generation: UInt64
}

/// One blocking POST: a 2xx answer is delivery; anything else is a reason to retry.
enum WebhookPost {
    static func post(_ body: [UInt8], to target: NotifyTarget, timeoutSeconds: Int) -> Result<Void, AdminUnreachable> {
        let head = "POST \(target.path) HTTP/1.1\r\nHost: \(HostPort(host: target.host, port: target.port))\r\n"
            + "User-Agent: cutover\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        do {
            let answer = try AdminClient.exchange(Array(head.utf8) + body, to: HostPort(host: target.host, port: target.port),
                                                  timeoutSeconds: timeoutSeconds, what: "the webhook")
            guard (200...299).contains(answer.status) else {
                return .failure(AdminUnreachable(description: "answered \(answer.status)"))
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }
}
