import Config
import Testing

/// `cluster:` — etcd endpoints, prefix, instance name. Appended sections start on line 12.
@Suite struct ClusterSectionTests {
    @Test func absentMeansNoFleet() throws {
        #expect(try #require(parseValid(minimalConfig)).cluster == nil)
    }

    @Test func readsEndpointsPrefixAndInstance() throws {
        let yaml = minimalConfig + """
            cluster:
              etcd: [http://127.0.0.1:2379, "10.0.0.2:2379", "http://[::1]:2380/"]
              prefix: /cutover/prod/
              instance: edge-1

            """
        let cluster = try #require(parseValid(yaml)?.cluster)
        #expect(cluster.endpoints.map(\.description) == ["http://127.0.0.1:2379", "http://10.0.0.2:2379", "http://[::1]:2380"])
        #expect(cluster.prefix == "/cutover/prod")
        #expect(cluster.instance == "edge-1")
        #expect(cluster.location.line == 13)
    }

    @Test func instanceDefaultsToTheHostName() throws {
        let cluster = try #require(parseValid(minimalConfig + "cluster: { etcd: http://127.0.0.1:2379, prefix: /f }\n")?.cluster)
        #expect(!cluster.instance.isEmpty)
        #expect(!cluster.instance.contains("."))
    }

    @Test func needsEtcdAndPrefix() {
        expectError(minimalConfig + "cluster:\n  prefix: /f\n", line: 13, column: 3, "missing required key 'etcd' in cluster")
        expectError(minimalConfig + "cluster:\n  etcd: [http://127.0.0.1:2379]\n", line: 13, column: 3, "missing required key 'prefix' in cluster")
    }

    @Test func rejectsBadEndpoints() {
        expectError(minimalConfig + "cluster:\n  etcd: [http://127.0.0.1]\n  prefix: /f\n", line: 13, column: 10,
                    "invalid 'cluster.etcd': 'http://127.0.0.1'")
        expectError(minimalConfig + "cluster:\n  etcd: [https://127.0.0.1:2379]\n  prefix: /f\n", line: 13, column: 10,
                    "TLS to etcd is not supported yet")
        expectError(minimalConfig + "cluster:\n  etcd: [127.0.0.1:2379, http://127.0.0.1:2379]\n  prefix: /f\n", line: 13, column: 26,
                    "is listed twice")
        expectError(minimalConfig + "cluster:\n  etcd: []\n  prefix: /f\n", line: 13, column: 9, "must not be empty")
    }

    @Test func rejectsBadPrefixAndInstance() {
        expectError(minimalConfig + "cluster:\n  etcd: 127.0.0.1:2379\n  prefix: cutover\n", line: 14, column: 11, "must start with '/'")
        expectError(minimalConfig + "cluster:\n  etcd: 127.0.0.1:2379\n  prefix: /\n", line: 14, column: 11, "would share the whole store")
        expectError(minimalConfig + "cluster:\n  etcd: 127.0.0.1:2379\n  prefix: /f\n  instance: a/b\n", line: 15, column: 13,
                    "invalid instance name 'a/b'")
        expectError(minimalConfig + "cluster:\n  etcd: 127.0.0.1:2379\n  prefix: /f\n  instanse: a\n", line: 15, column: 3,
                    "unknown key 'instanse' in cluster (did you mean 'instance'?)")
    }
}
