import FocusDecoding
import FocusEngine
import FocusStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Two different questions about one document in `stored` mode, in a fresh process: the first
/// finds the store empty and prefills, the second comes from a new engine and reads the KV back
/// from disk. The child also records the peak resident memory of each question.
enum StoreQuestionBenchmark {
    /// Name of the child subcommand.
    static let childCommand = "store-questions"

    /// What one child measured.
    struct Result {
        var set: String
        var tokens: Int
        var layers: Int
        var kvDim: Int
        var hiddenSize: Int
        var residentAfterLoad: Int
        var firstSeconds: Double
        var firstPrefillSeconds: Double
        var firstDecodeSeconds: Double
        /// Peak resident memory up to the end of the first question (prefill and its decoding).
        var firstPeak: Int
        /// Whether the peak could be reset before the second question (`/proc/self/clear_refs`).
        var peakReset: Bool
        var residentAtReset: Int
        var secondLoadSeconds: Double
        var secondSeconds: Double
        var secondDecodeSeconds: Double
        var secondKVBytesRead: Int
        var secondKVLoadSeconds: Double
        /// Peak resident memory of the second question alone (when the reset worked).
        var secondPeak: Int

        var ratio: Double { firstSeconds / secondSeconds }
        /// One layer's K and V as f32.
        var layerKVBytes: Int { tokens * kvDim * 2 * 4 }
        /// Every layer's K and V as f32.
        var modelKVBytes: Int { layerKVBytes * layers }

        init(set: String, report: ResultJSON) throws {
            func field(_ key: String) throws -> Double {
                guard let value = report[key] else {
                    throw BenchmarkError.invalidChildOutput(command: StoreQuestionBenchmark.childCommand, output: report.text)
                }
                return value
            }
            self.set = set
            tokens = Int(try field("document_tokens"))
            layers = Int(try field("layers"))
            kvDim = Int(try field("kv_dim"))
            hiddenSize = Int(try field("hidden_size"))
            residentAfterLoad = Int(try field("resident_after_load_bytes"))
            firstSeconds = try field("first_seconds")
            firstPrefillSeconds = try field("first_prefill_seconds")
            firstDecodeSeconds = try field("first_decode_seconds")
            firstPeak = Int(try field("first_peak_resident_bytes"))
            peakReset = try field("peak_reset") != 0
            residentAtReset = Int(try field("resident_at_reset_bytes"))
            secondLoadSeconds = try field("second_load_seconds")
            secondSeconds = try field("second_seconds")
            secondDecodeSeconds = try field("second_decode_seconds")
            secondKVBytesRead = Int(try field("second_kv_bytes_read"))
            secondKVLoadSeconds = try field("second_kv_load_seconds")
            secondPeak = Int(try field("second_peak_resident_bytes"))
        }

        var json: ResultJSON {
            .object([
                "set": .string(set), "document_tokens": .number(Double(tokens)), "layers": .number(Double(layers)),
                "kv_dim": .number(Double(kvDim)), "hidden_size": .number(Double(hiddenSize)),
                "resident_after_load_bytes": .number(Double(residentAfterLoad)),
                "first_seconds": .number(firstSeconds), "first_prefill_seconds": .number(firstPrefillSeconds),
                "first_decode_seconds": .number(firstDecodeSeconds),
                "first_peak_resident_bytes": .number(Double(firstPeak)), "peak_reset": .bool(peakReset),
                "resident_at_reset_bytes": .number(Double(residentAtReset)),
                "second_load_seconds": .number(secondLoadSeconds), "second_seconds": .number(secondSeconds),
                "second_decode_seconds": .number(secondDecodeSeconds),
                "second_kv_bytes_read": .number(Double(secondKVBytesRead)),
                "second_kv_load_seconds": .number(secondKVLoadSeconds),
                "second_peak_resident_bytes": .number(Double(secondPeak)), "ratio": .number(ratio),
                "layer_kv_f32_bytes": .number(Double(layerKVBytes)), "model_kv_f32_bytes": .number(Double(modelKVBytes)),
            ])
        }
    }

    // MARK: - Child

    /// The child: `MODEL_DIR SET.jsonl EMPTY_STORE_DIR` → JSON with both questions' timings and peaks.
    static func child(_ arguments: [String]) throws -> ResultJSON {
        guard arguments.count == 3 else {
            throw BenchmarkError.usage("--child \(childCommand) MODEL_DIR SET.jsonl EMPTY_STORE_DIR")
        }
        let modelDirectory = URL(fileURLWithPath: arguments[0])
        let storeDirectory = URL(fileURLWithPath: arguments[2])
        let (document, question1, question2) = try EvaluationDocuments.twoQuestions(
            EvaluationDocuments.load(url: URL(fileURLWithPath: arguments[1])))

        let first = try firstQuestion(
            modelDirectory: modelDirectory, storeDirectory: storeDirectory, document: document, question: question1)
        let firstPeak = ProcessMemory.peakResidentBytes
        ProcessMemory.returnFreedMemory()
        let reset = ProcessMemory.resetPeakResident()
        let atReset = ProcessMemory.residentBytes

        let loadStart = Clock.now()
        let loaded = try LoadedModel(directory: modelDirectory)
        let secondLoadSeconds = Clock.now() - loadStart
        let engine = QAEngine(loaded: loaded, store: try DocumentStore(directory: storeDirectory))
        let second = try engine.answer(request(document: document, question: question2, loaded: loaded))
        guard second.prefill?.storeHit == true else {
            throw BenchmarkError.usage("the second question did not find the document in \(storeDirectory.path)")
        }
        var report = first
        report["first_peak_resident_bytes"] = .number(Double(firstPeak))
        report["peak_reset"] = .number(reset ? 1 : 0)
        report["resident_at_reset_bytes"] = .number(Double(atReset))
        report["second_load_seconds"] = .number(secondLoadSeconds)
        report["second_seconds"] = .number(second.totalSeconds)
        report["second_decode_seconds"] = .number(second.decoding.decodeSeconds)
        report["second_kv_bytes_read"] = .number(Double(second.decoding.kvBytesRead))
        report["second_kv_load_seconds"] = .number(second.decoding.kvLoadSeconds)
        report["second_peak_resident_bytes"] = .number(Double(ProcessMemory.peakResidentBytes))
        return .object(report)
    }

    /// The first question, with its own model, store and engine, all released on return.
    private static func firstQuestion(
        modelDirectory: URL, storeDirectory: URL, document: String, question: String
    ) throws -> [String: ResultJSON] {
        let loaded = try LoadedModel(directory: modelDirectory)
        let afterLoad = ProcessMemory.residentBytes
        let engine = QAEngine(loaded: loaded, store: try DocumentStore(directory: storeDirectory))
        let answer = try engine.answer(request(document: document, question: question, loaded: loaded))
        guard let prefill = answer.prefill, !prefill.storeHit else {
            throw BenchmarkError.usage("the first question found its document already stored in \(storeDirectory.path)")
        }
        let c = loaded.configuration
        return [
            "document_tokens": .number(Double(answer.documentTokens)), "layers": .number(Double(c.layerCount)),
            "kv_dim": .number(Double(c.kvDimension)), "hidden_size": .number(Double(c.hiddenSize)),
            "resident_after_load_bytes": .number(Double(afterLoad)),
            "first_seconds": .number(answer.totalSeconds), "first_prefill_seconds": .number(prefill.seconds),
            "first_decode_seconds": .number(answer.decoding.decodeSeconds),
        ]
    }

    /// A `stored`-mode request with the command line's default decoding and prefill settings.
    private static func request(document: String, question: String, loaded: LoadedModel) -> QARequest {
        var parameters = DecodingParameters(mode: .stored)
        parameters.refresh = loaded.configuration.promptAttention == .blockCausal ? .afterDocument : .full
        var prefill = PrefillOptions()
        prefill.blockSize = parameters.focus.blockSize
        return QARequest(document: document, question: question, parameters: parameters, prefill: prefill)
    }

    // MARK: - Tables

    static func questionTable(_ results: [Result]) -> ResultTable {
        ResultTable(
            title: "First and second question about one document, stored mode (f16, whole prefill), "
                + "defaults of `focus answer`; the second from a new model and engine, KV read from disk",
            columns: [
                "set", "document tokens", "1st s", "1st prefill s", "1st decode s", "2nd s", "2nd decode s",
                "2nd KV read", "2nd KV load s", "ratio", "model load s",
            ],
            rows: results.map { r in
                [
                    r.set, "\(r.tokens)", Format.number(r.firstSeconds), Format.number(r.firstPrefillSeconds),
                    Format.number(r.firstDecodeSeconds), Format.number(r.secondSeconds),
                    Format.number(r.secondDecodeSeconds), Format.bytes(r.secondKVBytesRead),
                    Format.number(r.secondKVLoadSeconds), Format.number(r.ratio) + "×", Format.number(r.secondLoadSeconds),
                ]
            })
    }

    static func memoryTable(_ results: [Result]) -> ResultTable {
        let perToken = results.first.map { r -> String in
            let held = (3 * r.hiddenSize + 4 * r.kvDim) * 4
            let everyLayer = (r.layers - 1) * 2 * r.kvDim * 4
            return "prefill keeps per token the hidden state, q and attention output (3·d floats) and one layer's "
                + "K, V twice (the layer's and the writer's copy, 4·kv floats): \(String(format: "%.1f", Double(held) / 1024)) KiB; "
                + "keeping every layer's KV would add \(String(format: "%.1f", Double(everyLayer) / 1024)) KiB"
        } ?? ""
        var rows: [[String]] = []
        for (index, r) in results.enumerated() {
            var slope = "—"
            if index > 0 {
                let previous = results[index - 1]
                let grown = Double(r.firstPeak - previous.firstPeak) / Double(r.tokens - previous.tokens)
                slope = String(format: "%.1f KiB", grown / 1024)
            }
            rows.append([
                "\(r.tokens)", Format.bytes(r.layerKVBytes), Format.bytes(r.modelKVBytes), Format.bytes(r.residentAfterLoad),
                Format.bytes(r.firstPeak), Format.bytes(r.firstPeak - r.residentAfterLoad), slope,
                Format.bytes(r.residentAtReset), r.peakReset ? Format.bytes(r.secondPeak) : "not reset",
            ])
        }
        return ResultTable(
            title: "Peak RSS (VmHWM) against document length, one child process per length; \(perToken)",
            columns: [
                "tokens", "one layer's KV (f32)", "whole model's KV (f32)", "RSS after load", "peak, 1st question (prefill, decode)",
                "peak − RSS after load", "peak growth per added token", "RSS after 1st, freed", "peak, 2nd question alone",
            ],
            rows: rows)
    }
}

extension ProcessMemory {
    /// Hands the allocator's free memory back to the system (glibc `malloc_trim`), so that the
    /// resident set no longer counts what earlier work freed.
    static func returnFreedMemory() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// Resets this process's peak resident set (`VmHWM`) to its current size through
    /// `/proc/self/clear_refs`; false where the kernel refuses.
    static func resetPeakResident() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }
}
