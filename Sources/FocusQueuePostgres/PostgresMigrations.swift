import FocusQueue

/// Applies the migrations of `schema/postgres/` (embedded by `schema/embed.sh`) in order and
/// records each in `focus_migrations`, as `PRAGMA user_version` does for SQLite.
///
/// Each migration runs in its own transaction together with its record, under a transaction-level
/// advisory lock, so a failed migration leaves the database at the previous version and workers
/// starting at once apply each migration once. A database of a newer version than this binary
/// knows is refused before anything is written.
public enum PostgresMigrations {
    /// Every migration this binary knows, in version order.
    public static var all: [Migration] { embedded }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// The advisory lock that serialises migrations of one database ("focus" in ASCII).
    static let lockKey: Int64 = 0x666f_6375_73

    /// The schema version of the database: 0 for an empty one. The table is looked up in
    /// `pg_tables`, read with the statement's snapshot, so a migration another connection has just
    /// committed is seen (a name lookup such as `to_regclass` may answer from a stale catalog cache).
    static func version(_ session: PostgresSession) throws -> Int {
        guard try session.fetchOne("""
            SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
                           WHERE schemaname = current_schema() AND tablename = 'focus_migrations') AS present
            """)?.bool("present") == true else { return 0 }
        return try session.fetchOne("SELECT coalesce(max(version), 0)::bigint AS version FROM focus_migrations")?
            .int("version") ?? 0
    }

    /// Brings the database to the newest version of `migrations`.
    /// - Returns: the migrations applied now (empty when the schema was current).
    /// - Throws: `QueueError.schemaTooNew` (nothing written), `PostgresQueueError.migrationFailed`.
    @discardableResult
    static func migrate(_ session: PostgresSession, migrations: [Migration] = all) throws -> [Migration] {
        let latest = migrations.last?.version ?? 0
        try refuseNewer(session, found: try version(session), supported: latest)
        var applied: [Migration] = []
        for migration in migrations {
            let didApply: Bool = try session.transaction {
                try session.query("SELECT pg_advisory_xact_lock($1)", [lockKey])
                let current = try version(session)
                try refuseNewer(session, found: current, supported: latest)
                guard current < migration.version else { return false }
                do {
                    try session.query("""
                        CREATE TABLE IF NOT EXISTS focus_migrations (
                            version    integer PRIMARY KEY,
                            file_name  text    NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())
                        """)
                    try session.executeScript(migration.sql)
                    try session.query("INSERT INTO focus_migrations (version, file_name) VALUES ($1, $2)",
                                      [migration.version, migration.fileName])
                } catch let error as PostgresQueueError {
                    throw PostgresQueueError.migrationFailed(fileName: migration.fileName, reason: "\(error)")
                }
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    private static func refuseNewer(_ session: PostgresSession, found: Int, supported: Int) throws {
        if found > supported {
            throw QueueError.schemaTooNew(path: session.location.description, found: found, supported: supported)
        }
    }
}
