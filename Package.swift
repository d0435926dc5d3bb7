// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The hot path's targets: in release builds, dynamic exclusivity checks (a runtime call per
/// access to a class's stored property) are off. Debug builds, which the tests use, keep them.
let hotPath: [SwiftSetting] = strict + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "cutover",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cutover", targets: ["cutover"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // LogHandler.log(event:) arrived in 1.16.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    ],
    targets: [
        // C shims: the kernel facilities Glibc does not export, and OpenSSL's macros.
        .target(name: "CLinux"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),

        .target(name: "EventLoop", dependencies: ["CLinux"], swiftSettings: hotPath),
        .target(name: "HTTP1", swiftSettings: hotPath),
        .target(name: "TLS", dependencies: ["COpenSSL"], swiftSettings: strict),
        // The HTTP/2 server codec over libnghttp2, driven over memory (no sockets, no loop).
        .target(name: "HTTP2", dependencies: ["CNGHTTP2"], swiftSettings: hotPath),
        .target(name: "Balancer", swiftSettings: hotPath),
        // One socket as the data plane speaks over it (plain or TLS): client, upstream, relay, probe.
        .target(name: "Transport", dependencies: ["EventLoop", "TLS"], swiftSettings: hotPath),
        // HTTP1 for the one path normal form that rules are written in and requests matched in.
        .target(name: "Config", dependencies: ["Yams", "HTTP1"], swiftSettings: strict),
        .target(name: "Metrics", swiftSettings: strict),
        // The automated canary: judge and state machine, pure (no clock, no I/O).
        .target(name: "Rollout", swiftSettings: strict),
        .target(name: "DataPlane",
                dependencies: ["CLinux", "EventLoop", "Transport", "HTTP1", "HTTP2", "TLS", "Balancer", "Metrics"],
                swiftSettings: hotPath),
        // Active health checks: one thread, one epoll loop, every probe.
        .target(name: "HealthCheck",
                dependencies: ["EventLoop", "Transport", "HTTP1", "TLS", "Balancer", "Config",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // The access log's writer thread: drains the workers' rings into the file or stdout.
        .target(name: "AccessLogWriter",
                dependencies: ["EventLoop", "Config", "DataPlane",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // The admin API: its server (threads, blocking sockets), routes, documents and client.
        .target(name: "Admin", dependencies: ["EventLoop", "HTTP1", "Config", "Rollout"], swiftSettings: strict),
        // A fleet switched together through etcd: the etcd v3 client (JSON gateway over blocking
        // sockets), the desired-state document and its overlay, the watching agent.
        .target(name: "Fleet", dependencies: ["EventLoop", "Config"], swiftSettings: strict),
        .target(name: "ControlPlane",
                dependencies: ["EventLoop", "TLS", "Balancer", "Config", "Metrics", "DataPlane", "Rollout",
                               "HealthCheck", "AccessLogWriter", "Admin", "Fleet",
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        .executableTarget(name: "cutover",
                          dependencies: ["ControlPlane", "Admin", "Config", "EventLoop", "HTTP1", "TLS", "Rollout", "Fleet",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: strict),

        // Certificates made by tests with the `openssl` command (no key lives in the repository).
        .target(name: "TestCertificates", path: "Tests/TestCertificates"),

        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2", "CNGHTTP2"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "COpenSSL", "TestCertificates"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Config"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"]),
        .testTarget(name: "RolloutTests", dependencies: ["Rollout"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "CLinux"]),
        .testTarget(name: "DataPlaneTests", dependencies: ["DataPlane", "EventLoop"]),
        .testTarget(name: "HealthCheckTests", dependencies: ["HealthCheck", "Config", "Balancer", "EventLoop"]),
        .testTarget(name: "AccessLogWriterTests", dependencies: ["AccessLogWriter", "EventLoop"]),
        .testTarget(name: "ControlPlaneTests", dependencies: ["ControlPlane", "HealthCheck", "Config", "Balancer", "EventLoop",
                                                             .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestCertificates"], resources: [.copy("Fixtures")]),
    ]
)
