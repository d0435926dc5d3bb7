/// Why a single value (an address, a CIDR block, a status list) does not parse.
///
/// Value parsers know nothing about files or nodes; the section that read the value turns this into a
/// `ConfigError` at the node's position.
struct ValueError: Error, Sendable, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}
