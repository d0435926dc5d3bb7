/// Resetting a head for the next message on the same connection: every field back to its
/// default, the `fields` storage kept so a connection allocates it once, not once per message.
extension RequestHead {
    mutating func reset() {
        method = 0..<0
        target = 0..<0
        version = .http11
        fields.removeAll(keepingCapacity: true)
        framing = .none
        wantsClose = false
        expectContinue = false
        upgrade = false
        isHEAD = false
        isCONNECT = false
        headLength = 0
    }
}

extension ResponseHead {
    mutating func reset() {
        status = 0
        statusLine = 0..<0
        reason = 0..<0
        version = .http11
        fields.removeAll(keepingCapacity: true)
        framing = .none
        wantsClose = false
        headLength = 0
    }
}
