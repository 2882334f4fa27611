import Foundation

/// Rotate-half rotary position embedding (LLaDA, Dream, Llama): for a head of dimension `hd`,
/// pair i rotates element i with element i + hd/2 by the angle `position · θ^(−2i/hd)`.
public struct RotaryEmbedding: Sendable {
    public let headDimension: Int
    private let inverseFrequencies: [Double]

    public init(headDimension: Int, theta: Double) {
        self.headDimension = headDimension
        let half = headDimension / 2
        inverseFrequencies = (0..<half).map { 1 / pow(theta, Double(2 * $0) / Double(headDimension)) }
    }

    /// Rotates every head of `rows` rows in place; row r holds `heads` heads of `headDimension`
    /// starting at `x + r·ld`, and sits at `positions[r]`. Angles are computed in Double.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, ld: Int, heads: Int, positions: [Int32]) {
        let half = headDimension / 2
        let cosines = UnsafeMutablePointer<Float>.allocate(capacity: half)
        let sines = UnsafeMutablePointer<Float>.allocate(capacity: half)
        defer {
            cosines.deallocate()
            sines.deallocate()
        }
        for r in 0..<rows {
            let position = Double(positions[r])
            for i in 0..<half {
                let angle = position * inverseFrequencies[i]
                cosines[i] = Float(cos(angle))
                sines[i] = Float(sin(angle))
            }
            for h in 0..<heads {
                let head = x + r * ld + h * headDimension
                for i in 0..<half {
                    let a = head[i]
                    let b = head[i + half]
                    head[i] = a * cosines[i] - b * sines[i]
                    head[i + half] = b * cosines[i] + a * sines[i]
                }
            }
        }
    }
}
