import Foundation
import Testing
@testable import FocusStore

@Suite("Round trips")
struct RoundTripTests {
    /// 150 tokens in blocks of 64 (last block 22 rows); kvDim 40 exercises the SIMD tails.
    let tokens = 150
    let kvDim = 40
    let layers = 3

    @Test("f32 round trip is exact")
    func f32Exact() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 1)
        let header = testHeader(tokens: tokens, layers: layers, kvDim: kvDim, format: .f32)
        _ = try writeDocument(store, key: testKey(1), header: header, data: data).close()
        let document = try #require(try store.open(testKey(1)))
        for layer in 0..<layers {
            let read = try readLayer(document, layer)
            #expect(read.keys == data[layer].keys)
            #expect(read.values == data[layer].values)
        }
    }

    @Test("f16 round trip equals rounding each value to half precision")
    func f16Rounding() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 2)
        let document = try writeDocument(
            store, key: testKey(2), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim, format: .f16),
            data: data)
        for layer in 0..<layers {
            let read = try readLayer(document, layer)
            #expect(read.keys == data[layer].keys.map { Float(Float16($0)) })
            #expect(read.values == data[layer].values.map { Float(Float16($0)) })
        }
    }

    @Test("int8 round trip is within half a scale step per element")
    func int8Bounds() throws {
        let blockSize = 64
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 3)
        let document = try writeDocument(
            store, key: testKey(3),
            header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim, blockSize: blockSize, format: .int8),
            data: data)
        var worstRatio: Float = 0
        for layer in 0..<layers {
            let read = try readLayer(document, layer)
            let original = data[layer]
            for row in 0..<tokens {
                let blockStart = row / blockSize * blockSize
                let blockRows = blockStart..<min(blockStart + blockSize, tokens)
                let valueScale = (0..<kvDim).map { abs(original.values[row * kvDim + $0]) }.max()! / 127
                for channel in 0..<kvDim {
                    let keyScale = blockRows.map { abs(original.keys[$0 * kvDim + channel]) }.max()! / 127
                    let index = row * kvDim + channel
                    let keyError = abs(read.keys[index] - original.keys[index])
                    let valueError = abs(read.values[index] - original.values[index])
                    #expect(keyError <= keyScale * 0.5001)
                    #expect(valueError <= valueScale * 0.5001)
                    if keyScale > 0 { worstRatio = max(worstRatio, keyError / keyScale) }
                }
            }
        }
        #expect(worstRatio > 0.3, "quantization error should come close to half a step somewhere")
    }

    @Test("selected blocks come back as exactly those blocks' rows, in the order asked", arguments: KVNumberFormat.allCases)
    func selectedBlocks(format: KVNumberFormat) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: 2, tokens: tokens, kvDim: kvDim, seed: 4)
        let document = try writeDocument(
            store, key: testKey(4), header: testHeader(tokens: tokens, layers: 2, kvDim: kvDim, format: format),
            data: data)
        let full = try readLayer(document, 1)
        let selection = [2, 0]
        let expectedRows = selection.flatMap { document.rows(ofBlock: $0) }
        #expect(expectedRows.count == 22 + 64)
        var keys = [Float](repeating: .nan, count: expectedRows.count * kvDim)
        var values = [Float](repeating: .nan, count: expectedRows.count * kvDim)
        let rows = try keys.withUnsafeMutableBufferPointer { k in
            try values.withUnsafeMutableBufferPointer { v in
                try document.readBlocks(layer: 1, blocks: selection, keys: k.baseAddress!, values: v.baseAddress!)
            }
        }
        #expect(rows == expectedRows.count)
        let wantKeys = expectedRows.flatMap { full.keys[($0 * kvDim)..<(($0 + 1) * kvDim)] }
        let wantValues = expectedRows.flatMap { full.values[($0 * kvDim)..<(($0 + 1) * kvDim)] }
        #expect(keys == wantKeys)
        #expect(values == wantValues)
    }

    @Test("representative keys equal naive mean, min and max per block")
    func representativeKeys() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: 2, tokens: tokens, kvDim: kvDim, seed: 5)
        let document = try writeDocument(
            store, key: testKey(5), header: testHeader(tokens: tokens, layers: 2, kvDim: kvDim, blockSize: 32),
            data: data)
        for layer in 0..<2 {
            let summary = try document.representativeKeys(layer: layer)
            #expect(summary.blocks == 5)
            #expect(summary.mean.count == 5 * kvDim)
            for block in 0..<5 {
                let rows = document.rows(ofBlock: block)
                for channel in 0..<kvDim {
                    let column = rows.map { data[layer].keys[$0 * kvDim + channel] }
                    let mean = column.map(Double.init).reduce(0, +) / Double(column.count)
                    #expect(abs(Double(summary.mean[block * kvDim + channel]) - mean) < 1e-5)
                    #expect(summary.min[block * kvDim + channel] == column.min()!)
                    #expect(summary.max[block * kvDim + channel] == column.max()!)
                }
            }
        }
    }

    @Test("manifest records the header, sinks and block layout")
    func manifestContents() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: 2, tokens: tokens, kvDim: kvDim, seed: 6)
        let header = testHeader(tokens: tokens, layers: 2, kvDim: kvDim, format: .int8)
        let document = try writeDocument(store, key: testKey(6), header: header, data: data, sinks: [[0, 5], [0, 7, 9]])
        let manifest = document.manifest
        #expect(manifest.header == header)
        #expect(manifest.key == testKey(6).hex)
        #expect(manifest.blockCount == 3)
        #expect(document.sinks(layer: 0) == [0, 5])
        #expect(document.sinks(layer: 1) == [0, 7, 9])
        for record in manifest.layerRecords {
            #expect(record.blocks.first?.offset == 0)
            for (previous, next) in zip(record.blocks, record.blocks.dropFirst()) {
                #expect(next.offset == previous.offset + Int64(previous.length))
            }
        }
        #expect(try store.list() == [manifest])
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(testKey(6).hex).path)
        #expect(Set(onDisk) == ["manifest.json", "pin", "last-used", "layer-000.kv", "layer-001.kv", "keys-000.f32", "keys-001.f32"])
    }

    @Test("bad writer input gets typed errors and leaves no entry")
    func badInput() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let header = testHeader(tokens: 10, layers: 2, kvDim: 8)
        let short = [Float](repeating: 0, count: 79)
        #expect(throws: StoreError.self) {
            try store.write(testKey(7), header: header) { writer in
                try short.withUnsafeBufferPointer { try writer.appendLayer(0, keys: $0, values: $0) }
            }
        }
        let data = makeLayers(layers: 1, tokens: 10, kvDim: 8, seed: 7)
        #expect(throws: StoreError.self) {
            _ = try writeDocument(store, key: testKey(7), header: header, data: data)
        }
        var huge = makeLayers(layers: 2, tokens: 10, kvDim: 8, seed: 8)
        huge[1].values[17] = 70000
        #expect(throws: StoreError.invalidArgument("layer 1 values[17] = 70000.0 cannot be stored as f16")) {
            _ = try writeDocument(store, key: testKey(7), header: header, data: huge)
        }
        huge[1].values[17] = .nan
        #expect(throws: StoreError.self) {
            _ = try writeDocument(store, key: testKey(7), header: testHeader(tokens: 10, layers: 2, kvDim: 8, format: .f32), data: huge)
        }
        #expect(try store.open(testKey(7)) == nil)
        #expect(try strayNames(directory).isEmpty)
    }

    @Test("the first writer of a key wins; a later write returns the published entry")
    func firstWriterWins() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DocumentStore(directory: directory)
        let header = testHeader(tokens: 70, layers: 1, kvDim: 16, format: .f32)
        let first = makeLayers(layers: 1, tokens: 70, kvDim: 16, seed: 21)
        let second = makeLayers(layers: 1, tokens: 70, kvDim: 16, seed: 22)
        try writeDocument(store, key: testKey(8), header: header, data: first).close()
        let again = try writeDocument(store, key: testKey(8), header: header, data: second)
        #expect(try readLayer(again, 0).keys == first[0].keys)
        #expect(try strayNames(directory).isEmpty)
    }

    @Test("half widening is exact for every bit pattern")
    func halfWidening() {
        var planes = [UInt8](repeating: 0, count: 2 * 65536)
        for bits in 0..<65536 {
            planes[bits] = UInt8(bits & 0xff)
            planes[65536 + bits] = UInt8(bits >> 8)
        }
        var widened = [Float](repeating: 0, count: 65536)
        planes.withUnsafeBufferPointer { source in
            widened.withUnsafeMutableBufferPointer { destination in
                NumberCoding.unshuffleFloat16(source.baseAddress!, count: 65536, into: destination.baseAddress!)
            }
        }
        var mismatches = 0
        for bits in 0..<65536 {
            let reference = Float(Float16(bitPattern: UInt16(bits)))
            let same = reference.isNaN ? widened[bits].isNaN : widened[bits].bitPattern == reference.bitPattern
            if !same { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
