import Yams

/// `routes.NAME.rollout`: the automated canary's policy. Every key has a default (see
/// `RolloutConfig`), so `rollout: {}` is a complete policy.
enum RolloutSection {
    static let keys = ["steps", "step_duration", "min_requests", "interval", "warmup", "checks", "confidence",
                       "on_failure", "gates", "notify"]

    static func parse(_ node: Node, path: String, reader: NodeReader) throws(ConfigError) -> RolloutConfig {
        let section = try reader.section(node, path, allowed: keys)
        var config = RolloutConfig()
        if let value = section.value("steps") { config.steps = try steps(value, section.child("steps"), reader: reader) }
        if let value = section.value("step_duration") {
            config.stepDuration = try reader.duration(value, section.child("step_duration"), allowZero: true)
        }
        if let value = section.value("min_requests") {
            config.minRequests = try reader.int(value, section.child("min_requests"), in: 1...1_000_000_000)
        }
        if let value = section.value("interval") {
            config.interval = try reader.duration(value, section.child("interval"), allowZero: false)
            guard config.interval >= .milliseconds(100) else {
                throw reader.error(value, "invalid '\(section.child("interval"))': must be at least 100ms")
            }
        }
        if let value = section.value("warmup") {
            config.warmup = try reader.duration(value, section.child("warmup"), allowZero: true)
        }
        if let value = section.value("checks") {
            (config.errorRate, config.latency) = try checks(value, section.child("checks"), reader: reader)
        }
        if let value = section.value("confidence") {
            let confidence = try reader.fraction(value, section.child("confidence"))
            guard confidence > 0.5, confidence < 1 else {
                throw reader.error(value, "invalid '\(section.child("confidence"))': must be above 50% and below 100%")
            }
            config.confidence = confidence
        }
        if let value = section.value("on_failure") {
            config.onFailure = try reader.choice(value, section.child("on_failure"), as: RolloutFailureAction.self)
        }
        if let value = section.value("gates") {
            let gatesPath = section.child("gates")
            for item in try reader.list(value, gatesPath, nonEmpty: false) {
                let gate = try reader.int(item, gatesPath, in: 1...100)
                guard config.steps.contains(gate) else {
                    throw reader.error(item, "invalid '\(gatesPath)': \(gate) is not one of the steps (\(config.steps.map(String.init).joined(separator: ", ")))")
                }
                config.gates.append(gate)
            }
        }
        if let value = section.value("notify") {
            let raw = try reader.string(value, section.child("notify"))
            switch NotifyTarget.parse(raw) {
            case .success(let target): config.notify = target
            case .failure(let error): throw reader.error(value, "invalid '\(section.child("notify"))': '\(raw)' \(error.message)")
            }
        }
        return config
    }

    /// Percentages from 1 to 100, strictly increasing.
    static func steps(_ node: Node, _ path: String, reader: NodeReader) throws(ConfigError) -> [Int] {
        var steps: [Int] = []
        for item in try reader.list(node, path, nonEmpty: true) {
            let step = try reader.int(item, path, in: 1...100)
            if let last = steps.last, step <= last {
                throw reader.error(item, "invalid '\(path)': steps must increase (\(step) comes after \(last))")
            }
            steps.append(step)
        }
        return steps
    }

    static func checks(_ node: Node, _ path: String,
                       reader: NodeReader) throws(ConfigError) -> (ErrorRateCheckConfig?, LatencyCheckConfig?) {
        let section = try reader.section(node, path, allowed: ["error_rate", "latency"])
        guard !section.entries.isEmpty else {
            throw reader.error(node, "invalid '\(path)': name at least one check (error_rate, latency)")
        }
        var errorRate: ErrorRateCheckConfig?
        var latency: LatencyCheckConfig?
        if let value = section.value("error_rate") {
            let checkPath = section.child("error_rate")
            let check = try reader.section(value, checkPath, allowed: ["max_ratio", "max_increase", "max"])
            var config = ErrorRateCheckConfig(maxRatio: nil, maxIncrease: nil, max: nil)
            if let v = check.value("max_ratio") { config.maxRatio = try reader.ratio(v, check.child("max_ratio")) }
            if let v = check.value("max_increase") { config.maxIncrease = try reader.fraction(v, check.child("max_increase")) }
            if let v = check.value("max") { config.max = try reader.fraction(v, check.child("max")) }
            guard config.maxRatio != nil || config.maxIncrease != nil || config.max != nil else {
                throw reader.error(value, "invalid '\(checkPath)': give max_ratio, max_increase or max")
            }
            errorRate = config
        }
        if let value = section.value("latency") {
            let checkPath = section.child("latency")
            let check = try reader.section(value, checkPath, allowed: ["quantile", "max_ratio", "max"])
            var config = LatencyCheckConfig(quantile: 0.99, maxRatio: nil, max: nil)
            if let v = check.value("quantile") {
                config.quantile = try reader.fraction(v, check.child("quantile"))
                guard config.quantile >= 0.5, config.quantile <= 0.999 else {
                    throw reader.error(v, "invalid '\(check.child("quantile"))': must be from 0.5 to 0.999")
                }
            }
            if let v = check.value("max_ratio") { config.maxRatio = try reader.ratio(v, check.child("max_ratio")) }
            if let v = check.value("max") { config.max = try reader.duration(v, check.child("max"), allowZero: false) }
            guard config.maxRatio != nil || config.max != nil else {
                throw reader.error(value, "invalid '\(checkPath)': give max_ratio or max")
            }
            latency = config
        }
        return (errorRate, latency)
    }
}

extension NodeReader {
    /// `5%`, `0.5%` or a plain fraction `0.05`: a number from 0 to 1.
    func fraction(_ node: Node, _ path: String) throws(ConfigError) -> Double {
        let expected = "a percentage like 5% or 0.5%, or a fraction like 0.05"
        let raw = try text(node, path, expected: expected)
        let isPercent = raw.hasSuffix("%")
        let digits = isPercent ? String(raw.dropLast()) : raw
        guard NodeReader.isPlainDecimal(digits), let number = Double(digits) else {
            throw mismatch(node, path, expected: expected)
        }
        let value = isPercent ? number / 100 : number
        guard value >= 0, value <= 1 else {
            throw error(node, "invalid '\(path)': must be from 0% to 100%, found \(raw)")
        }
        return value
    }

    /// A ratio such as `2` or `1.3`: at least 1 (a canary held to better than its baseline
    /// would fail by chance), at most 1000.
    func ratio(_ node: Node, _ path: String) throws(ConfigError) -> Double {
        let raw = try text(node, path, expected: "a ratio like 2 or 1.3")
        guard NodeReader.isPlainDecimal(raw), let value = Double(raw) else {
            throw mismatch(node, path, expected: "a ratio like 2 or 1.3")
        }
        guard value >= 1, value <= 1000 else {
            throw error(node, "invalid '\(path)': must be from 1 to 1000, found \(raw)")
        }
        return value
    }

    /// Digits with at most one decimal point (no sign, exponent, inf or nan).
    static func isPlainDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return false }
        return parts.contains { !$0.isEmpty }
    }
}
