import Foundation
import Testing
@testable import FocusQueue
import FocusWorker

/// A processor that answers batches itself and records every call it receives.
final class BatchRecorder: JobProcessor {
    /// Bad input with a reason, for jobs whose question starts with "bad".
    struct Refused: PermanentJobError, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
    /// A transient failure, for jobs whose question starts with "flaky".
    struct Flaky: Error {}

    /// Whether the worker may batch a job (all jobs unless told otherwise).
    var batchable: (ClaimedJob) -> Bool = { _ in true }
    /// Runs before a batch's heartbeat (e.g. to request a stop).
    var onBatch: () -> Void = {}
    private(set) var batches: [[ClaimedJob]] = []
    private(set) var singles: [ClaimedJob] = []

    func process(_ job: ClaimedJob, heartbeat: () throws -> Void) throws -> JobOutcome {
        singles.append(job)
        try heartbeat()
        return try Self.answer(job).get()
    }

    func canBatch(_ job: ClaimedJob) -> Bool { batchable(job) }

    func process(batch jobs: [ClaimedJob], heartbeat: () throws -> Void) -> [Result<JobOutcome, Error>] {
        batches.append(jobs)
        onBatch()
        do { try heartbeat() } catch { return jobs.map { _ in .failure(error) } }
        return jobs.map(Self.answer)
    }

    static func answer(_ job: ClaimedJob) -> Result<JobOutcome, Error> {
        if job.question.hasPrefix("bad") { return .failure(Refused(reason: "refused: \(job.question)")) }
        if job.question.hasPrefix("flaky") { return .failure(Flaky()) }
        return .success(outcome("answer to \(job.question)", tokens: [job.question.count, Int(job.id)]))
    }
}

/// Workers with `batchSize` above one claim queued jobs of one document together, hand them to
/// `JobProcessor.process(batch:)`, and settle each job of the batch on its own.
@Suite struct WorkerBatchTests {
    @Test func batchesShareOneDocumentAndCoverEveryJobOnce() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let a = try fixture.addDocument(1)
        let b = try fixture.addDocument(2)
        var ids = try fixture.addJobs(3, documentID: a, prefix: "a first")
        ids += try fixture.addJobs(2, documentID: b, prefix: "b")
        ids += try fixture.addJobs(2, documentID: a, prefix: "a second")
        let processor = BatchRecorder()
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true, batchSize: 3))
        let report = try worker.run()

        #expect(report.completed == 7 && report.processed == 7)
        #expect(report.stopReason == .queueEmpty)
        #expect(processor.singles.isEmpty, "every claim found company, so no job ran alone")
        for batch in processor.batches {
            #expect(batch.count <= 3)
            #expect(Set(batch.map(\.documentID)).count == 1, "a batch mixes documents: \(batch.map(\.id))")
            #expect(batch.allSatisfy { $0.leaseOwner == "w" && $0.attempt == 1 })
        }
        // Five jobs of A make a batch of three then one of two; B's two make one batch.
        #expect(processor.batches.map(\.count) == [3, 2, 2])
        #expect(processor.batches.map { $0[0].documentID } == [a, a, b])
        let seen = processor.batches.flatMap { $0.map(\.id) }
        #expect(seen.count == 7)
        #expect(Set(seen) == Set(ids))
        for id in ids {
            let details = try fixture.queue.show(jobID: id)
            #expect(details.job.state == .done)
            let result = try #require(details.result)
            #expect(result.answer == "answer to \(details.job.question)")
            #expect(result.answerTokenIDs == [details.job.question.count, Int(id)])
            #expect(details.metrics?.nfe == 12)
        }
    }

    @Test func eachJobOfABatchIsSettledOnItsOwn() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let document = try fixture.addDocument()
        let good = try fixture.addJobs(1, documentID: document, prefix: "good one")
        let bad = try fixture.addJobs(1, documentID: document, prefix: "bad")
        let flaky = try fixture.addJobs(1, documentID: document, prefix: "flaky")
        let more = try fixture.addJobs(1, documentID: document, prefix: "good two")
        let processor = BatchRecorder()
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true, batchSize: 4))
        let report = try worker.run()

        #expect(processor.batches.map { $0.map(\.id) } == [good + bad + flaky + more])
        #expect(report.completed == 2 && report.failed == 1 && report.retried == 1)
        for id in good + more {
            let details = try fixture.queue.show(jobID: id)
            #expect(details.job.state == .done)
            #expect(details.result?.answer == "answer to \(details.job.question)")
        }
        let failed = try fixture.queue.show(jobID: bad[0])
        #expect(failed.job.state == .failed)
        #expect(failed.job.lastError == "refused: bad 0?")
        #expect(failed.result == nil)
        let retried = try fixture.queue.show(jobID: flaky[0]).job
        #expect(retried.state == .queued && retried.attempt == 1)
        #expect(retried.nextAttemptAt > fixture.clock.now, "a transient failure waits out a backoff")
        #expect(retried.lastError?.contains("Flaky") == true)
    }

    @Test func stopRequestReleasesEveryJobOfTheBatch() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let ids = try fixture.addJobs(3, documentID: try fixture.addDocument())
        let stop = StopFlag()
        let processor = BatchRecorder()
        processor.onBatch = { stop.request() }
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(drain: true, batchSize: 3), stopFlag: stop)
        let report = try worker.run()

        #expect(processor.batches.map { $0.map(\.id) } == [ids])
        #expect(report.stopReason == .stopRequested)
        #expect(report.released == 3 && report.completed == 0)
        for id in ids {
            let record = try fixture.queue.show(jobID: id).job
            #expect(record.state == .queued && record.attempt == 0 && record.leaseOwner == nil)
        }
    }

    @Test func batchSizeOneHandsOverOneJobAtATime() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let a = try fixture.addDocument(1)
        let b = try fixture.addDocument(2)
        try fixture.addJobs(4, documentID: a)
        try fixture.addJobs(3, documentID: b)
        let processor = BatchRecorder()
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true))
        #expect(worker.options.batchSize == 1)
        let report = try worker.run()

        #expect(report.completed == 7)
        #expect(processor.batches.isEmpty, "batch sizes \(processor.batches.map(\.count)) with batchSize 1")
        #expect(processor.singles.count == 7)
        #expect(try fixture.queue.statusCounts()[.done] == 7)
    }

    @Test func onlyBatchableJobsWithTheSameSettingsAreClaimedTogether() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let a = try fixture.addDocument(1)
        try fixture.addJobs(2, documentID: a, prefix: "solo")
        let other = try fixture.queue.submit(batch: (0..<2).map {
            NewJob(documentID: a, question: "other \($0)?", modelDir: "models/small", mode: "focus",
                   modeParams: #"{"tau":0.5}"#)
        }).map(\.jobID)
        try fixture.addJobs(2, documentID: a, prefix: "same")
        let processor = BatchRecorder()
        processor.batchable = { !$0.question.hasPrefix("other") }
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true, batchSize: 8))
        let report = try worker.run()

        #expect(report.completed == 6)
        // The first job gathers the four with its settings; the two others run alone.
        #expect(processor.batches.map(\.count) == [4])
        #expect(processor.batches.first?.allSatisfy { $0.modeParams == #"{"tau":0.9}"# } == true)
        #expect(processor.singles.map(\.id) == other)
    }

    @Test func maxJobsLimitsTheBatch() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let ids = try fixture.addJobs(5, documentID: try fixture.addDocument())
        let processor = BatchRecorder()
        let worker = Worker(queue: fixture.queue, processor: processor, workerID: "w",
                            options: WorkerOptions(leaseSeconds: 60, drain: true, maxJobs: 2, batchSize: 4))
        let report = try worker.run()

        #expect(report.completed == 2 && report.processed == 2)
        #expect(report.stopReason == .maxJobs)
        let handed = processor.batches.flatMap { $0 } + processor.singles
        #expect(handed.map(\.id) == Array(ids[..<2]))
        let counts = try fixture.queue.statusCounts()
        #expect(counts[.done] == 2 && counts[.queued] == 3 && counts[.running] == 0)
        for id in ids[2...] {
            #expect(try fixture.queue.show(jobID: id).job.attempt == 0, "job \(id) was claimed")
        }
    }
}
