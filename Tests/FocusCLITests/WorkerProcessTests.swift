import FocusQueue
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import FocusSQLite
#endif

/// Worker processes: the run lock, the idle daemon, and signals.
@Suite("Worker processes")
struct WorkerProcessTests {
    /// CPU ticks (user + system) of process `pid`, from /proc/PID/stat.
    static func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which is in parentheses and may hold spaces).
        let afterName = try #require(stat.range(of: ")", options: .backwards)).upperBound
        let fields = stat[afterName...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        let utime = try #require(Int(fields[11]))
        let stime = try #require(Int(fields[12]))
        return utime + stime
    }

    /// Waits until `condition` holds or `timeout` seconds pass; returns whether it held.
    static func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    // MARK: - Run lock

    @Test("run --drain exits 75 naming the lock while another process holds <db>.lock")
    func runLockHeld() throws {
        let space = try Workspace()
        let model = try space.model()
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Where did the market move?", model: model)

        let descriptor = open(space.db + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try #require(flock(descriptor, LOCK_EX | LOCK_NB) == 0)

        let blocked = try space.drain()
        #expect(blocked.status == 75, "\(blocked)")
        #expect(blocked.stderr.contains("\(space.db).lock: another focus instance holds the lock"), "\(blocked)")
        #expect(try space.status()["queued"] == 1, "the blocked run took no job")

        flock(descriptor, LOCK_UN)
        let free = try space.drain()
        #expect(free.status == 0, "\(free)")
        #expect(try space.show(id)["state"] as? String == "done")
    }

    @Test("a second run --drain exits 75 while a first one runs")
    func runLockBetweenDrains() throws {
        let space = try Workspace()
        let model = try space.model()
        // Enough work that the first drain is still running when the second starts.
        let document = try space.write("doc.txt", String(repeating: Workspace.document + " ", count: 6))
        for index in 0..<8 {
            _ = try space.submit(document: document, question: "Question number \(index)?", model: model,
                                 extra: ["--mode", "vanilla"])
        }
        let first = try space.start(["run", "--drain"] + space.dbArguments + ["--store", space.store])
        defer { first.stop() }
        let lockTaken = Self.waitUntil(timeout: 5) {
            (try? String(contentsOfFile: space.db + ".lock", encoding: .utf8))?.contains("\(first.pid)") == true
        }
        try #require(lockTaken, "the first drain wrote its pid into the lock file")
        try #require(first.process.isRunning, "the first drain is still working")
        let second = try space.drain()
        #expect(second.status == 75, "\(second)")
        #expect(first.wait(timeout: 60) == 0, "\(first.stderr)")
        #expect(try space.status()["done"] == 8)
    }

    // MARK: - Daemon

    @Test("an idle daemon uses almost no CPU and exits 0 promptly on SIGTERM")
    func idleDaemon() throws {
        let space = try Workspace()
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store])
        defer { daemon.stop() }
        // Wait for it to create the database and register, then measure a quiet stretch.
        let registered = Self.waitUntil(timeout: 10) {
            guard FileManager.default.fileExists(atPath: space.db) else { return false }
            let count = try? Database(path: space.db).fetchOne("SELECT count(*) AS n FROM workers")?.int("n")
            return count == 1
        }
        try #require(registered, "daemon registered itself in workers: \(daemon.stderr)")
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let before = try Self.cpuTicks(daemon.pid)
        let started = Date()
        usleep(2_000_000)
        let after = try Self.cpuTicks(daemon.pid)
        let wall = Date().timeIntervalSince(started)
        let share = Double(after - before) / ticksPerSecond / wall
        #expect(share < 0.05, "idle daemon used \(share * 100)% of a core over \(wall) s")
        print("idle daemon: \(after - before) CPU ticks in \(String(format: "%.2f", wall)) s")

        let stopped = Date()
        let status = daemon.signalAndWait(SIGTERM, timeout: 3)
        #expect(status == 0, "daemon exit status on SIGTERM: \(String(describing: status)); \(daemon.stderr)")
        #expect(Date().timeIntervalSince(stopped) < 3)
        let workers = try Database(path: space.db).fetchOne("SELECT count(*) AS n FROM workers")?.int("n")
        #expect(workers == 0, "the daemon unregistered itself")
    }

    @Test("a daemon answers a job submitted while it waits")
    func daemonPicksUpSubmission() throws {
        let space = try Workspace()
        let model = try space.model()
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store])
        defer { daemon.stop() }
        let document = try space.write("doc.txt", Workspace.document)
        let id = try space.submit(document: document, question: "Where did the market move?", model: model)
        let done = try Self.waitUntil(timeout: 15) { try space.show(id)["state"] as? String == "done" }
        #expect(done, "daemon answered job \(id): \(daemon.stderr)")
        #expect(daemon.process.isRunning, "the daemon keeps waiting after the queue is empty")
        #expect(daemon.signalAndWait(SIGINT, timeout: 3) == 0, "\(daemon.stderr)")
    }

    // MARK: - Stopping a drain

    @Test("SIGTERM during run --drain gives the running job back uncounted and exits 0")
    func drainStoppedMidJob() throws {
        let space = try Workspace()
        let model = try space.model()
        // Vanilla decoding of a 2 KB document: each job runs for about a second.
        let document = try space.write("doc.txt", String(repeating: Workspace.document + " ", count: 6))
        for index in 0..<3 {
            _ = try space.submit(document: document, question: "Question \(index)?", model: model,
                                 extra: ["--mode", "vanilla"])
        }
        let drain = try space.start(["run", "--drain"] + space.dbArguments + ["--store", space.store])
        defer { drain.stop() }
        let running = Self.waitUntil(timeout: 10) {
            (try? Database(path: space.db).fetchOne("SELECT count(*) AS n FROM jobs WHERE state = 'running'")?.int("n")) == 1
        }
        try #require(running, "a job started: \(drain.stderr)")
        let status = drain.signalAndWait(SIGTERM, timeout: 5)
        #expect(status == 0, "\(drain.stderr)")
        let rows = try Database(path: space.db).fetchAll("SELECT state, attempt FROM jobs")
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.string("state") == "queued" }, "the running job went back to the queue")
        #expect(rows.allSatisfy { $0.int("attempt") == 0 }, "a released attempt is not counted")
    }

    // MARK: - Logs

    @Test("with --log-format json every line on stderr is a JSON object")
    func jsonLogs() throws {
        let space = try Workspace()
        // A job that fails (document too long), so run --drain reports on stderr.
        let model = try space.model(maxSequenceLength: 128)
        let document = try space.write("doc.txt", String(repeating: Workspace.document + " ", count: 2))
        _ = try space.submit(document: document, question: "Where?", model: model)
        let run = try space.drain(extra: ["--log-format", "json"])
        #expect(run.status == 0, "\(run)")
        let lines = run.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
        }
    }

    @Test("a daemon started with SIGTERM blocked by its parent still stops on SIGTERM")
    func daemonWithInheritedSignalMask() throws {
        let space = try Workspace()
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store],
                                     blockingTerminationSignals: true)
        defer { daemon.stop() }
        let registered = Self.waitUntil(timeout: 10) {
            (try? Database(path: space.db).fetchOne("SELECT count(*) AS n FROM workers")?.int("n")) == 1
        }
        try #require(registered, "\(daemon.stderr)")
        let status = daemon.signalAndWait(SIGTERM, timeout: 3)
        #expect(status == 0, "the daemon must unblock the signals it stops on; exit status \(String(describing: status))")
    }

    @Test("run --drain exits 75 while a daemon serves the same database")
    func runLockAgainstDaemon() throws {
        let space = try Workspace()
        let daemon = try space.start(["daemon"] + space.dbArguments + ["--store", space.store])
        defer { daemon.stop() }
        let registered = Self.waitUntil(timeout: 10) {
            (try? Database(path: space.db).fetchOne("SELECT count(*) AS n FROM workers")?.int("n")) == 1
        }
        try #require(registered, "\(daemon.stderr)")
        let drain = try space.drain()
        #expect(drain.status == 0, "daemons and drains are lease-fenced workers that share a database: \(drain)")
    }
}
