import Foundation

/// A worker process as the `workers` table records it.
public struct WorkerRecord: Sendable, Equatable {
    /// The worker id: the lease owner of the jobs it claims.
    public let id: String
    /// The process it runs in.
    public let identity: ProcessIdentity
    /// Registration time, Unix seconds.
    public let startedAt: Double
    /// Last heartbeat, Unix seconds.
    public let heartbeat: Double
    /// The store it keeps documents in (`StoreIdentity.id`), if any.
    public var storeID: String? = nil
    /// Its lease length: without a heartbeat for this long, it counts as gone.
    public var leaseSeconds: Double = 300
}

/// What taking back the jobs of dead workers did.
public struct DeadWorkerRecovery: Sendable, Equatable {
    /// Ids of the dead workers whose rows were removed.
    public var workersRemoved: [String] = []
    /// Jobs put back in the queue.
    public var jobsRequeued = 0
    /// Jobs that were on their last attempt, now `dead`.
    public var jobsDead = 0

    /// Jobs taken back, requeued or dead.
    public var jobsTaken: Int { jobsRequeued + jobsDead }

    /// What a recovery did.
    public init(workersRemoved: [String] = [], jobsRequeued: Int = 0, jobsDead: Int = 0) {
        self.workersRemoved = workersRemoved
        self.jobsRequeued = jobsRequeued
        self.jobsDead = jobsDead
    }
}

/// A running job whose lease owner is no registered worker: nobody will finish it, and it stays
/// `running` until its lease expires.
public struct StrandedJob: Sendable, Equatable {
    /// The job id.
    public let jobID: Int64
    /// The owner named by its lease.
    public let leaseOwner: String
    /// When the lease expires, Unix seconds.
    public let leaseExpiresAt: Double
}

// MARK: - Workers

extension JobQueue {
    /// Records a worker process (replacing a row with the same id), its store and lease length.
    public func registerWorker(id: String, identity: ProcessIdentity, storeID: String?, leaseSeconds: Double) throws {
        let now = clock()
        try database.write {
            try database.execute("""
                INSERT OR REPLACE INTO workers (id, pid, host, started_at, heartbeat, boot_id, start_ticks,
                                                store_id, lease_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [id, identity.pid, identity.host, now, now, identity.bootID, identity.startTicks,
                      storeID, leaseSeconds])
        }
    }

    /// Updates a worker's heartbeat time.
    public func workerHeartbeat(id: String) throws {
        try database.write {
            try database.execute("UPDATE workers SET heartbeat = ? WHERE id = ?", [clock(), id])
        }
    }

    /// Removes a worker's row when it exits. A job it still holds (it stopped on an error in the
    /// middle of one) goes back to the queue as a failed attempt, as if the worker had died.
    public func unregisterWorker(id: String) throws {
        try database.write {
            try requeueJobs(ofOwner: id, reason: DeadWorkerRecovery.stopReason(workerID: id), now: clock())
            try database.execute("DELETE FROM workers WHERE id = ?", [id])
        }
    }

    /// Every registered worker.
    public func workers() throws -> [WorkerRecord] {
        try database.fetchAll("SELECT * FROM workers ORDER BY started_at, id").map { try QueueRowMapping.worker(from: $0) }
    }

    // MARK: - Crash recovery

    /// Takes back at once the jobs of workers of this host whose process no longer runs (killed,
    /// crashed, or its pid now names another process), without waiting for their leases, and
    /// removes those workers' rows. A job taken back counts as a failed attempt, as an expired
    /// lease does: on its last attempt it becomes `dead`, so a job that kills its worker every
    /// time cannot loop for ever.
    ///
    /// - Parameter liveness: tells whether a recorded process runs; the default asks the system.
    @discardableResult
    public func recoverFromDeadWorkers(
        liveness: (ProcessIdentity) -> ProcessIdentity.Liveness = { $0.liveness() }
    ) throws -> DeadWorkerRecovery {
        // Asking the system costs a read of /proc per worker; the write lock is taken only when
        // a worker is found dead, so idle workers polling here never write.
        let dead = try workers().filter { liveness($0.identity) == .dead }
        guard !dead.isEmpty else { return DeadWorkerRecovery() }
        return try database.write {
            let now = clock()
            let registered = Set(try workers().map(\.id))
            return try DeadWorkerRecovery.collect(dead) { worker in
                guard registered.contains(worker.id) else { return nil }
                let taken = try requeueJobs(ofOwner: worker.id, reason: DeadWorkerRecovery.reason(for: worker), now: now)
                try database.execute("DELETE FROM workers WHERE id = ?", [worker.id])
                if let store = worker.storeID {
                    try database.execute(AffinityClaimSQL.dropOrphanedHoldings(placeholder: "?"), [store])
                }
                return taken
            }
        }
    }

    // MARK: - Document affinity

    /// Records the documents a store gained and lost.
    public func recordHoldings(storeID: String, stored: Set<Int64>, evicted: Set<Int64>) throws {
        guard !stored.isEmpty || !evicted.isEmpty else { return }
        try database.write {
            let now = clock()
            for document in evicted.sorted() {
                try database.execute("DELETE FROM worker_documents WHERE store_id = ? AND document_id = ?",
                                     [storeID, document])
            }
            for document in stored.subtracting(evicted).sorted() {
                try database.execute("""
                    INSERT INTO worker_documents (store_id, document_id, recorded_at)
                    SELECT ?1, id, ?3 FROM documents WHERE id = ?2
                    ON CONFLICT (store_id, document_id) DO UPDATE SET recorded_at = excluded.recorded_at
                    """, [storeID, document, now])
            }
        }
    }

    /// Every recorded holding, by store and document.
    public func holdings() throws -> [DocumentHolding] {
        try database.fetchAll("SELECT store_id, document_id FROM worker_documents ORDER BY store_id, document_id")
            .map { try QueueRowMapping.holding(from: $0) }
    }

    /// Running jobs whose lease owner is no registered worker, oldest lease first.
    public func strandedJobs() throws -> [StrandedJob] {
        try database.fetchAll("""
            SELECT id, lease_owner, lease_expires_at FROM jobs
            WHERE state = 'running' AND lease_owner NOT IN (SELECT id FROM workers)
            ORDER BY lease_expires_at, id
            """).map { try QueueRowMapping.strandedJob(from: $0) }
    }

    /// Puts the running jobs of `owner` back in the queue (or `dead` on their last attempt), with
    /// `reason` followed by the attempt number as their last error.
    /// - Returns: the jobs requeued and the jobs now dead.
    @discardableResult
    private func requeueJobs(ofOwner owner: String, reason: String, now: Double) throws -> (requeued: Int, dead: Int) {
        let rows = try database.fetchAll("""
            UPDATE jobs SET
                state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempt >= max_attempts THEN ?1 ELSE NULL END,
                last_error = ?3 || attempt,
                lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?1
            WHERE state = 'running' AND lease_owner = ?2
            RETURNING state
            """, [now, owner, reason])
        let dead = rows.filter { $0.string("state") == JobState.dead.rawValue }.count
        return (rows.count - dead, dead)
    }
}
