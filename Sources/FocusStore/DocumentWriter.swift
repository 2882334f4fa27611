import FocusModel
import Foundation
import Glibc

/// Streams one document's KV into a temporary entry, layer by layer.
///
/// Each `appendLayer` compresses and writes the layer's blocks and representative keys to disk at
/// once and keeps only their small records, so memory does not grow with the number of layers.
/// Obtain one from `DocumentStore.write`; the entry becomes visible only after `produce` returns.
public final class DocumentWriter {
    /// The header the document is written with.
    public let header: DocumentHeader
    /// The key of the entry being written (hex); checksums are bound to it.
    let key: String
    let directory: String
    /// Mode of the files written (narrowed by the umask).
    let fileMode: mode_t
    let codec: BlockCodec
    private let budget: WriteBudget?
    private var layerRecords: [LayerRecord?]
    private var sinks: [[Int32]] = []
    private var closed = false

    init(key: StoreKey, header: DocumentHeader, directory: String, fileMode: mode_t, budget: WriteBudget?) {
        self.key = key.hex
        self.fileMode = fileMode
        self.header = header
        self.directory = directory
        self.codec = BlockCodec(format: header.numberFormat, kvDim: header.kvDim)
        self.budget = budget
        self.layerRecords = Array(repeating: nil, count: header.layers)
    }

    // MARK: - Public API

    /// Compresses and writes one layer. `keys` and `values` are row-major [tokenCount, kvDim].
    /// Each layer must be appended exactly once, in any order.
    public func appendLayer(_ layer: Int, keys: UnsafeBufferPointer<Float>, values: UnsafeBufferPointer<Float>) throws {
        guard !closed else { throw StoreError.writerClosed }
        guard (0..<header.layers).contains(layer) else {
            throw StoreError.invalidArgument("layer \(layer) is outside 0..<\(header.layers)")
        }
        guard layerRecords[layer] == nil else { throw StoreError.invalidArgument("layer \(layer) was already appended") }
        let expected = header.tokenCount * header.kvDim
        guard keys.count == expected, values.count == expected, let keyBase = keys.baseAddress,
              let valueBase = values.baseAddress
        else {
            throw StoreError.invalidArgument(
                "layer \(layer): keys have \(keys.count) and values \(values.count) floats, expected \(expected)")
        }
        try checkRepresentable(keys, name: "keys", layer: layer)
        try checkRepresentable(values, name: "values", layer: layer)
        let (dataFile, keysFile) = DocumentManifest.fileNames(layer: layer)
        let blocks = try writeBlocks(keys: keyBase, values: valueBase, layer: layer, file: dataFile)
        let keysChecksum = try writeRepresentativeKeys(keys: keyBase, layer: layer, file: keysFile)
        layerRecords[layer] = LayerRecord(
            dataFile: dataFile, keysFile: keysFile,
            dataLength: blocks.last.map { $0.offset + Int64($0.length) } ?? 0,
            keysChecksum: keysChecksum, blocks: blocks)
    }

    /// Sets the sink token indices: one list shared by all layers, or one list per layer.
    public func setSinks(_ sinks: [[Int32]]) throws {
        guard sinks.count == 1 || sinks.count == header.layers else {
            throw StoreError.invalidArgument("sinks must hold 1 or \(header.layers) lists, got \(sinks.count)")
        }
        for list in sinks {
            if let bad = list.first(where: { $0 < 0 || Int($0) >= header.tokenCount }) {
                throw StoreError.invalidArgument("sink index \(bad) is outside 0..<\(header.tokenCount)")
            }
            guard Set(list).count == list.count else { throw StoreError.invalidArgument("a sink list repeats an index: \(list)") }
        }
        self.sinks = sinks
    }

    /// Rejects NaN and infinity, and for f16 magnitudes beyond 65504 (they would become infinite).
    private func checkRepresentable(_ buffer: UnsafeBufferPointer<Float>, name: String, layer: Int) throws {
        let limit = header.numberFormat == .f16 ? Float(Float16.greatestFiniteMagnitude) : Float.greatestFiniteMagnitude
        var largest: Float = 0
        var allFinite = true
        for value in buffer {
            largest = max(largest, abs(value))
            allFinite = allFinite && value.isFinite
        }
        guard allFinite, largest <= limit else {
            let index = buffer.firstIndex { !$0.isFinite || abs($0) > limit } ?? 0
            throw StoreError.invalidArgument(
                "layer \(layer) \(name)[\(index)] = \(buffer[index]) cannot be stored as \(header.numberFormat.rawValue)")
        }
    }

    // MARK: - Blocks

    private func writeBlocks(
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, layer: Int, file: String
    ) throws -> [BlockRecord] {
        let path = directory + "/" + file
        let descriptor = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: fileMode)
        defer { close(descriptor) }
        let payloadCapacity = codec.payloadBytes(rows: header.blockSize)
        let frameCapacity = BlockCodec.frameBound(payloadBytes: payloadCapacity)
        let payload = UnsafeMutableRawPointer.allocate(byteCount: payloadCapacity, alignment: 64)
        let frame = UnsafeMutableRawPointer.allocate(byteCount: frameCapacity, alignment: 64)
        defer {
            payload.deallocate()
            frame.deallocate()
        }
        var records: [BlockRecord] = []
        records.reserveCapacity(header.blockCount)
        var offset: Int64 = 0
        for block in 0..<header.blockCount {
            let rows = header.rows(inBlock: block)
            let start = block * header.blockSize * header.kvDim
            codec.encode(keys: keys + start, values: values + start, rows: rows, into: payload)
            let payloadBytes = codec.payloadBytes(rows: rows)
            let length = try BlockCodec.compress(payload, size: payloadBytes, into: frame, capacity: frameCapacity)
            let checksum = BoundChecksum.block(
                UnsafeRawBufferPointer(start: frame, count: length), key: key, layer: layer, block: block)
            try FileSystem.writeAll(descriptor, frame, count: length, path: path, budget: budget)
            records.append(BlockRecord(offset: offset, length: length, checksum: checksum))
            offset += Int64(length)
        }
        try FileSystem.sync(descriptor, path: path)
        return records
    }

    // MARK: - Representative keys

    /// Writes [mean | min | max], each [blocks, kvDim] f32, and returns the file's checksum.
    private func writeRepresentativeKeys(keys: UnsafePointer<Float>, layer: Int, file: String) throws -> String {
        let summary = RepresentativeKeys(
            keys: keys, rows: header.tokenCount, stride: header.kvDim, kvDim: header.kvDim, blockSize: header.blockSize)
        var bytes = [Float]()
        bytes.reserveCapacity(summary.mean.count * 3)
        bytes.append(contentsOf: summary.mean)
        bytes.append(contentsOf: summary.min)
        bytes.append(contentsOf: summary.max)
        let path = directory + "/" + file
        let descriptor = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: fileMode)
        defer { close(descriptor) }
        return try bytes.withUnsafeBytes { raw in
            try FileSystem.writeAll(descriptor, raw.baseAddress!, count: raw.count, path: path, budget: budget)
            try FileSystem.sync(descriptor, path: path)
            return BoundChecksum.keys(raw, key: key, layer: layer)
        }
    }

    // MARK: - Finishing

    /// Writes the manifest and the pin and last-used files, all fsynced, then the directory.
    func finish() throws -> DocumentManifest {
        guard !closed else { throw StoreError.writerClosed }
        closed = true
        let missing = layerRecords.indices.filter { layerRecords[$0] == nil }
        guard missing.isEmpty else {
            throw StoreError.invalidArgument("layers \(missing) were never appended (\(header.layers) expected)")
        }
        let manifest = try DocumentManifest(
            formatVersion: DocumentManifest.currentFormatVersion, key: key, header: header, codec: BlockCodec.codecName,
            shuffleElementBytes: codec.shuffleElementBytes, checksumAlgorithm: BoundChecksum.algorithm,
            sinks: sinks, createdAt: FileSystem.now(),
            layerRecords: layerRecords.map { $0! }, manifestChecksum: ""
        ).sealed()
        try writeSmallFile(EntryFiles.manifest, contents: try manifest.encoded())
        try writeSmallFile(EntryFiles.pin, contents: Data())
        try writeSmallFile(EntryFiles.lastUsed, contents: Data())
        try FileSystem.setModificationTime(directory + "/" + EntryFiles.lastUsed, seconds: FileSystem.now())
        try FileSystem.syncDirectory(directory)
        return manifest
    }

    /// Marks the writer unusable after a failure.
    func abandon() { closed = true }

    private func writeSmallFile(_ name: String, contents: Data) throws {
        let path = directory + "/" + name
        let descriptor = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: fileMode)
        defer { close(descriptor) }
        try contents.withUnsafeBytes { raw in
            if let base = raw.baseAddress {
                try FileSystem.writeAll(descriptor, base, count: raw.count, path: path, budget: budget)
            }
        }
        try FileSystem.sync(descriptor, path: path)
    }
}

/// Fixed file names inside an entry directory.
enum EntryFiles {
    static let manifest = "manifest.json"
    /// Held with a shared flock by every open `StoredDocument`; eviction needs it exclusively.
    static let pin = "pin"
    /// Its modification time is the entry's last use, for LRU eviction.
    static let lastUsed = "last-used"
}
