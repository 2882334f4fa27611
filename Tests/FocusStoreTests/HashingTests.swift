import Foundation
import Testing
@testable import FocusStore

@Suite("Store keys")
struct HashingTests {
    @Test("document keys change with every input and only with them")
    func keyDerivation() {
        func key(
            model: String = "llada-8b@abc", tokenizer: String = "tok1", mode: String = "block-causal",
            parameters: [String: String] = ["sinks": "4"], tokens: [Int] = [1, 2, 3]
        ) -> StoreKey {
            StoreKey.document(
                modelIdentity: model, tokenizerDigest: tokenizer, prefillMode: mode, parameters: parameters,
                tokenIDs: tokens)
        }
        let base = key()
        #expect(base == key())
        #expect(base.hex.count == 64)
        let variants = [
            key(model: "llada-8b@abd"), key(tokenizer: "tok2"), key(mode: "bidirectional"),
            key(parameters: ["sinks": "8"]), key(parameters: [:]), key(tokens: [1, 2, 4]), key(tokens: [1, 2]),
        ]
        for variant in variants { #expect(variant != base) }
        #expect(Set(variants.map(\.hex)).count == variants.count)
        let narrow = StoreKey.document(
            modelIdentity: "llada-8b@abc", tokenizerDigest: "tok1", prefillMode: "block-causal",
            parameters: ["sinks": "4"], tokenIDs: [Int32(1), 2, 3])
        #expect(narrow == base)
        #expect(StoreKey(digestOf: [Data("ab".utf8), Data("c".utf8)]) != StoreKey(digestOf: [Data("a".utf8), Data("bc".utf8)]))
    }

    @Test("hex keys parse back and reject malformed text")
    func hexKeys() throws {
        let key = testKey(1)
        #expect(try StoreKey(hex: key.hex) == key)
        #expect(throws: StoreError.self) { try StoreKey(hex: "xyz") }
        #expect(throws: StoreError.self) { try StoreKey(hex: key.hex.uppercased()) }
    }
}
