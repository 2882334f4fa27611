import FocusTokenizer
import Foundation

/// Tokenizer load time and encode throughput of the two real tokenizers (LLaDA's and Dream's)
/// on the English documents of an evaluation set, on one thread.
struct TokenizerBenchmark: BenchmarkSuite {
    let name = "tokenizer"
    let title = "Tokenizer: load time and encode throughput"

    /// Encode throughput every tokenizer should reach on one thread, cold word cache.
    static let throughputTarget = 1.0
    /// Fixture tokenizers, under `../shared/fixtures/tokenizers` from the repository root.
    static let tokenizers = ["ling-llada", "qwen2-dream"]

    /// The texts encoded.
    struct Texts {
        /// The set's distinct documents, once each.
        var distinct: String
        /// Every example's document in file order (the set asks several questions per document).
        var whole: String
        /// Each distinct whitespace-separated word of the documents once, in first-seen order.
        var words: String
    }

    /// One encode: the text's size, its token count and the best timing.
    struct Encode {
        var bytes: Int
        var tokens: Int
        var timing: Timing
        /// Decimal megabytes per wall second.
        var mbPerSecond: Double { Double(bytes) / 1e6 / timing.wall }
        /// Decimal megabytes per CPU second of this process (what one thread does alone).
        var mbPerCPUSecond: Double { timing.cpu > 0 ? Double(bytes) / 1e6 / timing.cpu : .nan }
    }

    /// One tokenizer's timings.
    struct Run {
        var name: String
        var vocabulary: Int
        var fileBytes: Int
        var load: Timing
        /// Fresh instance, the distinct documents: the word cache starts empty.
        var cold: Encode
        /// Fresh instance, the whole set.
        var whole: Encode
        /// The distinct documents again on the instance that just encoded them (words cached).
        var warm: Encode
        /// Fresh instance, each distinct word once: every piece is merged, none is found cached.
        var words: Encode
    }

    func run(_ context: BenchmarkContext) throws -> SuiteResult {
        let set = context.quick ? "test-2k" : "test-8k"
        let examples = try EvaluationDocuments.load(set, context: context)
        let documents = EvaluationDocuments.distinctDocuments(examples)
        let distinct = documents.joined(separator: "\n\n")
        let texts = Texts(
            distinct: distinct, whole: examples.map(\.document).joined(separator: "\n\n"), words: Self.distinctWords(distinct))
        context.log(
            "tokenizer: \(set), \(examples.count) documents (\(Format.megabytes(texts.whole.utf8.count))), "
                + "\(documents.count) distinct (\(Format.megabytes(distinct.utf8.count)))")
        let folder = context.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/tokenizers")
        var runs: [Run] = []
        for name in Self.tokenizers {
            let url = folder.appendingPathComponent("\(name)/tokenizer.json")
            let run = try measure(name: name, url: url, texts: texts, repetitions: context.quick ? 1 : 3)
            context.log(
                "tokenizer \(name): load \(Format.number(run.load.wall)) s, cold \(Format.number(run.cold.mbPerSecond)) MB/s, "
                    + "whole set \(Format.number(run.whole.mbPerSecond)) MB/s, distinct words \(Format.number(run.words.mbPerSecond)) MB/s")
            runs.append(run)
        }
        return SuiteResult(
            tables: [targetTable(runs), detailTable(runs, set: set, texts: texts, documents: examples.count, distinct: documents.count)],
            values: values(runs, set: set))
    }

    /// Each whitespace-separated word of `text` once, joined by spaces.
    static func distinctWords(_ text: String) -> String {
        var seen = Set<Substring>()
        return text.split(whereSeparator: \.isWhitespace).filter { seen.insert($0).inserted }.joined(separator: " ")
    }

    // MARK: - Measuring

    /// Best of `repetitions` of each timing; every cold, whole-set and word timing uses a
    /// tokenizer loaded just before it, so that its word cache starts empty.
    private func measure(name: String, url: URL, texts: Texts, repetitions: Int) throws -> Run {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw BenchmarkError.usage("tokenizer fixture missing: \(url.path)")
        }
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        var load: Timing?
        var cold: Encode?
        var whole: Encode?
        var warm: Encode?
        var words: Encode?
        var vocabulary = 0
        func fresh() throws -> BPETokenizer {
            var tokenizer: BPETokenizer?
            var failure: Error?
            let timing = Timing.measure {
                do { tokenizer = try BPETokenizer(contentsOf: url) } catch { failure = error }
            }
            guard let tokenizer else { throw failure ?? BenchmarkError.usage("cannot load \(url.path)") }
            if load == nil || timing.wall < load!.wall { load = timing }
            vocabulary = tokenizer.vocabularySize
            return tokenizer
        }
        func encode(_ text: String, with tokenizer: BPETokenizer, into best: inout Encode?) {
            var tokens = 0
            let timing = Timing.measure { tokens = tokenizer.encode(text).count }
            if best == nil || timing.wall < best!.timing.wall {
                best = Encode(bytes: text.utf8.count, tokens: tokens, timing: timing)
            }
        }
        for _ in 0..<repetitions {
            let first = try fresh()
            encode(texts.distinct, with: first, into: &cold)
            encode(texts.distinct, with: first, into: &warm)
            encode(texts.whole, with: try fresh(), into: &whole)
            encode(texts.words, with: try fresh(), into: &words)
        }
        return Run(
            name: name, vocabulary: vocabulary, fileBytes: fileBytes, load: load!, cold: cold!, whole: whole!, warm: warm!,
            words: words!)
    }

    // MARK: - Tables

    private func targetTable(_ runs: [Run]) -> ResultTable {
        var rows: [[String]] = []
        for run in runs {
            for (label, encode) in [
                ("cold word cache, distinct documents", run.cold), ("fresh instance, whole set", run.whole),
                ("distinct words once (few cache hits)", run.words),
            ] {
                rows.append([
                    "\(run.name): encode, \(label)",
                    "\(Format.number(encode.mbPerSecond)) MB/s (\(Format.number(encode.mbPerCPUSecond)) per CPU s)",
                    "≥ \(Format.number(Self.throughputTarget)) MB/s", Format.verdict(encode.mbPerSecond >= Self.throughputTarget),
                ])
            }
            rows.append(["\(run.name): load tokenizer.json", "\(Format.number(run.load.wall)) s", "—", "—"])
        }
        return ResultTable(title: "Targets (one thread)", columns: ["Measurement", "Result", "Target", "Verdict"], rows: rows)
    }

    private func detailTable(_ runs: [Run], set: String, texts: Texts, documents: Int, distinct: Int) -> ResultTable {
        var rows: [[String]] = []
        for run in runs {
            for (label, encode) in [
                ("cold: \(distinct) distinct documents", run.cold), ("whole set: \(documents) documents", run.whole),
                ("warm: distinct documents again", run.warm), ("distinct words once", run.words),
            ] {
                rows.append([
                    run.name, label, Format.megabytes(encode.bytes), "\(encode.tokens)",
                    Format.number(Double(encode.bytes) / Double(max(encode.tokens, 1))), Format.number(encode.timing.wall * 1e3),
                    Format.number(encode.mbPerSecond), Format.number(encode.mbPerCPUSecond),
                    Format.number(Double(encode.tokens) / encode.timing.wall / 1e6),
                ])
            }
        }
        return ResultTable(
            title: "Encode of \(set) on one thread, best of 3; tokenizers: "
                + runs.map { "\($0.name) (vocabulary \($0.vocabulary), \(Format.megabytes($0.fileBytes)), load \(Format.number($0.load.wall)) s)" }
                .joined(separator: ", "),
            columns: ["tokenizer", "text", "size", "tokens", "bytes/token", "ms", "MB/s", "MB per CPU s", "M tokens/s"],
            rows: rows)
    }

    private func values(_ runs: [Run], set: String) -> [String: ResultJSON] {
        func value(_ encode: Encode) -> ResultJSON {
            .object([
                "bytes": .number(Double(encode.bytes)), "tokens": .number(Double(encode.tokens)),
                "seconds": .number(encode.timing.wall), "cpu_seconds": .number(encode.timing.cpu),
                "mb_per_second": .number(encode.mbPerSecond), "mb_per_cpu_second": .number(encode.mbPerCPUSecond),
            ])
        }
        var values: [String: ResultJSON] = ["set": .string(set), "target_mb_per_second": .number(Self.throughputTarget)]
        for run in runs {
            values[run.name] = .object([
                "vocabulary": .number(Double(run.vocabulary)), "file_bytes": .number(Double(run.fileBytes)),
                "load_seconds": .number(run.load.wall), "cold": value(run.cold), "whole_set": value(run.whole),
                "warm": value(run.warm), "distinct_words": value(run.words),
            ])
        }
        return values
    }
}

extension Format {
    /// Bytes in decimal megabytes (the unit of the throughput figures).
    static func megabytes(_ count: Int) -> String { String(format: "%.2f MB", Double(count) / 1e6) }
}
