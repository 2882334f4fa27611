import FocusQueue
import FocusQueuePostgres
import FocusSQLite

/// Process exit codes of the command line (from sysexits.h), and the code of each error the
/// commands can meet: the one table of them.
enum FocusExitCode: Int32, Sendable, CaseIterable {
    /// Done.
    case success = 0
    /// Wrong command line (EX_USAGE).
    case usage = 64
    /// Bad input data: a malformed job file, unknown job id, invalid field (EX_DATAERR).
    case badInput = 65
    /// The database or another file could not be read or written (EX_IOERR).
    case ioError = 74
    /// Another instance holds the run lock, or the database stayed locked (EX_TEMPFAIL).
    case locked = 75

    /// The exit code for an error of the queue, its run lock or its database; `ioError` for others.
    static func forError(_ error: Error) -> FocusExitCode {
        switch error {
        case let error as QueueError:
            switch error {
            case .notADatabase, .schemaTooNew, .migrationFailed: return .ioError
            case .jobNotFound, .documentNotFound, .invalidState, .invalidField: return .badInput
            }
        case let error as RunLockError:
            switch error {
            case .alreadyHeld: return .locked
            case .cannotLock: return .ioError
            }
        case let error as DatabaseError: return error.isBusy ? .locked : .ioError
        case let error as PostgresQueueError: return error.isUsageError ? .usage : .ioError
        default: return .ioError
        }
    }
}
