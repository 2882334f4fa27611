import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// `focus run --drain --batch N`: stored-mode jobs of one document are claimed and decoded
/// together through the real engine, with the answers they get one at a time.
@Suite("Batched runs")
struct BatchRunTests {
    static let questions = [
        "Where did the market move?", "How long was the bridge closed?",
        "Where were the ledgers carried?", "What rose every spring?",
    ]

    /// Submits the questions to a fresh workspace, drains it with `extra`, returns the shown jobs
    /// and how many distinct claim times the jobs have (jobs claimed together share one).
    static func answered(_ extra: [String]) throws -> (jobs: [[String: Any]], claimTimes: Int) {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let ids = try questions.map { try space.submit(document: document, question: $0, model: model) }
        let drained = try space.drain(extra: extra)
        #expect(drained.status == 0, "\(drained)")
        #expect(try space.status()["done"] == questions.count)
        let rows = try Database(path: space.db).fetchAll("SELECT started_at FROM jobs ORDER BY id")
        return (try ids.map { try space.show($0) }, Set(rows.compactMap { $0.double("started_at") }).count)
    }

    @Test("run --drain --batch 4 answers as one at a time, with one prefill for the document")
    func batchedEqualsOneAtATime() throws {
        let together = try Self.answered(["--batch", "4"])
        let alone = try Self.answered([])
        #expect(together.jobs.map { $0["answer"] as? String } == alone.jobs.map { $0["answer"] as? String })
        #expect(together.jobs.allSatisfy { $0["state"] as? String == "done" })
        #expect(together.jobs.map { $0["store_hit"] as? Bool } == [false, true, true, true], "\(together.jobs)")
        // The first job is claimed alone, the three others with it in one claim.
        #expect(together.claimTimes == 2)
        #expect(alone.claimTimes == 4)
    }

    @Test("--batch 0 is a usage error")
    func batchMustBePositive() throws {
        let space = try Workspace()
        let result = try space.drain(extra: ["--batch", "0"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains("--batch must be positive"), "\(result)")
    }
}
