/// The settings a job carries, as the queue keeps them.
///
/// The queue does not know what settings mean. It stores their canonical encoding in
/// `jobs.mode_params` and their mode's name in `jobs.mode` (for reports and the `sqlite3` views),
/// and claims jobs together (`claimBatch(like:)`) only when their encodings are equal. A
/// conforming type makes that comparison one of values: its encoding is canonical, so equal
/// settings give equal text and different settings different text.
public protocol QueuedSettings: Sendable, Equatable {
    /// The decoding mode's name, recorded in `jobs.mode`.
    var modeName: String { get }
    /// The canonical encoding: a JSON object text, the same for equal settings.
    var canonicalJSON: String { get }
    /// Settings decoded from their canonical encoding, and checked.
    init(canonicalJSON: String) throws
}

extension NewJob {
    /// A job answering `question` with `settings`, whose mode and encoding fill `mode` and
    /// `modeParams`.
    public init<Settings: QueuedSettings>(
        documentID: Int64, question: String, modelDir: String, settings: Settings,
        priority: Int = 0, maxAttempts: Int = 3, idempotencyKey: String? = nil
    ) {
        self.init(
            documentID: documentID, question: question, modelDir: modelDir, mode: settings.modeName,
            modeParams: settings.canonicalJSON, priority: priority, maxAttempts: maxAttempts,
            idempotencyKey: idempotencyKey)
    }
}

extension ClaimedJob {
    /// The job's settings, decoded from `modeParams`.
    public func settings<Settings: QueuedSettings>(as type: Settings.Type = Settings.self) throws -> Settings {
        try Settings(canonicalJSON: modeParams)
    }
}
