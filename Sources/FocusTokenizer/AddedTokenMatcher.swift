import Foundation

/// Finds added tokens in raw text, leftmost first and longest first at each position.
struct AddedTokenMatcher {
    /// One candidate: its UTF-8 bytes and id.
    private struct Candidate {
        let bytes: [UInt8]
        let id: Int32
    }

    /// Candidates grouped by first byte, longest first.
    private var candidatesByFirstByte: [[Candidate]] = Array(repeating: [], count: 256)
    /// Whether any candidate starts with the byte; lets the scan skip most bytes with one load.
    private var startsCandidate = [Bool](repeating: false, count: 256)

    init(_ tokens: [AddedToken]) {
        for token in tokens {
            let bytes = Array(token.content.utf8)
            guard let first = bytes.first else { continue }
            candidatesByFirstByte[Int(first)].append(Candidate(bytes: bytes, id: token.id))
            startsCandidate[Int(first)] = true
        }
        for index in 0..<256 {
            candidatesByFirstByte[index].sort { $0.bytes.count > $1.bytes.count }
        }
    }

    /// Calls `body` with the byte range and id of every match in `text`, left to right.
    func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>, Int32) -> Void) {
        let count = text.count
        var i = 0
        startsCandidate.withUnsafeBufferPointer { starts in
            while i < count {
                guard starts[Int(text[i])], let match = longestMatch(in: text, at: i) else {
                    i += 1
                    continue
                }
                body(i..<i + match.length, match.id)
                i += match.length
            }
        }
    }

    private func longestMatch(in text: UnsafeBufferPointer<UInt8>, at i: Int) -> (length: Int, id: Int32)? {
        let remaining = text.count - i
        for candidate in candidatesByFirstByte[Int(text[i])] where candidate.bytes.count <= remaining {
            let equal = candidate.bytes.withUnsafeBufferPointer { bytes in
                memcmp(bytes.baseAddress!, text.baseAddress! + i, bytes.count) == 0
            }
            if equal { return (candidate.bytes.count, candidate.id) }
        }
        return nil
    }
}
