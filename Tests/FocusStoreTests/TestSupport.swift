import Foundation
import Glibc
@testable import FocusStore

/// A deterministic pseudo-random source (SplitMix64).
struct SeededGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func unit() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }
}

/// One layer's K and V as the engine would hand them over.
struct LayerKV {
    var keys: [Float]
    var values: [Float]
}

/// Random-ish KV: per-channel offsets and scales so channels differ, a few tiny values.
func makeLayers(layers: Int, tokens: Int, kvDim: Int, seed: UInt64) -> [LayerKV] {
    var generator = SeededGenerator(state: seed)
    return (0..<layers).map { _ in
        let channelScale = (0..<kvDim).map { _ in 0.1 + 4 * abs(generator.unit()) }
        let channelOffset = (0..<kvDim).map { _ in generator.unit() }
        var keys = [Float](repeating: 0, count: tokens * kvDim)
        var values = [Float](repeating: 0, count: tokens * kvDim)
        for row in 0..<tokens {
            for channel in 0..<kvDim {
                keys[row * kvDim + channel] = channelOffset[channel] + channelScale[channel] * generator.unit()
                values[row * kvDim + channel] = generator.unit() * (row % 7 == 0 ? 1e-6 : 2)
            }
        }
        return LayerKV(keys: keys, values: values)
    }
}

/// A header for test documents.
func testHeader(
    tokens: Int, layers: Int, kvDim: Int, blockSize: Int = 64, format: KVNumberFormat = .f16,
    model: String = "test-model"
) -> DocumentHeader {
    DocumentHeader(
        modelIdentity: model, tokenizerDigest: "tok-digest", prefillMode: "block-causal",
        prefillParameters: ["window": "all"], tokenCount: tokens, layers: layers, kvDim: kvDim,
        blockSize: blockSize, numberFormat: format, exactForQuestions: true)
}

/// Writes every layer of `data` under `key`.
func writeDocument(
    _ store: DocumentStore, key: StoreKey, header: DocumentHeader, data: [LayerKV], sinks: [[Int32]] = [[0, 1]]
) throws -> StoredDocument {
    try store.write(key, header: header) { writer in
        for (layer, kv) in data.enumerated() {
            try kv.keys.withUnsafeBufferPointer { keys in
                try kv.values.withUnsafeBufferPointer { values in
                    try writer.appendLayer(layer, keys: keys, values: values)
                }
            }
        }
        try writer.setSinks(sinks)
    }
}

/// Reads all rows of a layer.
func readLayer(_ document: StoredDocument, _ layer: Int) throws -> LayerKV {
    let count = document.manifest.tokenCount * document.manifest.kvDim
    var keys = [Float](repeating: .nan, count: count)
    var values = [Float](repeating: .nan, count: count)
    let rows = try keys.withUnsafeMutableBufferPointer { k in
        try values.withUnsafeMutableBufferPointer { v in
            try document.readLayer(layer: layer, keys: k.baseAddress!, values: v.baseAddress!)
        }
    }
    precondition(rows == document.manifest.tokenCount)
    return LayerKV(keys: keys, values: values)
}

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("focus-store-test-\(UInt64.random(in: 0...UInt64.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A key for test document number `index`.
func testKey(_ index: Int) -> StoreKey {
    StoreKey(digestOf: [Data("test document \(index)".utf8)])
}

/// Names in the store directory that are neither entries nor the locks folder.
func strayNames(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path)
        .filter { $0 != "locks" && $0.count != 64 }
}
