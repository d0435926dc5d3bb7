/// Shared by every fuzz target: an invariant check that aborts (so libFuzzer records the input as
/// a crash) with a message naming the broken invariant.
#if canImport(Glibc)
import Glibc
#endif

@inline(never)
func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "FUZZ INVARIANT BROKEN (\(file):\(line)): \(message)\n"
    _ = text.withCString { fputs($0, stderr) }
    abort()
}

@inline(__always)
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fuzzFail(message(), file: file, line: line) }
}
