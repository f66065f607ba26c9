import Foundation
import GRDB
import S3Protocol

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
}

/// The gateway's metadata in SQLite (WAL, synchronous FULL): buckets and, per key, the object's S3 facts
/// and its upload. It is the fast path for LIST, HEAD and ETag; keys compare as UTF-8 bytes (S3's order).
final class ObjectIndex: Sendable {
    let db: DatabasePool

    init(url: URL) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        db = try DatabasePool(path: url.path, configuration: config)
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
        try migrator.migrate(db)
    }

    /// A multipart upload in progress: where it goes and what the object will say.
    struct Upload: Sendable {
        let id: String
        let bucket: String
        let key: String
        let contentType: String
        let metadata: [String: String]
        let initiated: Date
    }

    func createUpload(_ upload: Upload) async throws {
        let metadata = String(decoding: try JSONEncoder().encode(upload.metadata), as: UTF8.self)
        try await db.write { db in
            try db.execute(sql: "INSERT INTO uploads (id, bucket, key, contentType, metadata, initiated) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [upload.id, upload.bucket, upload.key, upload.contentType, metadata, upload.initiated.timeIntervalSince1970])
        }
    }

    func upload(_ id: String) async throws -> Upload? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE id = ?", arguments: [id]).map { row in
                Upload(id: row["id"], bucket: row["bucket"], key: row["key"], contentType: row["contentType"],
                       metadata: try JSONDecoder().decode([String: String].self, from: Data((row["metadata"] as String).utf8)),
                       initiated: Date(timeIntervalSince1970: row["initiated"]))
            }
        }
    }

    func uploads(bucket: String) async throws -> [Upload] {
        let ids = try await db.read { db in try String.fetchAll(db,
            sql: "SELECT id FROM uploads WHERE bucket = ? ORDER BY key, initiated", arguments: [bucket]) }
        var out: [Upload] = []
        for id in ids { if let u = try await upload(id) { out.append(u) } }
        return out
    }

    func putPart(_ upload: String, _ part: S3PartInfo) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO parts (upload, part, size, etag, modified) VALUES (?, ?, ?, ?, ?)",
                           arguments: [upload, part.part, Int64(part.size), part.etag, part.lastModified.timeIntervalSince1970])
        }
    }

    func parts(_ upload: String) async throws -> [S3PartInfo] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM parts WHERE upload = ? ORDER BY part", arguments: [upload]).map {
                S3PartInfo(part: $0["part"], etag: $0["etag"], size: UInt64($0["size"] as Int64),
                    lastModified: Date(timeIntervalSince1970: $0["modified"]))
            }
        }
    }

    func removeUpload(_ id: String) async throws {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM parts WHERE upload = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id])
        }
    }

    func buckets(owner: String) async throws -> [S3BucketInfo] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created FROM buckets WHERE owner = ? ORDER BY name", arguments: [owner]).map {
                S3BucketInfo(name: $0["name"], created: Date(timeIntervalSince1970: $0["created"]))
            }
        }
    }

    /// The bucket's owner, or nil when it does not exist.
    func owner(of bucket: String) async throws -> String? {
        try await db.read { db in try String.fetchOne(db, sql: "SELECT owner FROM buckets WHERE name = ?", arguments: [bucket]) }
    }

    func createBucket(_ name: String, owner: String) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO buckets (name, owner, created) VALUES (?, ?, ?)",
                           arguments: [name, owner, Date().timeIntervalSince1970])
        }
    }

    /// Deletes the bucket if it holds no object; returns false otherwise.
    func deleteBucket(_ name: String) async throws -> Bool {
        try await db.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE bucket = ? LIMIT 1", arguments: [name]) == 0 else { return false }
            try db.execute(sql: "DELETE FROM buckets WHERE name = ?", arguments: [name])
            return true
        }
    }

    func list(_ bucket: String, prefix: String, after: String?, limit: Int) async throws -> [S3ObjectInfo] {
        try await db.read { db in
            // Keys with the prefix follow one another in byte order from the prefix itself on.
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM objects WHERE bucket = ? AND key >= ? AND key > ? ORDER BY key LIMIT ?
                """, arguments: [bucket, prefix, after ?? "", limit])
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
            try Row.fetchOne(db, sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket, key]).map(ObjectIndex.record)
        }
    }

    /// Stores `record` under its key; returns the record it replaced, if any.
    @discardableResult
    func put(_ bucket: String, _ record: ObjectRecord) async throws -> ObjectRecord? {
        let metadata = String(decoding: try JSONEncoder().encode(record.info.metadata), as: UTF8.self)
        let shards = String(decoding: try JSONEncoder().encode(record.shards), as: UTF8.self)
        return try await db.write { db in
            let old = try Row.fetchOne(db, sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket, record.info.key])
                .map(ObjectIndex.record)
            try db.execute(sql: """
                INSERT OR REPLACE INTO objects (bucket, key, size, etag, modified, contentType, metadata, root, shards, cacheFile, pending)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [bucket, record.info.key, Int64(record.info.size), record.info.etag, record.info.lastModified.timeIntervalSince1970,
                                 record.info.contentType, metadata, record.root, shards, record.cacheFile, record.pending])
            return old
        }
    }

    /// Removes a key; returns the record it held.
    func remove(_ bucket: String, key: String) async throws -> ObjectRecord? {
        try await db.write { db in
            let old = try Row.fetchOne(db, sql: "SELECT * FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket,
                key]).map(ObjectIndex.record)
            try db.execute(sql: "DELETE FROM objects WHERE bucket = ? AND key = ?", arguments: [bucket, key])
            return old
        }
    }

    /// Whether any key (in any bucket) still refers to the upload `root`.
    func references(root: String) async throws -> Bool {
        try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE root = ?", arguments: [root]) ?? 0 > 0 }
    }

    /// Objects acknowledged and not yet uploaded: bucket, key, local copy and size.
    func pending() async throws -> [(bucket: String, key: String, cacheFile: String, size: UInt64)] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT bucket, key, cacheFile, size FROM objects WHERE pending = 1 AND cacheFile IS NOT NULL").map {
                (bucket: $0["bucket"], key: $0["key"], cacheFile: $0["cacheFile"], size: UInt64($0["size"] as Int64))
            }
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
        let list = String(decoding: try JSONEncoder().encode(shards), as: UTF8.self)
        return try await db.write { db in
            try db.execute(sql: "UPDATE objects SET root = ?, shards = ?, pending = 0 WHERE bucket = ? AND key = ? AND cacheFile = ? AND pending = 1",
                           arguments: [root, list, bucket, key, cacheFile])
            return db.changesCount > 0
        }
    }

    static func record(_ row: Row) throws -> ObjectRecord {
        let metadata = try JSONDecoder().decode([String: String].self, from: Data((row["metadata"] as String).utf8))
        let shards = try JSONDecoder().decode([String].self, from: Data((row["shards"] as String).utf8))
        let info = S3ObjectInfo(key: row["key"], size: UInt64(row["size"] as Int64), etag: row["etag"],
                                lastModified: Date(timeIntervalSince1970: row["modified"]), contentType: row["contentType"], metadata: metadata)
        return ObjectRecord(info: info, root: row["root"], shards: shards, cacheFile: row["cacheFile"], pending: row["pending"])
    }
}
