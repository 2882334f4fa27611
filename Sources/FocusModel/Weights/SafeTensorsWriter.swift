import Foundation

/// Writes safetensors files tensor by tensor, so that no more than one tensor's data need be in
/// memory at a time.
///
/// Data is contiguous, as the format requires, widest element types first (so that every tensor
/// starts aligned to its element width), and the header is padded with spaces to a multiple of
/// 8 bytes.
public enum SafeTensorsWriter {
    /// One tensor: its header fields and a closure writing exactly `byteCount` bytes.
    public struct Entry {
        public var name: String
        public var dataType: TensorDataType
        public var shape: [Int]
        public var byteCount: Int
        public var write: (FileHandle) throws -> Void

        public init(
            name: String, dataType: TensorDataType, shape: [Int], byteCount: Int,
            write: @escaping (FileHandle) throws -> Void
        ) {
            self.name = name
            self.dataType = dataType
            self.shape = shape
            self.byteCount = byteCount
            self.write = write
        }
    }

    /// Entries ordered so that each tensor starts at a multiple of its element width: widest
    /// types first, the given order kept within a width.
    public static func aligned(_ entries: [Entry]) -> [Entry] {
        entries.enumerated().sorted { a, b in
            if a.element.dataType.byteWidth != b.element.dataType.byteWidth {
                return a.element.dataType.byteWidth > b.element.dataType.byteWidth
            }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// Writes `entries` (reordered by `aligned`) to `url`; returns the bytes of tensor data.
    @discardableResult
    public static func write(_ entries: [Entry], to url: URL) throws -> Int {
        let ordered = aligned(entries)
        var header: [String: Any] = [:]
        var offset = 0
        for entry in ordered {
            header[entry.name] = [
                "dtype": entry.dataType.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.byteCount],
            ]
            offset += entry.byteCount
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: Array(repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CheckpointError.cannotOpen(file: url.path, reason: "cannot create the file")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var length = UInt64(json.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: json)
        for entry in ordered {
            let before = try handle.offset()
            try entry.write(handle)
            let written = Int(try handle.offset() - before)
            guard written == entry.byteCount else {
                throw CheckpointError.invalidTensor(
                    file: url.path, tensor: entry.name, reason: "wrote \(written) bytes, expected \(entry.byteCount)")
            }
        }
        return offset
    }
}
