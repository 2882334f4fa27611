import FocusDecoding
import FocusStore
import Foundation

/// How a document is prefilled into the store.
public enum PrefillKind: String, Sendable, Codable, CaseIterable {
    /// One forward over the whole document.
    case whole
    /// Prefilling-dLLM: independent chunks of `PrefillSettings.chunkSize` tokens.
    case chunked
}

/// How a question's document is computed and kept in the store: the prefill half of a job's
/// settings. The block size is not here: it is the decoding's (`FocusParameters.blockSize`).
public struct PrefillSettings: Sendable, Equatable {
    /// Number format of the stored KV.
    public var format: KVNumberFormat
    /// Whole or chunked prefill.
    public var kind: PrefillKind
    /// Tokens per chunk of chunked prefill (kept, and checked, whatever the kind).
    public var chunkSize: Int
    /// Positions of chunked prefill.
    public var chunkPositions: ChunkPositions

    /// Prefill settings; the defaults are the command line's.
    public init(
        format: KVNumberFormat = .f16, kind: PrefillKind = .whole, chunkSize: Int = 1024,
        chunkPositions: ChunkPositions = .continuous
    ) {
        self.format = format
        self.kind = kind
        self.chunkSize = chunkSize
        self.chunkPositions = chunkPositions
    }

    /// Checks the settings, naming the field at fault.
    public func validate() throws {
        guard chunkSize > 0 else {
            throw DecodingError.invalidParameter(field: "chunk_size", reason: "must be positive, got \(chunkSize)")
        }
    }

    /// The prefiller's options for stored blocks of `blockSize` rows: the one place they are built.
    public func options(blockSize: Int) -> PrefillOptions {
        var options = PrefillOptions()
        options.numberFormat = format
        options.mode = kind == .chunked ? .chunked(size: chunkSize) : .whole
        options.chunkPositions = chunkPositions
        options.blockSize = blockSize
        return options
    }
}

/// Everything a job asks of the engine besides its question: how to decode, and how its document
/// is prefilled and stored.
///
/// Built once (by the command line, or decoded from the queue) and validated when built: a value
/// of this type is always valid (its decoding parameters are `ValidDecodingParameters`), so
/// nothing downstream checks it again: a request made from it reaches the decoders unchecked. The block size is held
/// once, in `decoding.focus.blockSize`; the prefill's block size is derived from it. Its canonical
/// encoding (`canonicalJSON`) is what the queue keeps in `jobs.mode_params`: equal settings encode
/// to equal text, readable at the sqlite3 prompt.
public struct JobSettings: Sendable, Equatable {
    /// Decoding parameters, block size included, checked.
    public private(set) var validDecoding: ValidDecodingParameters
    /// How the document is prefilled and stored.
    public private(set) var prefill: PrefillSettings

    /// Checked settings.
    /// - Throws: `DecodingError.invalidParameter` naming the field at fault.
    public init(decoding: DecodingParameters, prefill: PrefillSettings = PrefillSettings()) throws {
        validDecoding = try ValidDecodingParameters(decoding)
        try prefill.validate()
        self.prefill = prefill
    }

    /// Decoding parameters, block size included.
    public var decoding: DecodingParameters { validDecoding.parameters }

    /// The decoding mode.
    public var mode: DecodingMode { decoding.mode }

    /// Rows per stored block, and Focus's block size.
    public var blockSize: Int { decoding.focus.blockSize }

    /// The prefiller's options, with the decoding's block size.
    public var prefillOptions: PrefillOptions { prefill.options(blockSize: blockSize) }

    /// The same settings in another decoding mode (the mode has no bearing on validity).
    public func with(mode: DecodingMode) -> JobSettings {
        var settings = self
        settings.validDecoding = validDecoding.with(mode: mode)
        return settings
    }
}

extension JobSettings: Codable {
    /// The keys of the canonical encoding: the prefill's fields sit beside `decoding`, as they
    /// always have in `jobs.mode_params`.
    private enum CodingKeys: String, CodingKey {
        case decoding, format, prefillMode, chunkSize, chunkPositions
    }

    /// Decodes and validates; `chunkPositions` is absent in settings written before chunk-local
    /// positions existed.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let prefill = PrefillSettings(
            format: try container.decode(KVNumberFormat.self, forKey: .format),
            kind: try container.decode(PrefillKind.self, forKey: .prefillMode),
            chunkSize: try container.decode(Int.self, forKey: .chunkSize),
            chunkPositions: try container.decodeIfPresent(ChunkPositions.self, forKey: .chunkPositions) ?? .continuous)
        try self.init(decoding: try container.decode(DecodingParameters.self, forKey: .decoding), prefill: prefill)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(decoding, forKey: .decoding)
        try container.encode(prefill.format, forKey: .format)
        try container.encode(prefill.kind, forKey: .prefillMode)
        try container.encode(prefill.chunkSize, forKey: .chunkSize)
        try container.encode(prefill.chunkPositions, forKey: .chunkPositions)
    }

    /// The canonical encoding: JSON with sorted keys. Equal settings give equal text.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Every field is a number, a string or an enum: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Settings decoded (and validated) from their JSON encoding.
    /// - Throws: `DecodingError.invalidParameter` for a field out of range, Foundation's
    ///   decoding error for text that is not settings JSON.
    public init(canonicalJSON text: String) throws {
        self = try JSONDecoder().decode(JobSettings.self, from: Data(text.utf8))
    }
}

extension QARequest {
    /// A question about `document` answered with `settings`.
    public init(document: String, question: String, settings: JobSettings) {
        self.init(
            document: document, question: question, parameters: settings.decoding, prefill: settings.prefillOptions)
        checked = CheckedSettings(settings)
    }
}
