import FocusSQLite

// MARK: - Migration

/// One schema migration: a file `schema/NNN_name.sql` whose SQL is embedded in the
/// binary by `schema/embed.sh` (see `Migrations+Generated.swift`).
public struct Migration: Sendable, Equatable {
    /// The version the database reaches once this migration is applied (`NNN`).
    public let version: Int
    /// The file name in schema/, e.g. `001_initial.sql`.
    public let fileName: String
    /// The SQL text, verbatim from the file.
    public let sql: String

    /// Creates a migration.
    public init(version: Int, fileName: String, sql: String) {
        self.version = version
        self.fileName = fileName
        self.sql = sql
    }
}

// MARK: - Migrations

/// Applies the embedded migrations in order and records the schema version in
/// `PRAGMA user_version`.
///
/// Each migration runs in its own `BEGIN IMMEDIATE` transaction together with the
/// version bump, so a failed migration leaves the database at the previous version,
/// and two processes opening a new database at once apply each migration once.
public enum Migrations {
    /// Every migration this binary knows, in version order.
    public static var all: [Migration] { embedded }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { embedded.last?.version ?? 0 }

    /// Brings `database` to `latestVersion`.
    /// - Returns: the migrations applied now (empty when the schema was current).
    /// - Throws: `QueueError.schemaTooNew` when the database is newer than this binary
    ///   (nothing is written); `QueueError.migrationFailed` when a migration fails.
    @discardableResult
    public static func migrate(_ database: Database,
                               migrations: [Migration] = Migrations.all) throws -> [Migration] {
        let latest = migrations.last?.version ?? 0
        try refuseNewer(database, found: try database.userVersion(), supported: latest)
        var applied: [Migration] = []
        for migration in migrations {
            let didApply: Bool = try database.write {
                let current = try database.userVersion()
                try refuseNewer(database, found: current, supported: latest)
                guard current < migration.version else { return false }
                do {
                    try database.execute(migration.sql)
                    try database.execute("PRAGMA user_version = \(migration.version)")
                } catch let error as DatabaseError {
                    throw QueueError.migrationFailed(fileName: migration.fileName,
                                                     underlying: error)
                }
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    private static func refuseNewer(_ database: Database, found: Int, supported: Int) throws {
        if found > supported {
            throw QueueError.schemaTooNew(path: database.path, found: found, supported: supported)
        }
    }
}
