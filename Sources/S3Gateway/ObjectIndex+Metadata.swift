import Foundation
import GRDB

/// The whole-object MD5s the gateway adds to objects after they were stored (``ObjectChecksums``): a row's
/// `addMD5` is set while its MD5 is still to add, and cleared when it is added.
extension ObjectIndex {
    /// Adds `md5` (base64) as the `md5chksum` metadata of the object `key` if it still has the local copy `cacheFile`
    /// and is still waiting for it; returns whether it did. A stored object's bucket is marked changed, so that its next
    /// snapshot has it.
    func addMD5(_ bucket: String, key: String, cacheFile: String, md5: String) async throws -> Bool {
        try await db.write { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM objects WHERE bucket = ? AND key = ? AND cacheFile = ? AND addMD5 = 1
                """), arguments: [bucket, key, cacheFile]) else { return false }
            var record = try ObjectIndex.record(row)
            record.info.metadata[ObjectChecksums.metadataName] = md5
            try db.cachedStatement(sql: "UPDATE objects SET metadata = ?, addMD5 = 0 WHERE bucket = ? AND key = ? AND cacheFile = ?")
                .execute(arguments: [ObjectIndex.json(record.info.metadata), bucket, key, cacheFile])
            if !record.pending { try ObjectIndex.changed(bucket, db) }
            return true
        }
    }

    /// The objects waiting for their MD5 with a local copy in a file, with their buckets.
    func recordsAwaitingMD5() async throws -> [(bucket: String, record: ObjectRecord)] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM objects WHERE \(ObjectIndex.awaitingMD5)").map { ($0["bucket"], try ObjectIndex.record($0)) }
        }
    }

    /// How many objects of the index at `url` ``recordsAwaitingMD5()`` would return (read-only; while a gateway runs on it).
    static func countAwaitingMD5(at url: URL) throws -> Int {
        try readOnly(url).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects WHERE \(awaitingMD5)") ?? 0 }
    }

    private static let awaitingMD5 = "addMD5 = 1 AND cacheFile IS NOT NULL AND cacheFile NOT LIKE 'db:%'"
}
