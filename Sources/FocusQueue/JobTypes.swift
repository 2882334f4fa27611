// MARK: - States

/// The life of a job: `queued → running → done`, with retries back to `queued`,
/// `dead` once attempts are exhausted, `failed` for permanent errors (bad input)
/// and `cancelled` on request.
public enum JobState: String, CaseIterable, Sendable, Codable {
    case queued, running, done, failed, dead, cancelled
}

/// Whether a failure is worth retrying.
public enum FailureKind: Sendable, Equatable {
    /// Retried with exponential backoff until `max_attempts`, then `dead`.
    case transient
    /// Bad input that no retry can fix: the job goes straight to `failed`.
    case permanent
}

// MARK: - Submission

/// A document registered with the queue, identified by the SHA-256 of its content.
public struct NewDocument: Sendable, Equatable {
    /// Lowercase hex SHA-256 of the document bytes (64 characters).
    public var sha256: String
    /// Where the document was read from (path or name), for people reading results.
    public var path: String
    /// Size in bytes.
    public var byteSize: Int
    /// Token count, when already known.
    public var tokenCount: Int?
    /// The document's text, kept in the database so that workers never read `path`.
    public var text: String?

    /// A document to register.
    public init(sha256: String, path: String, byteSize: Int, tokenCount: Int? = nil, text: String? = nil) {
        self.sha256 = sha256
        self.path = path
        self.byteSize = byteSize
        self.tokenCount = tokenCount
        self.text = text
    }
}

/// A question to answer about a registered document.
public struct NewJob: Sendable, Equatable {
    /// The document the question is about (`documents.id`).
    public var documentID: Int64
    /// The question text.
    public var question: String
    /// Directory of the model that answers.
    public var modelDir: String
    /// Decoding mode name (e.g. `vanilla`, `cached`, `focus`).
    public var mode: String
    /// Mode parameters as a JSON object text.
    public var modeParams: String
    /// Higher runs first.
    public var priority: Int
    /// Attempts before the job is `dead` (at least 1).
    public var maxAttempts: Int
    /// A submission with a key already in the queue returns the existing job instead.
    public var idempotencyKey: String?

    /// A job to submit; `modeParams` must be JSON, `maxAttempts` at least 1.
    public init(documentID: Int64, question: String, modelDir: String, mode: String,
                modeParams: String = "{}", priority: Int = 0, maxAttempts: Int = 3,
                idempotencyKey: String? = nil) {
        self.documentID = documentID
        self.question = question
        self.modelDir = modelDir
        self.mode = mode
        self.modeParams = modeParams
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
    }
}

/// The answer to a submission: the job id, and whether this call created it.
public struct Submission: Sendable, Equatable {
    /// The job this belongs to.
    public let jobID: Int64
    /// False when the idempotency key matched an existing job, whose id is returned.
    public let isNew: Bool

    /// The answer to a submission.
    public init(jobID: Int64, isNew: Bool) {
        self.jobID = jobID
        self.isNew = isNew
    }
}

// MARK: - Claimed jobs

/// A job leased to one worker. `leaseOwner` and `attempt` are the fence: `complete`,
/// `fail` and `extendLease` succeed only while both still match the database.
public struct ClaimedJob: Sendable, Equatable {
    /// The job id.
    public let id: Int64
    /// The document the question is about (`documents.id`).
    public let documentID: Int64
    /// The document's path or name as registered.
    public let documentPath: String
    /// Lowercase hex SHA-256 of the document content.
    public let documentSHA256: String
    /// The document's text as stored at submission; nil for a document registered before texts
    /// were stored (schema version 3) and never submitted since.
    public let documentText: String?
    /// The question text.
    public let question: String
    /// Directory of the model that answers.
    public let modelDir: String
    /// Decoding mode name.
    public let mode: String
    /// Mode parameters, JSON object text.
    public let modeParams: String
    /// Higher runs first.
    public let priority: Int
    /// 1 for the first run, counting every claim.
    public let attempt: Int
    /// Attempts before the job is `dead`.
    public let maxAttempts: Int
    /// The worker holding (or that last held) the job.
    public let leaseOwner: String
    /// Unix seconds.
    public let leaseExpiresAt: Double
    /// Unix seconds.
    public let createdAt: Double
    /// Unix seconds, the time of this claim.
    public let startedAt: Double
}

// MARK: - Outcomes and metrics

/// Measurements of one answered job; fields that do not apply to a mode stay nil.
/// `model`, `mode` and `modeParams` default to the job's own when nil, and
/// `queueWaitSeconds` to the time between submission and the final claim.
public struct JobMetrics: Sendable, Equatable {
    /// Seconds between submission and the final claim.
    public var queueWaitSeconds: Double?
    /// Seconds to prefill the document (or load it from the store).
    public var prefillSeconds: Double?
    /// The document's KV blocks came from the store instead of a fresh prefill.
    public var storeHit: Bool?
    /// Seconds to load KV blocks from the store.
    public var kvLoadSeconds: Double?
    /// Bytes of KV blocks read from the store.
    public var kvLoadBytes: Int?
    /// Seconds of diffusion decoding.
    public var decodeSeconds: Double?
    /// Answer tokens over all jobs.
    public var answerTokens: Int?
    /// Answer tokens per decoding second.
    public var tokensPerSecond: Double?
    /// Number of function (forward pass) evaluations.
    public var nfe: Int?
    /// Decoding steps.
    public var steps: Int?
    /// KV blocks attended to (sparse modes).
    public var blocksSelected: Int?
    /// KV blocks of the document.
    public var blocksTotal: Int?
    /// Fraction of attention scores computed (1 for dense attention).
    public var attentionDensity: Double?
    /// Peak resident memory of the process.
    public var peakRSSBytes: Int?
    /// Model that answered (defaults to the job's model directory).
    public var model: String?
    /// Decoding mode name.
    public var mode: String?
    /// JSON object text.
    public var modeParams: String?

    /// Metrics with the given fields; the others stay nil.
    public init(queueWaitSeconds: Double? = nil, prefillSeconds: Double? = nil,
                storeHit: Bool? = nil, kvLoadSeconds: Double? = nil, kvLoadBytes: Int? = nil,
                decodeSeconds: Double? = nil, answerTokens: Int? = nil,
                tokensPerSecond: Double? = nil, nfe: Int? = nil, steps: Int? = nil,
                blocksSelected: Int? = nil, blocksTotal: Int? = nil,
                attentionDensity: Double? = nil, peakRSSBytes: Int? = nil,
                model: String? = nil, mode: String? = nil, modeParams: String? = nil) {
        self.queueWaitSeconds = queueWaitSeconds
        self.prefillSeconds = prefillSeconds
        self.storeHit = storeHit
        self.kvLoadSeconds = kvLoadSeconds
        self.kvLoadBytes = kvLoadBytes
        self.decodeSeconds = decodeSeconds
        self.answerTokens = answerTokens
        self.tokensPerSecond = tokensPerSecond
        self.nfe = nfe
        self.steps = steps
        self.blocksSelected = blocksSelected
        self.blocksTotal = blocksTotal
        self.attentionDensity = attentionDensity
        self.peakRSSBytes = peakRSSBytes
        self.model = model
        self.mode = mode
        self.modeParams = modeParams
    }
}

/// What a processor produced for one job.
public struct JobOutcome: Sendable, Equatable {
    /// The answer text.
    public var answer: String
    /// Token ids of the answer.
    public var answerTokenIDs: [Int]
    /// The measurements, once done.
    public var metrics: JobMetrics

    /// An outcome.
    public init(answer: String, answerTokenIDs: [Int], metrics: JobMetrics) {
        self.answer = answer
        self.answerTokenIDs = answerTokenIDs
        self.metrics = metrics
    }
}

// MARK: - Reading back

/// A job row as stored.
public struct JobRecord: Sendable, Equatable {
    /// The job id.
    public let id: Int64
    /// The document the question is about (`documents.id`).
    public let documentID: Int64
    /// The document's path or name as registered.
    public let documentPath: String
    /// The question text.
    public let question: String
    /// Directory of the model that answers.
    public let modelDir: String
    /// Decoding mode name.
    public let mode: String
    /// Mode parameters, JSON object text.
    public let modeParams: String
    /// Higher runs first.
    public let priority: Int
    /// Where the job is in its life.
    public let state: JobState
    /// Claims so far (reset to 0 by `retry`).
    public let attempt: Int
    /// Attempts before the job is `dead`.
    public let maxAttempts: Int
    /// The submission's idempotency key, if any.
    public let idempotencyKey: String?
    /// The worker holding (or that last held) the job.
    public let leaseOwner: String?
    /// Lease end in Unix seconds while running, else nil.
    public let leaseExpiresAt: Double?
    /// Earliest claim time in Unix seconds (later after a failure: backoff).
    public let nextAttemptAt: Double
    /// The error of the last failed attempt.
    public let lastError: String?
    /// Submission time, Unix seconds.
    public let createdAt: Double
    /// Time of the latest claim, Unix seconds.
    public let startedAt: Double?
    /// Time the job reached done, failed, dead or cancelled, Unix seconds.
    public let finishedAt: Double?
}

/// A stored answer.
public struct JobResult: Sendable, Equatable {
    /// The job this belongs to.
    public let jobID: Int64
    /// The answer text.
    public let answer: String
    /// Token ids of the answer.
    public let answerTokenIDs: [Int]
    /// Unix seconds.
    public let createdAt: Double

    /// A stored answer.
    public init(jobID: Int64, answer: String, answerTokenIDs: [Int], createdAt: Double) {
        self.jobID = jobID
        self.answer = answer
        self.answerTokenIDs = answerTokenIDs
        self.createdAt = createdAt
    }
}

/// Everything known about one job.
public struct JobDetails: Sendable, Equatable {
    /// The job row.
    public let job: JobRecord
    /// The answer, once done.
    public let result: JobResult?
    /// The measurements, once done.
    public let metrics: JobMetrics?

    /// A job with its answer and metrics.
    public init(job: JobRecord, result: JobResult?, metrics: JobMetrics?) {
        self.job = job
        self.result = result
        self.metrics = metrics
    }
}

/// Aggregates over the done jobs of one decoding mode.
public struct ModeSummary: Sendable, Equatable {
    /// Decoding mode name.
    public let mode: String
    /// Number of done jobs.
    public let jobs: Int
    /// Answer tokens over all jobs.
    public let answerTokens: Int
    /// Mean prefill time.
    public let meanPrefillSeconds: Double?
    /// Mean decoding time.
    public let meanDecodeSeconds: Double?
    /// Mean decoding speed.
    public let meanTokensPerSecond: Double?
    /// Mean fraction of attention computed.
    public let meanAttentionDensity: Double?
    /// Jobs whose document KV came from the store.
    public let storeHits: Int
}
