extension BackendPicker {
    /// `random`: each eligible backend with probability weight / total. Stateless apart from the
    /// generator, so it spreads well across many workers without any coordination.
    mutating func pickRandom(effectiveWeights weights: [Int], excluding tried: TriedSet) -> Int? {
        let eligible = WeightedSampling.survey(weights, excluding: tried)
        switch eligible.count {
        case 0: return nil
        case 1: return eligible.last
        default:
            let index = WeightedSampling.draw(from: weights, total: eligible.total, excluding: tried, using: &random)
            return index >= 0 ? index : nil
        }
    }
}
