import Foundation

/// A tiny model directory for the command-line tests, written at test time.
///
/// The weights and config come from the random checkpoint `Tests/Fixtures/checkpoints/
/// llada-bf16-sharded` (LLaDA layout, d_model 64, 2 layers, vocab 300, block-causal prompt
/// attention); the safetensors files are linked, `config.json` is copied (with
/// `max_sequence_length` replaced when asked). `tokenizer.json` is a byte-level BPE without
/// merges: ids 0–255 are the GPT-2 byte symbols (id = byte value), ids 294–299 LLaDA's special
/// tokens at the checkpoint's `eos_token_id` 298 and `mask_token_id` 299. The same directory is
/// written by `Tests/ReferenceTools/make_tiny_model.py` for the reliability scripts.
enum TinyModel {
    static let checkpoint = FocusBinary.packageRoot.appendingPathComponent("Tests/Fixtures/checkpoints/llada-bf16-sharded")

    /// Special tokens and their ids.
    static let specialTokens: [(id: Int, content: String)] = [
        (294, "<|startoftext|>"), (295, "<|start_header_id|>"), (296, "<|end_header_id|>"),
        (297, "<|eot_id|>"), (298, "<|endoftext|>"), (299, "<|mdm_mask|>"),
    ]

    /// Qwen2's pre-tokenizer split pattern.
    static let splitPattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Writes the model directory at `directory`.
    static func write(to directory: URL, maxSequenceLength: Int? = nil, focusDenseLayers: Int? = nil) throws {
        let files = FileManager.default
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in try files.contentsOfDirectory(atPath: checkpoint.path)
        where name.hasPrefix("model") && (name.hasSuffix(".safetensors") || name.hasSuffix(".index.json")) {
            try files.createSymbolicLink(
                at: directory.appendingPathComponent(name), withDestinationURL: checkpoint.appendingPathComponent(name))
        }
        var config = try jsonObject(Data(contentsOf: checkpoint.appendingPathComponent("config.json")))
        if let maxSequenceLength { config["max_sequence_length"] = maxSequenceLength }
        if let focusDenseLayers { config["focus_dense_layers"] = focusDenseLayers }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            .write(to: directory.appendingPathComponent("config.json"))
        try JSONSerialization.data(withJSONObject: tokenizer(), options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("tokenizer.json"))
    }

    /// GPT-2's reversible map from byte values to printable characters.
    static func byteSymbols() -> [Character] {
        func printable(_ b: Int) -> Bool { (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) }
        var shifted = 0
        return (0..<256).map { byte in
            if printable(byte) { return Character(Unicode.Scalar(UInt8(byte))) }
            defer { shifted += 1 }
            return Character(Unicode.Scalar(UInt32(256 + shifted))!)
        }
    }

    /// The `tokenizer.json` object.
    static func tokenizer() -> [String: Any] {
        var vocabulary: [String: Int] = [:]
        for (byte, symbol) in byteSymbols().enumerated() { vocabulary[String(symbol)] = byte }
        let added: [[String: Any]] = specialTokens.map { token in
            ["id": token.id, "content": token.content, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "NFC"],
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": splitPattern], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
                ],
            ],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocabulary, "merges": [Any](),
            ],
        ]
    }
}

/// The JSON object in `data`.
func jsonObject(_ data: Data) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return object
}
