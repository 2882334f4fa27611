import Foundation
import Testing
@testable import FocusQueue

/// The lifecycle of a job, run against every queue backend (SQLite and PostgreSQL).
@Suite struct JobLifecycleTests {
    @Test(arguments: Backend.allCases) func submitClaimCompleteRoundTrip(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let queue = fixture.queue
        let document = try fixture.addDocument()
        let submission = try queue.submit(NewJob(
            documentID: document, question: "Who wrote it?", modelDir: "models/small",
            mode: "focus", modeParams: #"{"tau":0.9}"#, priority: 2))
        #expect(submission.isNew)
        fixture.clock.advance(by: 3)

        let job = try #require(try queue.claim(workerID: "w1", leaseSeconds: 60))
        #expect(job.id == submission.jobID)
        #expect(job.question == "Who wrote it?")
        #expect(job.documentPath == "docs/doc1.txt")
        #expect(job.attempt == 1)
        #expect(job.leaseOwner == "w1")
        #expect(job.leaseExpiresAt == fixture.clock.now + 60)
        #expect(try queue.claim(workerID: "w2", leaseSeconds: 60) == nil)
        #expect(try state(queue, job.id) == .running)

        #expect(try queue.complete(jobID: job.id, owner: "w1", attempt: 1,
                                   outcome: outcome("Ada", tokens: [11, 12])))
        let details = try queue.show(jobID: job.id)
        #expect(details.job.state == .done)
        #expect(details.result?.answer == "Ada")
        #expect(details.result?.answerTokenIDs == [11, 12])
        #expect(details.metrics?.queueWaitSeconds == 3)
        #expect(details.metrics?.mode == "focus")
        #expect(details.metrics?.model == "models/small")
        #expect(details.metrics?.modeParams == #"{"tau":0.9}"#)
        #expect(details.metrics?.nfe == 12)
        #expect(try queue.results(since: 0).map(\.job.id) == [job.id])
        #expect(try queue.results(since: fixture.clock.now + 1).isEmpty)
        let summary = try queue.metricsSummary()
        #expect(summary.count == 1 && summary.first?.jobs == 1 && summary.first?.answerTokens == 2)
        #expect(try queue.statusCounts()[.done] == 1)
    }

    @Test(arguments: Backend.allCases) func claimOrderFollowsPriorityThenAge(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let document = try fixture.addDocument()
        let low = try fixture.queue.submit(NewJob(documentID: document, question: "low",
                                                  modelDir: "m", mode: "focus")).jobID
        fixture.clock.advance(by: 1)
        let high = try fixture.queue.submit(NewJob(documentID: document, question: "high",
                                                   modelDir: "m", mode: "focus", priority: 5)).jobID
        let order = try (0..<2).compactMap { _ in
            try fixture.queue.claim(workerID: "w", leaseSeconds: 60)?.id
        }
        #expect(order == [high, low])
    }

    @Test(arguments: Backend.allCases) func idempotencyKeyReturnsTheExistingJob(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let document = try fixture.addDocument()
        let job = NewJob(documentID: document, question: "q?", modelDir: "m", mode: "focus",
                         idempotencyKey: "cron-2027-01-15-q1")
        let first = try fixture.queue.submit(job)
        let second = try fixture.queue.submit(job)
        #expect(first.isNew && !second.isNew)
        #expect(first.jobID == second.jobID)
        let batch = try fixture.queue.submit(batch: [job, job])
        #expect(batch.map(\.jobID) == [first.jobID, first.jobID])
        #expect(try fixture.queue.statusCounts()[.queued] == 1)
        #expect(try fixture.queue.registerDocument(NewDocument(
            sha256: String(repeating: "0", count: 63) + "1", path: "other", byteSize: 1)) == document)
    }

    @Test(arguments: Backend.allCases) func fencedCompletionRejectsStaleOwnerOrAttempt(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let job = try #require(try fixture.queue.claim(workerID: "w1", leaseSeconds: 60))
        #expect(try !fixture.queue.complete(jobID: job.id, owner: "w2", attempt: 1, outcome: outcome("x")))
        #expect(try !fixture.queue.complete(jobID: job.id, owner: "w1", attempt: 2, outcome: outcome("x")))
        #expect(try fixture.queue.fail(jobID: job.id, owner: "w2", attempt: 1, error: "e") == .fenced)
        #expect(try !fixture.queue.extendLease(jobID: job.id, owner: "w2", attempt: 1, leaseSeconds: 60))
        let details = try fixture.queue.show(jobID: job.id)
        #expect(details.job.state == .running && details.result == nil && details.metrics == nil)
        #expect(try fixture.queue.complete(jobID: job.id, owner: "w1", attempt: 1, outcome: outcome("x")))
    }

    @Test(arguments: Backend.allCases) func expiredLeaseIsReclaimedAndTheLateCompletionRejected(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let other = try fixture.openQueue()
        let first = try #require(try fixture.queue.claim(workerID: "w1", leaseSeconds: 30))
        fixture.clock.advance(by: 20)
        #expect(try fixture.queue.extendLease(jobID: first.id, owner: "w1", attempt: 1, leaseSeconds: 30))
        fixture.clock.advance(by: 29)
        #expect(try other.claim(workerID: "w2", leaseSeconds: 30) == nil)
        fixture.clock.advance(by: 2)
        let second = try #require(try other.claim(workerID: "w2", leaseSeconds: 30))
        #expect(second.id == first.id && second.attempt == 2)
        #expect(try !fixture.queue.complete(jobID: first.id, owner: "w1", attempt: 1, outcome: outcome("late")))
        #expect(try other.complete(jobID: second.id, owner: "w2", attempt: 2, outcome: outcome("on time")))
        #expect(try fixture.queue.show(jobID: first.id).result?.answer == "on time")
    }

    @Test(arguments: Backend.allCases) func transientFailuresBackOffThenDie(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let id = try #require(try fixture.addJobs(1, documentID: try fixture.addDocument(),
                                                  maxAttempts: 3).first)
        var delays: [Double] = []
        for attempt in 1...3 {
            let job = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
            #expect(job.attempt == attempt)
            let disposition = try fixture.queue.fail(jobID: id, owner: "w", attempt: attempt,
                                                     error: "out of memory \(attempt)")
            if case .retryScheduled(let next) = disposition {
                delays.append(next - fixture.clock.now)
                #expect(try fixture.queue.claim(workerID: "w", leaseSeconds: 60) == nil)
                fixture.clock.advance(by: next - fixture.clock.now)
            } else {
                #expect(disposition == .dead)
                #expect(attempt == 3)
            }
        }
        #expect(delays == [10, 20])
        let job = try fixture.queue.show(jobID: id).job
        #expect(job.state == .dead)
        #expect(job.lastError == "out of memory 3")
        #expect(try fixture.queue.claim(workerID: "w", leaseSeconds: 60) == nil)
    }

    @Test func backoffDelayGrowsCapsAndJitters() {
        let policy = RetryPolicy(baseDelay: 10, maxDelay: 100, jitter: 0.5)
        #expect(policy.delay(afterAttempt: 1, unit: 0.5) == 10)
        #expect(policy.delay(afterAttempt: 3, unit: 0.5) == 40)
        #expect(policy.delay(afterAttempt: 9, unit: 0.5) == 100)
        #expect(policy.delay(afterAttempt: 2, unit: 0) == 10)
        #expect(policy.delay(afterAttempt: 2, unit: 0.999) > 29.9)
    }

    @Test(arguments: Backend.allCases) func permanentFailureGoesStraightToFailed(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument(), maxAttempts: 5)
        let job = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(try fixture.queue.fail(jobID: job.id, owner: "w", attempt: 1,
                                       error: "document is empty", kind: .permanent) == .failed)
        let record = try fixture.queue.show(jobID: job.id).job
        #expect(record.state == .failed && record.lastError == "document is empty")
    }

    @Test(arguments: Backend.allCases) func expiredLeaseOnLastAttemptIsDead(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument(), maxAttempts: 1)
        let job = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 10))
        fixture.clock.advance(by: 11)
        #expect(try fixture.queue.requeueExpired() == 1)
        let record = try fixture.queue.show(jobID: job.id).job
        #expect(record.state == .dead)
        #expect(record.lastError?.contains("lease of w expired") == true)
    }

    @Test(arguments: Backend.allCases) func cancelAndRetry(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let ids = try fixture.addJobs(2, documentID: try fixture.addDocument())
        let running = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(running.id == ids[0])
        #expect(try fixture.queue.cancel(jobID: ids[1]))
        #expect(try fixture.queue.cancel(jobID: running.id))
        #expect(try !fixture.queue.cancel(jobID: running.id))
        #expect(try !fixture.queue.complete(jobID: running.id, owner: "w", attempt: 1, outcome: outcome("x")))
        #expect(try !fixture.queue.extendLease(jobID: running.id, owner: "w", attempt: 1, leaseSeconds: 60))
        #expect(try fixture.queue.claim(workerID: "w", leaseSeconds: 60) == nil)
        #expect(try fixture.queue.statusCounts()[.cancelled] == 2)

        try fixture.queue.retry(jobID: running.id)
        let again = try #require(try fixture.queue.claim(workerID: "w2", leaseSeconds: 60))
        #expect(again.id == running.id && again.attempt == 1)
        #expect(try fixture.queue.complete(jobID: again.id, owner: "w2", attempt: 1, outcome: outcome("y")))
        #expect(throws: QueueError.invalidState(id: again.id, state: .done, action: "retry")) {
            try fixture.queue.retry(jobID: again.id)
        }
        #expect(throws: QueueError.invalidState(id: again.id, state: .done, action: "cancel")) {
            try fixture.queue.cancel(jobID: again.id)
        }
        #expect(throws: QueueError.jobNotFound(id: 999)) { try fixture.queue.cancel(jobID: 999) }
    }

    @Test(arguments: Backend.allCases) func batchSubmitIsAllOrNothing(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let document = try fixture.addDocument()
        let good = NewJob(documentID: document, question: "q?", modelDir: "m", mode: "focus")
        var missingDocument = good
        missingDocument.documentID = 42
        var badJSON = good
        badJSON.modeParams = "{tau: 0.9"
        var emptyQuestion = good
        emptyQuestion.question = "  "
        #expect(throws: QueueError.documentNotFound(id: 42)) {
            try fixture.queue.submit(batch: [good, good, missingDocument])
        }
        #expect(throws: QueueError.invalidField(field: "mode_params", reason: "not valid JSON: {tau: 0.9")) {
            try fixture.queue.submit(batch: [good, badJSON])
        }
        #expect(throws: QueueError.invalidField(field: "question", reason: "empty")) {
            try fixture.queue.submit(batch: [good, emptyQuestion])
        }
        #expect(try fixture.queue.statusCounts().values.reduce(0, +) == 0)
        #expect(try fixture.queue.submit(batch: [good, good]).count == 2)
    }

    @Test(arguments: Backend.allCases) func claimsGroupJobsByDocument(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        let first = try fixture.addDocument(1)
        let second = try fixture.addDocument(2)
        let a = try fixture.addJobs(2, documentID: first, prefix: "a")
        let b = try fixture.addJobs(3, documentID: second, prefix: "b")
        let preferred = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60,
                                                             preferDocument: second))
        #expect(preferred.id == b[0])
        let batch = try fixture.queue.claimBatch(workerID: "w", documentID: second, limit: 5,
                                                 leaseSeconds: 60)
        #expect(batch.map(\.id) == [b[1], b[2]])
        #expect(batch.allSatisfy { $0.documentSHA256.hasSuffix("00000002") })
        let fallback = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60,
                                                            preferDocument: second))
        #expect(fallback.id == a[0])
    }
}
