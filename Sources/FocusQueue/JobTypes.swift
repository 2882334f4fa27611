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

    public init(sha256: String, path: String, byteSize: Int, tokenCount: Int? = nil) {
        self.sha256 = sha256
        self.path = path
        self.byteSize = byteSize
        self.tokenCount = tokenCount
    }
}

/// A question to answer about a registered document.
public struct NewJob: Sendable, Equatable {
    public var documentID: Int64
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
    public let jobID: Int64
    /// False when the idempotency key matched an existing job, whose id is returned.
    public let isNew: Bool
}

// MARK: - Claimed jobs

/// A job leased to one worker. `leaseOwner` and `attempt` are the fence: `complete`,
/// `fail` and `extendLease` succeed only while both still match the database.
public struct ClaimedJob: Sendable, Equatable {
    public let id: Int64
    public let documentID: Int64
    public let documentPath: String
    public let documentSHA256: String
    public let question: String
    public let modelDir: String
    public let mode: String
    public let modeParams: String
    public let priority: Int
    /// 1 for the first run, counting every claim.
    public let attempt: Int
    public let maxAttempts: Int
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
    public var queueWaitSeconds: Double?
    public var prefillSeconds: Double?
    /// The document's KV blocks came from the store instead of a fresh prefill.
    public var storeHit: Bool?
    public var kvLoadSeconds: Double?
    public var kvLoadBytes: Int?
    public var decodeSeconds: Double?
    public var answerTokens: Int?
    public var tokensPerSecond: Double?
    /// Number of function (forward pass) evaluations.
    public var nfe: Int?
    public var steps: Int?
    public var blocksSelected: Int?
    public var blocksTotal: Int?
    /// Fraction of attention scores computed (1 for dense attention).
    public var attentionDensity: Double?
    public var peakRSSBytes: Int?
    public var model: String?
    public var mode: String?
    /// JSON object text.
    public var modeParams: String?

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
    public var answer: String
    public var answerTokenIDs: [Int]
    public var metrics: JobMetrics

    public init(answer: String, answerTokenIDs: [Int], metrics: JobMetrics) {
        self.answer = answer
        self.answerTokenIDs = answerTokenIDs
        self.metrics = metrics
    }
}

// MARK: - Reading back

/// A job row as stored.
public struct JobRecord: Sendable, Equatable {
    public let id: Int64
    public let documentID: Int64
    public let documentPath: String
    public let question: String
    public let modelDir: String
    public let mode: String
    public let modeParams: String
    public let priority: Int
    public let state: JobState
    public let attempt: Int
    public let maxAttempts: Int
    public let idempotencyKey: String?
    public let leaseOwner: String?
    public let leaseExpiresAt: Double?
    public let nextAttemptAt: Double
    public let lastError: String?
    public let createdAt: Double
    public let startedAt: Double?
    public let finishedAt: Double?
}

/// A stored answer.
public struct JobResult: Sendable, Equatable {
    public let jobID: Int64
    public let answer: String
    public let answerTokenIDs: [Int]
    /// Unix seconds.
    public let createdAt: Double
}

/// Everything known about one job.
public struct JobDetails: Sendable, Equatable {
    public let job: JobRecord
    public let result: JobResult?
    public let metrics: JobMetrics?
}

/// Aggregates over the done jobs of one decoding mode.
public struct ModeSummary: Sendable, Equatable {
    public let mode: String
    public let jobs: Int
    public let answerTokens: Int
    public let meanPrefillSeconds: Double?
    public let meanDecodeSeconds: Double?
    public let meanTokensPerSecond: Double?
    public let meanAttentionDensity: Double?
    public let storeHits: Int
}
