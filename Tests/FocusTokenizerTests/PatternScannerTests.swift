import Foundation
import Testing
@testable import FocusTokenizer

/// The hand-written scanner must split exactly like the regular expression it stands for.
@Suite struct PatternScannerTests {
    static let patterns = [PatternScanner.lingPattern, PatternScanner.qwenPattern, PatternScanner.gpt2Pattern]

    /// Texts chosen to exercise every alternative of the patterns.
    static let samples: [String] = [
        "", " ", "  ", "\n", "\r\n", "\r\n\r\n  \r\n x", "a\r\n\r\nb", "\t\tx", "x\t\t", "end   ",
        "Hello world!", "multiple   spaces  between   words", "  leading", "trailing  \n  ",
        "It's don't we've they're I'm you'll he'd", "IT'S DON'T WE'VE THEY'RE I'M YOU'LL HE'D",
        "It'S dOn'T wE'vE tHeY'rE I'm yOu'Ll", "'s 'x '' ''s 'll 'LL 'Ll 're' 'ſ", "rock'n'roll o'clock",
        "12345678901234567890", "3.14159 + 2e10 = ?", "x=1;y=2;print(x+y)", "a1b22c333 ½ ⅷ ٣٤٥",
        "déjà vu naïve café Ünïcödé", "中文测试 日本語のテキスト 한국어", "🤖🚀 emoji 👨‍👩‍👧 family",
        "Ελληνικά κείμενο Привет, мир! مرحبا بالعالم עברית ไทย Tiếng Việt",
        "\u{00A0}nbsp\u{00A0} zero\u{200B}width combining e\u{0301} \u{FEFF}bom",
        "ASCII ~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/", "--- ... !!!\n\n??? ,,,\r\n",
        " !x ?? 'a' \"quoted\" (parens) [brackets]", "https://example.com/a?b=c&d=e",
        "line1\nline2\n\n\nline3 \n \n", "    indented code\n\treturn x  # comment\n",
        "\u{2028}\u{2029}\u{3000}ideographic\u{3000}space\u{2003}em", " \u{3000}x \u{2003}\u{2003}y",
        "tab\tseparated\tvalues\t", "snake_case_name CamelCaseName __dunder__",
        "mixed123abc456 v2.0.1 1,000,000", "$100 €50 £20 ¥1000 ₿", "a\u{0308}\u{0301} \u{0301}x",
        "ǅungla ǈ ǋ titlecase ʰmodifier", "x\u{0085}y \u{0085} \u{0085}\u{0085}z",
    ]

    @Test(arguments: patterns)
    func scannerMatchesRegexOnSamples(pattern: String) throws {
        let scanner = try PreTokenizer(pattern: pattern)
        let regex = try PreTokenizer(pattern: pattern, forceRegex: true)
        guard case .scanner = scanner.matcher else {
            Issue.record("pattern not recognised by the scanner")
            return
        }
        for text in Self.samples {
            #expect(scanner.pieces(of: text) == regex.pieces(of: text), "\(text.debugDescription)")
        }
    }

    @Test(arguments: patterns)
    func scannerMatchesRegexOnReferenceTexts(pattern: String) throws {
        let scanner = try PreTokenizer(pattern: pattern)
        let regex = try PreTokenizer(pattern: pattern, forceRegex: true)
        for name in ["ling-llada", "qwen2-dream"] {
            for vector in try Fixtures.vectors(name) {
                #expect(scanner.pieces(of: vector.text) == regex.pieces(of: vector.text), "\(name) line \(vector.line)")
            }
        }
    }

    @Test func piecesCoverTheTextExactly() throws {
        let scanner = try PreTokenizer(pattern: PatternScanner.lingPattern)
        for text in Self.samples {
            #expect(scanner.pieces(of: text).joined() == text)
        }
    }

    @Test func knownSplits() throws {
        let ling = try PreTokenizer(pattern: PatternScanner.lingPattern)
        #expect(ling.pieces(of: "I'LL do  it\n\n 123") == ["I", "'LL", " do", " ", " it", "\n\n", " ", "1", "2", "3"])
        let gpt2 = try PreTokenizer(pattern: PatternScanner.gpt2Pattern)
        #expect(gpt2.pieces(of: "I'LL do  it 123") == ["I", "'", "LL", " do", " ", " it", " 123"])
    }

    @Test func unknownPatternUsesRegexFallback() throws {
        let splitter = try PreTokenizer(pattern: #"\d+|[a-z]+"#)
        guard case .regex = splitter.matcher else {
            Issue.record("expected the regex fallback")
            return
        }
        // Isolated behavior: gaps between matches are pieces too.
        #expect(splitter.pieces(of: "ab12 cd!") == ["ab", "12", " ", "cd", "!"])
    }

    @Test(arguments: ["ling-llada", "qwen2-dream"])
    func regexPathEncodesReferenceVectors(name: String) throws {
        let url = Fixtures.tokenizerURL(name)
        let tokenizer = try BPETokenizer(definition: TokenizerDefinition.load(contentsOf: url), path: url.path, forceRegex: true)
        guard case .regex = tokenizer.preTokenizer.matcher else {
            Issue.record("expected the regex fallback")
            return
        }
        for vector in try Fixtures.vectors(name) {
            #expect(tokenizer.encode(vector.text) == vector.ids, "line \(vector.line)")
        }
    }
}
