import FocusModel
import Foundation

/// Prefill speed of a whole model, with the time of its linear layers measured on their own.
///
/// The linear layers of one layer (q, k, v, o, gate, up, down) are run through
/// `LinearWeight.apply` in the row chunks `runLayer` uses, on an `n × d` input; attention is
/// `Attention.compute` at the model's geometry. What the full forward takes beyond
/// `layers × (linear + attention)` is the rest: norms, rotary embedding, SwiGLU, embedding, head.
struct PrefillBenchmark {
    let spec: GeneratedModelSpec
    let model: TransformerModel

    /// One prompt length's numbers.
    struct Run {
        var tokens: Int
        var repetitions: Int
        /// Layers the forward actually ran; fewer than `layers` when its time is scaled up, 0
        /// when it is composed from the parts.
        var measuredLayers: Int
        var forward: Timing
        /// Seconds of one layer's linear layers, and of one layer's attention.
        var linearPerLayer: Double
        var attentionPerLayer: Double
        var linearFlopsPerLayer: Double
        var attentionFlopsPerLayer: Double
        var layers: Int

        var tokensPerSecond: Double { Double(tokens) / forward.wall }
        var linearGFlops: Double { linearFlopsPerLayer / linearPerLayer / 1e9 }
        var attentionGFlops: Double { attentionFlopsPerLayer / attentionPerLayer / 1e9 }
        var linearSeconds: Double { Double(layers) * linearPerLayer }
        var attentionSeconds: Double { Double(layers) * attentionPerLayer }
        var otherSeconds: Double { forward.wall - linearSeconds - attentionSeconds }
        /// All FLOPs of the forward over its wall time.
        var modelGFlops: Double {
            Double(layers) * (linearFlopsPerLayer + attentionFlopsPerLayer) / forward.wall / 1e9
        }
    }

    init(spec: GeneratedModelSpec, context: BenchmarkContext) throws {
        self.spec = spec
        let directory = try spec.materialize(in: context)
        model = try TransformerModel(directory: directory, residency: .widened)
    }

    /// Seconds one layer over `n` tokens should take: linear layers at `gflops`, attention as
    /// measured.
    func estimatedLayerSeconds(tokens n: Int, gflops: Double, attentionPerLayer: Double) -> Double {
        spec.linearFlopsPerTokenPerLayer * Double(n) / (gflops * 1e9) + attentionPerLayer
    }

    /// Times a forward over `n` random tokens (the last row's logits) and one layer's linear
    /// layers; `attentionPerLayer` comes from the attention section at the same geometry.
    ///
    /// With `measuredLayers` below the model's layer count, only the first `measuredLayers`
    /// layers run (embedding, those layers through `runLayer`, the head) and the forward's time
    /// is that of the measured layers scaled to all layers. With 0, nothing but the linear
    /// layers runs: the forward's time is composed as `layers × (linear + attention)` plus
    /// `otherEstimate` (norms, rotary, SwiGLU, embedding, head, scaled from a shorter prompt).
    func measure(
        tokens n: Int, repetitions: Int, attentionPerLayer: Double, measuredLayers: Int, otherEstimate: Double
    ) throws -> Run {
        var generator = SystemRandomNumberGenerator()
        let vocabulary = Int32(spec.vocabulary - 2)
        let tokens = (0..<n).map { _ in Int32.random(in: 0..<vocabulary, using: &generator) }
        let positions = (0..<n).map { Int32($0) }
        let linear = try linearLayerSeconds(tokens: n, repetitions: repetitions)
        var forward = Timing(
            wall: Double(spec.layers) * (linear + attentionPerLayer) + otherEstimate, cpu: .nan)
        if measuredLayers >= spec.layers {
            forward = Timing.best(of: repetitions) {
                _ = model.forward(tokens: tokens, positions: positions, logitRows: [n - 1])
            }
        } else if measuredLayers > 0 {
            var layers = Timing(wall: 0, cpu: 0)
            let embedded = Timing.measure {
                let x = model.embed(tokens)
                layers = Timing.measure {
                    for layer in 0..<measuredLayers { model.runLayer(layer, hidden: x, positions: positions) }
                }
                _ = model.logits(hidden: x, rows: [n - 1])
            }
            let scale = Double(spec.layers) / Double(measuredLayers)
            forward = Timing(
                wall: embedded.wall - layers.wall + scale * layers.wall,
                cpu: embedded.cpu - layers.cpu + scale * layers.cpu)
        }
        return Run(
            tokens: n, repetitions: repetitions, measuredLayers: min(measuredLayers, spec.layers), forward: forward,
            linearPerLayer: linear, attentionPerLayer: attentionPerLayer,
            linearFlopsPerLayer: spec.linearFlopsPerTokenPerLayer * Double(n),
            attentionFlopsPerLayer: spec.attentionFlopsPerLayer(tokens: n), layers: spec.layers)
    }

    /// Warms the weights and the thread pools with a short forward.
    func warmUp() {
        let n = 256
        _ = model.forward(tokens: Array(repeating: 1, count: n), positions: (0..<n).map { Int32($0) }, logitRows: [0])
    }

    // MARK: - Linear layers alone

    /// Best wall seconds of layer 0's seven projections over `n` rows, chunked as `runLayer` does.
    func linearLayerSeconds(tokens n: Int, repetitions: Int) throws -> Double {
        let checkpoint = model.checkpoint
        let layout = checkpoint.layout
        func weight(_ role: LayerTensor) throws -> LinearWeight {
            LinearWeight(try checkpoint.tensor(layout.name(role, layer: 0)), widen: true)
        }
        let (query, key, value, output) = (try weight(.query), try weight(.key), try weight(.value), try weight(.output))
        let (gate, up, down) = (try weight(.gate), try weight(.up), try weight(.down))
        let d = spec.hiddenSize
        let width = spec.mlp
        let chunk = min(model.rowChunk, n)
        let x = RandomMatrix.make(count: n * d, seed: 31, scale: 0.1)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let gated = UnsafeMutablePointer<Float>.allocate(capacity: chunk * width)
        let upped = UnsafeMutablePointer<Float>.allocate(capacity: chunk * width)
        defer { [x, q, k, v, hidden, gated, upped].forEach { $0.deallocate() } }
        hidden.initialize(repeating: 0, count: n * d)
        gated.initialize(repeating: 0.01, count: chunk * width)
        let timing = Timing.best(of: repetitions) {
            var start = 0
            while start < n {
                let count = min(chunk, n - start)
                query.apply(x + start * d, rows: count, ldx: d, into: q + start * d, ldy: d)
                key.apply(x + start * d, rows: count, ldx: d, into: k + start * d, ldy: d)
                value.apply(x + start * d, rows: count, ldx: d, into: v + start * d, ldy: d)
                start += count
            }
            output.apply(q, rows: n, ldx: d, into: hidden, ldy: d, accumulate: true)
            start = 0
            while start < n {
                let count = min(chunk, n - start)
                gate.apply(x + start * d, rows: count, ldx: d, into: gated, ldy: width)
                up.apply(x + start * d, rows: count, ldx: d, into: upped, ldy: width)
                down.apply(gated, rows: count, ldx: width, into: hidden + start * d, ldy: d, accumulate: true)
                start += count
            }
        }
        return timing.wall
    }
}
