import DataPlane
import Dispatch
import EventLoop
import Logging
import Metrics

/// Memory that comes back after a burst: every 5 s the control plane looks at the workers'
/// connection counters; when 500 or more connections were accepted since the last trim and at
/// most half of them are still open (the burst has passed), every worker trims its buffer pool
/// and asks the allocator to return free pages. Steady load with short connections trims every
/// 5 s, which costs a few milliseconds of a worker's time. Nothing of it runs on the request path.
extension Proxy {
    static let trimInterval: DispatchTimeInterval = .seconds(5)
    static let trimBurst = 500

    func startMemoryTrim() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Proxy.trimInterval, repeating: Proxy.trimInterval, leeway: .seconds(1))
        timer.setEventHandler { [unowned self] in self.memoryTrimLook() }
        timer.resume()
        trimTimer = timer
    }

    private func memoryTrimLook() {
        guard !stopping else { return }
        let reports = gatherReports(timeout: .milliseconds(500))
        guard reports.count == mailboxes.count else { return }
        let open = reports.reduce(0) { $0 + $1.activeConnections }
        let accepted = reports.reduce(0) { $0 + Int(clamping: $1.metrics.connectionsAccepted.reduce(0, &+)) }
        let burst = accepted - trimAccepted
        guard burst >= Proxy.trimBurst, open * 2 <= burst else { return }
        log.debug("memory: \(burst) connections since the last trim, \(open) open; trimming pools and returning free memory")
        for mailbox in mailboxes { mailbox.post(.trimMemory) }
        trimAccepted = accepted
    }
}
