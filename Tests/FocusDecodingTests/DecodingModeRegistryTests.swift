import Foundation
import Testing
@testable import FocusDecoding

/// The registry of decoding modes: the names settings were stored under keep decoding to the same
/// modes, and each mode's traits are those the decoders rely on.
@Suite("Decoding mode registry")
struct DecodingModeRegistryTests {
    @Test("the registry lists the modes by their stored names, once each, in the command line's order")
    func names() {
        #expect(DecodingMode.allCases.map(\.rawValue) == ["vanilla", "cached", "focus", "stored", "stored-refresh"])
        #expect(Set(DecodingMode.allCases).count == DecodingMode.allCases.count)
        #expect(DecodingMode.allCases.allSatisfy { !$0.summary.isEmpty })
    }

    @Test("a mode encodes as its name and decodes back; an unknown name is refused")
    func json() throws {
        for mode in DecodingMode.allCases {
            let text = String(decoding: try JSONEncoder().encode([mode]), as: UTF8.self)
            #expect(text == "[\"\(mode.rawValue)\"]")
            #expect(try JSONDecoder().decode([DecodingMode].self, from: Data(text.utf8)) == [mode])
            #expect(DecodingMode(rawValue: mode.rawValue) == mode)
        }
        #expect(DecodingMode(rawValue: "sparse") == nil)
        #expect(throws: Swift.DecodingError.self) { try JSONDecoder().decode([DecodingMode].self, from: Data("[\"sparse\"]".utf8)) }
    }

    @Test("each mode's traits: the rows a step recomputes, the document's source, batching")
    func traits() {
        let traits = Dictionary(uniqueKeysWithValues: DecodingMode.allCases.map { ($0.rawValue, $0.traits) })
        #expect(traits["vanilla"] == DecodingModeTraits(stepRows: .wholeSequence, documentFromStore: false, decodesTogether: false))
        #expect(traits["cached"] == DecodingModeTraits(stepRows: .wholeBlock, documentFromStore: false, decodesTogether: true))
        #expect(traits["focus"] == DecodingModeTraits(stepRows: .focusedRows, documentFromStore: false, decodesTogether: true))
        #expect(traits["stored"] == DecodingModeTraits(stepRows: .focusedRows, documentFromStore: true, decodesTogether: true))
        #expect(traits["stored-refresh"] == DecodingModeTraits(stepRows: .wholeBlock, documentFromStore: true, decodesTogether: false))
    }

    @Test("parameters are valid only through their check, and changes of mode or block size keep them valid")
    func validParameters() throws {
        var bad = DecodingParameters(mode: .focus)
        bad.steps = 3
        #expect(throws: DecodingError.invalidParameter(field: "steps", reason: "3 is not a positive multiple of the 2 blocks")) {
            try ValidDecodingParameters(bad)
        }
        let valid = try ValidDecodingParameters(DecodingParameters(mode: .stored))
        let changed = valid.with(mode: .cached, refresh: .full).with(blockSize: 32)
        #expect(changed.parameters.mode == .cached && changed.parameters.refresh == .full)
        #expect(changed.parameters.focus.blockSize == 32)
        #expect(throws: Never.self) { try changed.parameters.validate() }
    }
}
