import FocusSQLite

/// Errors of the queue that are not a single failed SQLite call.
public enum QueueError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file exists but is not an SQLite database; it was not modified.
    case notADatabase(path: String)
    /// The database was written by a newer version of focus than this one.
    case schemaTooNew(path: String, found: Int, supported: Int)
    /// A migration from schema/ failed to apply; nothing of it was kept.
    case migrationFailed(fileName: String, underlying: DatabaseError)
    /// No job has this id.
    case jobNotFound(id: Int64)
    /// No document has this id.
    case documentNotFound(id: Int64)
    /// The job is in a state that does not allow the action (e.g. retry of a done job).
    case invalidState(id: Int64, state: JobState, action: String)
    /// A field of a submitted job or document is invalid.
    case invalidField(field: String, reason: String)

    public var description: String {
        switch self {
        case .notADatabase(let path):
            return "\(path): file is not a database (it was left untouched)"
        case .schemaTooNew(let path, let found, let supported):
            return "\(path): schema version \(found) is newer than this focus supports "
                + "(\(supported)); use a newer focus binary"
        case .migrationFailed(let fileName, let underlying):
            return "migration \(fileName) failed: \(underlying)"
        case .jobNotFound(let id):
            return "no job with id \(id)"
        case .documentNotFound(let id):
            return "no document with id \(id)"
        case .invalidState(let id, let state, let action):
            return "job \(id) is \(state.rawValue): cannot \(action)"
        case .invalidField(let field, let reason):
            return "invalid \(field): \(reason)"
        }
    }
}

extension String {
    /// The text without the whitespace around it.
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
