import FocusQueue
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import FocusSQLite
#endif

/// Workers killed in the middle of a job: the next worker takes the job back at once; signals that
/// would strand a job stop the worker cleanly instead; the run lock names one database however
/// its path is spelled.
@Suite("Crash recovery")
struct CrashRecoveryTests {
    /// Jobs of about a second each (vanilla decoding of a 2 KB document), `count` of them.
    static func slowJobs(_ space: Workspace, count: Int) throws {
        let model = try space.model()
        let document = try space.write("doc.txt", String(repeating: Workspace.document + " ", count: 6))
        for index in 0..<count {
            _ = try space.submit(document: document, question: "Question \(index)?", model: model,
                                 extra: ["--mode", "vanilla"])
        }
    }

    /// Waits until a job is running.
    static func waitForRunningJob(_ space: Workspace) -> Bool {
        WorkerProcessTests.waitUntil(timeout: 20) {
            (try? Database(path: space.db).fetchOne("SELECT count(*) AS n FROM jobs WHERE state = 'running'")?.int("n")) == 1
        }
    }

    static func count(_ space: Workspace, _ sql: String) throws -> Int? {
        try Database(path: space.db).fetchOne(sql)?.int("n")
    }

    @Test("after kill -9 of run --drain, the next drain answers the stranded job at once and exits 0")
    func drainAfterKill() throws {
        let space = try Workspace()
        try Self.slowJobs(space, count: 2)
        let killed = try space.start(["run", "--drain"] + space.dbArguments + ["--store", space.store])
        defer { killed.stop() }
        try #require(Self.waitForRunningJob(space), "a job started: \(killed.stderr)")
        #expect(killed.signalAndWait(SIGKILL, timeout: 5) != nil)
        #expect(try Self.count(space, "SELECT count(*) AS n FROM workers") == 1, "the killed drain left its row")

        let next = try space.drain(extra: ["--lease-seconds", "600"])
        #expect(next.status == 0, "\(next)")
        #expect(next.stderr.contains("took back the jobs of dead workers"), "\(next)")
        #expect(try space.status()["done"] == 2)
        #expect(try Self.count(space, "SELECT max(attempt) AS n FROM jobs") == 2, "the killed attempt counts")
        #expect(try Self.count(space, "SELECT count(*) AS n FROM workers") == 0, "no row left for the dead worker")
        #expect(try Self.count(space, "SELECT count(*) AS n FROM results") == 2)
    }

    @Test("run --drain exits 75 naming the job while a job is held by a worker that is gone")
    func strandedJobFailsTheDrain() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Where did the market move?", model: model)
        try Database(path: space.db).execute("""
            UPDATE jobs SET state = 'running', attempt = 1, lease_owner = 'elsewhere:1:gone',
                            lease_expires_at = unixepoch() + 600, started_at = unixepoch()
            """)
        let drain = try space.drain()
        #expect(drain.status == 75, "\(drain)")
        #expect(drain.stderr.contains("job \(id), lease of elsewhere:1:gone until"), "\(drain)")
        #expect(try space.status()["running"] == 1, "the lease of an unknown owner is left to expire")
    }

    @Test("SIGHUP stops a busy daemon like SIGTERM: exit 0, the job back in the queue uncounted")
    func hangupReleasesJob() throws {
        let space = try Workspace()
        try Self.slowJobs(space, count: 1)
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store])
        defer { daemon.stop() }
        try #require(Self.waitForRunningJob(space), "a job started: \(daemon.stderr)")
        #expect(daemon.signalAndWait(SIGHUP, timeout: 10) == 0, "\(daemon.stderr)")
        let row = try #require(try Database(path: space.db).fetchOne("SELECT state, attempt FROM jobs"))
        #expect(row.string("state") == "queued" && row.int("attempt") == 0)
        #expect(try Self.count(space, "SELECT count(*) AS n FROM workers") == 0)
    }

    @Test("a database reached through a symbolic link shares the run lock of its real path")
    func runLockFollowsLinks() throws {
        let space = try Workspace()
        let link = space.path("link.sqlite")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: space.db)
        let descriptor = open(space.db + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try #require(flock(descriptor, LOCK_EX | LOCK_NB) == 0)

        let viaLink = try space.run(["run", "--drain", "--db", link, "--store", space.store])
        #expect(viaLink.status == 75, "\(viaLink)")
        #expect(viaLink.stderr.contains("\(space.db).lock: another focus instance holds the lock"), "\(viaLink)")
        let dotted = space.root.appendingPathComponent("queue/../queue/focus.sqlite").path
        let viaDots = try space.run(["run", "--drain", "--db", dotted, "--store", space.store])
        #expect(viaDots.status == 75, "\(viaDots)")
    }

    @Test("run --drain creates a missing database folder like submit and status do")
    func drainCreatesDatabaseFolder() throws {
        let space = try Workspace(createSchema: false)
        let database = space.path("new/dir/q.db")
        let drain = try space.run(["run", "--drain", "--db", database, "--store", space.store])
        #expect(drain.status == 0, "\(drain)")
        #expect(FileManager.default.fileExists(atPath: database))
        #expect(FileManager.default.fileExists(atPath: database + ".lock"))
    }
}
