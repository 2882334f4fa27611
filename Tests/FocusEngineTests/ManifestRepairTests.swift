import Foundation
import Testing
@testable import FocusEngine
@testable import FocusStore

/// A hand-edited manifest never serves KV: the next question finds the entry corrupt, removes it,
/// computes it again and answers as it did before the edit, whether the edit left the manifest's
/// checksum stale or recomputed it.
@Suite("Manifest repair through the engine")
struct ManifestRepairTests {
    /// One edit of a manifest, and whether the checksum is recomputed after it.
    struct Edit: CustomTestStringConvertible, Sendable {
        let name: String
        let resealed: Bool
        let apply: @Sendable (inout DocumentManifest) -> Void
        var testDescription: String { name + (resealed ? ", checksum recomputed" : "") }
    }

    static let edits: [Edit] = [false, true].flatMap { resealed in
        [
            Edit(name: "two layer records swapped", resealed: resealed) { $0.layerRecords.swapAt(0, 1) },
            Edit(name: "two block records swapped", resealed: resealed) { $0.layerRecords[0].blocks.swapAt(0, 1) },
            Edit(name: "dataFile ../../other/layer-000.kv", resealed: resealed) {
                $0.layerRecords[0].dataFile = "../../other/layer-000.kv"
            },
            Edit(name: "sink index 999999", resealed: resealed) { $0.sinks[0][0] = 999_999 },
            Edit(name: "sink index -5", resealed: resealed) { $0.sinks[0][0] = -5 },
            Edit(name: "tokenCount lowered by 6", resealed: resealed) { $0.tokenCount -= 6 },
        ]
    }

    @Test("the next question rebuilds the edited entry and answers as before", arguments: edits)
    func editedManifestIsRebuilt(_ edit: Edit) throws {
        let folder = try EngineFixtures.temporaryDirectory("manifest-edit")
        defer { EngineFixtures.remove(folder) }
        let loaded = try EngineFixtures.loadedModel(EngineFixtures.blockCausal, in: folder)
        let store = try DocumentStore(directory: folder.appendingPathComponent("store"))
        let request = QARequest(
            document: StoreRepairTests.document, question: StoreRepairTests.question,
            parameters: StoreRepairTests.parameters(.stored), prefill: EngineFixtures.prefill(.f32, blockSize: 32))
        let original = try QAEngine(loaded: loaded, store: store).answer(request)
        let key = try #require(original.prefill?.key)
        let url = store.directory.appendingPathComponent(key).appendingPathComponent("manifest.json")
        var manifest = try JSONDecoder().decode(DocumentManifest.self, from: Data(contentsOf: url))
        try #require(manifest.blockCount >= 2 && manifest.layers >= 2)
        edit.apply(&manifest)
        if edit.resealed { manifest = try manifest.sealed() }
        try manifest.encoded().write(to: url)

        let repaired = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(repaired.prefill?.storeHit == false, "the edited entry was not served")
        #expect(store.corruptionsDetected + repaired.corruptionsRepaired >= 1)
        #expect(repaired.tokens == original.tokens)
        #expect(repaired.decoding.generatedTokens == original.decoding.generatedTokens)
        let check = try store.verify()
        #expect(check.removed.isEmpty && check.entriesChecked == 1, "the rebuilt entry is sound: \(check)")
        let again = try QAEngine(loaded: loaded, store: store).answer(request)
        #expect(again.prefill?.storeHit == true)
    }
}
