import Foundation
@testable import FocusQueue

// MARK: - Temporary databases

/// A directory under the system temporary directory, removed on `remove()`.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("focus-queue-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A clock that moves only when told to.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Double

    init(_ start: Double = 1_800_000_000) { current = start }

    var now: Double {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(by seconds: Double) {
        lock.lock()
        current += seconds
        lock.unlock()
    }
}

// MARK: - Fixtures

/// A queue on a fresh temporary database with a manual clock and fixed jitter.
struct QueueFixture {
    let directory: TemporaryDirectory
    let clock: ManualClock
    let queue: JobQueue
    var path: String { directory.path("focus.sqlite") }

    init(retryPolicy: RetryPolicy = RetryPolicy(baseDelay: 10, maxDelay: 900, jitter: 0.25)) throws {
        directory = try TemporaryDirectory()
        let clock = ManualClock()
        self.clock = clock
        queue = try JobQueue(path: directory.path("focus.sqlite"), retryPolicy: retryPolicy,
                             clock: { clock.now }, random: { 0.5 })
    }

    /// Another connection to the same file, sharing the clock.
    func openQueue() throws -> JobQueue {
        let clock = self.clock
        return try JobQueue(path: path, retryPolicy: queue.retryPolicy,
                            clock: { clock.now }, random: { 0.5 })
    }

    @discardableResult
    func addDocument(_ index: Int = 1) throws -> Int64 { try queue.addTestDocument(index) }

    @discardableResult
    func addJobs(_ count: Int, documentID: Int64, prefix: String = "question",
                 maxAttempts: Int = 3) throws -> [Int64] {
        try queue.addTestJobs(count, documentID: documentID, prefix: prefix, maxAttempts: maxAttempts)
    }
}

func outcome(_ answer: String, tokens: [Int] = [5, 6, 7]) -> JobOutcome {
    JobOutcome(answer: answer, answerTokenIDs: tokens,
               metrics: JobMetrics(prefillSeconds: 1.5, storeHit: false, decodeSeconds: 2.0,
                                   answerTokens: tokens.count, tokensPerSecond: 1.5, nfe: 12,
                                   steps: 12, blocksSelected: 4, blocksTotal: 16,
                                   attentionDensity: 0.25, peakRSSBytes: 1 << 30))
}

/// The raw state of a job.
func state(_ queue: any QueueBackend, _ jobID: Int64) throws -> JobState {
    try queue.state(of: jobID)
}
