import Foundation
import GRDB
import S3Protocol
import SystemIO

/// One object as the gateway's index holds it: what S3 says about it and where its bytes are.
struct ObjectRecord: Sendable, Equatable {
    var info: S3ObjectInfo
    /// The UnixFS root of the object's upload on Storacha.
    var root: String
    /// The blobs the upload stored: its shards, then its index (CAR CIDs).
    var shards: [String]
    /// The local copy's file name under the cache directory, when there is one.
    var cacheFile: String?
    /// True while the object is acknowledged but its upload not yet on Storacha (`root` is empty then).
    var pending = false
    /// True while the gateway is to add the object's whole MD5 to its metadata (``ObjectChecksums``); stored only
    /// while the metadata has none.
    var addMD5 = false
}

/// A record to commit under a bucket, with the bytes of its local copy when the index keeps them
/// (``LocalCopy/isInline(_:)``): given, or copied from another record's.
struct IndexEntry: Sendable {
    let bucket: String
    var record: ObjectRecord
    var body: Data? = nil
    var bodyCopiedFrom: String? = nil
}

/// The gateway's metadata in SQLite (WAL, synchronous FULL): buckets and, per key, the object's S3 facts
/// and its upload. It is the fast path for LIST, HEAD and ETag; keys compare as UTF-8 bytes (S3's order).
final class ObjectIndex: Sendable {
    let db: DatabasePool
    /// Bucket name → owner, as the `buckets` table holds them (only this index writes that table).
    let owners: Locked<[String: String]>

    init(url: URL) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        let db = try DatabasePool(path: url.path, configuration: config)
        // After the pool's own set-up, which leaves its writer at NORMAL (WAL synced at checkpoints only): FULL syncs
        // the WAL at every commit, so an acknowledged row survives a power cut, not only a crash of the process.
        // A checkpoint (the WAL's pages copied into the database file, both fsynced) stalls the commit that sets it off,
        // and with it every PUT waiting for that commit: the upload queue runs them when it goes idle (``checkpoint()``),
        // and SQLite's own only once the WAL holds 64 MiB.
        try db.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE buckets (name TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL);
                CREATE TABLE objects (bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
                                      modified REAL NOT NULL, contentType TEXT NOT NULL, metadata TEXT NOT NULL, root TEXT NOT NULL,
                                      shards TEXT NOT NULL, cacheFile TEXT, PRIMARY KEY (bucket, key));
                CREATE INDEX objects_root ON objects (root);
                """)
        }
        migrator.registerMigration("v2: multipart") { db in
            try db.execute(sql: """
                CREATE TABLE uploads (id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, contentType TEXT NOT NULL,
                                      metadata TEXT NOT NULL, initiated REAL NOT NULL);
                CREATE TABLE parts (upload TEXT NOT NULL, part INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
                                    modified REAL NOT NULL, PRIMARY KEY (upload, part));
                """)
        }
        migrator.registerMigration("v3: write-ahead") { db in
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX objects_pending ON objects (pending);
                """)
        }
        migrator.registerMigration("v4: small bodies") { db in
            try db.execute(sql: "CREATE TABLE bodies (name TEXT PRIMARY KEY, bytes BLOB NOT NULL)")
        }
        migrator.registerMigration("v5: local copy reads") { db in
            try db.execute(sql: "ALTER TABLE objects ADD COLUMN accessed REAL")
        }
        migrator.registerMigration("v6: snapshots") { db in
            try db.execute(sql: """
                CREATE TABLE changed_buckets (bucket TEXT PRIMARY KEY, version INTEGER NOT NULL, first REAL NOT NULL, last REAL NOT NULL);
                CREATE TABLE snapshots (manifest TEXT PRIMARY KEY, bucket TEXT NOT NULL, seq INTEGER NOT NULL, created REAL NOT NULL,
                                        tree TEXT NOT NULL, meta TEXT NOT NULL, stores TEXT NOT NULL, blobs TEXT NOT NULL,
                                        added INTEGER NOT NULL, recovered INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX snapshots_bucket ON snapshots (bucket, seq);
                CREATE TABLE snapshot_blocks (cid TEXT PRIMARY KEY, bytes BLOB NOT NULL, store TEXT NOT NULL);
                CREATE TABLE snapshot_attempts (root TEXT PRIMARY KEY, blobs TEXT NOT NULL);
                CREATE TABLE removals (root TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,
                                       etag TEXT NOT NULL, shards TEXT NOT NULL, PRIMARY KEY (root, bucket, key));
                """)
            // Buckets an older version kept get their first snapshot.
            try db.execute(sql: """
                INSERT INTO changed_buckets (bucket, version, first, last) SELECT name, 1, 0, 0 FROM buckets
                """)
        }
        migrator.registerMigration("v7: whole-object MD5s") { db in
            try db.execute(sql: """
                ALTER TABLE uploads ADD COLUMN addMD5 INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE objects ADD COLUMN addMD5 INTEGER NOT NULL DEFAULT 0;
                """)
        }
        try migrator.migrate(db)
        try db.write { db in
            // Left by a crash between a row's change and its old body's removal (both are in one transaction now).
            try db.execute(sql: "DELETE FROM bodies WHERE name NOT IN (SELECT cacheFile FROM objects WHERE cacheFile IS NOT NULL)")
        }
        let rows = try db.read { db in try Row.fetchAll(db, sql: "SELECT name, owner FROM buckets") }
        owners = Locked(Dictionary(rows.map { ($0["name"] as String, $0["owner"] as String) }, uniquingKeysWith: { a, _ in a }))
        self.db = db
    }

    /// Copies what the WAL holds into the database file (without waiting for readers), so that the next burst of
    /// commits starts on a short WAL instead of paying for a checkpoint on the way. For idle moments.
    func checkpoint() async throws {
        try await db.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
    }

    /// Every bucket, by name.
    func buckets() async throws -> [S3BucketInfo] {
        try await db.read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT name, created FROM buckets ORDER BY name")).map {
                S3BucketInfo(name: $0["name"], created: Date(timeIntervalSince1970: $0["created"]))
            }
        }
    }

    /// The bucket's owner, or nil when it does not exist (from memory: every request asks; a bucket made by another
    /// process, such as `storacha s3 restore`, is read from the database on its first request).
    func owner(of bucket: String) -> String? {
        if let owner = owners.value[bucket] { return owner }
        guard let stored = try? db.read({ db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT owner FROM buckets WHERE name = ?"), arguments: [bucket])
        }) else { return nil }
        owners.update { $0[bucket] = stored }
        return stored
    }

    /// The bucket's owner as the database holds it.
    func storedOwner(of bucket: String) async throws -> String? {
        try await db.read { db in try String.fetchOne(db, sql: "SELECT owner FROM buckets WHERE name = ?", arguments: [bucket]) }
    }

    func createBucket(_ name: String, owner: String) async throws {
        let stored = try await db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO buckets (name, owner, created) VALUES (?, ?, ?)",
                           arguments: [name, owner, Date().timeIntervalSince1970])
            if db.changesCount > 0 { try ObjectIndex.changed(name, db) }
            return try String.fetchOne(db.cachedStatement(sql: "SELECT owner FROM buckets WHERE name = ?"), arguments: [name])
        }
        if let stored { owners.update { $0[name] = stored } }
    }

    /// Deletes the bucket if it holds no object; returns false otherwise.
    func deleteBucket(_ name: String) async throws -> Bool {
        let deleted = try await db.write { db in
            let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM objects WHERE bucket = ? LIMIT 1"), arguments: [name])
            guard count == 0 else { return false }
            try db.execute(sql: "DELETE FROM buckets WHERE name = ?", arguments: [name])
            try ObjectIndex.changed(name, db)
            return true
        }
        if deleted { owners.update { $0[name] = nil } }
        return deleted
    }

    func list(_ bucket: String, prefix: String, after: String?, limit: Int) async throws -> [S3ObjectInfo] {
        try await db.read { db in
            // Keys with the prefix follow one another in byte order from the prefix itself on.
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM objects WHERE bucket = ? AND key >= ? AND key > ? ORDER BY key LIMIT ?
                """), arguments: [bucket, prefix, after ?? "", limit])
            var out: [S3ObjectInfo] = []
            for row in rows {
                let record = try ObjectIndex.record(row)
                guard record.info.key.utf8.starts(with: prefix.utf8) else { break }
                out.append(record.info)
                if out.count == limit { break }
            }
            return out
        }
    }

    func object(_ bucket: String, key: String) async throws -> ObjectRecord? {
        try await db.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?"), arguments: [bucket, key])
                .map(ObjectIndex.record)
        }
    }

    /// Stores `record` under its key; returns the record it replaced, if any.
    @discardableResult
    func put(_ bucket: String, _ record: ObjectRecord) async throws -> ObjectRecord? {
        try await put([IndexEntry(bucket: bucket, record: record)])[0].get()
    }

    /// Stores several records in one transaction (one commit, one WAL fsync), with their inline bodies; a replaced
    /// record's inline body goes in the same transaction. Returns what each replaced, or why it failed (alone).
    func put(_ entries: [IndexEntry]) async throws -> [Result<ObjectRecord?, any Error>] {
        try await db.write { db in
            entries.map { entry in
                var old: ObjectRecord?
                do {
                    try db.inSavepoint {
                        old = try ObjectIndex.put(entry, db)
                        return .commit
                    }
                    return .success(old)
                } catch {
                    return .failure(error)
                }
            }
        }
    }

    static func put(_ entry: IndexEntry, _ db: Database) throws -> ObjectRecord? {
        let (bucket, record) = (entry.bucket, entry.record)
        let metadata = ObjectIndex.json(record.info.metadata)
        let shards = ObjectIndex.json(record.shards)
        if let name = record.cacheFile, let body = entry.body {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO bodies (name, bytes) VALUES (?, ?)").execute(arguments: [name, body])
        } else if let name = record.cacheFile, let source = entry.bodyCopiedFrom {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO bodies (name, bytes) SELECT ?, bytes FROM bodies WHERE name = ?")
                .execute(arguments: [name, source])
            guard db.changesCount > 0 else {
                throw S3Error("NoSuchKey", status: 404, "The specified key does not exist (it was removed during the copy)")
            }
        }
        let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?"),
                                   arguments: [bucket, record.info.key]).map(ObjectIndex.record)
        if let gone = old?.cacheFile, gone != record.cacheFile { try ObjectIndex.dropBody(gone, db) }
        if let old { try ObjectIndex.released(old, bucket: bucket, keeping: record, db) }
        // A key whose new object is not uploaded yet keeps its old one in snapshots until the upload (markStored).
        if !record.pending { try ObjectIndex.changed(bucket, db) }
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO objects (bucket, key, size, etag, modified, contentType, metadata, root, shards, cacheFile, pending,
                                            addMD5)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [bucket, record.info.key, Int64(record.info.size), record.info.etag,
                                     record.info.lastModified.timeIntervalSince1970, record.info.contentType, metadata, record.root,
                                     shards, record.cacheFile, record.pending,
                                     record.addMD5 && record.info.metadata[ObjectChecksums.metadataName] == nil])
        return old
    }

    /// Removes a key; returns the record it held.
    func remove(_ bucket: String, key: String) async throws -> ObjectRecord? {
        try await db.write { db in
            let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?"), arguments: [bucket,
                key]).map(ObjectIndex.record)
            try db.cachedStatement(sql: "DELETE FROM objects WHERE bucket = ? AND key = ?").execute(arguments: [bucket, key])
            if let gone = old?.cacheFile { try ObjectIndex.dropBody(gone, db) }
            if let old {
                try ObjectIndex.released(old, bucket: bucket, keeping: nil, db)
                try ObjectIndex.changed(bucket, db)
            }
            return old
        }
    }

    /// Removes an inline body (a name no other row uses: each copy has its own).
    static func dropBody(_ name: String, _ db: Database) throws {
        if LocalCopy.isInline(name) { try db.cachedStatement(sql: "DELETE FROM bodies WHERE name = ?").execute(arguments: [name]) }
    }

    /// The inline body `name`, or nil when the index holds none by that name.
    func body(_ name: String) async throws -> Data? {
        try await db.read { db in try Data.fetchOne(db.cachedStatement(sql: "SELECT bytes FROM bodies WHERE name = ?"), arguments: [name]) }
    }

    /// Whether any key (in any bucket) still refers to the upload `root`.
    func references(root: String) async throws -> Bool {
        try await db.read { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM objects WHERE root = ?"), arguments: [root]) ?? 0 > 0
        }
    }

    /// Objects acknowledged and not yet uploaded: bucket, key, local copy and size.
    func pending() async throws -> [(bucket: String, key: String, cacheFile: String, size: UInt64, etag: String)] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT bucket, key, cacheFile, size, etag FROM objects WHERE pending = 1 AND cacheFile IS NOT NULL
                """).map {
                (bucket: $0["bucket"], key: $0["key"], cacheFile: $0["cacheFile"], size: UInt64($0["size"] as Int64), etag: $0["etag"])
            }
        }
    }

    /// The index at `url`, opened read-only (a gateway may be running on it).
    static func readOnly(_ url: URL) throws -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        return try DatabaseQueue(path: url.path, configuration: config)
    }

    /// How many objects the index at `url` holds as acknowledged and not yet uploaded (read-only; while a
    /// gateway runs on it too).
    static func pendingCount(at url: URL) throws -> Int {
        let queue = try readOnly(url)
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE pending = 1") ?? 0 }
    }

    /// How many buckets of the index at `url` changed since their last snapshot (read-only; while a gateway runs on it).
    static func changedCount(at url: URL) throws -> Int {
        let queue = try readOnly(url)
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM changed_buckets") ?? 0 }
    }

    /// How many local copies the index at `url` names: files in the cache directory, and bodies it holds itself
    /// (read-only; while a gateway runs on it too).
    static func localCopyCount(at url: URL) throws -> (files: Int, inline: Int) {
        let queue = try readOnly(url)
        return try queue.read { db in
            let inline = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE cacheFile LIKE 'db:%'") ?? 0
            let all = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE cacheFile IS NOT NULL") ?? 0
            return (all - inline, inline)
        }
    }

    /// Whether `key` still holds the pending object whose local copy is `cacheFile`.
    func isPending(_ bucket: String, key: String, cacheFile: String) async throws -> Bool {
        try await db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE bucket = ? AND key = ? AND cacheFile = ? AND pending = 1",
                             arguments: [bucket, key, cacheFile]) ?? 0 > 0
        }
    }

    /// Records the upload of a pending object, if the key still holds it; returns whether it did.
    func markStored(_ bucket: String, key: String, cacheFile: String, root: String, shards: [String]) async throws -> Bool {
        let list = ObjectIndex.json(shards)
        return try await db.write { db in
            try db.cachedStatement(sql: """
                UPDATE objects SET root = ?, shards = ?, pending = 0 WHERE bucket = ? AND key = ? AND cacheFile = ? AND pending = 1
                """).execute(arguments: [root, list, bucket, key, cacheFile])
            guard db.changesCount > 0 else { return false }
            try ObjectIndex.changed(bucket, db)
            return true
        }
    }
}
