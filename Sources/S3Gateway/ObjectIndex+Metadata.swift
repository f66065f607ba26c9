import Foundation
import GRDB

/// Metadata the gateway adds to an object after it was stored (see ``ObjectChecksums``).
extension ObjectIndex {
    /// Adds `name: value` to the metadata of the object `key` if it still has the local copy `cacheFile` and no `name`
    /// yet; returns whether it did. A stored object's bucket is marked changed, so that its next snapshot has it.
    func addMetadata(_ bucket: String, key: String, cacheFile: String, name: String, value: String) async throws -> Bool {
        try await db.write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM objects WHERE bucket = ? AND key = ? AND cacheFile = ?"),
                                             arguments: [bucket, key, cacheFile]) else { return false }
            var record = try ObjectIndex.record(row)
            guard record.info.metadata[name] == nil else { return false }
            record.info.metadata[name] = value
            try db.cachedStatement(sql: "UPDATE objects SET metadata = ? WHERE bucket = ? AND key = ? AND cacheFile = ?")
                .execute(arguments: [ObjectIndex.json(record.info.metadata), bucket, key, cacheFile])
            if !record.pending { try ObjectIndex.changed(bucket, db) }
            return true
        }
    }

    /// The objects marked `addMD5` with a local copy in a file and no metadata `name`, with their buckets.
    func recordsMissing(metadata name: String) async throws -> [(bucket: String, record: ObjectRecord)] {
        try await db.read { db in try ObjectIndex.recordsMissing(metadata: name, db) }
    }

    /// How many objects of the index at `url` ``recordsMissing(metadata:)`` would return (read-only; while a gateway
    /// runs on it).
    static func countMissing(metadata name: String, at url: URL) throws -> Int {
        try readOnly(url).read { db in try recordsMissing(metadata: name, db).count }
    }

    static func recordsMissing(metadata name: String, _ db: Database) throws -> [(bucket: String, record: ObjectRecord)] {
        try Row.fetchAll(db, sql: """
            SELECT * FROM objects WHERE addMD5 = 1 AND cacheFile IS NOT NULL AND cacheFile NOT LIKE 'db:%'
            """).compactMap { row in
            let record = try ObjectIndex.record(row)
            return record.info.metadata[name] == nil ? (row["bucket"] as String, record) : nil
        }
    }
}
