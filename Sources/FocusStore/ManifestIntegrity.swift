import FocusHashing
import Foundation

/// Checksums bound to their place: each is xxHash64 seeded by the entry key, the layer and the
/// block (or the representative-key file), so a record swapped with another, or moved to another
/// entry, fails its check even though its bytes are intact.
enum BoundChecksum {
    /// The name recorded in `DocumentManifest.checksumAlgorithm`.
    static let algorithm = "xxh64-bound"

    /// The checksum of block `block` of `layer` in entry `key`.
    static func block(_ frame: UnsafeRawBufferPointer, key: String, layer: Int, block: Int) -> String {
        XXH64.hexString(XXH64.hash(frame, seed: seed("\(key)/layer/\(layer)/block/\(block)")))
    }

    /// The checksum of the representative-key file of `layer` in entry `key`.
    static func keys(_ bytes: UnsafeRawBufferPointer, key: String, layer: Int) -> String {
        XXH64.hexString(XXH64.hash(bytes, seed: seed("\(key)/layer/\(layer)/keys")))
    }

    private static func seed(_ place: String) -> UInt64 {
        Array(place.utf8).withUnsafeBytes { XXH64.hash($0) }
    }
}

extension DocumentManifest {
    /// The file names of `layer` inside the entry: the only names a manifest may record.
    static func fileNames(layer: Int) -> (data: String, keys: String) {
        (String(format: "layer-%03d.kv", layer), String(format: "keys-%03d.f32", layer))
    }

    /// The manifest's JSON as written to disk: sorted keys, so that one manifest has one encoding.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// The checksum of every field but `manifestChecksum` (which is blank while hashing).
    func computedChecksum() throws -> String {
        var blank = self
        blank.manifestChecksum = ""
        return try blank.encoded().withUnsafeBytes { XXH64.hex($0) }
    }

    /// The manifest with its checksum filled in, ready to write.
    func sealed() throws -> DocumentManifest {
        var sealed = self
        sealed.manifestChecksum = try computedChecksum()
        return sealed
    }

    /// Checks the manifest as a whole (its checksum) and every field against the others and
    /// against what the store writes: format, codec, shapes, file names (none may leave the
    /// entry), block layout in the layer files, sinks. Throws `StoreError.corruptEntry` naming the
    /// field; the entry is then treated like one with a corrupt block.
    func validate(path: String) throws {
        func fail(_ reason: String) -> StoreError { .corruptEntry(path: path, reason: reason) }
        guard formatVersion == DocumentManifest.currentFormatVersion else {
            throw fail("formatVersion \(formatVersion) is not \(DocumentManifest.currentFormatVersion)")
        }
        guard manifestChecksum == (try computedChecksum()) else {
            throw fail("manifestChecksum does not match the manifest (edited or damaged)")
        }
        guard (try? StoreKey(hex: key)) != nil else { throw fail("key '\(key)' is not 64 lowercase hex digits") }
        guard header.tokenCount > 0, header.layers > 0, header.kvDim > 0, header.blockSize > 0 else {
            throw fail("tokenCount, layers, kvDim and blockSize must be positive")
        }
        guard codec == BlockCodec.codecName else { throw fail("codec '\(codec)' is not supported") }
        guard checksumAlgorithm == BoundChecksum.algorithm else {
            throw fail("checksumAlgorithm '\(checksumAlgorithm)' is not \(BoundChecksum.algorithm)")
        }
        let blockCodec = BlockCodec(format: header.numberFormat, kvDim: header.kvDim)
        guard shuffleElementBytes == blockCodec.shuffleElementBytes else {
            throw fail("shuffleElementBytes \(shuffleElementBytes) does not suit \(header.numberFormat.rawValue)")
        }
        guard layerRecords.count == header.layers else {
            throw fail("layerRecords has \(layerRecords.count) entries, layers is \(header.layers)")
        }
        for (index, layer) in layerRecords.enumerated() {
            try validateLayer(layer, index: index, codec: blockCodec, fail: fail)
        }
        try validateSinks(fail: fail)
    }

    private func validateLayer(
        _ layer: LayerRecord, index: Int, codec: BlockCodec, fail: (String) -> StoreError
    ) throws {
        let names = Self.fileNames(layer: index)
        guard layer.dataFile == names.data, layer.keysFile == names.keys else {
            throw fail("layer \(index) names files '\(layer.dataFile)' and '\(layer.keysFile)', expected \(names.data) and \(names.keys)")
        }
        guard layer.blocks.count == blockCount else {
            throw fail("layer \(index) has \(layer.blocks.count) blocks, expected \(blockCount)")
        }
        var offset: Int64 = 0
        for (block, record) in layer.blocks.enumerated() {
            let bound = BlockCodec.frameBound(payloadBytes: codec.payloadBytes(rows: header.rows(inBlock: block)))
            guard record.offset == offset, record.length > 0, record.length <= bound else {
                throw fail("layer \(index) block \(block) lies at \(record.offset) with \(record.length) bytes; expected offset \(offset) and 1...\(bound) bytes")
            }
            offset += Int64(record.length)
        }
        guard layer.dataLength == offset else {
            throw fail("layer \(index) dataLength \(layer.dataLength) differs from its blocks' \(offset) bytes")
        }
    }

    private func validateSinks(fail: (String) -> StoreError) throws {
        guard sinks.isEmpty || sinks.count == 1 || sinks.count == header.layers else {
            throw fail("sinks has \(sinks.count) lists; expected 0, 1 or \(header.layers)")
        }
        for (index, list) in sinks.enumerated() {
            if let bad = list.first(where: { $0 < 0 || Int($0) >= header.tokenCount }) {
                throw fail("sink \(bad) of list \(index) is outside 0..<\(header.tokenCount)")
            }
            guard Set(list).count == list.count else { throw fail("sink list \(index) repeats an index") }
        }
    }
}

extension DocumentHeader {
    /// The first field in which this header (a manifest's) differs from `expected` (what the
    /// document and settings give), as "field: manifest value, expected value"; nil when equal.
    func firstDifference(from expected: DocumentHeader) -> String? {
        let fields: [(String, String, String)] = [
            ("modelIdentity", modelIdentity, expected.modelIdentity),
            ("tokenizerDigest", tokenizerDigest, expected.tokenizerDigest),
            ("prefillMode", prefillMode, expected.prefillMode),
            ("prefillParameters", "\(prefillParameters.sorted { $0.key < $1.key })",
             "\(expected.prefillParameters.sorted { $0.key < $1.key })"),
            ("tokenCount", "\(tokenCount)", "\(expected.tokenCount)"),
            ("layers", "\(layers)", "\(expected.layers)"),
            ("kvDim", "\(kvDim)", "\(expected.kvDim)"),
            ("blockSize", "\(blockSize)", "\(expected.blockSize)"),
            ("numberFormat", numberFormat.rawValue, expected.numberFormat.rawValue),
            ("exactForQuestions", "\(exactForQuestions)", "\(expected.exactForQuestions)"),
        ]
        return fields.first { $0.1 != $0.2 }.map { "\($0.0) is \($0.1) in the manifest, expected \($0.2)" }
    }
}
