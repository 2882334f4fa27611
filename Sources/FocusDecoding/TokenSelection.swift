import FocusModel

/// One candidate for unmasking: a row, the token proposed for it and the model's confidence.
public struct Proposal: Sendable, Equatable {
    public let row: Int
    public let token: Int32
    /// Softmax probability of `token` at `row`.
    public let confidence: Float

    public init(row: Int, token: Int32, confidence: Float) {
        self.row = row
        self.token = token
        self.confidence = confidence
    }
}

/// Picks a token per masked row from its logits: greedy argmax, or Gumbel-max at a temperature.
public struct TokenSampler {
    public let temperature: Float
    private var generator: SplitMix64

    public init(temperature: Float, seed: UInt64) {
        self.temperature = temperature
        generator = SplitMix64(seed: seed)
    }

    /// Proposals for `rows`, whose logits are the rows of `logits` in the same order.
    public mutating func propose(rows: [Int], logits: Matrix) -> [Proposal] {
        var out: [Proposal] = []
        out.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            let values = logits.row(i)
            let width = logits.columns
            var best = 0
            if temperature > 0 {
                var bestScore = -Float.infinity
                for v in 0..<width {
                    let u = max(generator.nextUnit(), 1e-20)
                    let score = values[v] / temperature - logf(-logf(u))
                    if score > bestScore {
                        bestScore = score
                        best = v
                    }
                }
            } else {
                for v in 1..<width where values[v] > values[best] { best = v }
            }
            var maxValue = -Float.infinity
            for v in 0..<width { maxValue = max(maxValue, values[v]) }
            var sum: Float = 0
            for v in 0..<width { sum += expf(values[v] - maxValue) }
            out.append(Proposal(row: row, token: Int32(best), confidence: expf(values[best] - maxValue) / sum))
        }
        return out
    }
}

/// Which proposals are accepted in a step.
public enum UnmaskingRule {
    /// The `count` most confident (LLaDA's low-confidence remasking).
    case topK(Int)
    /// Every proposal at or above the threshold, and at least the most confident one (Fast-dLLM).
    case threshold(Float)

    /// Accepted proposals, most confident first; ties go to the earlier row.
    public func select(_ proposals: [Proposal]) -> [Proposal] {
        let ranked = proposals.sorted {
            $0.confidence != $1.confidence ? $0.confidence > $1.confidence : $0.row < $1.row
        }
        switch self {
        case .topK(let count): return Array(ranked.prefix(max(count, 0)))
        case .threshold(let tau):
            let accepted = ranked.filter { $0.confidence >= tau }
            return accepted.isEmpty ? Array(ranked.prefix(1)) : accepted
        }
    }
}

/// LLaDA's schedule: `masked` tokens spread over `steps` steps, the remainder going to the first.
public func transferSchedule(masked: Int, steps: Int) -> [Int] {
    guard steps > 0 else { return [] }
    let base = masked / steps
    let remainder = masked % steps
    return (0..<steps).map { base + ($0 < remainder ? 1 : 0) }
}

/// A small, fast, seedable generator (SplitMix64) for reproducible sampling.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1).
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

#if canImport(Glibc)
    import Glibc
#endif
