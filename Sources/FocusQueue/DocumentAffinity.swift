import Foundation

/// A claim that prefers the documents the claiming worker's local store holds.
///
/// After priority, a claim takes first a job whose document this worker's store holds, then a job
/// whose document no live worker's store holds, and a job whose document another live worker's
/// store holds only once it has waited `waitSeconds` (since it became eligible), so that every job
/// waits a bounded time for a worker that already holds its document.
public struct AffinityClaim: Sendable, Equatable {
    /// The claiming worker's store (`StoreIdentity.id`).
    public var storeID: String
    /// The longest a job waits for a worker whose store holds its document, seconds (> 0).
    public var waitSeconds: Double

    /// A claim preference for the worker keeping documents in `storeID`.
    public init(storeID: String, waitSeconds: Double) {
        self.storeID = storeID
        self.waitSeconds = waitSeconds
    }
}

/// Names a worker's local document store across hosts: `host:/absolute/path`, where the host is
/// `ProcessIdentity.localHost` (`FOCUS_HOST` may set it).
public enum StoreIdentity {
    /// The identity of the store folder `path` on this host.
    public static func id(path: String, host: String = ProcessIdentity.localHost) -> String {
        host + ":" + URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// A document a store holds, as `worker_documents` records it.
public struct DocumentHolding: Sendable, Equatable, Hashable {
    /// The store (`StoreIdentity.id`).
    public let storeID: String
    /// The document.
    public let documentID: Int64

    /// A holding.
    public init(storeID: String, documentID: Int64) {
        self.storeID = storeID
        self.documentID = documentID
    }
}

/// Documents a processor's local store gained and lost since it was last asked.
public struct StoreHoldingChanges: Sendable, Equatable {
    /// Documents now held: prefilled, or found in the store.
    public var stored: Set<Int64>
    /// Documents the store no longer holds (evicted).
    public var evicted: Set<Int64>

    /// Changes.
    public init(stored: Set<Int64> = [], evicted: Set<Int64> = []) {
        self.stored = stored
        self.evicted = evicted
    }

    /// True when nothing changed.
    public var isEmpty: Bool { stored.isEmpty && evicted.isEmpty }
}

// MARK: - SQL shared by the backends

/// The claim statement with document affinity, in the dialect of one backend.
public enum AffinityClaimSQL {
    /// The statement. Parameters: 1 owner, 2 lease expiry, 3 now, 4 the claimer's store, 5 now
    /// minus the affinity wait. `placeholder` is `?` (SQLite) or `$` (PostgreSQL); `lock` follows
    /// each candidate's `LIMIT 1` (PostgreSQL locks the candidates with `SKIP LOCKED`).
    ///
    /// Three candidates, each the first of its kind in claim order (priority, then eligible since,
    /// then id), each walking an index and stopping at the first row: a job of a document this
    /// store holds (rank 0), a job of a document no other live worker's store holds (rank 1), a job
    /// eligible since the wait bound (rank 2). The best by priority, rank, age and id is claimed;
    /// a candidate found by a weaker rank than its own is never better than its own rank's.
    /// A job on a second or later attempt (its last attempt failed, or its worker died) is never
    /// a rank-0 candidate: it keeps its place by eligibility time instead of jumping ahead of this
    /// store's fresh work, so a restarted worker does not take the job it may have died on first.
    public static func statement(placeholder p: String, lock: String, returning columns: String) -> String {
        let eligible = "j.state = 'queued' AND j.next_attempt_at <= \(p)3"
        let order = "ORDER BY j.priority DESC, j.next_attempt_at, j.id LIMIT 1 \(lock)"
        return """
            UPDATE jobs SET state = 'running', lease_owner = \(p)1, lease_expires_at = \(p)2,
                            attempt = attempt + 1, started_at = \(p)3
            WHERE id = (
                SELECT id FROM (
                    SELECT * FROM (
                        SELECT j.id, j.priority, 0 AS claim_rank, j.next_attempt_at FROM jobs j
                        JOIN worker_documents h ON h.document_id = j.document_id AND h.store_id = \(p)4
                        WHERE \(eligible) AND j.attempt = 0 \(order)) held_here
                    UNION ALL
                    SELECT * FROM (
                        SELECT j.id, j.priority, 1 AS claim_rank, j.next_attempt_at FROM jobs j
                        WHERE \(eligible) AND NOT EXISTS (
                            SELECT 1 FROM worker_documents h JOIN workers w ON w.store_id = h.store_id
                            WHERE h.document_id = j.document_id AND h.store_id <> \(p)4
                              AND w.heartbeat + w.lease_seconds >= \(p)3)
                        \(order)) held_by_no_live_worker
                    UNION ALL
                    SELECT * FROM (
                        SELECT j.id, j.priority, 2 AS claim_rank, j.next_attempt_at FROM jobs j
                        WHERE j.state = 'queued' AND j.next_attempt_at <= \(p)5 \(order)) waited
                ) candidates
                ORDER BY priority DESC, claim_rank, next_attempt_at, id LIMIT 1)
            RETURNING \(columns)
            """
    }

    /// Deletes the holdings of a store no registered worker uses any more; parameter 1 the store.
    public static func dropOrphanedHoldings(placeholder p: String) -> String {
        """
        DELETE FROM worker_documents
        WHERE store_id = \(p)1 AND NOT EXISTS (SELECT 1 FROM workers WHERE store_id = \(p)1)
        """
    }
}
