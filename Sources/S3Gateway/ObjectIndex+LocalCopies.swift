import Foundation
import GRDB

/// An object's local copy, as the index names it.
struct LocalCopyRef: Sendable, Hashable {
    let bucket: String
    let key: String
    let cacheFile: String
}

extension ObjectIndex {
    /// Bytes held by local copies (files and bodies in the index), of pending objects and uploaded ones.
    func localCopyBytes() async throws -> UInt64 {
        try await db.read { db in
            UInt64(max(0, try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM objects WHERE cacheFile IS NOT NULL") ?? 0))
        }
    }

    /// Records when local copies were last read (seconds since 1970).
    func recordReads(_ reads: [LocalCopyRef: Double]) async throws {
        guard !reads.isEmpty else { return }
        try await db.write { db in
            let update = try db.cachedStatement(sql: "UPDATE objects SET accessed = ? WHERE bucket = ? AND key = ? AND cacheFile = ?")
            for (ref, time) in reads { try update.execute(arguments: [time, ref.bucket, ref.key, ref.cacheFile]) }
        }
    }

    /// Local copies of objects already on Storacha, least recently read (or stored) first, with their sizes.
    func evictionCandidates(limit: Int) async throws -> [(ref: LocalCopyRef, size: UInt64)] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT bucket, key, cacheFile, size FROM objects WHERE pending = 0 AND cacheFile IS NOT NULL
                ORDER BY COALESCE(accessed, modified) LIMIT ?
                """, arguments: [limit]).map {
                (LocalCopyRef(bucket: $0["bucket"], key: $0["key"], cacheFile: $0["cacheFile"]), UInt64(max(0, $0["size"] as Int64)))
            }
        }
    }

    /// Forgets the local copy of an uploaded object (and drops it if the index holds its bytes): the object is
    /// then read from Storacha. False when the key no longer holds that copy, or is not uploaded yet.
    func dropLocalCopy(_ ref: LocalCopyRef) async throws -> Bool {
        try await db.write { db in
            try db.cachedStatement(sql: """
                UPDATE objects SET cacheFile = NULL WHERE bucket = ? AND key = ? AND cacheFile = ? AND pending = 0
                """).execute(arguments: [ref.bucket, ref.key, ref.cacheFile])
            guard db.changesCount > 0 else { return false }
            try ObjectIndex.dropBody(ref.cacheFile, db)
            return true
        }
    }

    /// Every local copy name the index refers to.
    func localCopyNames() async throws -> Set<String> {
        try await db.read { db in Set(try String.fetchAll(db, sql: "SELECT cacheFile FROM objects WHERE cacheFile IS NOT NULL")) }
    }
}
