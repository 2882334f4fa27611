/// `count` deterministic values in −1…1 (xorshift64 from `seed`).
func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Float(Int64(bitPattern: state % 2_000_001) - 1_000_000) / 1_000_000
    }
}
