import FocusSQLite
import Foundation
import Testing
@testable import FocusQueue

/// `jobs.mode` is derived from the settings a job carries: set from `$.decoding.mode` on insert
/// and kept equal to it; settings without a decoding mode keep the submitted one.
@Suite("Job mode from settings")
struct JobModeTests {
    /// Settings that carry a decoding mode, as focus writes them.
    struct Settings: QueuedSettings {
        var mode: String
        var modeName: String { mode }
        var canonicalJSON: String { #"{"decoding":{"mode":"\#(mode)"}}"# }
        init(mode: String) { self.mode = mode }
        init(canonicalJSON: String) throws {
            let object = try JSONSerialization.jsonObject(with: Data(canonicalJSON.utf8)) as? [String: [String: String]]
            mode = object?["decoding"]?["mode"] ?? ""
        }
    }

    @Test("the mode column follows the settings, on insert and on change")
    func modeFollowsSettings() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let document = try fixture.addDocument()
        var job = NewJob(documentID: document, question: "q?", modelDir: "m", settings: Settings(mode: "stored"))
        job.mode = "focus"
        let id = try fixture.queue.submit(job).jobID
        let database = try Database(path: fixture.path)
        #expect(try database.fetchOne("SELECT mode FROM jobs WHERE id = ?", [id])?.string("mode") == "stored")
        try database.execute("UPDATE jobs SET mode = 'vanilla' WHERE id = ?", [id])
        #expect(try database.fetchOne("SELECT mode FROM jobs WHERE id = ?", [id])?.string("mode") == "stored")
        try database.execute(#"UPDATE jobs SET mode_params = '{"decoding":{"mode":"cached"}}' WHERE id = ?"#, [id])
        #expect(try database.fetchOne("SELECT mode FROM jobs WHERE id = ?", [id])?.string("mode") == "cached")
        let claimed = try #require(try fixture.queue.claim(workerID: "w", leaseSeconds: 60))
        #expect(try claimed.settings(as: Settings.self).mode == claimed.mode)
    }

    @Test("settings without a decoding mode keep the submitted mode")
    func opaqueSettingsKeepTheirMode() throws {
        let fixture = try QueueFixture()
        defer { fixture.directory.remove() }
        let ids = try fixture.addJobs(1, documentID: try fixture.addDocument())
        let record = try fixture.queue.show(jobID: ids[0]).job
        #expect(record.mode == "focus")
    }
}
