import Config
import HealthCheck
import Testing
@testable import ControlPlane

/// Configs for the pure control-plane bookkeeping tests (BackendBook, SplitRamps), parsed by the
/// real loader so they are exactly what a reload would hand over.

/// One second in the nanoseconds every `now` is counted in.
let oneSecond: UInt64 = 1_000_000_000

/// A config with one listener on route `app`, the given `routes:` body and `pools:` body. Both
/// bodies are YAML indented by two spaces (as written inside `routes:` / `pools:`).
func parseConfig(routes: String = "  app:\n    pools: { blue: 100 }\n", pools: String) throws -> CutoverConfig {
    let yaml = """
        listeners:
          - { name: web, listen: 127.0.0.1:8080, route: app }
        routes:
        \(routes)
        pools:
        \(pools)
        """
    return try ConfigLoader.parse(yaml: yaml, file: "test.yaml")
}

/// A book that has seen every backend of `config`, ids assigned in config order (as the snapshot
/// builder does), so backend `n` of the config has id `n`.
func registeredBook(_ config: CutoverConfig) -> BackendBook {
    var book = BackendBook()
    for pool in config.pools {
        for backend in pool.backends { _ = book.id(for: identity(pool.name, backend.address.description)) }
    }
    return book
}

func identity(_ pool: String, _ address: String) -> BackendIdentity {
    BackendIdentity(pool: pool, address: address)
}

extension CutoverConfig {
    /// The pool named `name`, recording an issue when the test's config has none.
    func requirePool(_ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> PoolConfig {
        try #require(pool(named: name), sourceLocation: sourceLocation)
    }
}
