import Testing
import HTTP1

@Suite struct ChunkedDecoderTests {
    static let bodies: [(String, String)] = [
        ("5\r\nhello\r\n0\r\n\r\n", "hello"),
        ("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
        ("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"),
        ("0000005\r\nhello\r\n000\r\n\r\n", "hello"),
        ("5;name\r\nhello\r\n0\r\n\r\n", "hello"),
        ("5;name=value;flag\r\nhello\r\n0;last=1\r\n\r\n", "hello"),
        ("5 ; a = b ;c\t;\td=\"q;\\\"x\\\" \"\r\nhello\r\n0\r\n\r\n", "hello"),
        ("5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY:\r\nZ: a b\t\u{E9}\r\n\r\n", "hello"),
        ("1\r\n\r\r\n2\r\n\r\n\r\n0\r\n\r\n", "\r\r\n"),
        ("0\r\n\r\n", ""),
    ]

    @Test(arguments: bodies)
    func decodesWholeBodies(body: String, payload: String) {
        let result = decodeChunked(bytes(body))
        guard case .success(let decoded) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(string(decoded.payload) == payload)
        #expect(decoded.consumed == body.utf8.count)
        #expect(decoded.finished)
    }

    @Test(arguments: bodies)
    func decodesBodiesFedOneByteAtATime(body: String, payload: String) {
        let result = decodeChunked(bytes(body), step: 1)
        guard case .success(let decoded) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(string(decoded.payload) == payload)
        #expect(decoded.consumed == body.utf8.count)
        #expect(decoded.finished)
    }

    /// Every split point, and unfinished for every strict prefix.
    @Test(arguments: bodies)
    func decodesEverySplitIntoTwoFeeds(body: String, payload: String) {
        let all = bytes(body)
        for split in 0...all.count {
            var decoder = ChunkedDecoder()
            var out: [UInt8] = []
            let result = all.withUnsafeBytes { raw in
                Result { () throws(HTTPParseError) -> (Int, Bool, Int, Bool) in
                    let (c1, f1) = try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[0..<split])) { out.append(contentsOf: $0) }
                    let (c2, f2) = try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[split...])) { out.append(contentsOf: $0) }
                    return (c1, f1, c2, f2)
                }
            }
            guard case .success(let (c1, f1, c2, f2)) = result else {
                Issue.record("split \(split): \(result)")
                return
            }
            #expect(string(out) == payload)
            #expect(c1 == split)
            #expect(f1 == (split == all.count))
            #expect(c1 + c2 == all.count || f1)
            #expect(f2 || f1)
        }
    }

    @Test func leavesPipelinedBytesUnconsumed() {
        let body = "3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
        let next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
        let all = bytes(body + next)
        for step in [1, 2, 7, all.count] {
            guard case .success(let decoded) = decodeChunked(all, step: step) else {
                Issue.record("step \(step)")
                return
            }
            #expect(decoded.finished)
            #expect(decoded.consumed == body.utf8.count)
            #expect(string(decoded.payload) == "abc")
        }
    }

    @Test func consumesNothingOnceFinished() {
        var decoder = ChunkedDecoder()
        let all = bytes("0\r\n\r\nmore")
        let (first, second) = all.withUnsafeBytes { raw in
            let first = try? decoder.decode(raw) { _ in }
            let second = try? decoder.decode(UnsafeRawBufferPointer(rebasing: raw[5...])) { _ in }
            return (first, second)
        }
        #expect(first?.consumed == 5 && first?.finished == true)
        #expect(second?.consumed == 0 && second?.finished == true)
        #expect(decoder.isFinished)
    }

    @Test func acceptsTheLargest64BitSize() {
        let result = decodeChunked(bytes("FFFFFFFFFFFFFFFF\r\nabc"))
        guard case .success(let decoded) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(!decoded.finished)
        #expect(string(decoded.payload) == "abc")
    }

    @Test(arguments: [
        "\r\n",                              // empty size
        " 5\r\nhello\r\n0\r\n\r\n",          // whitespace before the size
        "\t5\r\nhello\r\n0\r\n\r\n",
        "x\r\n", "-5\r\n", "+5\r\n", "0x5\r\n", "5x\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",          // whitespace with no extension
        "5\nhello\r\n0\r\n\r\n",             // bare LF after the size
        "5\rxhello",                         // bare CR
        "10000000000000000\r\n",             // 17 hex digits: over 64 bits
        "00000000000000005\r\n",             // 17 digits, even if leading zeros
        "5;\r\n", "5;=a\r\n", "5;a=\r\n", "5;a b\r\n", "5;a=b c\r\n", "5;a \r\n", "5;a=b \r\n",
        "5;a=\"open\r\n", "5;a=\"x\"y\r\n", "5;a=\"\u{01}\"\r\n", "5;a=\"\\\u{01}\"\r\n", "5;\u{E9}\r\n",
        "5;a=b,c\r\n", "5,a\r\n",
        "5\r\nhelloX\r\n0\r\n\r\n",          // no CRLF after chunk data
        "5\r\nhello\n0\r\n\r\n",             // bare LF after chunk data
        "5\r\nhello\rX0\r\n\r\n",
        "5\r\nhello\r\n0\r\nX : 1\r\n\r\n",  // whitespace before colon in a trailer
        "0\r\n folded\r\n\r\n",               // obs-fold in the trailer section
        "0\r\nX: 1\r\n\tfolded\r\n\r\n",
        "0\r\nX: a\u{00}\r\n\r\n",
        "0\r\nX: a\u{7F}\r\n\r\n",
        "0\r\nX: 1\n\r\n",
        "0\r\nX: 1\rY\r\n\r\n",
        "0\r\n\n",                           // bare LF ending the body
        "0\r\n\rX",
        "0\r\nNoColon\r\n\r\n",
        "0\r\n: v\r\n\r\n",
        "0\r\nX(: v\r\n\r\n",
    ])
    func rejectsMalformedBodies(body: String) {
        for step in [nil, 1] as [Int?] {
            switch decodeChunked(bytes(body), step: step) {
            case .success(let decoded):
                Issue.record("accepted (step \(String(describing: step))): finished \(decoded.finished)")
            case .failure(let error):
                #expect(error.kind == .malformed)
                #expect(error.status == 400)
            }
        }
    }

    @Test func boundsTheExtensionBytesPerChunkLine() {
        let decoder = ChunkedDecoder(maxExtensionBytes: 16)
        let fits = "5;" + String(repeating: "a", count: 15) + "\r\nhello\r\n0;" + String(repeating: "b", count: 15) + "\r\n\r\n"
        guard case .success(let ok) = decodeChunked(bytes(fits), decoder: decoder) else {
            Issue.record("rejected extensions within the bound")
            return
        }
        #expect(ok.finished)
        let over = "5;" + String(repeating: "a", count: 16) + "\r\nhello\r\n0\r\n\r\n"
        guard case .failure(let error) = decodeChunked(bytes(over), decoder: decoder) else {
            Issue.record("accepted extensions over the bound")
            return
        }
        #expect(error.kind == .malformed)
    }

    @Test func defaultExtensionBoundIs4096() {
        let over = "5;" + String(repeating: "a", count: 4096) + "\r\nhello\r\n0\r\n\r\n"
        guard case .failure(let error) = decodeChunked(bytes(over), step: 100) else {
            Issue.record("accepted 4097 extension bytes")
            return
        }
        #expect(error.kind == .malformed)
    }

    @Test func boundsTheTrailerSection() {
        let decoder = ChunkedDecoder(maxTrailerBytes: 32)
        let trailer = "X: " + String(repeating: "v", count: 40) + "\r\n"
        guard case .failure(let error) = decodeChunked(bytes("0\r\n" + trailer + "\r\n"), decoder: decoder) else {
            Issue.record("accepted an oversized trailer section")
            return
        }
        #expect(error.kind == .headerTooLarge)
    }
}
