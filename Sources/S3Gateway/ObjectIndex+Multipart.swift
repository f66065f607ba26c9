import Foundation
import GRDB
import S3Protocol

/// Multipart uploads in progress and their parts.
extension ObjectIndex {
    /// A multipart upload in progress: where it goes and what the object will say.
    struct Upload: Sendable {
        let id: String
        let bucket: String
        let key: String
        let contentType: String
        let metadata: [String: String]
        let initiated: Date
        /// The object gets its whole MD5 computed (``ObjectChecksums``).
        var addMD5 = false
    }

    func createUpload(_ upload: Upload) async throws {
        let metadata = String(decoding: try JSONEncoder().encode(upload.metadata), as: UTF8.self)
        try await db.write { db in
            try db.execute(sql: "INSERT INTO uploads (id, bucket, key, contentType, metadata, initiated, addMD5) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [upload.id, upload.bucket, upload.key, upload.contentType, metadata, upload.initiated.timeIntervalSince1970,
                                       upload.addMD5])
        }
    }

    func upload(_ id: String) async throws -> Upload? {
        try await db.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM uploads WHERE id = ?"), arguments: [id]).map { row in
                Upload(id: row["id"], bucket: row["bucket"], key: row["key"], contentType: row["contentType"],
                       metadata: try JSONDecoder().decode([String: String].self, from: Data((row["metadata"] as String).utf8)),
                       initiated: Date(timeIntervalSince1970: row["initiated"]), addMD5: row["addMD5"])
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
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM parts WHERE upload = ? ORDER BY part"), arguments: [upload]).map {
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
}
