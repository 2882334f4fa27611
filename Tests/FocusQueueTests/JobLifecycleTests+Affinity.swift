import Foundation
import Testing
@testable import FocusQueue

/// Document affinity, on every backend: claims prefer the documents the claiming worker's store
/// holds, a job waits a bounded time for such a worker, and the holdings of dead workers stop
/// keeping jobs waiting.
extension JobLifecycleTests {
    /// Registers `worker` (alive, on this host unless `identity` says otherwise) keeping documents
    /// in `store`, holding `documents`.
    static func registerHolder(_ worker: String, store: String, holding documents: Set<Int64>, leaseSeconds: Double = 60,
                               identity: ProcessIdentity = .current(), in fixture: BackendFixture) throws {
        try fixture.queue.registerWorker(id: worker, identity: identity, storeID: store, leaseSeconds: leaseSeconds)
        try fixture.queue.recordHoldings(storeID: store, stored: documents, evicted: [])
    }

    static func claim(_ worker: String, store: String, wait: Double = 30, in fixture: BackendFixture) throws -> ClaimedJob? {
        try fixture.queue.claim(workerID: worker, leaseSeconds: 600, preferDocument: nil,
                                affinity: AffinityClaim(storeID: store, waitSeconds: wait))
    }

    @Test(arguments: Backend.allCases) func claimsPreferDocumentsTheStoreHolds(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let held = try fixture.addDocument(1)
        let free = try fixture.addDocument(2)
        let older = try fixture.addJobs(1, documentID: free, prefix: "free")[0]
        fixture.clock.advance(by: 1)
        let heldJobs = try fixture.addJobs(3, documentID: held, prefix: "held")
        try Self.registerHolder("w1", store: "h1:/store", holding: [held], in: fixture)
        try Self.registerHolder("w2", store: "h2:/store", holding: [], in: fixture)
        #expect(try fixture.queue.holdings() == [DocumentHolding(storeID: "h1:/store", documentID: held)])

        #expect(try Self.claim("w1", store: "h1:/store", in: fixture)?.id == heldJobs[0], "its own document before an older job")
        #expect(try Self.claim("w2", store: "h2:/store", in: fixture)?.id == older, "a document no live worker holds")
        #expect(try Self.claim("w2", store: "h2:/store", in: fixture) == nil, "w1's document waits for w1")
        #expect(try fixture.queue.claim(workerID: "plain", leaseSeconds: 60)?.id == heldJobs[1],
                "a claim without affinity takes any job")

        let urgent = try fixture.queue.submit(NewJob(documentID: free, question: "urgent?", modelDir: "m",
                                                     mode: "focus", priority: 9)).jobID
        #expect(try Self.claim("w1", store: "h1:/store", in: fixture)?.id == urgent, "priority comes before affinity")
        #expect(try Self.claim("w1", store: "h1:/store", in: fixture)?.id == heldJobs[2])

        try fixture.queue.recordHoldings(storeID: "h1:/store", stored: [], evicted: [held])
        #expect(try fixture.queue.holdings().isEmpty, "an evicted document is no longer held")
    }

    @Test(arguments: Backend.allCases) func aRetriedJobWaitsItsTurnInsteadOfJumpingAhead(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let held = try fixture.addDocument(1)
        let free = try fixture.addDocument(2)
        let retried = try fixture.addJobs(1, documentID: held, prefix: "retried")[0]
        fixture.clock.advance(by: 1)
        let waiting = try fixture.addJobs(1, documentID: free, prefix: "waiting")[0]
        try Self.registerHolder("w1", store: "h1:/store", holding: [held], in: fixture)

        let first = try #require(try fixture.queue.claim(workerID: "w1", leaseSeconds: 5))
        #expect(first.id == retried)
        fixture.clock.advance(by: 10)
        #expect(try fixture.queue.requeueExpired(now: nil) == 1, "its lease ran out: back in the queue")
        try fixture.queue.workerHeartbeat(id: "w1")

        #expect(try Self.claim("w1", store: "h1:/store", in: fixture)?.id == waiting,
                "a retry of a held document does not go before older work")
        #expect(try Self.claim("w1", store: "h1:/store", in: fixture)?.id == retried)
    }

    @Test(arguments: Backend.allCases) func aJobWaitsForItsHolderAtMostTheAffinityWait(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let held = try fixture.addDocument(1)
        let job = try fixture.addJobs(1, documentID: held)[0]
        try Self.registerHolder("w1", store: "h1:/store", holding: [held], in: fixture)
        try Self.registerHolder("w2", store: "h2:/store", holding: [], in: fixture)

        fixture.clock.advance(by: 29)
        #expect(try Self.claim("w2", store: "h2:/store", in: fixture) == nil)
        fixture.clock.advance(by: 1)
        try fixture.queue.workerHeartbeat(id: "w1")
        let taken = try #require(try Self.claim("w2", store: "h2:/store", in: fixture))
        #expect(taken.id == job, "after 30 s any worker takes it, though its holder is alive")
    }

    @Test(arguments: Backend.allCases) func holdingsOfDeadWorkersKeepNoJobWaiting(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let crashed = try fixture.addDocument(1)
        let silent = try fixture.addDocument(2)
        let restarted = try fixture.addDocument(3)
        try fixture.addJobs(1, documentID: crashed, prefix: "crashed")
        try fixture.addJobs(1, documentID: silent, prefix: "silent")
        try fixture.addJobs(1, documentID: restarted, prefix: "restarted")
        var farAway = DeadWorkerRecoveryTests.reusedPid()
        farAway.host += "-elsewhere"
        try Self.registerHolder("dead", store: "here:/a", holding: [crashed],
                                identity: DeadWorkerRecoveryTests.reusedPid(), in: fixture)
        try Self.registerHolder("remote", store: "there:/b", holding: [silent], leaseSeconds: 60,
                                identity: farAway, in: fixture)
        // A worker killed and started again on the same store: the new one keeps its holdings.
        try Self.registerHolder("old", store: "here:/c", holding: [restarted],
                                identity: DeadWorkerRecoveryTests.reusedPid(), in: fixture)
        try Self.registerHolder("new", store: "here:/c", holding: [], in: fixture)
        try Self.registerHolder("w", store: "here:/w", holding: [], in: fixture)
        #expect(try Self.claim("w", store: "here:/w", wait: 300, in: fixture) == nil, "every document has a live holder")

        let recovery = try fixture.queue.recoverFromDeadWorkers()
        #expect(Set(recovery.workersRemoved) == ["dead", "old"])
        #expect(Set(try fixture.queue.holdings().map(\.storeID)) == ["there:/b", "here:/c"],
                "the dead worker's store is forgotten; the restarted one's is kept")
        let first = try #require(try Self.claim("w", store: "here:/w", wait: 300, in: fixture))
        #expect(first.question == "crashed 0?")
        #expect(try Self.claim("w", store: "here:/w", wait: 300, in: fixture) == nil)

        fixture.clock.advance(by: 61)
        try fixture.queue.workerHeartbeat(id: "new")
        let second = try #require(try Self.claim("w", store: "here:/w", wait: 300, in: fixture))
        #expect(second.question == "silent 0?", "a holder silent for longer than its lease keeps nothing waiting")
        #expect(try Self.claim("w", store: "here:/w", wait: 300, in: fixture) == nil)
        #expect(try Self.claim("new", store: "here:/c", wait: 300, in: fixture)?.question == "restarted 0?")
    }

    @Test(arguments: Backend.allCases) func aWorkerRecordsWhatItsStoreGainsAndLoses(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let first = try fixture.addDocument(1)
        let second = try fixture.addDocument(2)
        try fixture.addJobs(2, documentID: first)
        try fixture.addJobs(1, documentID: second)
        let processor = StoringProcessor(evictAfter: first)
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true, affinityWait: 30))
        #expect(worker.storeID == StoreIdentity.id(path: "/var/cache/focus/../focus/store"))
        #expect(worker.storeID == ProcessIdentity.localHost + ":/var/cache/focus/store")
        let report = try worker.run()
        #expect(report.completed == 3)
        #expect(try fixture.queue.holdings() == [DocumentHolding(storeID: worker.storeID!, documentID: second)],
                "the first document was evicted when the second was stored; holdings outlive a clean exit")
    }
}

/// Answers jobs as if it prefilled each document into a store, evicting `evictAfter` once
/// another document is stored.
final class StoringProcessor: JobProcessor {
    let evictAfter: Int64
    private var changes = StoreHoldingChanges()
    private var held: Set<Int64> = []

    init(evictAfter: Int64) { self.evictAfter = evictAfter }

    var localStorePath: String? { "/var/cache/focus/../focus/store" }

    func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome {
        if held.insert(job.documentID).inserted { changes.stored.insert(job.documentID) }
        if job.documentID != evictAfter, held.remove(evictAfter) != nil { changes.evicted.insert(evictAfter) }
        return outcome("answer")
    }

    func takeStoreChanges() -> StoreHoldingChanges {
        defer { changes = StoreHoldingChanges() }
        return changes
    }
}
