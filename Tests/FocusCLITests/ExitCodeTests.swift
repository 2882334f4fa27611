import FocusQueue
import FocusSQLite
import Foundation
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

    @Test func aDatabaseLockedPastItsTimeoutIsTemporary() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("focus-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.sqlite").path
        let holder = try Database(path: path)
        try holder.execute("CREATE TABLE t (n INTEGER) STRICT")
        let other = try Database(path: path, busyTimeoutMilliseconds: 20)
        try holder.write {
            let busy = try #require(throws: DatabaseError.self) {
                try other.write { try other.execute("INSERT INTO t VALUES (?)", [1]) }
            }
            #expect(FocusExitCode.forError(busy) == .locked)
        }
    }
}
