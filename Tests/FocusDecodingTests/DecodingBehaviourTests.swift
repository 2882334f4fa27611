import Foundation
import Testing
import FocusDecoding
import FocusModel

@Suite("Decoding behaviour")
struct DecodingBehaviourTests {
    @Test("Dream's prediction for a position comes from the logits one row earlier")
    func dreamShift() throws {
        let model = try Checkpoints.model("dream-f32-sharded")
        var found = false
        for seed in UInt64(1)...20 {
            let prompt = Checkpoints.prompt(document: 30, question: 5, seed: seed)
            let canvas = prompt.tokens + [model.configuration.maskTokenID]
            let positions = (0..<canvas.count).map(Int32.init)
            let p = prompt.tokens.count
            let logits = model.forward(tokens: canvas, positions: positions, logitRows: [p - 1, p])
            let shifted = argmax(logits.rowArray(0))
            let unshifted = argmax(logits.rowArray(1))
            guard shifted != unshifted else { continue }
            var parameters = DecodingParameters(mode: .vanilla)
            parameters.generationLength = 1
            parameters.blockLength = 1
            parameters.steps = 1
            let result = try VanillaDecoder(model: model).decode(prompt, parameters: parameters)
            #expect(result.generatedTokens == [Int32(shifted)])
            found = true
            break
        }
        #expect(found, "no prompt separated the shifted and unshifted predictions")
    }

    @Test("threshold decoding unmasks several confident positions per step, at least one")
    func thresholdRule() {
        let proposals = [
            Proposal(row: 3, token: 1, confidence: 0.95), Proposal(row: 1, token: 2, confidence: 0.97),
            Proposal(row: 2, token: 3, confidence: 0.5),
        ]
        #expect(UnmaskingRule.threshold(0.9).select(proposals).map(\.row) == [1, 3])
        #expect(UnmaskingRule.threshold(0.99).select(proposals).map(\.row) == [1])
        #expect(UnmaskingRule.topK(2).select(proposals).map(\.row) == [1, 3])
        #expect(transferSchedule(masked: 8, steps: 3) == [3, 3, 2])
    }

    @Test("bad parameters and prompts are rejected with the reason")
    func badInput() throws {
        let model = try Checkpoints.model("llada-f32")
        var parameters = DecodingParameters(mode: .vanilla)
        parameters.generationLength = 12
        parameters.blockLength = 8
        #expect(throws: DecodingError.invalidParameter(field: "gen_length", reason: "12 is not divisible by block_length 8")) {
            try VanillaDecoder(model: model).decode(Checkpoints.prompt(document: 10, question: 3), parameters: parameters)
        }
        let noQuestion = DecodingPrompt(tokens: [1, 2, 3], documentLength: 3)
        #expect(throws: DecodingError.emptyQuestion) {
            try BlockDecoder(model: model).decode(noQuestion, parameters: DecodingParameters(mode: .cached))
        }
        let limit = model.configuration.maxSequenceLength
        let long = Checkpoints.prompt(document: limit, question: 4)
        #expect(throws: DecodingError.promptTooLong(tokens: limit + 4 + 16, limit: limit)) {
            try BlockDecoder(model: model).decode(long, parameters: DecodingParameters(mode: .focus))
        }
    }

    @Test("sparse attention over all rows in many segments equals dense attention")
    func segmentedAttention() throws {
        let (n, keys, heads, kvHeads, hd) = (5, 300, 4, 2, 16)
        var generator = SplitMix64(seed: 42)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in generator.nextUnit() * 2 - 1 } }
        let q = random(n * heads * hd)
        let k = random(keys * kvHeads * hd)
        let v = random(keys * kvHeads * hd)
        let dense = [Float](unsafeUninitializedCapacity: n * heads * hd) { buffer, count in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    let one = KVSegment(keys: kp.baseAddress!, values: vp.baseAddress!, rows: keys, stride: kvHeads * hd)
                    Attention.compute(
                        queries: q, rows: n, segments: [one], headCount: heads, kvHeadCount: kvHeads,
                        headDimension: hd, output: buffer.baseAddress!)
                }
            }
            count = n * heads * hd
        }
        let split = [Float](unsafeUninitializedCapacity: n * heads * hd) { buffer, count in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    let cuts = [0, 1, 64, 65, 200, keys]
                    let segments = zip(cuts, cuts.dropFirst()).map { lower, upper in
                        KVSegment(
                            keys: kp.baseAddress! + lower * kvHeads * hd, values: vp.baseAddress! + lower * kvHeads * hd,
                            rows: upper - lower, stride: kvHeads * hd)
                    }
                    Attention.compute(
                        queries: q, rows: n, segments: segments, headCount: heads, kvHeadCount: kvHeads,
                        headDimension: hd, output: buffer.baseAddress!)
                }
            }
            count = n * heads * hd
        }
        let worst = zip(dense, split).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5)
    }
}

func argmax(_ values: [Float]) -> Int {
    values.indices.max { values[$0] < values[$1] }!
}
