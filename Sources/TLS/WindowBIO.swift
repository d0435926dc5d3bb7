import COpenSSL

/// The memory one TLS call may use: ciphertext it may take, and room for ciphertext it gives.
/// The caller lends both for the duration of the call (its own buffers, pooled and released
/// when empty), so a connection keeps no ciphertext buffer of its own between calls, unlike
/// OpenSSL's memory BIO, whose storage never shrinks.
struct BIOWindow {
    var input: UnsafeRawPointer?
    var inputCount = 0
    var inputTaken = 0
    var output: UnsafeMutableRawPointer?
    var outputCount = 0
    var outputGiven = 0
}

/// A BIO over a `BIOWindow` (its data pointer): reads take from the window's input, writes fill
/// its output; either says "retry" when its side is exhausted, which OpenSSL reports as
/// SSL_ERROR_WANT_READ / WANT_WRITE.
enum WindowBIO {
    nonisolated(unsafe) static let method: OpaquePointer? = {
        guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cutover window") else { return nil }
        _ = BIO_meth_set_write(method, windowWrite)
        _ = BIO_meth_set_read(method, windowRead)
        _ = BIO_meth_set_ctrl(method, windowControl)
        _ = BIO_meth_set_create(method, windowCreate)
        return method
    }()

    /// A new BIO over `window`, or nil if OpenSSL is out of memory.
    static func make(_ window: UnsafeMutablePointer<BIOWindow>) -> OpaquePointer? {
        guard let method, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, window)
        return bio
    }
}

private let windowCreate: @convention(c) (OpaquePointer?) -> Int32 = { bio in
    BIO_set_init(bio, 1)
    return 1
}

private let windowRead: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = { bio, buffer, length in
    cutover_BIO_clear_retry_flags(bio)
    guard let buffer, length > 0, let data = BIO_get_data(bio) else { return 0 }
    let window = data.assumingMemoryBound(to: BIOWindow.self)
    let available = window.pointee.inputCount - window.pointee.inputTaken
    guard available > 0, let input = window.pointee.input else {
        cutover_BIO_set_retry_read(bio)
        return -1
    }
    let n = min(available, Int(length))
    UnsafeMutableRawPointer(buffer).copyMemory(from: input + window.pointee.inputTaken, byteCount: n)
    window.pointee.inputTaken += n
    return Int32(n)
}

private let windowWrite: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = { bio, buffer, length in
    cutover_BIO_clear_retry_flags(bio)
    guard let buffer, length > 0, let data = BIO_get_data(bio) else { return 0 }
    let window = data.assumingMemoryBound(to: BIOWindow.self)
    let room = window.pointee.outputCount - window.pointee.outputGiven
    guard room > 0, let output = window.pointee.output else {
        cutover_BIO_set_retry_write(bio)
        return -1
    }
    let n = min(room, Int(length))
    (output + window.pointee.outputGiven).copyMemory(from: buffer, byteCount: n)
    window.pointee.outputGiven += n
    return Int32(n)
}

/// Flushing has nothing to do (the caller sends what was given); everything else is unsupported.
private let windowControl: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = { _, command, _, _ in
    switch command {
    case BIO_CTRL_FLUSH, BIO_CTRL_DUP: return 1
    default: return 0
    }
}
