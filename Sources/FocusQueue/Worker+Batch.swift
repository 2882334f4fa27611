import Foundation
import Logging

extension Worker {
    /// Answers jobs of one document together; each job is then completed, released or failed on
    /// its own. The heartbeat extends every job's lease; a job whose lease was lost meanwhile
    /// (cancelled, taken over) is left to the fence when its result is recorded, so one lost
    /// lease does not stop the others.
    func runBatch(_ jobs: [ClaimedJob], report: inout WorkerReport) throws {
        var lastExtension = queue.clock()
        var lost = Set<Int64>()
        let heartbeat: () throws -> Void = { [self] in
            if options.stopBehavior == .releaseCurrent, stopFlag.isRequested {
                throw WorkerInterruption.stopRequested
            }
            let now = queue.clock()
            guard now - lastExtension >= options.leaseSeconds / 3 else { return }
            for job in jobs where !lost.contains(job.id) {
                if try !queue.extendLease(jobID: job.id, owner: workerID, attempt: job.attempt, leaseSeconds: options.leaseSeconds) {
                    lost.insert(job.id)
                }
            }
            try queue.workerHeartbeat(id: workerID)
            lastExtension = now
        }
        let results = processor.process(batch: jobs, heartbeat: heartbeat)
        precondition(results.count == jobs.count, "one result per job of the batch")
        for (job, result) in zip(jobs, results) {
            try settle(job, result, report: &report)
        }
    }
}
