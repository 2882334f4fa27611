import Foundation

/// Splits normalized text into the pieces that BPE encodes independently.
///
/// Supports the two shapes that byte-level BPE tokenizers use: a `Split` with a regex
/// (behavior `Isolated`) followed by a `ByteLevel` without regex, and a lone `ByteLevel` with
/// `use_regex: true` (the GPT-2 pattern). Known patterns run on `PatternScanner`; any other
/// pattern falls back to `NSRegularExpression`.
struct PreTokenizer {
    /// How pieces are found inside a segment.
    enum Matcher {
        /// The hand-written scanner for a known pattern.
        case scanner(PatternScanner)
        /// A compiled regular expression for any other pattern.
        case regex(NSRegularExpression)
        /// No splitting: the whole segment is one piece.
        case none
    }

    let matcher: Matcher

    /// The pre-tokenizer for `pattern`, preferring the scanner unless `forceRegex` is set.
    init(pattern: String?, forceRegex: Bool = false) throws {
        guard let pattern else {
            matcher = .none
            return
        }
        if !forceRegex, let scanner = PatternScanner(pattern: pattern) {
            matcher = .scanner(scanner)
        } else {
            matcher = .regex(try NSRegularExpression(pattern: pattern))
        }
    }

    /// Appends the byte ranges of the pieces of `bytes[start..<end]` to `pieces`.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into pieces: inout [Range<Int>]) {
        guard start < end else { return }
        switch matcher {
        case .scanner(let scanner):
            scanner.split(bytes, start, end, into: &pieces)
        case .regex(let regex):
            Self.splitWithRegex(regex, bytes, start, end, into: &pieces)
        case .none:
            pieces.append(start..<end)
        }
    }

    /// Convenience for tests: the pieces of `text` as strings.
    func pieces(of text: String) -> [String] {
        let bytes = Array(text.utf8)
        var ranges: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { split($0, 0, $0.count, into: &ranges) }
        return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    // MARK: - Regex fallback

    /// Isolated split: every match and every gap between matches becomes a piece.
    private static func splitWithRegex(
        _ regex: NSRegularExpression, _ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
        into pieces: inout [Range<Int>]
    ) {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        // UTF-16 offset -> UTF-8 offset (relative to `start`), one entry per UTF-16 unit plus the end.
        var utf8Offsets: [Int] = []
        utf8Offsets.reserveCapacity(end - start + 1)
        var offset = 0
        for scalar in text.unicodeScalars {
            let units = scalar.utf16.count
            for _ in 0..<units { utf8Offsets.append(offset) }
            offset += scalar.utf8.count
        }
        utf8Offsets.append(offset)
        let nsText = text as NSString
        var previous = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: nsText.length)) {
            let lower = utf8Offsets[match.range.location]
            let upper = utf8Offsets[match.range.location + match.range.length]
            guard upper > lower else { continue }
            if lower > previous { pieces.append(start + previous..<start + lower) }
            pieces.append(start + lower..<start + upper)
            previous = upper
        }
        if previous < offset { pieces.append(start + previous..<start + offset) }
    }
}

// MARK: - Byte-level alphabet

/// The GPT-2 byte-to-character alphabet: each byte maps to a printable Unicode scalar so that
/// byte sequences can be stored as vocabulary strings.
enum ByteLevelAlphabet {
    /// `scalars[b]` is the character that represents byte `b`.
    static let scalars: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                result[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                result[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return result
    }()

    /// The inverse of `scalars`.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var result: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in scalars.enumerated() { result[scalar] = UInt8(byte) }
        return result
    }()

    /// The vocabulary spelling of raw bytes.
    static func encode<S: Sequence>(_ raw: S) -> String where S.Element == UInt8 {
        var text = String.UnicodeScalarView()
        for byte in raw { text.append(scalars[Int(byte)]) }
        return String(text)
    }

    /// Appends the bytes that a vocabulary token stands for. A token containing a character
    /// outside the alphabet (an added token such as `"\n"`) contributes its own UTF-8 bytes.
    static func appendBytes(of token: String, to output: inout [UInt8]) {
        let mark = output.count
        for scalar in token.unicodeScalars {
            guard let byte = bytes[scalar] else {
                output.removeSubrange(mark...)
                output.append(contentsOf: token.utf8)
                return
            }
            output.append(byte)
        }
    }
}
