import EventLoop
import Transport
import HTTP1

/// The HTTP/1 server side of a connection: request heads read and parsed (strictly, zero-copy,
/// into the worker's shared head), each one handed to an exchange, pipelined requests in order.
extension ClientConnection {
    func stepReadingHead() -> Bool {
        // Pipelined requests are answered in order: the next head waits for this response to leave.
        if clientOutputPending {
            switch stream.write(from: &clientOut) {
            case .wrote: lastActivity = now; return true
            case .nothing: return false
            case .failed: cut(); return false
            }
        }
        clientOut.releaseIfEmpty()
        if shutdownPending && clientIn.isEmpty && servedRequests > 0 && !clientInputMayWait && now >= shutdownIdleUntil {
            beginLingering(for: 500_000_000)
            return true
        }
        if !clientIn.isEmpty && listener.spec.http2 == .h2c && servedRequests == 0 {
            switch ClientConnection.h2cPreface(clientIn.readable) {
            case .whole:
                becomeHTTP2()
                return false
            case .partial:
                return readMoreOfHead()
            case .no:
                break
            }
        }
        if !clientIn.isEmpty {
            do {
                let limits = ParseLimits(maxHeaderBytes: settings.maxHeaderBytes)
                switch try parseRequestHead(clientIn.readable, limits: limits, into: &worker.requestHead) {
                case .complete:
                    startExchange()
                    return true
                case .incomplete:
                    break
                }
            } catch {
                answer(error.status)
                return true
            }
        }
        return readMoreOfHead()
    }

    /// Reads more of the next head.
    private func readMoreOfHead() -> Bool {
        let wasEmpty = clientIn.isEmpty
        switch stream.read(into: &clientIn) {
        case .data:
            if wasEmpty { headStarted = now }
            lastActivity = now
            return true
        case .endOfStream, .failed:
            // A client that leaves between requests is normal; one that leaves mid-head is too.
            closeClient()
            return false
        case .nothing:
            if wasEmpty { clientIn.releaseIfEmpty() }
            // Stopping, nothing came and the grace is over: the check at the top lingers it out.
            return shutdownPending && clientIn.isEmpty && servedRequests > 0 && now >= shutdownIdleUntil
        }
    }

    enum PrefaceMatch { case whole, partial, no }

    /// Whether `bytes` begin with the HTTP/2 connection preface (RFC 9113 §3.4), or are a
    /// beginning of it too short to tell.
    static func h2cPreface(_ bytes: UnsafeRawBufferPointer) -> PrefaceMatch {
        let preface: StaticString = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        let count = min(bytes.count, preface.utf8CodeUnitCount)
        for i in 0..<count where bytes[i] != preface.utf8Start[i] { return .no }
        return count == preface.utf8CodeUnitCount ? .whole : .partial
    }

    /// A whole head is parsed: an exchange takes it from here.
    private func startExchange() {
        let exchange = worker.takeExchange(for: self)
        self.exchange = exchange
        exchange.request = RequestFacts(worker.requestHead, source: clientIn.readable)
        headStarted = nil
        state = .exchanging
        lastActivity = now
        exchange.begin()
    }
}
