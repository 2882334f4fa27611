import FocusEngine
import Foundation

/// What a job asks of the engine besides its question: decoding parameters and how its document
/// is stored. Kept as JSON in `jobs.mode_params`, readable at the sqlite3 prompt.
struct JobSettings: Codable, Equatable {
    var decoding: DecodingParameters
    var format: KVNumberFormat
    var prefillMode: String
    var chunkSize: Int
    /// Absent in settings written before chunk-local positions existed.
    var chunkPositions: ChunkPositions?

    init(decoding: DecodingParameters, store: StoreOptions) {
        self.decoding = decoding
        format = store.format
        prefillMode = store.prefillMode
        chunkSize = store.chunkSize
        chunkPositions = store.chunkPositions
    }

    var prefillOptions: PrefillOptions {
        var options = PrefillOptions()
        options.numberFormat = format
        options.mode = prefillMode == "chunked" ? .chunked(size: chunkSize) : .whole
        options.chunkPositions = chunkPositions ?? .continuous
        options.blockSize = decoding.focus.blockSize
        return options
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func parse(_ text: String) throws -> JobSettings {
        try JSONDecoder().decode(JobSettings.self, from: Data(text.utf8))
    }
}
