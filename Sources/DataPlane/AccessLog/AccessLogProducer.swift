import EventLoop

/// Where one worker's access-log lines go: its own ring, which the control plane's writer thread
/// drains, and the writer's wake-up. Built by the control plane and posted to the worker.
public struct AccessLogTarget: Sendable {
    public let ring: ByteRing
    public let wake: WakeEvent

    public init(ring: ByteRing, wake: WakeEvent) {
        self.ring = ring
        self.wake = wake
    }
}

/// One worker's side of the access log: formats a line into scratch space allocated once, then
/// copies it into the ring whole — or, when the ring is full, drops it (the ring counts it). The
/// request never waits for the log. Confined to the worker's thread.
final class AccessLogProducer {
    private(set) var target: AccessLogTarget
    private let scratch: UnsafeMutableRawBufferPointer
    private var clock = WallClockText()

    /// Room for the longest line: the method and target are captured up to
    /// `AccessLogCapture.maxMethod` + `maxTarget` bytes, each of which may take six escaped.
    static let scratchSize = 65536

    init(target: AccessLogTarget) {
        self.target = target
        scratch = .allocate(byteCount: AccessLogProducer.scratchSize, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// A reload moved the log: lines go to the new ring from now on.
    func retarget(_ next: AccessLogTarget) { target = next }

    func record(_ entry: AccessLogEntry) {
        var line = JSONLineWriter(scratch)
        entry.write(into: &line, clock: &clock)
        guard !line.overflowed else {
            target.ring.noteRefused()
            return
        }
        // The writer drains on a timer; a ring filling past half wakes it early, once per crossing.
        if case .written(let used) = target.ring.write(line.bytes) {
            let half = target.ring.capacity / 2
            if used >= half && used - line.count < half { target.wake.signal() }
        }
    }
}
