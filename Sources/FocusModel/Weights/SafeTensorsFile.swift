import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Element types a checkpoint may store.
public enum TensorDataType: String, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case i64 = "I64"
    /// Signed bytes: the values of an 8-bit weight (see `Int8Weight`).
    case i8 = "I8"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .i64: return 8
        }
    }
}

/// Errors raised while reading safetensors files and checkpoint directories.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    case truncated(file: String, reason: String)
    case invalidHeader(file: String, reason: String)
    case invalidTensor(file: String, tensor: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case unexpectedTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case invalidIndex(file: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): return "\(file): cannot open (\(reason))"
        case .truncated(let file, let reason): return "\(file): truncated file (\(reason))"
        case .invalidHeader(let file, let reason): return "\(file): invalid safetensors header (\(reason))"
        case .invalidTensor(let file, let tensor, let reason): return "\(file): tensor \(tensor): \(reason)"
        case .missingTensor(let file, let tensor): return "\(file): missing tensor \(tensor)"
        case .unexpectedTensor(let file, let tensor): return "\(file): unexpected tensor \(tensor)"
        case .shapeMismatch(let file, let tensor, let expected, let found):
            return "\(file): tensor \(tensor) has shape \(found), the config implies \(expected)"
        case .invalidIndex(let file, let reason): return "\(file): invalid index (\(reason))"
        }
    }
}

/// One tensor inside a memory-mapped safetensors file.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dataType: TensorDataType
    public let shape: [Int]
    /// First byte of the tensor's data inside the mapping.
    public let bytes: UnsafeRawPointer
    public let byteCount: Int
    /// The file the tensor lives in (for error messages).
    public let file: String

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file mapped read-only into memory; its header validated against the file size.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON describing each tensor's
/// dtype, shape and `data_offsets` relative to the end of the header, then the data.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public private(set) var tensors: [String: TensorView] = [:]
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// Maps `url` and validates every tensor's dtype, shape and byte range.
    public init(url: URL) throws {
        path = url.path
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError.cannotOpen(file: url.path, reason: String(cString: strerror(errno)))
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw CheckpointError.truncated(file: url.path, reason: "\(size) bytes, no header length")
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw CheckpointError.cannotOpen(file: url.path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        base = mapping
        mappedLength = size
        tensors = try Self.parseHeader(base: UnsafeRawPointer(mapping), size: size, file: url.path)
    }

    deinit {
        if let base { munmap(base, mappedLength) }
    }

    /// Returns the tensor called `name`, or throws naming the file.
    public func tensor(_ name: String) throws -> TensorView {
        guard let view = tensors[name] else { throw CheckpointError.missingTensor(file: path, tensor: name) }
        return view
    }

    // MARK: - Header

    private static func parseHeader(base: UnsafeRawPointer, size: Int, file: String) throws -> [String: TensorView] {
        let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= size - 8 else {
            throw CheckpointError.truncated(
                file: file, reason: "header length \(headerLength) exceeds the \(size - 8) bytes after it")
        }
        let headerData = Data(bytes: base + 8, count: headerLength)
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw CheckpointError.invalidHeader(file: file, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataLength = size - dataStart
        var tensors: [String: TensorView] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any] else {
                throw CheckpointError.invalidTensor(file: file, tensor: name, reason: "entry is not an object")
            }
            guard let dtypeName = entry["dtype"] as? String, let dtype = TensorDataType(rawValue: dtypeName) else {
                throw CheckpointError.invalidTensor(
                    file: file, tensor: name, reason: "unsupported dtype \(entry["dtype"] ?? "none")")
            }
            guard let shapeValues = entry["shape"] as? [NSNumber],
                shapeValues.allSatisfy({ $0.intValue >= 0 })
            else {
                throw CheckpointError.invalidTensor(file: file, tensor: name, reason: "invalid shape")
            }
            guard let offsets = entry["data_offsets"] as? [NSNumber], offsets.count == 2 else {
                throw CheckpointError.invalidTensor(file: file, tensor: name, reason: "invalid data_offsets")
            }
            let shape = shapeValues.map(\.intValue)
            let begin = offsets[0].intValue
            let end = offsets[1].intValue
            let (elements, overflow) = shape.reduce((1, false)) { acc, dim in
                let (product, o) = acc.0.multipliedReportingOverflow(by: dim)
                return (product, acc.1 || o)
            }
            guard !overflow, begin >= 0, end >= begin else {
                throw CheckpointError.invalidTensor(file: file, tensor: name, reason: "invalid byte range \(begin)..<\(end)")
            }
            guard end <= dataLength else {
                throw CheckpointError.truncated(
                    file: file, reason: "tensor \(name) ends at byte \(end) of a \(dataLength)-byte data section")
            }
            guard end - begin == elements * dtype.byteWidth else {
                throw CheckpointError.invalidTensor(
                    file: file, tensor: name,
                    reason: "\(end - begin) bytes for shape \(shape) of \(dtype.rawValue)")
            }
            tensors[name] = TensorView(
                name: name, dataType: dtype, shape: shape, bytes: base + dataStart + begin,
                byteCount: end - begin, file: file)
        }
        return tensors
    }
}
