import HTTP1

/// What every probe of one checker shares, so a probe allocates nothing of its own: a read buffer
/// and a parsed response head (whose field array keeps its capacity). Confined to the checker
/// thread, like the probes.
final class HealthProbeIO {
    /// Bytes read land here first; a response head is almost always far smaller.
    let scratch: UnsafeMutableRawBufferPointer
    /// Ciphertext a TLS probe produces in one call: a handshake flight comes in pieces this size.
    let tlsScratch: UnsafeMutableRawBufferPointer
    private var head = ResponseHead()
    /// A backend's health page has no business sending a long head: past this the probe fails.
    private let limits = ParseLimits(maxHeaderBytes: 16384, maxTargetBytes: 0, maxFields: 100)

    init(scratchBytes: Int = 4096) {
        scratch = .allocate(byteCount: scratchBytes, alignment: 16)
        tlsScratch = .allocate(byteCount: 17 * 1024, alignment: 16)
    }

    deinit {
        scratch.deallocate()
        tlsScratch.deallocate()
    }

    /// Judges the bytes received so far: `.pending` until a final (non-1xx) head is complete,
    /// then `.passed` or `.failed` by its status. Interim 1xx heads are dropped from `received`.
    func judge(_ received: inout [UInt8], request: HealthRequest) -> HealthProbe.Outcome {
        while true {
            let result: HeadParseResult
            do {
                result = try received.withUnsafeBytes { bytes throws(HTTPParseError) in
                    try parseResponseHead(bytes, requestWasHEAD: false, limits: limits, into: &head)
                }
            } catch {
                return .failed
            }
            guard result == .complete else { return .pending }
            guard head.isInformational, head.status != 101 else {
                return request.accepts(status: head.status) ? .passed : .failed
            }
            received.removeFirst(head.headLength)
        }
    }
}
