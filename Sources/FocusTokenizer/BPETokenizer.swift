import Foundation

/// A byte-level BPE tokenizer loaded from a Hugging Face `tokenizer.json`.
///
/// `encode` matches `tokenizers`' `encode(text, add_special_tokens=False)`: added tokens are
/// found in the raw text first, the rest is normalized, split into pieces, mapped to the
/// byte-level alphabet and merged. The instance is safe to share between threads.
public final class BPETokenizer: @unchecked Sendable {
    /// Number of ids, i.e. one more than the largest id of the vocabulary and added tokens.
    public let vocabularySize: Int
    /// The added tokens of the file, in file order.
    public let addedTokens: [AddedToken]
    /// Special added tokens by content.
    public let specialTokens: [String: Int32]

    private let idToToken: [String]
    private let vocabulary: [String: Int32]
    let merger: BPEMerger
    private let byteIDs: [Int32]
    private let specialIDs: Set<Int32>
    private let addedTokenIDs: [String: Int32]
    private let normalizesToNFC: Bool
    private let ignoresMerges: Bool
    let preTokenizer: PreTokenizer
    private let addedTokenMatcher: AddedTokenMatcher

    private var pieceCache: [String: [Int32]] = [:]
    private let pieceCacheLock = NSLock()
    private static let pieceCacheLimit = 100_000

    /// Loads `tokenizer.json` at `url`.
    /// - Throws: `TokenizerError` naming the file and the offending field.
    public convenience init(contentsOf url: URL) throws {
        try self.init(definition: TokenizerDefinition.load(contentsOf: url), path: url.path)
    }

    /// Builds the tokenizer from a validated definition; `forceRegex` disables the hand-written
    /// scanner so that the regular-expression path can be checked against it.
    init(definition: TokenizerDefinition, path: String, forceRegex: Bool = false) throws {
        idToToken = definition.idToToken
        vocabularySize = definition.idToToken.count
        vocabulary = definition.vocabulary
        merger = BPEMerger(merges: definition.merges)
        addedTokens = definition.addedTokens
        normalizesToNFC = definition.normalizesToNFC
        ignoresMerges = definition.ignoresMerges
        var byteIDs: [Int32] = []
        for scalar in ByteLevelAlphabet.scalars {
            guard let id = definition.vocabulary[String(scalar)] else {
                throw TokenizerError.unsupportedComponent(
                    path: path, field: "model.vocab", value: "no token for byte symbol \(String(scalar).debugDescription)")
            }
            byteIDs.append(id)
        }
        self.byteIDs = byteIDs
        var special: [String: Int32] = [:]
        for token in definition.addedTokens where token.isSpecial { special[token.content] = token.id }
        specialTokens = special
        specialIDs = Set(special.values)
        addedTokenIDs = Dictionary(definition.addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { _, last in last })
        do {
            preTokenizer = try PreTokenizer(pattern: definition.splitPattern, forceRegex: forceRegex)
        } catch {
            throw TokenizerError.invalidPattern(path: path, field: "pre_tokenizer", pattern: definition.splitPattern ?? "")
        }
        addedTokenMatcher = AddedTokenMatcher(definition.addedTokens)
    }

    // MARK: - Lookup

    /// The id of an added or vocabulary token (added tokens first, as in the reference), or nil.
    public func id(of token: String) -> Int32? {
        addedTokenIDs[token] ?? vocabulary[token]
    }

    /// Same as `id(of:)`.
    public func tokenID(for token: String) -> Int32? {
        id(of: token)
    }

    /// The vocabulary spelling of `id` (byte-level alphabet for BPE tokens), or nil when unused.
    public func token(for id: Int32) -> String? {
        guard id >= 0, Int(id) < idToToken.count, !idToToken[Int(id)].isEmpty else { return nil }
        return idToToken[Int(id)]
    }

    /// Whether `id` is a special added token.
    public func isSpecial(_ id: Int32) -> Bool {
        specialIDs.contains(id)
    }

    // MARK: - Encoding

    /// Token ids of `text`, without adding any special token.
    public func encode(_ text: String) -> [Int32] {
        var text = text
        text.makeContiguousUTF8()
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 1)
        text.utf8.withContiguousStorageIfAvailable { bytes in
            var segmentStart = 0
            addedTokenMatcher.forEachMatch(in: bytes) { range, id in
                encodeSegment(bytes, segmentStart, range.lowerBound, into: &ids)
                ids.append(id)
                segmentStart = range.upperBound
            }
            encodeSegment(bytes, segmentStart, bytes.count, into: &ids)
        }
        return ids
    }

    /// Encodes text free of added tokens: normalize, split, merge.
    private func encodeSegment(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into ids: inout [Int32]) {
        guard start < end else { return }
        if normalizesToNFC, bytes[start..<end].contains(where: { $0 >= 0x80 }) {
            let raw = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            var normalized = raw.precomposedStringWithCanonicalMapping
            normalized.makeContiguousUTF8()
            normalized.utf8.withContiguousStorageIfAvailable { normalizedBytes in
                encodeNormalized(normalizedBytes, 0, normalizedBytes.count, into: &ids)
            }
        } else {
            encodeNormalized(bytes, start, end, into: &ids)
        }
    }

    private func encodeNormalized(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into ids: inout [Int32]) {
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity((end - start) / 4 + 1)
        preTokenizer.split(bytes, start, end, into: &pieces)
        for piece in pieces {
            if piece.count == 1 {
                ids.append(byteIDs[Int(bytes[piece.lowerBound])])
                continue
            }
            let slice = UnsafeBufferPointer(rebasing: bytes[piece])
            let key = String(decoding: slice, as: UTF8.self)
            pieceCacheLock.lock()
            let cached = pieceCache[key]
            pieceCacheLock.unlock()
            if let cached {
                ids.append(contentsOf: cached)
                continue
            }
            let merged = mergePiece(slice)
            ids.append(contentsOf: merged)
            pieceCacheLock.lock()
            if pieceCache.count >= Self.pieceCacheLimit { pieceCache.removeAll(keepingCapacity: true) }
            pieceCache[key] = merged
            pieceCacheLock.unlock()
        }
    }

    /// The BPE merges of one piece of UTF-8 bytes (no cache).
    func mergePiece(_ piece: UnsafeBufferPointer<UInt8>) -> [Int32] {
        if ignoresMerges, let whole = vocabulary[ByteLevelAlphabet.encode(piece)] { return [whole] }
        return merger.merge(piece.map { byteIDs[Int($0)] })
    }

    // MARK: - Decoding

    /// The text of `ids`. Unknown ids are skipped; invalid UTF-8 becomes U+FFFD.
    /// - Parameter skipSpecialTokens: drop special added tokens such as `<|eot_id|>`.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard let token = token(for: id) else { continue }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            ByteLevelAlphabet.appendBytes(of: token, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: - Added tokens

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
