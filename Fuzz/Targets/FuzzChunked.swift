/// Fuzz target: the chunked decoder with its input split across calls. Input: two bytes that
/// choose the split points (a seed for a small PRNG), then the body bytes.
///
/// Invariants: decoding in one call, byte by byte (short inputs) and in random splits gives the
/// same verdict (error status, or finished/not), the same payload and the same consumed count;
/// `consumed` never exceeds the input and a finished body ends with CRLF right at `consumed`;
/// payload spans lie inside the input; after `finished` nothing more is consumed; an accepted
/// payload re-chunked canonically decodes to the same payload.

struct ChunkedRun: Equatable {
    var payload: [UInt8] = []
    var consumed = 0
    var finished = false
    var error: String? = nil
}

func decodeSplit(_ input: UnsafeRawBufferPointer, splits: [Int]) -> ChunkedRun {
    var decoder = ChunkedDecoder(maxExtensionBytes: 64, maxTrailerBytes: 256)
    var run = ChunkedRun()
    var start = 0
    for end in splits + [input.count] where end >= start {
        let piece = UnsafeRawBufferPointer(rebasing: input[start..<end])
        do {
            let base = piece.baseAddress
            let (consumed, finished) = try decoder.decode(piece) { span in
                if span.count > 0, let b = base, let s = span.baseAddress {
                    check(s >= b && s + span.count <= b + piece.count, "payload span outside the input")
                }
                run.payload += span
            }
            check(consumed >= 0 && consumed <= piece.count, "consumed \(consumed) of \(piece.count)")
            check(finished == decoder.isFinished, "finished flag disagrees with isFinished")
            if !finished { check(consumed == piece.count, "not finished but stopped early") }
            run.consumed += consumed
            if finished {
                run.finished = true
                let rest = UnsafeRawBufferPointer(rebasing: input[run.consumed...])
                let (c2, f2) = try decoder.decode(rest) { _ in fuzzFail("payload after the end") }
                check(c2 == 0 && f2, "decoder consumed after finishing")
                break
            }
        } catch {
            // Where inside a failing piece the error arose is not reported: compare verdicts only.
            run.error = error.reason
            run.consumed = -1
            run.payload = []
            break
        }
        start = end
    }
    return run
}

struct SplitRandom {
    var state: UInt32
    mutating func next() -> UInt32 {
        state ^= state << 13; state ^= state >> 17; state ^= state << 5
        return state
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunked(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    let whole = decodeSplit(input, splits: [])
    check(whole.consumed <= input.count && (whole.error != nil || whole.consumed >= 0), "consumed beyond input")
    if whole.finished {
        check(whole.consumed >= 5 && input[whole.consumed - 2] == 0x0D && input[whole.consumed - 1] == 0x0A,
              "finished body does not end with CRLF")
        check(whole.error == nil, "finished with error")
    }

    var random = SplitRandom(state: UInt32(data[0]) << 8 | UInt32(data[1]) | 0x10000)
    var splits: [Int] = []
    var p = 0
    while p < input.count {
        p += Int(random.next() % 8)
        if p < input.count { splits.append(p) }
        p += 1
    }
    let split = decodeSplit(input, splits: splits)
    check(split == whole, "split decode differs: \(split) vs \(whole), splits \(splits)")
    if input.count <= 256 {
        let bytewise = decodeSplit(input, splits: Array(0...input.count))
        check(bytewise == whole, "byte-at-a-time decode differs")
    }

    if whole.finished {
        // Canonical re-chunking of the payload decodes to the same payload.
        var again: [UInt8] = []
        if !whole.payload.isEmpty {
            again += Array(String(whole.payload.count, radix: 16).utf8) + [0x0D, 0x0A]
            again += whole.payload + [0x0D, 0x0A]
        }
        again += Array("0\r\n\r\n".utf8)
        again.withUnsafeBytes { raw in
            let r = decodeSplit(raw, splits: [])
            check(r.finished && r.payload == whole.payload && r.consumed == raw.count, "re-chunked payload differs")
        }
    }
    return 0
}
