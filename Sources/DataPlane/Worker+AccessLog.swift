/// The access log on the worker's side: where its lines go, and the line of each exchange.
extension Worker {
    /// A reload turned the log on or off, or moved it. The scratch space is kept across moves.
    func setAccessLog(_ target: AccessLogTarget?) {
        guard let target else {
            accessLog = nil
            return
        }
        if let accessLog { accessLog.retarget(target) } else { accessLog = AccessLogProducer(target: target) }
    }
}
