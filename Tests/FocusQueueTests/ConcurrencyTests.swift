import Foundation
import Testing
@testable import FocusQueue
import FocusSQLite

@Suite struct ConcurrencyTests {
    /// Two threads, each with its own connection, drain 200 jobs; every job is claimed
    /// and completed exactly once. A short pause after each job stands for the work
    /// and lets the threads interleave. On PostgreSQL the claims skip each other's locked rows.
    @Test(arguments: Backend.allCases)
    func twoConnectionsNeverClaimTheSameJob(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let setup = fixture.queue
        let document = try setup.registerDocument(NewDocument(
            sha256: String(repeating: "a", count: 64), path: "doc", byteSize: 1))
        let ids = try setup.submit(batch: (0..<200).map {
            NewJob(documentID: document, question: "q\($0)?", modelDir: "m", mode: "focus")
        }).map(\.jobID)
        let queues = [try fixture.openQueue(), try fixture.openQueue()]

        let log = ClaimLog()
        let group = DispatchGroup()
        let ready = DispatchSemaphore(value: 0)
        let start = DispatchSemaphore(value: 0)
        for index in 0..<2 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                ready.signal()
                start.wait()
                let queue = queues[index]
                let owner = "worker-\(index)"
                do {
                    while let job = try queue.claim(workerID: owner, leaseSeconds: 60) {
                        let done = try queue.complete(jobID: job.id, owner: owner,
                                                      attempt: job.attempt, outcome: outcome("a"))
                        log.record(thread: index, jobID: job.id,
                                   error: done ? nil : "completion of \(job.id) fenced")
                        usleep(200)
                    }
                } catch {
                    log.record(thread: index, jobID: nil, error: "\(owner): \(error)")
                }
            }
            thread.start()
        }
        ready.wait()
        ready.wait()
        start.signal()
        start.signal()
        group.wait()
        let (claimed, errors) = log.snapshot()
        #expect(errors.isEmpty, "\(errors)")
        let all = claimed[0] + claimed[1]
        #expect(all.count == 200)
        #expect(Set(all) == Set(ids))
        #expect(!claimed[0].isEmpty && !claimed[1].isEmpty, "one thread did all the work")
        #expect(try setup.statusCounts()[.done] == 200)
        if let sqlite = setup as? JobQueue { #expect(try sqlite.database.integrityCheck() == ["ok"]) }
    }

    @Test func waitForChangeSeesAnotherConnectionsCommit() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let other = try fixture.openQueue()
        #expect(try !fixture.queue.waitForChange(timeout: 0.05, pollInterval: 0.01))
        let document = try other.registerDocument(NewDocument(
            sha256: String(repeating: "b", count: 64), path: "doc", byteSize: 1))
        #expect(try fixture.queue.waitForChange(timeout: 5, pollInterval: 0.01))
        #expect(try !fixture.queue.waitForChange(timeout: 0.05, pollInterval: 0.01))
        #expect(try fixture.queue.claim(workerID: "w", leaseSeconds: 60) == nil)
        try other.submit(NewJob(documentID: document, question: "q?", modelDir: "m", mode: "focus"))
        #expect(try fixture.queue.waitForChange(timeout: 5, pollInterval: 0.01))
    }

    @Test func runLockIsExclusiveAndReleased() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("q.sqlite")
        var lock: RunLock? = try RunLock(databasePath: path)
        #expect(lock?.path == path + ".lock")
        #expect(throws: RunLockError.alreadyHeld(path: path + ".lock", holder: "\(getpid())")) {
            _ = try RunLock(databasePath: path)
        }
        lock = nil
        let again = try RunLock(databasePath: path)
        again.unlock()
    }
}

/// Claimed job ids per thread and errors, shared between test threads.
final class ClaimLog: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [[Int64]] = [[], []]
    private var errors: [String] = []

    func record(thread: Int, jobID: Int64?, error: String?) {
        lock.lock()
        defer { lock.unlock() }
        if let jobID { claimed[thread].append(jobID) }
        if let error { errors.append(error) }
    }

    func snapshot() -> ([[Int64]], [String]) {
        lock.lock()
        defer { lock.unlock() }
        return (claimed, errors)
    }
}
