import Glibc

/// Errors raised by the document store. Each names the file, layer or field at fault.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// A block's bytes do not match its recorded checksum, or fail to decompress.
    case corruptBlock(file: String, layer: Int, block: Int)
    /// An entry's manifest or side file is missing, unreadable or inconsistent.
    case corruptEntry(path: String, reason: String)
    /// A system call failed; `errno` is the C error code (28 = ENOSPC, disk full).
    case io(operation: String, path: String, errno: Int32)
    /// The caller passed data that does not match the document's header.
    case invalidArgument(String)
    /// The writer was used after the document was finished or abandoned.
    case writerClosed

    public var description: String {
        switch self {
        case let .corruptBlock(file, layer, block):
            return "corrupt block \(block) of layer \(layer) in \(file)"
        case let .corruptEntry(path, reason):
            return "corrupt store entry \(path): \(reason)"
        case let .io(operation, path, code):
            return "\(operation) failed on \(path): \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case .writerClosed:
            return "document writer used after it was closed"
        }
    }
}
