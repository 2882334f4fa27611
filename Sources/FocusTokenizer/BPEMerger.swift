import Foundation

/// Applies byte-level BPE merge rules to the symbols of one piece.
///
/// The rule is the one of the reference implementation: repeatedly merge the adjacent pair with
/// the lowest merge rank, the leftmost one on ties, until no adjacent pair has a rule. Short
/// pieces (almost all words) use a linear scan over a small array; long pieces (runs of symbols,
/// code, data) use a binary heap over a linked list so that their cost stays `O(n log n)`.
struct BPEMerger {
    /// Merge rules keyed by `left << 32 | right`; the value packs `rank << 32 | merged id`.
    let merges: [UInt64: UInt64]
    /// Pieces longer than this use the heap.
    static let heapThreshold = 48

    /// The packed `(rank, merged id)` of the pair, or `.max` when no rule merges it.
    @inline(__always)
    func entry(_ left: Int32, _ right: Int32) -> UInt64 {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))] ?? .max
    }

    /// The merged symbols of a piece given as its byte symbols.
    func merge(_ symbols: [Int32]) -> [Int32] {
        guard symbols.count > 1 else { return symbols }
        return symbols.count > Self.heapThreshold ? mergeWithHeap(symbols) : mergeByScanning(symbols)
    }

    // MARK: - Linear scan

    func mergeByScanning(_ initial: [Int32]) -> [Int32] {
        var symbols = initial
        guard symbols.count > 1 else { return symbols }
        // entries[i] is the packed (rank, merged id) of the pair (symbols[i], symbols[i + 1]).
        var entries = (0..<symbols.count - 1).map { entry(symbols[$0], symbols[$0 + 1]) }
        while !entries.isEmpty {
            var best = 0
            var bestEntry = entries[0]
            for index in 1..<entries.count where entries[index] < bestEntry {
                best = index
                bestEntry = entries[index]
            }
            if bestEntry == .max { break }
            symbols[best] = Int32(truncatingIfNeeded: bestEntry & 0xFFFF_FFFF)
            symbols.remove(at: best + 1)
            entries.remove(at: best)
            if best > 0 { entries[best - 1] = entry(symbols[best - 1], symbols[best]) }
            if best < entries.count { entries[best] = entry(symbols[best], symbols[best + 1]) }
        }
        return symbols
    }

    // MARK: - Heap

    /// Symbols live in a doubly linked list indexed by original position; candidate merges sit in
    /// a min-heap keyed by `rank << 32 | position`, so ties resolve to the leftmost pair. Entries
    /// made stale by earlier merges are recognised and dropped when popped.
    func mergeWithHeap(_ initial: [Int32]) -> [Int32] {
        var symbols = initial
        let count = symbols.count
        var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = index + 1 < count ? Int32(index + 1) : -1 }
            initialized = count
        }
        var previous = (0..<count).map { Int32($0 - 1) }
        var alive = [Bool](repeating: true, count: count)
        var heap = MinHeap()
        func push(_ position: Int) {
            let following = next[position]
            guard following >= 0 else { return }
            let packed = entry(symbols[position], symbols[Int(following)])
            if packed != .max { heap.push(packed & 0xFFFF_FFFF_0000_0000 | UInt64(position)) }
        }
        for position in 0..<count - 1 { push(position) }
        while let top = heap.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let following = Int(next[position])
            guard alive[position], following >= 0 else { continue }
            let packed = entry(symbols[position], symbols[following])
            guard packed >> 32 == top >> 32 else { continue }
            symbols[position] = Int32(truncatingIfNeeded: packed & 0xFFFF_FFFF)
            alive[following] = false
            next[position] = next[following]
            if next[following] >= 0 { previous[Int(next[following])] = Int32(position) }
            if previous[position] >= 0 { push(Int(previous[position])) }
            push(position)
        }
        var result: [Int32] = []
        var position: Int32 = 0
        while position >= 0 {
            result.append(symbols[Int(position)])
            position = next[Int(position)]
        }
        return result
    }
}

// MARK: - Binary heap

/// A binary min-heap of packed `UInt64` keys.
struct MinHeap {
    private var keys: [UInt64] = []

    var isEmpty: Bool { keys.isEmpty }

    mutating func push(_ key: UInt64) {
        keys.append(key)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if keys[parent] <= keys[child] { break }
            keys.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = keys.first else { return nil }
        let last = keys.removeLast()
        if keys.isEmpty { return top }
        keys[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < keys.count && keys[left] < keys[smallest] { smallest = left }
            if right < keys.count && keys[right] < keys[smallest] { smallest = right }
            if smallest == parent { break }
            keys.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
