import Foundation

// MARK: - Character classes

/// The classes of Unicode scalars that the known split patterns distinguish.
enum ScalarClass: UInt8 {
    /// `\p{L}`
    case letter
    /// `\p{N}`
    case number
    /// `\s` other than `\r` and `\n`
    case space
    /// `\r` or `\n`
    case newline
    /// `[^\s\p{L}\p{N}]`
    case other
}

/// Classifies a non-ASCII scalar the way the regex engines of the reference implementation do.
@inline(__always)
func classifyScalar(_ value: UInt32) -> ScalarClass {
    guard let scalar = Unicode.Scalar(value) else { return .other }
    let properties = scalar.properties
    if properties.isWhitespace { return .space }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
        return .letter
    case .decimalNumber, .letterNumber, .otherNumber:
        return .number
    default:
        return .other
    }
}

// MARK: - Scanner

/// A hand-written matcher for the split patterns used by GPT-2, GPT-4/Qwen2-style and Ling/LLaDA
/// tokenizers. It reproduces the leftmost-first regex semantics of those patterns exactly while
/// running on UTF-8 bytes with an ASCII fast path.
struct PatternScanner {
    /// Which known pattern this scanner implements.
    enum Kind {
        /// `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
        /// and the Qwen2 spelling of the same language (non-possessive, `\s*[\r\n]+`).
        case singleDigits
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
    }

    /// The Ling/LLaDA pattern as it appears in `tokenizer.json`.
    static let lingPattern =
        #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"#
    /// The Qwen2 pattern as it appears in `tokenizer.json`.
    static let qwenPattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The GPT-2 pattern that a plain `ByteLevel` pre-tokenizer with `use_regex` applies.
    static let gpt2Pattern =
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    let kind: Kind

    /// The scanner for `pattern`, or nil when the pattern is not one of the known ones.
    init?(pattern: String) {
        switch pattern {
        case Self.lingPattern, Self.qwenPattern: kind = .singleDigits
        case Self.gpt2Pattern: kind = .gpt2
        default: return nil
        }
    }

    /// Appends to `pieces` the byte ranges of `bytes[start..<end]` that the pattern splits off.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into pieces: inout [Range<Int>]) {
        let cursor = Cursor(bytes: bytes, end: end)
        var i = start
        while i < end {
            let next = kind == .singleDigits ? cursor.matchSingleDigits(at: i) : cursor.matchGPT2(at: i)
            pieces.append(i..<next)
            i = next
        }
    }
}

/// Scans one segment of UTF-8 bytes; every `match` function returns the end of the piece at `i`.
private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    let end: Int

    init(bytes: UnsafeBufferPointer<UInt8>, end: Int) {
        self.bytes = bytes
        self.end = end
    }

    /// The class and UTF-8 length of the scalar starting at `i`.
    @inline(__always)
    func classify(_ i: Int) -> (ScalarClass, Int) {
        let b0 = bytes[i]
        if b0 < 0x80 {
            switch b0 {
            case 0x61...0x7A, 0x41...0x5A: return (.letter, 1)
            case 0x30...0x39: return (.number, 1)
            case 0x0A, 0x0D: return (.newline, 1)
            case 0x20, 0x09, 0x0B, 0x0C: return (.space, 1)
            default: return (.other, 1)
            }
        }
        let length: Int
        var value: UInt32
        if b0 >= 0xF0 {
            length = 4; value = UInt32(b0 & 0x07)
        } else if b0 >= 0xE0 {
            length = 3; value = UInt32(b0 & 0x0F)
        } else {
            length = 2; value = UInt32(b0 & 0x1F)
        }
        for k in 1..<length where i + k < end {
            value = value << 6 | UInt32(bytes[i + k] & 0x3F)
        }
        return (classifyScalar(value), length)
    }

    @inline(__always)
    func isClass(_ i: Int, _ wanted: ScalarClass) -> Bool {
        i < end && classify(i).0 == wanted
    }

    /// End of the run of scalars of class `wanted` starting at `i`.
    @inline(__always)
    func skip(_ wanted: ScalarClass, from i: Int) -> Int {
        var j = i
        while j < end {
            let (c, n) = classify(j)
            if c != wanted { break }
            j += n
        }
        return j
    }

    /// Length of the contraction suffix after an apostrophe at `i - 1`, or 0.
    func contractionLength(at i: Int, caseInsensitive: Bool) -> Int {
        guard i < end else { return 0 }
        func lower(_ k: Int) -> UInt8 {
            guard k < end else { return 0 }
            return caseInsensitive ? bytes[k] | 0x20 : bytes[k]
        }
        let first = lower(i)
        let second = lower(i + 1)
        switch first {
        case UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"): return 1
        case UInt8(ascii: "l") where second == UInt8(ascii: "l"): return 2
        case UInt8(ascii: "v") where second == UInt8(ascii: "e"): return 2
        case UInt8(ascii: "r") where second == UInt8(ascii: "e"): return 2
        default:
            // U+017F LATIN SMALL LETTER LONG S case-folds to "s".
            if caseInsensitive, bytes[i] == 0xC5, i + 1 < end, bytes[i + 1] == 0xBF { return 2 }
            return 0
        }
    }

    /// The whitespace alternatives shared by both patterns: `(\s*[\r\n])?`, `\s+(?!\S)`, `\s+`.
    @inline(__always)
    func matchWhitespace(at i: Int, newlineAlternative: Bool) -> Int {
        var j = i
        var lastNewlineEnd = -1
        var lastScalarStart = i
        var count = 0
        while j < end {
            let (c, n) = classify(j)
            if c == .newline {
                lastNewlineEnd = j + n
            } else if c != .space {
                break
            }
            lastScalarStart = j
            j += n
            count += 1
        }
        if newlineAlternative && lastNewlineEnd > 0 { return lastNewlineEnd }
        if j == end || count == 1 { return j }
        return lastScalarStart
    }

    /// One match of the Ling/Qwen2 pattern at `i`.
    func matchSingleDigits(at i: Int) -> Int {
        let b0 = bytes[i]
        if b0 == UInt8(ascii: "'") {
            let length = contractionLength(at: i + 1, caseInsensitive: true)
            if length > 0 { return i + 1 + length }
        }
        let (c, n) = classify(i)
        switch c {
        case .letter:
            return skip(.letter, from: i + n)
        case .number:
            return i + n
        case .space, .other:
            if isClass(i + n, .letter) { return skip(.letter, from: i + n) }
            var k = i
            if b0 == 0x20 && isClass(i + 1, .other) { k = i + 1 } else if c != .other { break }
            var j = skip(.other, from: k)
            while j < end, bytes[j] == 0x0A || bytes[j] == 0x0D { j += 1 }
            return j
        case .newline:
            break
        }
        return matchWhitespace(at: i, newlineAlternative: true)
    }

    /// One match of the GPT-2 pattern at `i`.
    func matchGPT2(at i: Int) -> Int {
        let b0 = bytes[i]
        if b0 == UInt8(ascii: "'") {
            let length = contractionLength(at: i + 1, caseInsensitive: false)
            if length > 0 { return i + 1 + length }
        }
        var k = i
        if b0 == 0x20, i + 1 < end {
            let following = classify(i + 1).0
            if following == .letter || following == .number || following == .other { k = i + 1 }
        }
        let (c, n) = classify(k)
        switch c {
        case .letter, .number, .other:
            return skip(c, from: k + n)
        case .space, .newline:
            return matchWhitespace(at: i, newlineAlternative: false)
        }
    }
}
