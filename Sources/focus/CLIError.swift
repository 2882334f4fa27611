import ArgumentParser
import FocusEngine
import FocusQueue
import FocusStore

/// Failures of a command, each with its exit code (sysexits.h).
enum CLIError: Error, CustomStringConvertible {
    /// Bad input: a document, batch line, model or question that cannot be used (65).
    case badInput(String)
    /// Reading or writing files or the database failed (74).
    case io(String)
    /// Another instance holds the lock (75).
    case busy(String)

    var description: String {
        switch self {
        case .badInput(let message), .io(let message), .busy(let message): return message
        }
    }

    /// An error of the engine answering or prefilling: reading or writing the store failed (a full
    /// disk, a read-only folder) is an I/O error (74); anything else is about the input (65).
    static func engine(_ error: Error, prefix: String = "") -> CLIError {
        if case StoreError.io = error { return .io(prefix + "\(error)") }
        return .badInput(prefix + "\(error)")
    }

    var exitCode: ExitCode {
        switch self {
        case .badInput: return ExitCode(FocusExitCode.badInput.rawValue)
        case .io: return ExitCode(FocusExitCode.ioError.rawValue)
        case .busy: return ExitCode(FocusExitCode.locked.rawValue)
        }
    }
}

/// Runs `body`, turning a `CLIError` into its message on stderr and its exit code.
func withExitCodes(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLIError {
        printError("focus: \(error.description)")
        throw error.exitCode
    }
}
