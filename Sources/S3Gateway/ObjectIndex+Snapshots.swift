import CAR
import Foundation
import GRDB
import IPLD
import Multiformats
import StorachaClient

/// A bucket snapshot as the index remembers it (``SnapshotManifest``, plus what its manifest upload stored).
struct SnapshotRecord: Sendable, Equatable {
    var manifest: CID
    var bucket: String
    var seq: Int
    var created: Double
    var tree: CID
    var meta: CID
    var stores: [SnapshotStore]
    /// The manifest upload's blobs (shard, then index).
    var blobs: [CID]
    /// Blocks this snapshot added (its tree upload's blocks, and the manifest).
    var added: Int
    /// Read back from Storacha by recovery (its blocks' stores are not known one by one).
    var recovered: Bool
}

/// An upload that no key refers to any more, to remove once no retained snapshot refers to it either.
struct RemovalCandidate: Sendable, Equatable {
    var root: String
    var bucket: String
    var key: String
    var size: UInt64
    var etag: String
    var shards: [String]
}

/// Snapshots, their blocks, bucket change marks and removal candidates.
extension ObjectIndex {
    /// Marks `bucket` as changed since its last snapshot (in the transaction of the change).
    static func changed(_ bucket: String, _ db: Database) throws {
        let now = Date().timeIntervalSince1970
        try db.cachedStatement(sql: """
            INSERT INTO changed_buckets (bucket, version, first, last) VALUES (?, 1, ?, ?)
            ON CONFLICT (bucket) DO UPDATE SET version = version + 1, last = excluded.last
            """).execute(arguments: [bucket, now, now])
    }

    /// Keeps `old`'s upload as a removal candidate when the record replacing it (if any) has another upload.
    static func released(_ old: ObjectRecord, bucket: String, keeping current: ObjectRecord?, _ db: Database) throws {
        guard !old.pending, !old.root.isEmpty, old.root != current?.root else { return }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO removals (root, bucket, key, size, etag, shards) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [old.root, bucket, old.info.key, Int64(old.info.size), old.info.etag, json(old.shards)])
    }

    /// Buckets changed since their last snapshot: name, change version, first and last change (seconds since 1970).
    func changedBuckets() async throws -> [(bucket: String, version: Int, first: Double, last: Double)] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM changed_buckets ORDER BY first").map {
                (bucket: $0["bucket"], version: $0["version"], first: $0["first"], last: $0["last"])
            }
        }
    }

    /// Clears the change mark of `bucket` if nothing changed after `version`; otherwise the changes after it count
    /// from now, so that under a steady stream of changes a snapshot follows at most every `longest` seconds (not at
    /// every round once the first change is older than that).
    static func clearChange(_ bucket: String, version: Int, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM changed_buckets WHERE bucket = ? AND version = ?", arguments: [bucket, version])
        guard db.changesCount == 0 else { return }
        try db.execute(sql: "UPDATE changed_buckets SET first = ? WHERE bucket = ?",
                       arguments: [Date().timeIntervalSince1970, bucket])
    }

    /// A bucket's snapshots, the latest first.
    func snapshots(_ bucket: String) async throws -> [SnapshotRecord] {
        try await db.read { db in try ObjectIndex.snapshots(bucket, db) }
    }

    /// Every bucket's snapshots.
    func allSnapshots() async throws -> [SnapshotRecord] {
        try await db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM snapshots ORDER BY bucket, seq DESC").map(ObjectIndex.snapshot) }
    }

    static func snapshots(_ bucket: String, _ db: Database) throws -> [SnapshotRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM snapshots WHERE bucket = ? ORDER BY seq DESC", arguments: [bucket]).map(snapshot)
    }

    static func snapshot(_ row: Row) throws -> SnapshotRecord {
        SnapshotRecord(manifest: try CID(row["manifest"] as String), bucket: row["bucket"], seq: row["seq"], created: row["created"],
                       tree: try CID(row["tree"] as String), meta: try CID(row["meta"] as String),
                       stores: try storeList(row["stores"]), blobs: try stringList(row["blobs"]).map { try CID($0) },
                       added: row["added"], recovered: row["recovered"])
    }

    /// Inserts a snapshot's row (and the blocks of its tree upload's CAR, with that store); clears the bucket's change
    /// mark when nothing changed after `version`.
    func record(_ snapshot: SnapshotRecord, car: URL?, store: String, version: Int?) async throws {
        try await db.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO snapshots (manifest, bucket, seq, created, tree, meta, stores, blobs, added, recovered)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [snapshot.manifest.description, snapshot.bucket, snapshot.seq, snapshot.created, snapshot.tree.description,
                                 snapshot.meta.description, ObjectIndex.json(snapshot.stores), ObjectIndex.json(snapshot.blobs.map(\.description)),
                                 snapshot.added, snapshot.recovered])
            if let car {
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO snapshot_blocks (cid, bytes, store) VALUES (?, ?, ?)")
                let handle = try FileHandle(forReadingFrom: car)
                defer { try? handle.close() }
                var reader = try CARReader(source: FileByteSource(handle: handle))
                while let next = try reader.next() { try insert.execute(arguments: [next.block.cid.description, next.block.bytes, store]) }
            }
            if let version { try ObjectIndex.clearChange(snapshot.bucket, version: version, db) }
            for root in [snapshot.manifest, snapshot.tree] {
                try db.execute(sql: "DELETE FROM snapshot_attempts WHERE root = ?", arguments: [root.description])
            }
        }
    }

    /// Records an upload a snapshot is about to make (its tree or its manifest), with the blobs it will store.
    func recordAttempt(root: CID, blobs: [CID]) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO snapshot_attempts (root, blobs) VALUES (?, ?)",
                           arguments: [root.description, ObjectIndex.json(blobs.map(\.description))])
        }
    }

    /// Snapshot uploads started and not recorded in a snapshot: root and blobs.
    func attempts() async throws -> [(CID, [CID])] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT root, blobs FROM snapshot_attempts").map {
                (try CID($0["root"] as String), try ObjectIndex.stringList($0["blobs"]).map { try CID($0) })
            }
        }
    }

    func dropAttempt(root: CID) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM snapshot_attempts WHERE root = ?", arguments: [root.description]) }
    }

    /// Forgets snapshots, and the blocks whose store no remaining snapshot uses.
    func forget(_ manifests: [CID]) async throws {
        try await db.write { db in
            for manifest in manifests { try db.execute(sql: "DELETE FROM snapshots WHERE manifest = ?", arguments: [manifest.description]) }
            let kept = try Row.fetchAll(db, sql: "SELECT manifest, stores, recovered FROM snapshots")
            var stores: Set<String> = []
            for row in kept {
                for store in try ObjectIndex.storeList(row["stores"]) { stores.insert(store.root.description) }
                if row["recovered"] as Bool { stores.insert(ObjectIndex.recoveredStore(row["manifest"])) }
            }
            for store in try String.fetchAll(db, sql: "SELECT DISTINCT store FROM snapshot_blocks") where !stores.contains(store) {
                try db.execute(sql: "DELETE FROM snapshot_blocks WHERE store = ?", arguments: [store])
            }
        }
    }

    /// The store name of the blocks of a recovered snapshot.
    static func recoveredStore(_ manifest: String) -> String { "recovered:" + manifest }

    /// A snapshot block kept locally, and the store that holds it.
    func snapshotBlock(_ cid: CID) async throws -> (bytes: Data, store: String)? {
        try await db.read { db in try ObjectIndex.snapshotBlock(cid.description, db) }
    }

    static func snapshotBlock(_ cid: String, _ db: Database) throws -> (bytes: Data, store: String)? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT bytes, store FROM snapshot_blocks WHERE cid = ?"), arguments: [cid])
            .map { (bytes: $0["bytes"], store: $0["store"]) }
    }

    /// A snapshot block kept locally, decoded.
    static func snapshotValue(_ cid: CID, _ db: Database) throws -> IPLDValue? {
        try snapshotBlock(cid.description, db).map { try DAGCBOR.decode($0.bytes) }
    }

    /// Removal candidates, grouped by root.
    func removalCandidates() async throws -> [String: [RemovalCandidate]] {
        try await db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM removals")
            return Dictionary(grouping: try rows.map {
                RemovalCandidate(root: $0["root"], bucket: $0["bucket"], key: $0["key"], size: UInt64($0["size"] as Int64),
                                 etag: $0["etag"], shards: try ObjectIndex.stringList($0["shards"]))
            }, by: \.root)
        }
    }

    /// Drops the removal candidates of `root` (removed, or referred to by a key again).
    func dropRemovals(root: String) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM removals WHERE root = ?", arguments: [root]) }
    }

    /// Whether the index holds no bucket and no snapshot (a fresh data directory, for recovery).
    func isEmpty() async throws -> Bool {
        try await db.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM buckets) + (SELECT COUNT(*) FROM snapshots)") == 0
        }
    }

    /// Recreates a bucket and its objects as a snapshot describes them, with the snapshot itself, in one transaction.
    func restore(bucket: String, owner: String, created: Double, objects: [(String, SnapshotObject)], snapshots: [SnapshotRecord],
                 blocks: [(cid: String, bytes: Data)]) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO buckets (name, owner, created) VALUES (?, ?, ?)", arguments: [bucket, owner, created])
            for (key, object) in objects {
                _ = try ObjectIndex.put(IndexEntry(bucket: bucket, record: object.record(key: key)), db)
            }
            try db.execute(sql: "DELETE FROM changed_buckets WHERE bucket = ?", arguments: [bucket])
            for snapshot in snapshots {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO snapshots (manifest, bucket, seq, created, tree, meta, stores, blobs, added, recovered)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                    """, arguments: [snapshot.manifest.description, bucket, snapshot.seq, snapshot.created, snapshot.tree.description,
                                     snapshot.meta.description, ObjectIndex.json(snapshot.stores),
                                     ObjectIndex.json(snapshot.blobs.map(\.description)), snapshot.added])
            }
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO snapshot_blocks (cid, bytes, store) VALUES (?, ?, ?)")
            let store = ObjectIndex.recoveredStore(snapshots.first?.manifest.description ?? "")
            for block in blocks { try insert.execute(arguments: [block.cid, block.bytes, store]) }
        }
        owners.update { $0[bucket] = owner }
    }

    static func json(_ stores: [SnapshotStore]) -> String {
        JSONValue.array(stores.map { .array(([$0.root] + $0.blobs).map { .string($0.description) }) }).serialized()
    }

    static func storeList(_ text: String) throws -> [SnapshotStore] {
        guard case .array(let items) = try JSONValue.parse(Data(text.utf8)) else { throw IndexCorrupt("a store list is not an array: \(text)") }
        return try items.map { item in
            guard case .array(let cids) = item, let first = cids.first?.stringValue else { throw IndexCorrupt("a store is not a list: \(text)") }
            return SnapshotStore(root: try CID(first), blobs: try cids.dropFirst().map { try CID($0.stringValue ?? "") })
        }
    }
}
