import Foundation
import Testing
@testable import FocusQueue
import FocusWorker

/// A processor that answers from the question and can misbehave on request.
final class ScriptedProcessor: JobProcessor {
    struct BadInput: PermanentJobError {}
    struct Flaky: Error {}

    var onProcess: (ClaimedJob, () throws -> Void) throws -> Void = { _, _ in }
    private(set) var seen: [Int64] = []
    private(set) var documents: [Int64] = []

    func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome {
        seen.append(job.id)
        documents.append(job.documentID)
        try heartbeat()
        if job.question.hasPrefix("bad") { throw BadInput() }
        if job.question.hasPrefix("flaky") { throw Flaky() }
        try onProcess(job, heartbeat)
        return outcome("answer to \(job.question)", tokens: [job.question.count])
    }
}

@Suite struct WorkerTests {
    @Test(arguments: Backend.allCases)
    func drainProcessesEveryJobGroupedByDocument(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let first = try fixture.addDocument(1)
        let second = try fixture.addDocument(2)
        for round in 0..<3 {
            try fixture.addJobs(1, documentID: first, prefix: "one \(round)")
            try fixture.addJobs(1, documentID: second, prefix: "two \(round)")
        }
        try fixture.addJobs(1, documentID: first, prefix: "bad")
        try fixture.addJobs(1, documentID: second, prefix: "flaky", maxAttempts: 1)
        let processor = ScriptedProcessor()
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true))
        let report = try worker.run()
        #expect(report.completed == 6 && report.failed == 1 && report.dead == 1)
        #expect(report.stopReason == .queueEmpty)
        #expect(processor.documents == [first, first, first, first, second, second, second, second])
        let counts = try fixture.queue.statusCounts()
        #expect(counts[.done] == 6 && counts[.failed] == 1 && counts[.dead] == 1)
        #expect(try fixture.queue.results().allSatisfy { $0.result?.answer.hasPrefix("answer to ") == true })
        #expect(try fixture.queue.workers().isEmpty)
    }

    @Test func maxJobsStopsEarly() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        try fixture.addJobs(5, documentID: try fixture.addDocument())
        let worker = Worker(queue: fixture.queue, processor: ScriptedProcessor(), workerID: "w",
                            options: WorkerOptions(drain: true, maxJobs: 2))
        let report = try worker.run()
        #expect(report.completed == 2 && report.stopReason == .maxJobs)
        #expect(try fixture.queue.statusCounts()[.queued] == 3)
    }

    @Test func maxTimeStopsClaiming() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        try fixture.addJobs(5, documentID: try fixture.addDocument())
        let processor = ScriptedProcessor()
        let clock = fixture.clock
        processor.onProcess = { _, _ in clock.advance(by: 10) }
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(drain: true, maxTime: 25))
        let report = try worker.run()
        #expect(report.completed == 3 && report.stopReason == .maxTime)
        #expect(try fixture.queue.statusCounts()[.queued] == 2)
    }

    @Test func stopRequestReleasesTheCurrentJob() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let ids = try fixture.addJobs(2, documentID: try fixture.addDocument())
        let stop = StopFlag()
        let processor = ScriptedProcessor()
        processor.onProcess = { _, heartbeat in
            stop.request()
            try heartbeat()
        }
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(drain: true), stopFlag: stop)
        let report = try worker.run()
        #expect(report.released == 1 && report.completed == 0)
        #expect(report.stopReason == .stopRequested)
        let job = try fixture.queue.show(jobID: ids[0]).job
        #expect(job.state == .queued && job.attempt == 0 && job.leaseOwner == nil)
    }

    @Test func heartbeatExtendsTheLeaseAndNoticesCancellation() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let ids = try fixture.addJobs(2, documentID: try fixture.addDocument())
        let processor = ScriptedProcessor()
        let clock = fixture.clock
        let observer = try fixture.openQueue()
        var leases: [Double] = []
        processor.onProcess = { job, heartbeat in
            clock.advance(by: 25)
            try heartbeat()
            leases.append(try observer.show(jobID: job.id).job.leaseExpiresAt ?? 0)
            if job.id == ids[1] {
                try observer.cancel(jobID: job.id)
                clock.advance(by: 25)
                try heartbeat()
            }
        }
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true))
        let report = try worker.run()
        #expect(report.completed == 1 && report.fenced == 1)
        #expect(leases.count == 2)
        #expect(leases.first == Double(1_800_000_085))
        #expect(try state(fixture.queue, ids[1]) == .cancelled)
    }
}

@Suite struct IdleWorkerTests {
    /// A daemon-style worker (no drain) sleeps until a job is submitted from another
    /// connection, answers it, and stops on request while idle.
    @Test func idleWorkerWakesForNewJobsAndStopsOnRequest() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let document = try fixture.addDocument()
        let submitter = try fixture.openQueue()
        let stop = StopFlag()
        let worker = Worker(queue: fixture.queue, processor: ScriptedProcessor(), workerID: "daemon",
                            options: WorkerOptions(idleWait: 30, pollInterval: 0.01), stopFlag: stop)
        let box = ReportBox()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.set(Result { try worker.run() })
            finished.signal()
        }
        thread.start()
        let id = try submitter.submit(NewJob(documentID: document, question: "late?",
                                             modelDir: "m", mode: "focus")).jobID
        var state = JobState.queued
        for _ in 0..<1000 where state != .done {
            Thread.sleep(forTimeInterval: 0.01)
            state = try submitter.show(jobID: id).job.state
        }
        #expect(state == .done)
        stop.request()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        let report = try #require(box.get()).get()
        #expect(report.completed == 1 && report.stopReason == .stopRequested)
    }

    @Test func signalsSetTheStopFlag() throws {
        let stop = StopFlag()
        stop.stopOnSignals([SIGUSR2])
        #expect(!stop.isRequested)
        kill(getpid(), SIGUSR2)
        for _ in 0..<500 where !stop.isRequested { Thread.sleep(forTimeInterval: 0.01) }
        #expect(stop.isRequested)
    }
}

/// Carries a worker's result out of its thread.
final class ReportBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<WorkerReport, Error>?

    func set(_ value: Result<WorkerReport, Error>) {
        lock.lock()
        result = value
        lock.unlock()
    }

    func get() -> Result<WorkerReport, Error>? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}
