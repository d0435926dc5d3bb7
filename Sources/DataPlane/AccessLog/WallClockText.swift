import Glibc

/// Wall-clock time as RFC 3339 UTC with milliseconds (`2026-05-01T10:00:00.123Z`), formatted
/// without Foundation or allocation. The date and time of day change once a second: they are kept
/// from the previous call, so most lines only write the milliseconds.
struct WallClockText {
    static let length = 24
    private var cachedSecond: Int64 = .min
    /// `YYYY-MM-DDTHH:MM:SS`, the part that changes once a second.
    private var prefix: (UInt64, UInt64, UInt64) = (0, 0, 0)

    /// Nanoseconds since the Unix epoch on CLOCK_REALTIME.
    static func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Writes the 24 bytes for `nanoseconds` since the epoch (not before 1970) into `out`.
    mutating func write(nanoseconds: Int64, into out: UnsafeMutableRawPointer) {
        let seconds = nanoseconds / 1_000_000_000
        if seconds != cachedSecond {
            cachedSecond = seconds
            withUnsafeMutableBytes(of: &prefix) { WallClockText.formatSecond(seconds, into: $0.baseAddress!) }
        }
        withUnsafeBytes(of: &prefix) { out.copyMemory(from: $0.baseAddress!, byteCount: 19) }
        let millis = Int((nanoseconds / 1_000_000) % 1000)
        let digits = out.assumingMemoryBound(to: UInt8.self)
        digits[19] = 0x2E  // .
        digits[20] = UInt8(0x30 + millis / 100)
        digits[21] = UInt8(0x30 + millis / 10 % 10)
        digits[22] = UInt8(0x30 + millis % 10)
        digits[23] = 0x5A  // Z
    }

    /// `YYYY-MM-DDTHH:MM:SS` for `seconds` since the epoch, by the days-to-civil algorithm of
    /// H. Hinnant (proleptic Gregorian calendar).
    static func formatSecond(_ seconds: Int64, into out: UnsafeMutableRawPointer) {
        let days = seconds / 86_400
        let secondOfDay = Int(seconds % 86_400)
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))

        let digits = out.assumingMemoryBound(to: UInt8.self)
        func put(_ value: Int, at offset: Int, width: Int) {
            var v = value
            for k in stride(from: width - 1, through: 0, by: -1) {
                digits[offset + k] = UInt8(0x30 + v % 10)
                v /= 10
            }
        }
        put(year, at: 0, width: 4)
        digits[4] = 0x2D
        put(month, at: 5, width: 2)
        digits[7] = 0x2D
        put(day, at: 8, width: 2)
        digits[10] = 0x54  // T
        put(secondOfDay / 3600, at: 11, width: 2)
        digits[13] = 0x3A
        put(secondOfDay / 60 % 60, at: 14, width: 2)
        digits[16] = 0x3A
        put(secondOfDay % 60, at: 17, width: 2)
    }
}
