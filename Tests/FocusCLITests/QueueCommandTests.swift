import FocusQueue
import Foundation
import Testing
import FocusSQLite

/// The queue commands end to end: submit, run --drain, results, show, status, metrics, cancel
/// and retry, through the built `focus` binary on a temporary database.
@Suite("Queue commands")
struct QueueCommandTests {
    // MARK: - A new database

    @Test("submit and run --drain on a database that does not exist yet create it with its schema")
    func freshDatabase() throws {
        let space = try Workspace(createSchema: false)
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        #expect(!FileManager.default.fileExists(atPath: space.db))
        let submit = try space.run(
            ["submit"] + space.dbArguments + ["--model", model, "--document", document, "--question", "Where?"])
        #expect(submit.status == 0, "\(submit)")
        #expect(submit.lines == ["1"], "\(submit)")
        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        let database = try Database(path: space.db)
        #expect(try database.userVersion() == Migrations.latestVersion)
        #expect(try database.fetchOne("SELECT count(*) AS n FROM results")?.int("n") == 1)
    }

    // MARK: - One job through the pipeline

    @Test("submit, run --drain, then results, show, status, metrics and the SQL views agree")
    func oneJobEndToEnd() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("docs/river.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Where did the market move?", model: model)
        #expect(id >= 1)
        #expect(try space.status()["queued"] == 1)

        let run = try space.drain()
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.isEmpty, "run --drain prints nothing on success: \(run)")

        let counts = try space.status()
        #expect(counts["done"] == 1)
        #expect(counts["queued"] == 0)
        #expect(counts.keys.sorted() == ["cancelled", "dead", "done", "failed", "queued", "running"])

        let results = try space.run(["results"] + space.dbArguments + ["--format", "json"])
        #expect(results.status == 0, "\(results)")
        let rows = try results.lines.map { try jsonObject(Data($0.utf8)) }
        try #require(rows.count == 1, "\(results)")
        #expect(rows[0]["id"] as? Int == Int(id))
        #expect(rows[0]["state"] as? String == "done")
        #expect(rows[0]["question"] as? String == "Where did the market move?")
        #expect(rows[0]["answer"] is String, "results carry the answer: \(results)")
        #expect(rows[0]["mode"] as? String == "stored", "block-causal models default to stored mode")

        let shown = try space.show(id)
        #expect(shown["id"] as? Int == Int(id))
        #expect(shown["state"] as? String == "done")
        #expect(shown["document"] as? String == URL(fileURLWithPath: document).standardizedFileURL.path)
        #expect(shown["answer"] as? String == rows[0]["answer"] as? String)
        #expect(shown["attempt"] as? Int == 1)
        #expect((shown["nfe"] as? Int ?? 0) > 0, "metrics are shown: \(shown)")

        let metrics = try space.run(["metrics"] + space.dbArguments)
        #expect(metrics.status == 0, "\(metrics)")
        try #require(metrics.lines.count == 2, "a header and one mode: \(metrics)")
        #expect(metrics.lines[0].hasPrefix("mode\tjobs\t"))
        let cells = metrics.lines[1].split(separator: "\t").map(String.init)
        #expect(cells.first == "stored")
        #expect(cells.dropFirst().first == "1")

        let database = try Database(path: space.db)
        let summary = try database.fetchAll("SELECT job_id, state, question, answer, nfe, attempt FROM job_summary")
        try #require(summary.count == 1)
        #expect(summary[0].int64("job_id") == id)
        #expect(summary[0].string("state") == "done")
        #expect(summary[0].string("answer") == rows[0]["answer"] as? String)
        #expect((summary[0].int("nfe") ?? 0) > 0)
        let depth = try database.fetchAll("SELECT state, jobs FROM queue_depth")
        #expect(depth.count == 6)
        #expect(depth.first { $0.string("state") == "done" }?.int("jobs") == 1)
        #expect(try database.fetchAll("SELECT * FROM throughput_by_day_mode").count == 1)
    }

    @Test("results in csv and table formats list the answered job")
    func resultFormats() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "How long was the bridge closed?", model: model)
        #expect(try space.drain().status == 0)
        let csv = try space.run(["results"] + space.dbArguments + ["--format", "csv"])
        #expect(csv.status == 0)
        #expect(csv.lines.count == 2, "\(csv)")
        #expect(csv.lines.first?.hasPrefix("id,state,mode,question,answer") == true)
        #expect(csv.lines.last?.hasPrefix("\"\(id)\",\"done\",\"stored\",\"How long was the bridge closed?\"") == true, "\(csv)")
        let table = try space.run(["results"] + space.dbArguments)
        #expect(table.status == 0)
        #expect(table.lines.count == 2, "\(table)")
        #expect(table.lines.last?.hasPrefix("\(id) ") == true, "\(table)")
        let future = try space.run(["results"] + space.dbArguments + ["--format", "json", "--since", "4102444800"])
        #expect(future.status == 0)
        #expect(future.stdout.isEmpty, "--since after the job's end lists nothing: \(future)")
        let badSince = try space.run(["results"] + space.dbArguments + ["--since", "yesterday"])
        #expect(badSince.status == 64, "\(badSince)")
        #expect(badSince.stderr.contains("--since"))
    }

    @Test("a successful run --drain prints nothing at all (cron mails any output)")
    func quietDrain() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        _ = try space.submit(document: document, question: "Where did the market move?", model: model)
        let run = try space.drain()
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty && run.stderr.isEmpty, "\(run)")
        let verbose = try space.drain(extra: ["--verbose"])
        #expect(verbose.stderr.contains("focus run: 0 done"), "--verbose reports: \(verbose)")
    }

    // MARK: - Idempotency

    @Test("submitting twice with the same --key returns the same job id")
    func idempotencyKey() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let first = try space.submit(document: document, question: "What rose every spring?", model: model,
                                     extra: ["--key", "river-1"])
        let second = try space.submit(document: document, question: "What rose every spring?", model: model,
                                      extra: ["--key", "river-1"])
        #expect(first == second)
        let other = try space.submit(document: document, question: "What rose every spring?", model: model,
                                     extra: ["--key", "river-2"])
        #expect(other != first)
        #expect(try space.status()["queued"] == 2)
        let database = try Database(path: space.db)
        #expect(try database.fetchOne("SELECT count(*) AS n FROM documents")?.int("n") == 1,
                "one document row for one content")
    }

    // MARK: - Order and limits

    @Test("run --max-jobs 1 answers the highest priority first and leaves the rest queued")
    func priorityAndMaxJobs() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let low = try space.submit(document: document, question: "Low?", model: model)
        let high = try space.submit(document: document, question: "High?", model: model, extra: ["--priority", "9"])
        let run = try space.run(["run", "--max-jobs", "1"] + space.dbArguments + ["--store", space.store])
        #expect(run.status == 0, "\(run)")
        #expect(try space.show(high)["state"] as? String == "done")
        #expect(try space.show(low)["state"] as? String == "queued")
    }

    // MARK: - Documents shared by content

    @Test("two files with the same content: each job still runs after the other file is removed")
    func sameContentAtTwoPaths() throws {
        let space = try Workspace()
        let model = try space.model()
        let first = try space.write("a/report.txt", Workspace.document)
        let second = try space.write("b/report-copy.txt", Workspace.document)
        _ = try space.submit(document: first, question: "Where did the market move?", model: model)
        let id = try space.submit(document: second, question: "Where did the market move?", model: model)
        try FileManager.default.removeItem(atPath: first)
        #expect(try space.drain().status == 0)
        let job = try space.show(id)
        #expect(job["state"] as? String == "done", "job \(id) was submitted with \(second), which still exists: \(job)")
    }

    // MARK: - Cancel and retry

    @Test("cancel a queued job, retry it, drain; retry of a done job and unknown ids are refused")
    func cancelAndRetry() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Who carried the ledgers?", model: model)

        let cancel = try space.run(["cancel"] + space.dbArguments + ["\(id)"])
        #expect(cancel.status == 0, "\(cancel)")
        #expect(cancel.stdout == "cancelled \(id)\n")
        #expect(try space.status()["cancelled"] == 1)
        let again = try space.run(["cancel"] + space.dbArguments + ["\(id)"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("already"), "\(again)")

        let idle = try space.drain()
        #expect(idle.status == 0)
        #expect(try space.status()["cancelled"] == 1, "a cancelled job is not run")

        let retry = try space.run(["retry"] + space.dbArguments + ["\(id)"])
        #expect(retry.status == 0, "\(retry)")
        #expect(retry.stdout == "queued \(id)\n")
        #expect(try space.status()["queued"] == 1)
        #expect(try space.drain().status == 0)
        #expect(try space.show(id)["state"] as? String == "done")

        let retryDone = try space.run(["retry"] + space.dbArguments + ["\(id)"])
        #expect(retryDone.status == 65, "\(retryDone)")
        #expect(retryDone.stderr.contains("job \(id) is done"), "\(retryDone)")
        let cancelDone = try space.run(["cancel"] + space.dbArguments + ["\(id)"])
        #expect(cancelDone.status == 65, "\(cancelDone)")

        for command in ["show", "cancel", "retry"] {
            let missing = try space.run([command] + space.dbArguments + ["999"])
            #expect(missing.status == 65, "\(missing)")
            #expect(missing.stderr.contains("no job with id 999"), "\(missing)")
        }
    }

    // MARK: - Usage errors

    @Test("a model's focus_dense_layers is the jobs' default; --dense-layers overrides it; one past its layers exits 65 naming the key")
    func modelDeclaresDenseLayers() throws {
        let space = try Workspace()
        let document = try space.write("doc.txt", Workspace.document)
        let declaring = try space.model("declaring", focusDenseLayers: 1)
        let plain = try space.model("plain")
        let fromModel = try space.submit(document: document, question: "Where?", model: declaring)
        let fromFlag = try space.submit(document: document, question: "Where?", model: declaring, extra: ["--dense-layers", "2"])
        let fromLibrary = try space.submit(document: document, question: "Where?", model: plain)
        let database = try Database(path: space.db)
        func denseLayers(_ id: Int64) throws -> Int? {
            try database.fetchOne(
                "SELECT json_extract(mode_params, '$.decoding.focus.denseLayers') AS n FROM jobs WHERE id = \(id)")?.int("n")
        }
        #expect(try denseLayers(fromModel) == 1)
        #expect(try denseLayers(fromFlag) == 2)
        #expect(try denseLayers(fromLibrary) == 2, "a model without the key takes the decoder's default")

        let tooDeep = try space.model("too-deep", focusDenseLayers: 3)
        let refused = try space.run(
            ["submit"] + space.dbArguments + ["--model", tooDeep, "--document", document, "--question", "Where?"])
        #expect(refused.status == 65, "\(refused)")
        #expect(refused.stderr.contains("config.json") && refused.stderr.contains("focus_dense_layers"), "\(refused)")
        #expect(try space.status()["queued"] == 3, "the refused submission stored nothing")
    }

    @Test("usage errors exit 64")
    func usageErrors() throws {
        let space = try Workspace()
        let runWithoutLimit = try space.run(["run"] + space.dbArguments)
        #expect(runWithoutLimit.status == 64, "\(runWithoutLimit)")
        #expect(runWithoutLimit.stderr.contains("--drain"))
        let shortLease = try space.run(["run", "--drain", "--lease-seconds", "1"] + space.dbArguments)
        #expect(shortLease.status == 64, "\(shortLease)")
        let neither = try space.run(["submit"] + space.dbArguments)
        #expect(neither.status == 64, "\(neither)")
        let both = try space.run(["submit", "--batch", "b.jsonl", "--question", "q"] + space.dbArguments)
        #expect(both.status == 64, "\(both)")
        let unknown = try space.run(["frobnicate"])
        #expect(unknown.status == 64, "\(unknown)")
    }
}
