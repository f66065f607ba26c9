import Foundation
import GRDB
import SystemIO

/// The service's metadata in SQLite (WAL): receipts, blobs, uploads, indexes, provisioning,
/// delegations, revocations and usage. Every write is atomic: concurrent writes share one transaction (group
/// commit, a savepoint each), so that one WAL fsync serves them all.
public final class ServiceStore: Sendable {
    let db: DatabasePool
    /// One write of a batch, its result type erased (``write(_:)`` casts it back).
    typealias Write = @Sendable (Database) throws -> any Sendable
    private let writes: BatchedWork<Write, any Sendable>

    /// Opens (creating and migrating) the database at `url`.
    public init(url: URL) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: url.path, configuration: config)
        // WAL with FULL sync: a committed transaction survives power loss, not only a process crash. Set after the
        // pool's own set-up, which leaves its writer at NORMAL (the WAL synced at checkpoints only).
        try db.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try ServiceStore.migrator.migrate(db)
        writes = BatchedWork { [db] batch in await ServiceStore.run(batch, in: db) }
    }

    /// Runs `batch` in one transaction, each write in a savepoint of its own: one that throws is undone alone.
    private static func run(_ batch: [Write], in db: DatabasePool) async -> [Result<any Sendable, any Error>] {
        do {
            return try await db.write { db in
                batch.map { body in
                    Result {
                        var value: (any Sendable)?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        guard let value else { throw ServiceStoreError() }
                        return value
                    }
                }
            }
        } catch {
            // The commit itself failed, or SQLite aborted the transaction (GRDB then throws): none is stored.
            return Array(repeating: .failure(error), count: batch.count)
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE receipts (task TEXT PRIMARY KEY, receipt TEXT NOT NULL, car BLOB NOT NULL, insertedAt INTEGER NOT NULL);
                CREATE TABLE blobs (space TEXT NOT NULL, digest BLOB NOT NULL, size INTEGER NOT NULL, cause TEXT NOT NULL,
                                    insertedAt INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (space, digest));
                CREATE INDEX blobs_seq ON blobs (space, seq);
                CREATE TABLE allocations (space TEXT NOT NULL, digest BLOB NOT NULL, size INTEGER NOT NULL, cause TEXT NOT NULL,
                                          putTask TEXT NOT NULL, acceptTask TEXT NOT NULL, accept BLOB NOT NULL, acceptLegacy BLOB NOT NULL, insertedAt INTEGER NOT NULL,
                                          PRIMARY KEY (space, digest));
                CREATE INDEX allocations_put ON allocations (putTask);
                CREATE TABLE uploads (space TEXT NOT NULL, root TEXT NOT NULL, shards TEXT NOT NULL, insertedAt INTEGER NOT NULL,
                                      updatedAt INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (space, root));
                CREATE INDEX uploads_seq ON uploads (space, seq);
                CREATE TABLE indexes (space TEXT NOT NULL, indexCID TEXT NOT NULL, content TEXT NOT NULL, insertedAt INTEGER NOT NULL,
                                      PRIMARY KEY (space, indexCID));
                CREATE TABLE slices (space TEXT NOT NULL, indexCID TEXT NOT NULL, content TEXT NOT NULL, slice BLOB NOT NULL,
                                     shard BLOB NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL);
                CREATE INDEX slices_slice ON slices (slice);
                CREATE INDEX slices_space ON slices (space, content);
                CREATE TABLE providers (space TEXT PRIMARY KEY, provider TEXT NOT NULL, customer TEXT NOT NULL, insertedAt INTEGER NOT NULL);
                CREATE TABLE delegations (cid TEXT PRIMARY KEY, issuer TEXT NOT NULL, audience TEXT NOT NULL, car BLOB NOT NULL,
                                          expiration INTEGER, insertedAt INTEGER NOT NULL);
                CREATE INDEX delegations_audience ON delegations (audience);
                CREATE TABLE authorizations (request TEXT PRIMARY KEY, agent TEXT NOT NULL, account TEXT NOT NULL, expiration INTEGER NOT NULL,
                                             confirmed INTEGER NOT NULL DEFAULT 0, insertedAt INTEGER NOT NULL);
                CREATE TABLE revocations (cid TEXT PRIMARY KEY, scope TEXT NOT NULL, cause TEXT NOT NULL, insertedAt INTEGER NOT NULL);
                CREATE TABLE usage (space TEXT NOT NULL, provider TEXT NOT NULL, delta INTEGER NOT NULL, cause TEXT NOT NULL, receiptAt INTEGER NOT NULL);
                CREATE INDEX usage_space ON usage (space, receiptAt);
                CREATE TABLE pieces (content TEXT PRIMARY KEY, piece TEXT NOT NULL, insertedAt INTEGER NOT NULL);
                """)
        }
        return m
    }

    /// Runs `body` atomically (in a transaction it may share with concurrent writes, in a savepoint of its own);
    /// returns once it is committed and fsynced.
    public func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        let value = try await writes.submit { db in try body(db) }
        guard let typed = value as? T else { throw ServiceStoreError() }
        return typed
    }

    /// Runs `body` against a consistent snapshot.
    public func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        try await db.read(body)
    }
}

/// A database row copied out of a transaction.
struct Record: Sendable {
    let values: [String: DatabaseValue]

    init(_ row: Row) {
        var values: [String: DatabaseValue] = [:]
        for (column, value) in row { values[column] = value }
        self.values = values
    }

    func int(_ key: String) -> Int64 { values[key].flatMap { Int64.fromDatabaseValue($0) } ?? 0 }
    func text(_ key: String) -> String { values[key].flatMap { String.fromDatabaseValue($0) } ?? "" }
    func blob(_ key: String) -> Data { values[key].flatMap { Data.fromDatabaseValue($0) } ?? Data() }
    func time(_ key: String) -> Int { Int(int(key)) }
}

/// A batched write's result did not come back as the type it was written with (an internal error).
struct ServiceStoreError: Error, CustomStringConvertible {
    var description: String { "internal error: a database write returned an unexpected value" }
}
