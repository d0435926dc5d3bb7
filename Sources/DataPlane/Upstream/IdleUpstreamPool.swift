/// Idle upstream connections of one worker, per backend address and TLS profile, most recently
/// used first (its TCP state is the warmest and it is least likely to have been closed by the
/// backend).
final class IdleUpstreamPool {
    private var byKey: [IdleKey: [UpstreamConnection]] = [:]

    func take(for key: IdleKey) -> UpstreamConnection? {
        // Mutated in place through the optional: no copy of the list per request.
        byKey[key]?.popLast()
    }

    /// Keeps `connection` if there is room; returns false when the caller should close it.
    func put(_ connection: UpstreamConnection, limit: Int) -> Bool {
        guard (byKey[connection.key]?.count ?? 0) < limit else { return false }
        byKey[connection.key, default: []].append(connection)
        return true
    }

    func remove(_ connection: UpstreamConnection) {
        byKey[connection.key]?.removeAll { $0 === connection }
    }

    /// Drops every reference without closing (the worker is going away with its descriptors).
    func forgetAll() {
        byKey.removeAll()
    }

    /// Closes the idle connections `matching` selects (those to backends a reload removed).
    func closeAll(worker: Worker, where matching: (UpstreamConnection) -> Bool) {
        for (key, list) in byKey {
            let (closing, keeping) = (list.filter(matching), list.filter { !matching($0) })
            for connection in closing { worker.close(connection.fd) }
            byKey[key] = keeping
        }
    }

    func closeAll(worker: Worker) {
        for list in byKey.values {
            for connection in list { worker.close(connection.fd) }
        }
        byKey.removeAll()
    }
}
