import Testing
@testable import HTTP1

/// The hand-written byte classes agree with the RFC's definitions, for every byte.
@Suite struct ByteClassTests {
    @Test func tcharMatchesRFC9110() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for b in 0...255 {
            let byte = UInt8(b)
            let expected = specials.contains(byte) || (0x30...0x39).contains(byte)
                || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            #expect(ASCII.isTchar(byte) == expected, "byte \(b)")
        }
    }

    @Test func hexDigits() {
        for b in 0...255 {
            let scalar = Character(Unicode.Scalar(UInt8(b)))
            let expected = scalar.hexDigitValue.map(UInt8.init)
            #expect(ASCII.hexValue(UInt8(b)) == (b < 128 ? expected : nil), "byte \(b)")
        }
    }

    @Test func fieldValueBytes() {
        for b in 0...255 {
            let expected = b == 0x09 || (b >= 0x20 && b != 0x7F)
            #expect(ASCII.isFieldValueByte(UInt8(b)) == expected, "byte \(b)")
        }
    }

    @Test func caseInsensitiveComparison() {
        let name = bytes("Content-LENGTH")
        name.withUnsafeBytes { raw in
            #expect(equalsLowercase(raw, 0..<raw.count, "content-length"))
            #expect(!equalsLowercase(raw, 0..<raw.count, "content-lengtx"))
            #expect(!equalsLowercase(raw, 0..<7, "content-length"))
        }
        // '@' | 0x20 == '`': only letters are folded.
        bytes("@").withUnsafeBytes { raw in
            #expect(!equalsLowercase(raw, 0..<1, "`"))
        }
    }
}
