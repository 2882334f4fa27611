import FocusQueue
import FocusSQLite
import Testing
@testable import focus

/// The command line's exit-code table: sysexits values, and the code of each queue, lock and
/// database error.
@Suite("Exit codes")
struct ExitCodeTests {
    @Test func exitCodesMatchSysexits() {
        #expect(FocusExitCode.allCases.map(\.rawValue) == [0, 64, 65, 74, 75])
        #expect(FocusExitCode.forError(QueueError.jobNotFound(id: 1)) == .badInput)
        #expect(FocusExitCode.forError(QueueError.notADatabase(path: "x")) == .ioError)
    }

    @Test func aHeldRunLockIsTemporary() {
        #expect(FocusExitCode.forError(RunLockError.alreadyHeld(path: "x", holder: nil)).rawValue == 75)
    }

    @Test func aDatabaseLockedPastItsTimeoutIsTemporary() {
        let busy = DatabaseError(resultCode: 5, message: "database is locked", sql: "BEGIN IMMEDIATE")  // SQLITE_BUSY
        #expect(busy.isBusy)
        #expect(FocusExitCode.forError(busy) == .locked)
        #expect(FocusExitCode.forError(DatabaseError(resultCode: 13, message: "disk is full")) == .ioError)  // SQLITE_FULL
    }
}
