/// `a × b / c` without overflow for the time arithmetic of ramps and slow starts: durations are
/// nanoseconds, so `elapsed × 1_000_000` overflows 64 bits after about five hours.
///
/// Requires `c > 0`; the quotient must fit in 64 bits (true whenever `a <= c`, the only use here).
@inline(__always)
func multiplyDivide(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    let product = a.multipliedFullWidth(by: b)
    guard product.high < c else { return .max }
    return c.dividingFullWidth(product).quotient
}

/// `a × b / c`, rounded up. Same requirements as `multiplyDivide`.
@inline(__always)
func multiplyDivideRoundingUp(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    let product = a.multipliedFullWidth(by: b)
    guard product.high < c else { return .max }
    let (quotient, remainder) = c.dividingFullWidth(product)
    return remainder == 0 ? quotient : quotient &+ 1
}
