import Foundation
import Testing
@testable import FocusQueue
@testable import FocusQueuePostgres

// MARK: - Backends

/// The queue implementations a parameterised suite runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// The PostgreSQL server of the test process (`TemporaryPostgresServer.shared`).
enum TestPostgres {
    static var server: Result<TemporaryPostgresServer, Error> { TemporaryPostgresServer.shared }

    /// A new empty database on the shared server.
    static func database() throws -> PostgresLocation {
        try server.get().createDatabase()
    }
}

// MARK: - Fixture

/// A queue of either backend on a fresh database, with a manual clock and fixed jitter.
struct BackendFixture {
    let backend: Backend
    let clock: ManualClock
    let queue: any QueueBackend
    private let directory: TemporaryDirectory?
    private let location: PostgresLocation?
    private let retryPolicy: RetryPolicy

    init(_ backend: Backend, retryPolicy: RetryPolicy = RetryPolicy(baseDelay: 10, maxDelay: 900, jitter: 0.25)) throws {
        self.backend = backend
        self.retryPolicy = retryPolicy
        let clock = ManualClock()
        self.clock = clock
        switch backend {
        case .sqlite:
            let directory = try TemporaryDirectory()
            self.directory = directory
            location = nil
            queue = try JobQueue(path: directory.path("focus.sqlite"), retryPolicy: retryPolicy,
                                 clock: { clock.now }, random: { 0.5 })
        case .postgres:
            let location = try TestPostgres.database()
            self.location = location
            directory = nil
            queue = try PostgresJobQueue(location: location, retryPolicy: retryPolicy,
                                         clock: { clock.now }, random: { 0.5 })
        }
    }

    /// Another connection to the same database, sharing the clock.
    func openQueue() throws -> any QueueBackend {
        let clock = self.clock
        if let location {
            return try PostgresJobQueue(location: location, retryPolicy: retryPolicy,
                                        clock: { clock.now }, random: { 0.5 })
        }
        return try JobQueue(path: directory?.path("focus.sqlite") ?? "", retryPolicy: retryPolicy,
                            clock: { clock.now }, random: { 0.5 })
    }

    /// Removes the database.
    func remove() {
        directory?.remove()
        if let location, case .success(let server) = TestPostgres.server { server.dropDatabase(location) }
    }

    @discardableResult
    func addDocument(_ index: Int = 1) throws -> Int64 { try queue.addTestDocument(index) }

    @discardableResult
    func addJobs(_ count: Int, documentID: Int64, prefix: String = "question", maxAttempts: Int = 3) throws -> [Int64] {
        try queue.addTestJobs(count, documentID: documentID, prefix: prefix, maxAttempts: maxAttempts)
    }
}

extension QueueBackend {
    /// Registers test document number `index` (a made-up SHA-256 ending in the number).
    @discardableResult
    func addTestDocument(_ index: Int = 1) throws -> Int64 {
        try registerDocument(NewDocument(
            sha256: String(repeating: "0", count: 56) + String(format: "%08x", index),
            path: "docs/doc\(index).txt", byteSize: 1000 * index))
    }

    /// Submits `count` focus-mode jobs about a document in one batch.
    @discardableResult
    func addTestJobs(_ count: Int, documentID: Int64, prefix: String = "question", maxAttempts: Int = 3) throws -> [Int64] {
        try submit(batch: (0..<count).map {
            NewJob(documentID: documentID, question: "\(prefix) \($0)?", modelDir: "models/small",
                   mode: "focus", modeParams: #"{"tau":0.9}"#, maxAttempts: maxAttempts)
        }).map(\.jobID)
    }

    /// The raw state of a job.
    func state(of jobID: Int64) throws -> JobState { try show(jobID: jobID).job.state }
}
