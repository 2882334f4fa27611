import ArgumentParser
import FocusDecoding
import FocusEngine
import FocusModel

/// Decoding options shared by `answer`, `eval` and `submit`.
struct DecodingOptions: ParsableArguments {
    @Option(name: .long, help: Self.modeHelp)
    var mode: DecodingMode?

    @Option(name: .long, help: "Answer canvas length in tokens.")
    var genLength = 16

    @Option(name: .long, help: "Semi-autoregressive block length (divides --gen-length).")
    var blockLength = 8

    @Option(name: .long, help: "Denoising steps (a multiple of the number of blocks).")
    var steps = 16

    @Option(name: .long, help: "Confidence threshold of parallel decoding in cached and focus modes; 0 decodes a fixed number of tokens per step.")
    var threshold: Float = 0.9

    @Option(name: .long, help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .long, help: "Seed of Gumbel sampling.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Cache refresh at block starts: full (Fast-dLLM) or after-document. Default: after-document for block-causal models (their document KV never changes), full otherwise.")
    var refresh: CacheRefresh?

    @Flag(name: .long, help: "Cached mode: keep the KV of later blocks too (dual cache).")
    var dualCache = false

    @Option(name: .long, help: "Focus: masked positions predicted from the previous step.")
    var predicted = FocusParameters().predictedCount

    @Option(name: .long, help: "Focus: neighbours added on each side of a predicted position.")
    var window = FocusParameters().window

    @Option(name: .long, help: "Focus: dense layers before the sparse ones. Default: the model config's focus_dense_layers, else \(FocusParameters().denseLayers).")
    var denseLayers: Int?

    @Option(name: .long, help: "Focus: attention-sink tokens kept.")
    var sinks = FocusParameters().sinkCount

    @Option(name: .long, help: "Focus: prompt tokens per block (stored modes use the store's block size).")
    var blockSize = FocusParameters().blockSize

    @Option(name: .long, help: "Focus: prompt blocks kept in the sparse layers.")
    var keptBlocks = FocusParameters().keptBlocks

    @Option(name: .long, help: "Focus block scoring: mass, mean-key or quest.")
    var scoring = FocusParameters().scoring

    @Option(name: .long, help: "FOCUS eviction: keep this many rows per token expected to be decoded in a step (at least 1; the paper uses 1.5). Off when absent.")
    var evict: Double?

    @Option(name: .long, help: "FOCUS eviction: the layer whose attention, compared with the layer before, scores the rows.")
    var evictLayer = EvictionParameters().scoringLayer

    /// `--mode`'s help: the registered modes' names, and each one's summary.
    static var modeHelp: ArgumentHelp {
        let names = DecodingMode.allCases.map(\.name)
        return ArgumentHelp(
            names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
                + ". Default: stored for block-causal models, focus otherwise.",
            discussion: DecodingMode.allCases.map { "\($0.name): \($0.summary)" }.joined(separator: "\n"))
    }

    /// Checks every decoding flag before a command touches a file, so that `answer`, `eval` and
    /// `submit` refuse the same flags the same way: a usage error (64) naming the flag.
    func validate() throws {
        try checkNumberOption(threshold, "--threshold", NumberRange<Float>.atLeast(0).atMost(1))
        try checkNumberOption(temperature, "--temperature", NumberRange<Float>.atLeast(0).atMost(1000))
        try checkNumberOption(evict, "--evict", NumberRange<Double>.atLeast(1).atMost(1000))
        _ = try settings(mode: .focus, refresh: .full, defaultDenseLayers: FocusParameters().denseLayers, prefill: PrefillSettings())
    }

    /// The job's settings, built (and so validated) once: the flags, with the mode, cache
    /// refresh and dense layers defaulting to what suits `model`, and the store's prefill settings.
    func settings(for model: ModelConfiguration, prefill: PrefillSettings) throws -> JobSettings {
        try settings(
            mode: mode ?? model.defaultDecodingMode, refresh: refresh ?? model.defaultCacheRefresh,
            defaultDenseLayers: model.defaultDenseLayers, prefill: prefill)
    }

    /// A parameter error in the flags' words: `invalid gen_length: …` becomes `--gen-length: …`.
    static func flagMessage(_ error: DecodingError) -> String {
        guard case .invalidParameter(let field, let reason) = error else { return "\(error)" }
        let flag = field == "evict" ? "--evict" : "--" + field.replacingOccurrences(of: "_", with: "-")
        return "\(flag): \(reason)"
    }

    /// The settings of the flags, a parameter error reported in the flags' words.
    private func settings(
        mode: DecodingMode, refresh: CacheRefresh, defaultDenseLayers: Int, prefill: PrefillSettings
    ) throws -> JobSettings {
        do {
            let decoding = parameters(mode: mode, refresh: refresh, denseLayers: denseLayers ?? defaultDenseLayers)
            return try JobSettings(decoding: decoding, prefill: prefill)
        } catch let error as DecodingError {
            throw ValidationError(Self.flagMessage(error))
        }
    }

    private func parameters(mode: DecodingMode, refresh: CacheRefresh, denseLayers: Int) -> DecodingParameters {
        var p = DecodingParameters(mode: mode)
        p.generationLength = genLength
        p.blockLength = blockLength
        p.steps = steps
        p.threshold = threshold > 0 ? threshold : nil
        p.temperature = temperature
        p.seed = seed
        p.refresh = refresh
        p.dualCache = dualCache
        p.focus.predictedCount = predicted
        p.focus.window = window
        p.focus.denseLayers = denseLayers
        p.focus.sinkCount = sinks
        p.focus.blockSize = blockSize
        p.focus.keptBlocks = keptBlocks
        p.focus.scoring = scoring
        p.eviction = evict.map { EvictionParameters(keepRatio: $0, scoringLayer: evictLayer) }
        return p
    }
}
