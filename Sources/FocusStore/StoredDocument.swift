import FocusModel
import Foundation
import Glibc

/// An open stored document. While it is open the entry is pinned: no process evicts it.
/// Call `close()` (or drop the last reference) to unpin. Reads are safe from several threads.
public final class StoredDocument: @unchecked Sendable {
    /// The entry's manifest.
    public let manifest: DocumentManifest
    /// The entry directory.
    public let path: String
    let codec: BlockCodec
    private let lock = NSLock()
    private var pinDescriptor: Int32
    private var layerDescriptors: [Int32]
    private var idleScratch: [DecodeScratch] = []

    /// Takes ownership of `pinDescriptor` (already holding a shared flock) and opens the layer files.
    /// Throws `StoreError.corruptEntry` when a file is missing or its size differs from the manifest;
    /// on a throw the caller keeps ownership of `pinDescriptor`.
    init(manifest: DocumentManifest, path: String, pinDescriptor: Int32) throws {
        self.manifest = manifest
        self.path = path
        self.pinDescriptor = pinDescriptor
        self.codec = BlockCodec(format: manifest.numberFormat, kvDim: manifest.kvDim)
        self.layerDescriptors = []
        let keysBytes = Int64(3 * manifest.blockCount * manifest.kvDim * 4)
        do {
            for record in manifest.layerRecords {
                let dataPath = path + "/" + record.dataFile
                let descriptor = try FileSystem.open(dataPath, O_RDONLY)
                layerDescriptors.append(descriptor)
                let size = try FileSystem.fileSize(descriptor, path: dataPath)
                guard size == record.dataLength else {
                    throw StoreError.corruptEntry(path: dataPath, reason: "size \(size), manifest says \(record.dataLength)")
                }
                let keysPath = path + "/" + record.keysFile
                guard let info = try FileSystem.status(keysPath), Int64(info.st_size) == keysBytes else {
                    throw StoreError.corruptEntry(path: keysPath, reason: "missing or not \(keysBytes) bytes")
                }
            }
        } catch let error as StoreError {
            for descriptor in layerDescriptors { Glibc.close(descriptor) }
            layerDescriptors = []
            self.pinDescriptor = -1
            if case .io(_, let failing, let code) = error, code == ENOENT {
                throw StoreError.corruptEntry(path: failing, reason: "file is missing")
            }
            throw error
        }
    }

    deinit { close() }

    /// Unpins the entry and closes its files. Further reads throw.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        for descriptor in layerDescriptors { Glibc.close(descriptor) }
        layerDescriptors = []
        if pinDescriptor >= 0 {
            Glibc.close(pinDescriptor)
            pinDescriptor = -1
        }
    }

    // MARK: - Shapes

    /// Number of blocks per layer.
    public var blockCount: Int { manifest.blockCount }

    /// The token rows `block` covers.
    public func rows(ofBlock block: Int) -> Range<Int> {
        let start = block * manifest.blockSize
        return start..<min(start + manifest.blockSize, manifest.tokenCount)
    }

    // MARK: - Side data

    /// Sink token indices of `layer` (the shared list when one list was stored; [] when none).
    public func sinks(layer: Int) -> [Int32] {
        if manifest.sinks.isEmpty { return [] }
        return manifest.sinks.count == 1 ? manifest.sinks[0] : manifest.sinks[layer]
    }

    /// Reads and checks the representative keys of `layer` (mean, min, max per block).
    public func representativeKeys(layer: Int) throws -> RepresentativeKeys {
        try checkLayer(layer)
        let record = manifest.layerRecords[layer]
        let filePath = path + "/" + record.keysFile
        let data = try FileSystem.readFile(filePath)
        let plane = manifest.blockCount * manifest.kvDim
        let valid = data.count == 3 * plane * 4
            && data.withUnsafeBytes { BoundChecksum.keys($0, key: manifest.key, layer: layer) } == record.keysChecksum
        guard valid else { throw StoreError.corruptEntry(path: filePath, reason: "representative keys fail their checksum") }
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return RepresentativeKeys(
            blockSize: manifest.blockSize, blocks: manifest.blockCount, kvDim: manifest.kvDim, mean: Array(floats[0..<plane]),
            min: Array(floats[plane..<(2 * plane)]), max: Array(floats[(2 * plane)...]))
    }

    // MARK: - KV blocks

    /// Decodes the selected blocks of `layer` into `keys` and `values`, rows contiguous in the
    /// order given, and returns the number of rows written. Both buffers need room for the sum of
    /// the blocks' rows times kvDim. Throws `StoreError.corruptBlock` when a block fails its checks.
    public func readBlocks(
        layer: Int, blocks: [Int], keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>
    ) throws -> Int {
        try checkLayer(layer)
        let record = manifest.layerRecords[layer]
        let descriptor = try layerDescriptor(layer)
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        var rowsWritten = 0
        for block in blocks {
            guard (0..<manifest.blockCount).contains(block) else {
                throw StoreError.invalidArgument("block \(block) is outside 0..<\(manifest.blockCount) (layer \(layer))")
            }
            let entry = record.blocks[block]
            let rows = rows(ofBlock: block).count
            let payloadBytes = codec.payloadBytes(rows: rows)
            scratch.reserve(frameBytes: entry.length, payloadBytes: payloadBytes)
            let filePath = path + "/" + record.dataFile
            let read = try FileSystem.readFully(
                descriptor, into: scratch.frame, count: entry.length, offset: entry.offset, path: filePath)
            let frame = UnsafeRawBufferPointer(start: scratch.frame, count: entry.length)
            guard read == entry.length,
                  BoundChecksum.block(frame, key: manifest.key, layer: layer, block: block) == entry.checksum,
                  scratch.decompressor.decompress(
                      scratch.frame, frameBytes: entry.length, into: scratch.payload, payloadBytes: payloadBytes)
            else {
                throw StoreError.corruptBlock(file: filePath, layer: layer, block: block)
            }
            let offset = rowsWritten * manifest.kvDim
            codec.decode(scratch.payload, rows: rows, keys: keys + offset, values: values + offset)
            rowsWritten += rows
        }
        return rowsWritten
    }

    /// Decodes all rows of `layer` into buffers of tokenCount * kvDim floats; returns tokenCount.
    public func readLayer(layer: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) throws -> Int {
        try readBlocks(layer: layer, blocks: Array(0..<manifest.blockCount), keys: keys, values: values)
    }

    /// Checks every block of `layer`: its bound checksum, and that it decompresses to exactly the
    /// rows the manifest gives it. Returns the first bad block.
    func firstCorruptBlock(layer: Int) throws -> Int? {
        let record = manifest.layerRecords[layer]
        let descriptor = try layerDescriptor(layer)
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        for (block, entry) in record.blocks.enumerated() {
            let payloadBytes = codec.payloadBytes(rows: rows(ofBlock: block).count)
            scratch.reserve(frameBytes: entry.length, payloadBytes: payloadBytes)
            let read = try FileSystem.readFully(
                descriptor, into: scratch.frame, count: entry.length, offset: entry.offset,
                path: path + "/" + record.dataFile)
            let frame = UnsafeRawBufferPointer(start: scratch.frame, count: entry.length)
            guard read == entry.length,
                  BoundChecksum.block(frame, key: manifest.key, layer: layer, block: block) == entry.checksum,
                  scratch.decompressor.decompress(
                      scratch.frame, frameBytes: entry.length, into: scratch.payload, payloadBytes: payloadBytes)
            else { return block }
        }
        return nil
    }

    // MARK: - Internals

    private func checkLayer(_ layer: Int) throws {
        guard (0..<manifest.layers).contains(layer) else {
            throw StoreError.invalidArgument("layer \(layer) is outside 0..<\(manifest.layers)")
        }
    }

    private func layerDescriptor(_ layer: Int) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard layer < layerDescriptors.count else { throw StoreError.invalidArgument("document \(path) is closed") }
        return layerDescriptors[layer]
    }

    private func takeScratch() -> DecodeScratch {
        lock.lock()
        defer { lock.unlock() }
        return idleScratch.popLast() ?? DecodeScratch()
    }

    private func returnScratch(_ scratch: DecodeScratch) {
        lock.lock()
        defer { lock.unlock() }
        idleScratch.append(scratch)
    }
}

/// Buffers and a decompression context reused across block reads.
final class DecodeScratch {
    let decompressor = FrameDecompressor()
    private(set) var frame = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
    private(set) var payload = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
    private var frameCapacity = 1
    private var payloadCapacity = 1

    func reserve(frameBytes: Int, payloadBytes: Int) {
        if frameBytes > frameCapacity {
            frame.deallocate()
            frame = UnsafeMutableRawPointer.allocate(byteCount: frameBytes, alignment: 64)
            frameCapacity = frameBytes
        }
        if payloadBytes > payloadCapacity {
            payload.deallocate()
            payload = UnsafeMutableRawPointer.allocate(byteCount: payloadBytes, alignment: 64)
            payloadCapacity = payloadBytes
        }
    }

    deinit {
        frame.deallocate()
        payload.deallocate()
    }
}
