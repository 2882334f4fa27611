import Foundation
import Testing
import FocusModel

/// The Swift forward pass against the independent float64 numpy implementation
/// (`Tests/ReferenceTools`), on small random checkpoints in the real LLaDA and Dream layouts.
@Suite("Forward pass against the float64 reference")
struct ReferenceForwardTests {
    static let checkpoints = ["llada-f32", "llada-bf16-sharded", "dream-f32-sharded", "dream-bf16"]
    static let tolerance = 1e-4

    @Test("full sequences at 5, 64 and 1100 tokens", arguments: checkpoints)
    func fullSequences(checkpoint: String) throws {
        let model = try TransformerModel(directory: Fixtures.checkpoint(checkpoint))
        let cases = try ReferenceCases(checkpoint: checkpoint)
        for name in ["full_5", "full_64", "full_1100", "offset_positions"] {
            let ids = try cases.ints("\(name).ids")
            let positions = try cases.ints("\(name).positions")
            let rows = cases.has("\(name).logit_rows") ? try cases.ints("\(name).logit_rows").map(Int.init) : Array(0..<ids.count)
            let logits = model.forward(tokens: ids, positions: positions, logitRows: rows)
            let error = relativeError(logits.array, try cases.floats("\(name).logits"))
            #expect(error <= Self.tolerance, "\(checkpoint) \(name): relative error \(error)")
        }
    }

    @Test("attending to a KV prefix computed in an earlier call", arguments: checkpoints)
    func prefixCache(checkpoint: String) throws {
        let model = try TransformerModel(directory: Fixtures.checkpoint(checkpoint))
        let cases = try ReferenceCases(checkpoint: checkpoint)
        let ids = try cases.ints("prefix.ids")
        let positions = try cases.ints("prefix.positions")
        let prefixLength = try cases.floats("prefix.k_layer0").count / model.configuration.kvDimension
        let cache = DenseKVCache(configuration: model.configuration)
        _ = model.forward(
            tokens: Array(ids[..<prefixLength]), positions: Array(positions[..<prefixLength]), logitRows: [],
            onLayerKV: { cache.append(layer: $0, keys: $1, values: $2) })
        let last = model.configuration.layerCount - 1
        for (layer, label) in [(0, "layer0"), (last, "layer\(last)")] {
            let segment = cache.segment(layer: layer)
            let count = segment.rows * segment.stride
            let keys = Array(UnsafeBufferPointer(start: segment.keys, count: count))
            let values = Array(UnsafeBufferPointer(start: segment.values, count: count))
            #expect(relativeError(keys, try cases.floats("prefix.k_\(label)")) <= Self.tolerance)
            #expect(relativeError(values, try cases.floats("prefix.v_\(label)")) <= Self.tolerance)
        }
        let suffix = Array(ids[prefixLength...])
        let logits = model.forward(
            tokens: suffix, positions: Array(positions[prefixLength...]),
            context: { [cache.segment(layer: $0)] }, logitRows: Array(0..<suffix.count))
        let error = relativeError(logits.array, try cases.floats("prefix.logits"))
        #expect(error <= Self.tolerance, "\(checkpoint) prefix: relative error \(error)")
    }

    @Test("block-causal prompt pattern keeps document rows inside the document")
    func blockCausal() throws {
        let model = try TransformerModel(directory: Fixtures.checkpoint("llada-bf16-sharded"))
        #expect(model.configuration.promptAttention == .blockCausal)
        let cases = try ReferenceCases(checkpoint: "llada-bf16-sharded")
        let ids = try cases.ints("blockcausal.ids")
        let positions = try cases.ints("blockcausal.positions")
        let visibility = model.promptVisibility(documentRows: 50, totalRows: ids.count)
        let logits = model.forward(
            tokens: ids, positions: positions, visibleKeys: visibility, logitRows: Array(0..<ids.count))
        let error = relativeError(logits.array, try cases.floats("blockcausal.logits"))
        #expect(error <= Self.tolerance, "block-causal: relative error \(error)")
    }
}
