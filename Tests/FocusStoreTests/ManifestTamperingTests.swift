import Foundation
import Testing
@testable import FocusStore

/// Hand-edited manifests: every edit is caught when the entry is opened or read and by `verify`,
/// whether or not the editor also recomputed the manifest's checksum, and the entry is removed so
/// that it is rebuilt rather than served.
@Suite("Manifest tampering")
struct ManifestTamperingTests {
    static let tokens = 130
    static let kvDim = 16
    static let layers = 3

    /// One edit of a manifest.
    struct Tampering: CustomTestStringConvertible, Sendable {
        let name: String
        let edit: @Sendable (inout DocumentManifest) -> Void
        var testDescription: String { name }
    }

    static let tamperings: [Tampering] = [
        Tampering(name: "two layer records swapped") { $0.layerRecords.swapAt(0, 1) },
        Tampering(name: "two block records swapped") { $0.layerRecords[1].blocks.swapAt(0, 1) },
        Tampering(name: "dataFile leaving the entry") { $0.layerRecords[0].dataFile = "../../other/layer-000.kv" },
        Tampering(name: "keysFile leaving the entry") { $0.layerRecords[2].keysFile = "/etc/keys-002.f32" },
        Tampering(name: "sink index 999999") { $0.sinks = [[0, 999_999]] },
        Tampering(name: "sink index -5") { $0.sinks = [[-5, 1]] },
        Tampering(name: "tokenCount lowered by 6") { $0.tokenCount -= 6 },
        Tampering(name: "kvDim doubled") { $0.kvDim *= 2 },
        Tampering(name: "blockSize changed") { $0.blockSize = 32 },
        Tampering(name: "number format changed") { $0.numberFormat = .f32 },
        Tampering(name: "block offset moved") { $0.layerRecords[0].blocks[1].offset += 1 },
        Tampering(name: "dataLength changed") { $0.layerRecords[2].dataLength += 10 },
    ]

    /// A store with one entry (key 1) and a second, untouched entry (key 2).
    static func populated(_ directory: URL) throws -> (DocumentStore, [LayerKV]) {
        let store = try DocumentStore(directory: directory)
        let data = makeLayers(layers: layers, tokens: tokens, kvDim: kvDim, seed: 5)
        for index in [1, 2] {
            try writeDocument(
                store, key: testKey(index), header: testHeader(tokens: tokens, layers: layers, kvDim: kvDim),
                data: data, sinks: [[0, 1, 2]]
            ).close()
        }
        return (store, data)
    }

    static func manifestPath(_ directory: URL, _ key: StoreKey) -> URL {
        directory.appendingPathComponent(key.hex).appendingPathComponent("manifest.json")
    }

    /// Rewrites the entry's manifest with `edit` applied, keeping its old checksum or sealing it anew.
    static func tamper(_ directory: URL, _ key: StoreKey, resealed: Bool, _ edit: (inout DocumentManifest) -> Void) throws {
        let url = manifestPath(directory, key)
        var manifest = try JSONDecoder().decode(DocumentManifest.self, from: Data(contentsOf: url))
        edit(&manifest)
        if resealed { manifest = try manifest.sealed() }
        try manifest.encoded().write(to: url)
    }

    /// Reads every layer of an open document; true when a read fails as corrupt.
    static func readFails(_ document: StoredDocument) -> Bool {
        do {
            for layer in 0..<document.manifest.layers {
                _ = try readLayer(document, layer)
                _ = try document.representativeKeys(layer: layer)
            }
            return false
        } catch let error as StoreError {
            if case .corruptBlock = error { return true }
            if case .corruptEntry = error { return true }
            return false
        } catch {
            return false
        }
    }

    @Test("an edit with the old checksum left in place is refused on open and removed", arguments: tamperings)
    func staleChecksum(_ tampering: Tampering) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        try Self.tamper(directory, testKey(1), resealed: false, tampering.edit)

        #expect(try store.open(testKey(1)) == nil, "never served")
        #expect(store.corruptionsDetected == 1)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(testKey(1).hex).path))
        #expect(try store.open(testKey(2)) != nil, "the other entry is untouched")
    }

    @Test("store verify names every edit and removes the entry", arguments: tamperings)
    func verifyCatchesEdit(_ tampering: Tampering) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        try Self.tamper(directory, testKey(1), resealed: false, tampering.edit)
        let report = try store.verify()
        #expect(report.entriesChecked == 2)
        #expect(report.removed == [testKey(1).hex])
        #expect(report.problems.count == 1 && report.problems[0].contains("manifestChecksum"), "\(report.problems)")
    }

    @Test("an edit with the checksum recomputed is still never served", arguments: tamperings)
    func resealedEditNeverServed(_ tampering: Tampering) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        try Self.tamper(directory, testKey(1), resealed: true, tampering.edit)

        if let document = try store.open(testKey(1)) {
            #expect(Self.readFails(document), "a document that opens must fail its reads")
            document.close()
        } else {
            #expect(store.corruptionsDetected == 1, "refused on open as corrupt, and removed")
        }
        #expect(try store.open(testKey(2)) != nil)
    }

    @Test("store verify removes an edit whose checksum was recomputed", arguments: tamperings)
    func verifyCatchesResealedEdit(_ tampering: Tampering) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        try Self.tamper(directory, testKey(1), resealed: true, tampering.edit)
        let report = try store.verify()
        #expect(report.removed == [testKey(1).hex], "\(report)")
        #expect(report.problems.count == 1, "\(report)")
        #expect(try store.open(testKey(2)) != nil)
    }

    @Test("two layers' files and records swapped consistently still fail: checksums are bound to their layer")
    func consistentLayerSwapFailsBoundChecksums() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        let entry = directory.appendingPathComponent(testKey(1).hex)
        for (first, second) in [("layer-000.kv", "layer-001.kv"), ("keys-000.f32", "keys-001.f32")] {
            let a = entry.appendingPathComponent(first), b = entry.appendingPathComponent(second)
            let swap = entry.appendingPathComponent("swap")
            try FileManager.default.moveItem(at: a, to: swap)
            try FileManager.default.moveItem(at: b, to: a)
            try FileManager.default.moveItem(at: swap, to: b)
        }
        try Self.tamper(directory, testKey(1), resealed: true) { manifest in
            let (zero, one) = (manifest.layerRecords[0], manifest.layerRecords[1])
            manifest.layerRecords[0] = LayerRecord(
                dataFile: zero.dataFile, keysFile: zero.keysFile, dataLength: one.dataLength,
                keysChecksum: one.keysChecksum, blocks: one.blocks)
            manifest.layerRecords[1] = LayerRecord(
                dataFile: one.dataFile, keysFile: one.keysFile, dataLength: zero.dataLength,
                keysChecksum: zero.keysChecksum, blocks: zero.blocks)
        }
        let document = try #require(try store.open(testKey(1)), "the manifest itself is consistent")
        #expect(Self.readFails(document))
        document.close()
        let report = try store.verify()
        #expect(report.removed == [testKey(1).hex], "\(report)")
        #expect(report.problems.first?.contains("block 0 of layer 0") == true, "\(report)")
    }

    @Test("an intact entry verifies, and its manifest checksum covers every field")
    func intactEntryVerifies() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, data) = try Self.populated(directory)
        let report = try store.verify()
        #expect(report.removed.isEmpty && report.entriesChecked == 2, "\(report)")
        let document = try #require(try store.open(testKey(1)))
        defer { document.close() }
        #expect(document.manifest.checksumAlgorithm == "xxh64-bound")
        #expect(try document.manifest.computedChecksum() == document.manifest.manifestChecksum)
        #expect(try readLayer(document, 2).keys == data[2].keys.map { Float(Float16($0)) })
    }

    @Test("an entry whose manifest disagrees with the expected header is corrupt and removed")
    func expectedHeaderMismatch() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        let expected = testHeader(tokens: Self.tokens + 6, layers: Self.layers, kvDim: Self.kvDim)
        #expect(try store.open(testKey(1), expecting: expected) == nil)
        #expect(store.corruptionsDetected == 1)
        let right = testHeader(tokens: Self.tokens, layers: Self.layers, kvDim: Self.kvDim)
        #expect(try store.open(testKey(2), expecting: right) != nil)
    }

    @Test("a manifest of the previous format version is discarded and rebuilt, not read")
    func previousFormatIsDiscarded() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try Self.populated(directory)
        try Self.tamper(directory, testKey(1), resealed: true) { $0.formatVersion = 1 }
        #expect(try store.open(testKey(1)) == nil)
        #expect(store.corruptionsDetected == 1)
    }
}
