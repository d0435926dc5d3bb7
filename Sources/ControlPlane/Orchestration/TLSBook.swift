import Config
import DataPlane
import TLS

/// The TLS contexts of the running config, kept on the control queue. Every start-up and reload
/// reads the certificate, key and CA files again (a renewed certificate at the same path is picked
/// up by a plain reload), and keeps a context whose files did not change, so its session cache
/// survives. The session ticket keys live here for the life of the process and go into every
/// server context: a client resumes after a reload too. A reload works on a copy and commits it
/// only once everything else succeeded, so a bad file changes nothing.
struct TLSBook {
    private var ticketKeys: TicketKeys?
    /// The server context of each TLS listener, by listener name.
    private(set) var servers: [String: TLSServerContext] = [:]
    /// Client contexts by what they are built from.
    private var clients: [ClientKey: TLSClientContext] = [:]
    /// Idle-pool profiles by every setting that makes a connection reusable or not.
    private var profiles: [ProfileKey: Int] = [:]
    /// The client context of each pool with `tls:` in the last snapshot built (health checks use it).
    private(set) var poolContexts: [String: TLSClientContext] = [:]

    private struct ClientKey: Hashable {
        var verify: Bool
        var ca: [UInt8]?
    }

    private struct ProfileKey: Hashable {
        var client: ClientKey
        var sni: String?
    }

    /// Builds (or keeps) the server context of every listener with `tls:`; throws, naming the
    /// file, when one cannot be read, parsed, or does not match its key.
    mutating func loadListeners(_ config: CutoverConfig) throws(ConfigError) -> [String: TLSServerContext] {
        var next: [String: TLSServerContext] = [:]
        for listener in config.listeners {
            guard let tls = listener.tls else { continue }
            var sources: [CertificateSource] = []
            for entry in tls.certificates {
                let cert = try read(entry.cert, what: "certificate", at: entry.location, for: "listener '\(listener.name)'")
                let key = try read(entry.key, what: "key", at: entry.location, for: "listener '\(listener.name)'")
                sources.append(CertificateSource(certificatePEM: cert, keyPEM: key, certificateFile: entry.cert, keyFile: entry.key))
            }
            if let kept = servers[listener.name], kept.sources.count == sources.count,
               kept.offersHTTP2 == (listener.http2 == .alpn),
               zip(kept.sources, sources).allSatisfy({ $0.sameContent(as: $1) }) {
                next[listener.name] = kept
                continue
            }
            do throws(TLSError) {
                next[listener.name] = try TLSServerContext(certificates: sources, sessionContext: listener.name,
                                                           ticketKeys: try keys(), http2: listener.http2 == .alpn)
            } catch {
                // The TLS layer names the file; point at the entry of the certificate it is about.
                let entry = tls.certificates.first { error.message.contains($0.cert) || error.message.contains($0.key) }
                throw ConfigError(entry?.location ?? listener.location, "listener '\(listener.name)': \(error.message)")
            }
        }
        servers = next
        return next
    }

    /// The TLS side of `pool`'s connections, or nil without `tls:`. Throws, naming the CA file,
    /// when it cannot be read or holds no certificate.
    mutating func upstream(for pool: PoolConfig) throws(ConfigError) -> UpstreamTLS? {
        guard let settings = pool.tls else { return nil }
        var ca: [UInt8]?
        if let file = settings.ca {
            ca = try read(file, what: "CA", at: settings.location, for: "pool '\(pool.name)'")
        }
        let clientKey = ClientKey(verify: settings.verify, ca: settings.verify ? ca : nil)
        let context: TLSClientContext
        if let kept = clients[clientKey] {
            context = kept
        } else {
            do throws(TLSError) {
                context = try TLSClientContext(verify: settings.verify, caPEM: clientKey.ca, caFile: settings.ca)
            } catch {
                throw ConfigError(settings.location, "pool '\(pool.name)': \(error.message)")
            }
            clients[clientKey] = context
        }
        let profileKey = ProfileKey(client: clientKey, sni: settings.sni)
        let profile = profiles[profileKey] ?? (profiles.count + 1)
        profiles[profileKey] = profile
        return UpstreamTLS(context: context, profile: profile)
    }

    /// Records the pools' TLS of the snapshot just built and forgets client contexts no pool uses
    /// any more (profile numbers are kept: they are small, and a setting that comes back gets its
    /// old number).
    mutating func finishBuild(pools: [String: UpstreamTLS]) {
        poolContexts = pools.mapValues(\.context)
        clients = clients.filter { _, context in pools.values.contains { $0.context === context } }
    }

    private mutating func keys() throws(TLSError) -> TicketKeys {
        if let ticketKeys { return ticketKeys }
        let created = try TicketKeys()
        ticketKeys = created
        return created
    }

    private func read(_ path: String, what: String, at location: SourceLocation, for owner: String) throws(ConfigError) -> [UInt8] {
        switch TLSFiles.read(path) {
        case .success(let bytes): return bytes
        case .failure(let failure):
            throw ConfigError(location, "\(owner): cannot read \(what) file \(path): \(failure.reason)")
        }
    }
}
