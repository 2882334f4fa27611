import Foundation
import Testing
@testable import FocusEngine
import FocusModel
import FocusStore

/// Decoding from the document store through `QAEngine`: exactness on a block-causal model,
/// chunked prefill, stored-refresh, sparse reads, and the number formats.
@Suite("Stored decoding through the engine")
struct StoredDecodingTests {
    static let question = "Who carried the grain to the hill?"

    @Test("stored mode on a block-causal model gives cached (after-document, dual cache) decoding's tokens")
    func storedEqualsCachedOnBlockCausal() throws {
        let folder = try EngineFixtures.temporaryDirectory("exact")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        let document = EngineFixtures.document(sentences: 6, seed: 3)

        var parameters = EngineFixtures.parameters(.cached)
        parameters.threshold = nil
        parameters.refresh = .afterDocument
        parameters.dualCache = true
        let cached = try engine.answer(QARequest(document: document, question: Self.question, parameters: parameters))

        parameters.mode = .stored
        parameters.focus.keptBlocks = 1000
        parameters.focus.predictedCount = parameters.blockLength
        parameters.focus.window = parameters.blockLength
        let stored = try engine.answer(QARequest(
            document: document, question: Self.question, parameters: parameters, prefill: EngineFixtures.prefill(.f32)))

        let report = try #require(stored.prefill)
        #expect(report.exactForQuestions)
        #expect(!report.storeHit)
        #expect(report.storedRows == stored.documentTokens)
        #expect(stored.documentTokens == cached.documentTokens && stored.promptTokens == cached.promptTokens)
        #expect(cached.prefill == nil)
        expectComplete(cached)
        #expect(stored.decoding.generatedTokens == cached.decoding.generatedTokens)
        #expect(stored.tokens == cached.tokens)
        #expect(stored.text == cached.text)
    }

    @Test("stored mode with sparse layers gives focus mode's tokens on a block-causal model (f32 store)")
    func storedEqualsFocusOnBlockCausal() throws {
        let folder = try EngineFixtures.temporaryDirectory("focus-exact")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let engine = QAEngine(loaded: loaded, store: try DocumentStore(directory: folder.appendingPathComponent("store")))
        let document = EngineFixtures.document(sentences: 16, seed: 5)

        var parameters = EngineFixtures.parameters(.focus)
        parameters.refresh = .afterDocument
        parameters.focus.denseLayers = 1
        parameters.focus.keptBlocks = 1
        parameters.focus.sinkCount = 1
        parameters.focus.blockSize = 16
        let focus = try engine.answer(QARequest(document: document, question: Self.question, parameters: parameters))
        parameters.mode = .stored
        let stored = try engine.answer(QARequest(
            document: document, question: Self.question, parameters: parameters,
            prefill: EngineFixtures.prefill(.f32, blockSize: 16)))

        expectComplete(focus)
        #expect(stored.decoding.blocksSelected > 0)
        #expect(stored.decoding.blocksSelected < stored.decoding.blocksTotal, "the sparse layers drop blocks")
        #expect(stored.tokens == focus.tokens, "each block starts densely in both modes")
    }

    @Test("the f32 entry holds the model's own KV of the document, f16 is within f16 rounding and int8 within a quantisation step")
    func numberFormatsRoundTrip() throws {
        let folder = try EngineFixtures.temporaryDirectory("formats")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        let document = EngineFixtures.document(sentences: 5, seed: 4)
        var keys: [KVNumberFormat: String] = [:]
        var reports: [KVNumberFormat: PrefillReport] = [:]
        for format in [KVNumberFormat.f32, .f16, .int8] {
            let answer = try engine.answer(QARequest(
                document: document, question: Self.question, parameters: EngineFixtures.parameters(.stored),
                prefill: EngineFixtures.prefill(format)))
            expectComplete(answer)
            let report = try #require(answer.prefill)
            #expect(!report.storeHit)
            #expect(try EngineFixtures.manifest(store, key: report.key).numberFormat == format)
            keys[format] = report.key
            reports[format] = report
        }
        #expect(Set(keys.values).count == 3)
        // Measured 191366, 100304 and 54192 bytes for 222208 decoded bytes.
        let sizes = try [KVNumberFormat.f32, .f16, .int8].map { try #require(reports[$0]).compressedBytes }
        #expect(Set(try reports.values.map(\.decodedBytes)).count == 1)
        #expect(Double(sizes[1]) < 0.6 * Double(sizes[0]), "f16 halves the bytes on disk")
        #expect(Double(sizes[2]) < 0.6 * Double(sizes[1]), "int8 halves them again")
        #expect(try store.list().count == 3)

        let c = loaded.configuration
        let documentIDs = try engine.prompt(document: document, question: Self.question)
        let reference = DenseKVCache(configuration: c)
        _ = loaded.model.prefill(tokens: Array(documentIDs.tokens[..<documentIDs.documentLength]), into: reference)
        let count = reference.count * c.kvDimension
        for layer in 0..<c.layerCount {
            let exact = try EngineFixtures.storedLayer(store, key: keys[.f32]!, layer: layer)
            let half = try EngineFixtures.storedLayer(store, key: keys[.f16]!, layer: layer)
            let quantised = try EngineFixtures.storedLayer(store, key: keys[.int8]!, layer: layer)
            #expect(exact.keys.count == count)
            let modelKeys = Array(UnsafeBufferPointer(start: reference.keyPointer(layer: layer), count: count))
            let modelValues = Array(UnsafeBufferPointer(start: reference.valuePointer(layer: layer), count: count))
            #expect(largestError(exact.keys, modelKeys, relative: 0, absolute: 0) < 1e-5)
            #expect(largestError(exact.values, modelValues, relative: 0, absolute: 0) < 1e-5)

            // f16 keeps 11 significant bits: round-to-nearest errs by at most 2^-11 relative
            // (2^-25 absolute below the normal range). The two entries come from two prefills, each
            // within the forward pass's 1e-5 of the model (summation order changes with the BLAS
            // threads other work leaves), hence 2e-5 more absolute slack.
            let slack: Float = 0x1p-25 + 2e-5
            #expect(largestError(half.keys, exact.keys, relative: 0x1p-11, absolute: slack) <= 1)
            #expect(largestError(half.values, exact.values, relative: 0x1p-11, absolute: slack) <= 1)
            #expect(half.keys != exact.keys, "f16 entries hold rounded values")

            // int8: keys per column and values per row of each block, step = largest magnitude / 127.
            let width = c.kvDimension
            let rows = count / width
            let columnBound = (0..<width).map { column in
                (0..<rows).reduce(Float(0)) { max($0, abs(exact.keys[$1 * width + column])) } / 254 * 1.001
            }
            let rowBound = (0..<rows).map { row in
                exact.values[(row * width)..<((row + 1) * width)].reduce(Float(0)) { max($0, abs($1)) } / 254 * 1.001
            }
            for index in 0..<count {
                #expect(abs(quantised.keys[index] - exact.keys[index]) <= columnBound[index % width] + slack)
                #expect(abs(quantised.values[index] - exact.values[index]) <= rowBound[index / width] + slack)
            }
        }
    }

    @Test("chunked prefill stores a BOS anchor before every chunk after the first, and decodes from them")
    func chunkedPrefill() throws {
        let folder = try EngineFixtures.temporaryDirectory("chunked")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        let document = EngineFixtures.document(sentences: 6, seed: 5)
        let options = EngineFixtures.prefill(.f16, mode: .chunked(size: 64), blockSize: 32)
        let answer = try engine.answer(QARequest(
            document: document, question: Self.question, parameters: EngineFixtures.parameters(.stored), prefill: options))
        expectComplete(answer)

        let report = try #require(answer.prefill)
        let d = answer.documentTokens
        let chunks = (d + 63) / 64
        #expect(chunks >= 4)
        #expect(report.documentTokens == d)
        #expect(report.storedRows == d + chunks - 1)
        #expect(!report.exactForQuestions)
        let manifest = try EngineFixtures.manifest(store, key: report.key)
        #expect(manifest.prefillMode == "chunked" && manifest.prefillParameters["chunk"] == "64")
        #expect(manifest.tokenCount == report.storedRows)
        let prompt = try engine.prompt(document: document, question: Self.question)
        #expect(answer.promptTokens == prompt.tokens.count)
        let documentIDs = Array(prompt.tokens[..<prompt.documentLength])
        let stored = DocumentPrefiller(loaded: loaded, store: store).storedTokens(documentIDs: documentIDs, options: options)
        #expect(stored.tokens.count == report.storedRows)
        #expect(stored.chunks.count == chunks)
        let bos = documentIDs[0]
        for chunk in stored.chunks.dropFirst() { #expect(stored.tokens[chunk.lowerBound] == bos) }
        #expect(stored.tokens.filter { $0 != bos } == documentIDs.filter { $0 != bos })
    }

    @Test("stored-refresh selects some of the stored blocks and completes the answer")
    func storedRefresh() throws {
        let folder = try EngineFixtures.temporaryDirectory("refresh")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let engine = QAEngine(loaded: loaded, store: store)
        var parameters = EngineFixtures.parameters(.storedRefresh)
        parameters.focus.denseLayers = 1
        parameters.focus.keptBlocks = 2
        parameters.focus.sinkCount = 4
        let answer = try engine.answer(QARequest(
            document: EngineFixtures.document(sentences: 6, seed: 6), question: Self.question,
            parameters: parameters, prefill: EngineFixtures.prefill(.f16, blockSize: 32)))
        expectComplete(answer)
        let blocks = (answer.documentTokens + 31) / 32
        #expect(blocks > 2)
        #expect(answer.decoding.blocksTotal == blocks)
        #expect(answer.decoding.blocksSelected == 2)
        #expect(answer.decoding.blocksSelected <= answer.decoding.blocksTotal)
        #expect(answer.decoding.kvBytesRead > 0)
        #expect(answer.mode == .storedRefresh)
    }

    @Test("stored-refresh keeping every block gives cached decoding's tokens, one probe pass more",
          arguments: [EngineFixtures.blockCausal, EngineFixtures.bidirectional])
    func storedRefreshKeepingAllEqualsCached(checkpoint: String) throws {
        let folder = try EngineFixtures.temporaryDirectory("refresh-all")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(checkpoint, in: folder)
        let engine = QAEngine(loaded: loaded, store: try DocumentStore(directory: folder.appendingPathComponent("store")))
        let document = EngineFixtures.document(sentences: 5, seed: 9)
        var parameters = EngineFixtures.parameters(.cached)
        parameters.focus.denseLayers = 1
        parameters.focus.keptBlocks = 1000
        let cached = try engine.answer(QARequest(document: document, question: Self.question, parameters: parameters))
        parameters.mode = .storedRefresh
        let refreshed = try engine.answer(QARequest(
            document: document, question: Self.question, parameters: parameters, prefill: EngineFixtures.prefill(.int8, blockSize: 32)))
        expectComplete(cached)
        #expect(refreshed.decoding.blocksSelected == refreshed.decoding.blocksTotal)
        #expect(refreshed.decoding.blocksTotal == (refreshed.documentTokens + 31) / 32)
        #expect(refreshed.decoding.generatedTokens == cached.decoding.generatedTokens)
        #expect(refreshed.decoding.forwardPasses == cached.decoding.forwardPasses + 1)
    }

    @Test("stored decoding starts a block densely, then attends only the kept blocks of the sparse layers")
    func sparseStoredReadsFewerBlocks() throws {
        let folder = try EngineFixtures.temporaryDirectory("sparse")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.bidirectional, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        var parameters = EngineFixtures.parameters(.stored)
        parameters.focus.denseLayers = 1
        parameters.focus.keptBlocks = 2
        parameters.focus.sinkCount = 2
        let request = QARequest(
            document: EngineFixtures.document(sentences: 8, seed: 7), question: Self.question,
            parameters: parameters, prefill: EngineFixtures.prefill(.f16, blockSize: 32))
        let answer = try QAEngine(loaded: loaded, store: store).answer(request)
        expectComplete(answer)
        let report = try #require(answer.prefill)
        #expect(answer.decoding.blocksSelected > 0)
        #expect(answer.decoding.blocksSelected < answer.decoding.blocksTotal)
        // The block start attends to every stored row of every layer (as `focus`'s dense refresh
        // does), so the whole document is read once; later steps select blocks in layer 1.
        #expect(answer.decoding.kvBytesRead == Int(report.decodedBytes))
    }

    @Test("vanilla decoding that computes a block-causal document's KV once gives the same tokens")
    func vanillaDocumentReuse() throws {
        let folder = try EngineFixtures.temporaryDirectory("vanilla")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let engine = QAEngine(loaded: loaded, store: nil)
        var request = QARequest(
            document: EngineFixtures.document(sentences: 4, seed: 8), question: Self.question,
            parameters: EngineFixtures.parameters(.vanilla))
        let plain = try engine.answer(request)
        request.reuseExactDocumentKV = true
        let reused = try engine.answer(request)
        expectComplete(plain)
        #expect(reused.decoding.generatedTokens == plain.decoding.generatedTokens)
        #expect(reused.decoding.forwardPasses == plain.decoding.forwardPasses + 1, "one extra pass computes the document")
        #expect(plain.prefill == nil && reused.prefill == nil)
    }
}

/// The largest `|a − b| / (relative·|b| + absolute)` over two equal-length arrays (plain `|a − b|`
/// when both tolerances are 0).
func largestError(_ a: [Float], _ b: [Float], relative: Float, absolute: Float) -> Float {
    precondition(a.count == b.count, "arrays of equal length")
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let difference = abs(x - y)
        let allowed = relative * abs(y) + absolute
        worst = max(worst, allowed > 0 ? difference / allowed : difference)
    }
    return worst
}
