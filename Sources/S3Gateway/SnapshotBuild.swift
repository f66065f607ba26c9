import CAR
import Foundation
import GRDB
import IPLD
import Multiformats
import SystemIO

/// A bucket's snapshot tree as the index holds it now, with the blocks no retained snapshot stores yet written to a CAR
/// (root: the UnixFS tree) for the tree upload. Built in one read transaction, so that it is one consistent state.
struct SnapshotBuild {
    var tree: CID
    var meta: CID
    /// The CAR of the new blocks; nil when there are none.
    var car: URL?
    /// How many blocks the CAR holds.
    var added: Int
    /// The stores (tree uploads of retained snapshots) that hold the blocks reused from them.
    var inherited: [SnapshotStore]
    /// A reused block's store is not known one by one (a recovered snapshot), or too many stores would be
    /// inherited: build again with `full`.
    var needsFull: Bool
    /// When the index was read (seconds since 1970).
    var created: Double
    /// The change version read, to clear once the snapshot is recorded.
    var version: Int?
    var owner: String?
    var bucketCreated: Double

    /// At most this many earlier tree uploads are inherited; beyond, a snapshot is written whole.
    static let maxInheritedStores = 8

    /// Builds `bucket`'s tree from the objects on Storacha; a key whose new object is not uploaded yet keeps what the
    /// previous snapshot (`previous`, its metadata root) had under it. With `full`, every block is new.
    static func make(_ bucket: String, index: ObjectIndex, previous: CID?, stores known: [SnapshotStore], full: Bool,
                     directory: URL) async throws -> SnapshotBuild {
        let sections = directory.appendingPathComponent("sections-\(UniqueName.make())")
        defer { try? FileManager.default.removeItem(at: sections) }
        guard FileManager.default.createFile(atPath: sections.path, contents: nil) else {
            throw SnapshotFormatError("cannot create \(sections.path)")
        }
        let output = try FileHandle(forWritingTo: sections)
        var build = try await index.db.read { db -> SnapshotBuild in
            defer { try? output.close() }
            let version = try Int.fetchOne(db, sql: "SELECT version FROM changed_buckets WHERE bucket = ?", arguments: [bucket])
            let bucketRow = try Row.fetchOne(db, sql: "SELECT owner, created FROM buckets WHERE name = ?", arguments: [bucket])
            var directories: Set<String> = []
            var carried: [String: SnapshotObject] = [:]
            let keys = try Row.fetchCursor(db, sql: "SELECT key, pending FROM objects WHERE bucket = ?", arguments: [bucket])
            while let row = try keys.next() {
                let key: String = row["key"]
                if row["pending"] as Bool {
                    guard let previous, case .found(let object) = try SnapshotLookup.object(key, meta: previous, block: {
                        try ObjectIndex.snapshotValue($0, db)
                    }) else { continue }
                    carried[key] = object
                }
                for d in SnapshotPaths.directories(of: key) { directories.insert(d) }
            }
            var seen: Set<CID> = []
            var stores: Set<String> = []
            var added = 0
            var needsFull = false
            let builder = SnapshotBuilder(directories: directories) { block in
                guard seen.insert(block.cid).inserted else { return }
                if !full, let known = try ObjectIndex.snapshotBlock(block.cid.description, db) {
                    if known.store.hasPrefix(ObjectIndex.recoveredStore("")) { needsFull = true } else { stores.insert(known.store) }
                    return
                }
                try output.write(contentsOf: CAREncoder.sectionPrefix(block.cid, dataLength: block.bytes.count))
                try output.write(contentsOf: block.bytes)
                added += 1
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM objects WHERE bucket = ? ORDER BY key", arguments: [bucket])
            while let row = try rows.next() {
                let record = try ObjectIndex.record(row)
                if !record.pending {
                    try builder.add(record.info.key, try SnapshotObject(record))
                } else if let object = carried[record.info.key] {
                    try builder.add(record.info.key, object)
                }
            }
            let (tree, meta) = try builder.finish()
            let inherited = try stores.sorted().map { name -> SnapshotStore in
                guard let store = known.first(where: { $0.root.description == name }) else {
                    throw SnapshotFormatError("block store \(name) is not one of the bucket's snapshots")
                }
                return store
            }
            return SnapshotBuild(tree: tree, meta: meta, car: nil, added: added, inherited: inherited,
                                 needsFull: needsFull || inherited.count > maxInheritedStores, created: Date().timeIntervalSince1970,
                                 version: version, owner: bucketRow?["owner"], bucketCreated: bucketRow?["created"] ?? 0)
        }
        guard build.added > 0, !build.needsFull else { return build }
        let car = directory.appendingPathComponent("tree-\(UniqueName.make()).car")
        guard FileManager.default.createFile(atPath: car.path, contents: Data(CARHeader(roots: [build.tree]).bytes)) else {
            throw SnapshotFormatError("cannot create \(car.path)")
        }
        let writer = try FileHandle(forWritingTo: car)
        defer { try? writer.close() }
        try writer.seekToEnd()
        let input = try FileHandle(forReadingFrom: sections)
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try writer.write(contentsOf: chunk) }
        build.car = car
        return build
    }
}
