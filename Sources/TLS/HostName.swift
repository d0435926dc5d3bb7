import Glibc

enum HostName {
    /// Whether `name` is an IPv4 or IPv6 address literal rather than a DNS name.
    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
