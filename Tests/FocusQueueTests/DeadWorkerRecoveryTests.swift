import Foundation
import Testing
@testable import FocusQueue

/// Jobs of crashed workers are taken back at once, without waiting for their leases, on every backend.
@Suite struct DeadWorkerRecoveryTests {
    /// An identity on this host naming a process that cannot be this one: this pid with a start
    /// time one tick off, as after the pid was reused by another process.
    static func reusedPid() -> ProcessIdentity {
        var identity = ProcessIdentity.current()
        identity.startTicks = (identity.startTicks ?? 0) + 1
        return identity
    }

    /// Registers `owner` as a worker with `identity` and lets it claim one job of `fixture`.
    static func claimAs(_ owner: String, identity: ProcessIdentity, in fixture: BackendFixture) throws -> ClaimedJob {
        try fixture.queue.registerWorker(id: owner, identity: identity)
        return try #require(try fixture.queue.claim(workerID: owner, leaseSeconds: 600))
    }

    @Test("this process is alive; the same pid with another start time is a dead worker")
    func pidReuseIsDetected() throws {
        let current = ProcessIdentity.current()
        #expect(current.startTicks != nil, "Linux records the start time in /proc/self/stat")
        #expect(current.liveness() == .alive)
        #expect(Self.reusedPid().liveness() == .dead)
        var otherBoot = current
        otherBoot.bootID = "00000000-0000-0000-0000-000000000000"
        #expect(otherBoot.liveness() == .dead, "a process of an earlier boot is gone")
        var elsewhere = current
        elsewhere.host = current.host + "-elsewhere"
        #expect(elsewhere.liveness() == .elsewhere)
    }

    @Test("a dead worker's job is queued again at once, its attempt counted, its row removed",
          arguments: Backend.allCases)
    func deadWorkersJobIsRequeued(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let job = try Self.claimAs("crashed", identity: Self.reusedPid(), in: fixture)

        let recovery = try fixture.queue.recoverFromDeadWorkers()
        #expect(recovery == DeadWorkerRecovery(workersRemoved: ["crashed"], jobsRequeued: 1, jobsDead: 0))
        let record = try fixture.queue.show(jobID: job.id).job
        #expect(record.state == .queued && record.attempt == 1 && record.leaseOwner == nil)
        #expect(record.lastError?.contains("worker crashed (pid \(ProcessIdentity.current().pid)") == true,
                "\(String(describing: record.lastError))")
        #expect(try fixture.queue.workers().isEmpty)
        let again = try #require(try fixture.queue.claim(workerID: "next", leaseSeconds: 600))
        #expect(again.id == job.id && again.attempt == 2, "claimable with no time passed")
    }

    @Test("a dead worker's job on its last attempt becomes dead",
          arguments: Backend.allCases)
    func lastAttemptBecomesDead(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument(), maxAttempts: 1)
        let job = try Self.claimAs("crashed", identity: Self.reusedPid(), in: fixture)
        let recovery = try fixture.queue.recoverFromDeadWorkers()
        #expect(recovery.jobsDead == 1 && recovery.jobsRequeued == 0)
        #expect(try state(fixture.queue, job.id) == .dead)
    }

    @Test("live workers and workers of other hosts keep their jobs and rows",
          arguments: Backend.allCases)
    func liveAndRemoteWorkersAreLeftAlone(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(2, documentID: try fixture.addDocument())
        var remote = Self.reusedPid()
        remote.host += "-elsewhere"
        let live = try Self.claimAs("live", identity: .current(), in: fixture)
        let far = try Self.claimAs("remote", identity: remote, in: fixture)
        #expect(try fixture.queue.recoverFromDeadWorkers() == DeadWorkerRecovery())
        #expect(try state(fixture.queue, live.id) == .running)
        #expect(try state(fixture.queue, far.id) == .running)
        #expect(try fixture.queue.workers().map(\.id).sorted() == ["live", "remote"])
        #expect(try fixture.queue.strandedJobs().isEmpty)
    }

    @Test("a running job whose owner has no worker row is reported stranded",
          arguments: Backend.allCases)
    func strandedJobsAreListed(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let job = try #require(try fixture.queue.claim(workerID: "unregistered", leaseSeconds: 600))
        let stranded = try fixture.queue.strandedJobs()
        #expect(stranded == [StrandedJob(jobID: job.id, leaseOwner: "unregistered", leaseExpiresAt: job.leaseExpiresAt)])
    }

    @Test("a draining worker takes back a dead worker's job and answers it without waiting",
          arguments: Backend.allCases)
    func drainFinishesDeadWorkersJob(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(3, documentID: try fixture.addDocument())
        let job = try Self.claimAs("crashed", identity: Self.reusedPid(), in: fixture)
        let worker = Worker(queue: fixture.queue, processor: ScriptedProcessor(), workerID: "w",
                            options: WorkerOptions(leaseSeconds: 600, drain: true))
        let report = try worker.run()
        #expect(report.completed == 3 && report.recovered == 1 && report.stranded.isEmpty)
        #expect(try state(fixture.queue, job.id) == .done)
        #expect(try fixture.queue.workers().isEmpty, "no row left for the dead worker or the drain")
    }

    @Test("a worker that stops on an error gives its job back when it unregisters",
          arguments: Backend.allCases)
    func unregisterReleasesHeldJob(_ backend: Backend) throws {
        let fixture = try BackendFixture(backend)
        defer { fixture.remove() }
        try fixture.addJobs(1, documentID: try fixture.addDocument())
        let job = try Self.claimAs("w", identity: .current(), in: fixture)
        try fixture.queue.unregisterWorker(id: "w")
        let record = try fixture.queue.show(jobID: job.id).job
        #expect(record.state == .queued && record.attempt == 1)
        #expect(record.lastError == "worker w stopped during attempt 1")
        #expect(try fixture.queue.strandedJobs().isEmpty)
    }
}
