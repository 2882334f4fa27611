import FocusSQLite
import Foundation

/// A result row of any queue database, read by column name. SQLite's `Row` and the
/// PostgreSQL backend's rows conform, so both queues build their records in one place.
/// The `required` readers throw `RowDecodingError` naming a missing column or a NULL.
public protocol QueueRow {
    /// The named column as an integer; nil for NULL.
    func int64(_ column: String) -> Int64?
    /// The named column as an `Int`; nil for NULL.
    func int(_ column: String) -> Int?
    /// The named column as a double; nil for NULL.
    func double(_ column: String) -> Double?
    /// The named column as text; nil for NULL.
    func string(_ column: String) -> String?
    /// The named column as a boolean; nil for NULL.
    func bool(_ column: String) -> Bool?
    /// The named column as an integer, which must hold one.
    func requiredInt64(_ column: String) throws -> Int64
    /// The named column as an `Int`, which must hold one.
    func requiredInt(_ column: String) throws -> Int
    /// The named column as a double, which must hold one.
    func requiredDouble(_ column: String) throws -> Double
    /// The named column as text, which must hold some.
    func requiredString(_ column: String) throws -> String
}

extension Row: QueueRow {}

/// Records, results, metrics and claimed jobs built from rows of the queue tables, whatever
/// the database (the column names are the same in every schema).
public enum QueueRowMapping {
    /// The columns a claim returns, in the claim statements of every backend.
    public static let claimedColumns = """
        id, document_id, question, model_dir, mode, mode_params, priority,
        attempt, max_attempts, lease_owner, lease_expires_at, created_at, started_at
        """

    /// A claimed job's document with its text; `?` (SQLite) or `$1` (PostgreSQL) is the id.
    public static func documentSelect(parameter: String) -> String {
        """
        SELECT d.path, d.sha256, t.text FROM documents d
        LEFT JOIN document_texts t ON t.document_id = d.id WHERE d.id = \(parameter)
        """
    }

    /// A job row joined with its document's path as `document_path`.
    public static let jobSelect = """
        SELECT j.*, d.path AS document_path FROM jobs j JOIN documents d ON d.id = j.document_id
        """

    /// Jobs per state from rows of the `queue_depth` view; every state is present, zero included.
    public static func statusCounts(_ rows: [some QueueRow]) throws -> [JobState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: JobState.allCases.map { ($0, 0) })
        for row in rows {
            if let state = row.string("state").flatMap(JobState.init(rawValue:)) {
                counts[state] = try row.requiredInt("jobs")
            }
        }
        return counts
    }

    /// A `jobs` row (with `document_path`).
    public static func record(from row: some QueueRow) throws -> JobRecord {
        guard let state = JobState(rawValue: try row.requiredString("state")) else {
            throw RowDecodingError.missingValue(column: "state", type: "job state")
        }
        return JobRecord(
            id: try row.requiredInt64("id"), documentID: try row.requiredInt64("document_id"),
            documentPath: try row.requiredString("document_path"), question: try row.requiredString("question"),
            modelDir: try row.requiredString("model_dir"), mode: try row.requiredString("mode"),
            modeParams: try row.requiredString("mode_params"), priority: try row.requiredInt("priority"),
            state: state, attempt: try row.requiredInt("attempt"), maxAttempts: try row.requiredInt("max_attempts"),
            idempotencyKey: row.string("idempotency_key"), leaseOwner: row.string("lease_owner"),
            leaseExpiresAt: row.double("lease_expires_at"),
            nextAttemptAt: try row.requiredDouble("next_attempt_at"), lastError: row.string("last_error"),
            createdAt: try row.requiredDouble("created_at"), startedAt: row.double("started_at"),
            finishedAt: row.double("finished_at"))
    }

    /// A `results` row.
    public static func result(from row: some QueueRow) throws -> JobResult {
        JobResult(jobID: try row.requiredInt64("job_id"), answer: try row.requiredString("answer"),
                  answerTokenIDs: parseIntArray(try row.requiredString("answer_token_ids")),
                  createdAt: try row.requiredDouble("created_at"))
    }

    /// A `job_metrics` row.
    public static func metrics(from row: some QueueRow) throws -> JobMetrics {
        JobMetrics(
            queueWaitSeconds: row.double("queue_wait_s"), prefillSeconds: row.double("prefill_s"),
            storeHit: row.bool("store_hit"), kvLoadSeconds: row.double("kv_load_s"),
            kvLoadBytes: row.int("kv_load_bytes"), decodeSeconds: row.double("decode_s"),
            answerTokens: row.int("answer_tokens"), tokensPerSecond: row.double("tokens_per_s"),
            nfe: row.int("nfe"), steps: row.int("steps"), blocksSelected: row.int("blocks_selected"),
            blocksTotal: row.int("blocks_total"), attentionDensity: row.double("attention_density"),
            peakRSSBytes: row.int("peak_rss_bytes"), model: try row.requiredString("model"),
            mode: try row.requiredString("mode"), modeParams: try row.requiredString("mode_params"))
    }

    /// A row of the metrics summary query (columns `mode`, `jobs`, `answer_tokens`, ...).
    public static func modeSummary(from row: some QueueRow) throws -> ModeSummary {
        ModeSummary(mode: try row.requiredString("mode"), jobs: try row.requiredInt("jobs"),
                    answerTokens: try row.requiredInt("answer_tokens"),
                    meanPrefillSeconds: row.double("prefill_s"),
                    meanDecodeSeconds: row.double("decode_s"),
                    meanTokensPerSecond: row.double("tokens_per_s"),
                    meanAttentionDensity: row.double("attention_density"),
                    storeHits: try row.requiredInt("store_hits"))
    }

    /// A worker row.
    public static func worker(from row: some QueueRow) throws -> WorkerRecord {
        WorkerRecord(
            id: try row.requiredString("id"),
            identity: ProcessIdentity(
                host: try row.requiredString("host"), pid: Int32(truncatingIfNeeded: try row.requiredInt64("pid")),
                bootID: row.string("boot_id"), startTicks: row.int64("start_ticks")),
            startedAt: try row.requiredDouble("started_at"), heartbeat: try row.requiredDouble("heartbeat"),
            storeID: row.string("store_id"), leaseSeconds: row.double("lease_seconds") ?? 300)
    }

    /// A `worker_documents` row (`store_id`, `document_id`).
    public static func holding(from row: some QueueRow) throws -> DocumentHolding {
        DocumentHolding(storeID: try row.requiredString("store_id"), documentID: try row.requiredInt64("document_id"))
    }

    /// A stranded running job (`id`, `lease_owner`, `lease_expires_at`).
    public static func strandedJob(from row: some QueueRow) throws -> StrandedJob {
        StrandedJob(jobID: try row.requiredInt64("id"), leaseOwner: try row.requiredString("lease_owner"),
                    leaseExpiresAt: try row.requiredDouble("lease_expires_at"))
    }

    /// A claimed job from a row with `claimedColumns` and its document's path, hash and text.
    public static func claimedJob(from row: some QueueRow, documentPath: String, documentSHA256: String,
                                  documentText: String?) throws -> ClaimedJob {
        ClaimedJob(
            id: try row.requiredInt64("id"), documentID: try row.requiredInt64("document_id"),
            documentPath: documentPath, documentSHA256: documentSHA256, documentText: documentText,
            question: try row.requiredString("question"), modelDir: try row.requiredString("model_dir"),
            mode: try row.requiredString("mode"), modeParams: try row.requiredString("mode_params"),
            priority: try row.requiredInt("priority"), attempt: try row.requiredInt("attempt"),
            maxAttempts: try row.requiredInt("max_attempts"),
            leaseOwner: try row.requiredString("lease_owner"),
            leaseExpiresAt: try row.requiredDouble("lease_expires_at"),
            createdAt: try row.requiredDouble("created_at"), startedAt: try row.requiredDouble("started_at"))
    }

    /// The path, SHA-256 and text of a claimed job's document, from the row of
    /// `documentSelect`; nil row: the document is gone.
    /// - Throws: `QueueError.documentNotFound`, `RowDecodingError`.
    public static func document(_ row: (some QueueRow)?, id: Int64) throws
        -> (path: String, sha: String, text: String?) {
        guard let row else { throw QueueError.documentNotFound(id: id) }
        return (try row.requiredString("path"), try row.requiredString("sha256"), row.string("text"))
    }

    /// Jobs claimed together, in claim order (priority first, then submission order).
    public static func inClaimOrder(_ jobs: [ClaimedJob]) -> [ClaimedJob] {
        jobs.sorted { ($0.priority, -$0.id) > ($1.priority, -$1.id) }
    }

    /// `[1,2,3]`: token ids as a JSON array.
    public static func jsonArray(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }

    /// The integers of a JSON array of integers.
    public static func parseIntArray(_ json: String) -> [Int] {
        json.split(whereSeparator: { "[], \n".contains($0) }).compactMap { Int($0) }
    }
}
