import Foundation
import CAR
import GRDB
import IPLD
import Multiformats
import UCAN
import UnixFS

extension UploadService {
    /// Largest index blob `space/index/add` reads (about 2.5 million blocks, some 2.5 TiB of content).
    static let maxIndexSize: UInt64 = 128 << 20

    /// `upload/add`: upsert the upload; shards are set-merged with an existing record.
    func uploadAdd(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let root = try r.nb.link("root")
        var shardList: [CID] = []
        for item in r.capability.nb?["shards"]?.listValue ?? [] {
            guard case .link(let c) = item, c.codec == CID.Codec.car else { throw Failure(name: "MalformedCapability", message: "upload/add: shards must be CAR links") }
            shardList.append(c)
        }
        let shards = shardList
        let rootText = root.description
        let now = r.now
        let merged = try await store.write { db -> [String] in
            var list: [String] = []
            if let existing = try String.fetchOne(db, sql: "SELECT shards FROM uploads WHERE space = ? AND root = ?", arguments: [space, rootText]) {
                list = existing.split(separator: ",").map(String.init)
                for s in shards.map(\.description) where !list.contains(s) { list.append(s) }
                try db.execute(sql: "UPDATE uploads SET shards = ?, updatedAt = ? WHERE space = ? AND root = ?",
                               arguments: [list.joined(separator: ","), now, space, rootText])
            } else {
                for s in shards.map(\.description) where !list.contains(s) { list.append(s) }
                let seq = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM uploads WHERE space = ?", arguments: [space])) ?? 1
                try db.execute(sql: "INSERT INTO uploads (space, root, shards, insertedAt, updatedAt, seq) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [space, rootText, list.joined(separator: ","), now, now, seq])
            }
            return list
        }
        return HandlerResult(.ok(["root": .link(root), "shards": .list(try merged.map { .link(try CID($0)) })]))
    }

    func uploadRecord(_ row: Record) throws -> IPLDValue {
        let shards = (row.text("shards")).split(separator: ",").map(String.init)
        return ["root": .link(try CID(row.text("root"))), "shards": .list(try shards.map { .link(try CID($0)) }),
                "insertedAt": Value.iso(row.time("insertedAt")), "updatedAt": Value.iso(row.time("updatedAt"))]
    }

    /// `upload/get`
    func uploadGet(_ r: Request) async throws -> HandlerResult {
        guard let root = try r.nb.optionalLink("root") else { throw Failure(name: "UploadNotFound", message: "upload/get needs nb.root") }
        let space = r.with
        let rootText = root.description
        guard let row = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE space = ? AND root = ?", arguments: [space, rootText]).map(Record.init)
        }) else { throw Failure(name: "UploadNotFound", message: "upload \(root) is not in \(space)") }
        return HandlerResult(.ok(try uploadRecord(row)))
    }

    /// `upload/remove`: forgets the upload; its content is no longer served by the gateway.
    func uploadRemove(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let root = try r.nb.link("root")
        let rootText = root.description
        guard let row = try await store.write({ db -> Record? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM uploads WHERE space = ? AND root = ?", arguments: [space, rootText]).map(Record.init) else { return nil }
            try db.execute(sql: "DELETE FROM uploads WHERE space = ? AND root = ?", arguments: [space, rootText])
            try db.execute(sql: "DELETE FROM slices WHERE space = ? AND content = ?", arguments: [space, rootText])
            try db.execute(sql: "DELETE FROM indexes WHERE space = ? AND content = ?", arguments: [space, rootText])
            return row
        }) else { throw Failure(name: "UploadNotFound", message: "upload \(root) is not in \(space)") }
        let record = try uploadRecord(row)
        return HandlerResult(.ok(["root": record["root"] ?? .null, "shards": record["shards"] ?? .list([])]))
    }

    /// `upload/list`: pages in insertion order; `cursor` continues, `pre` pages backwards.
    func uploadList(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let size = max(1, min(r.nb.int("size") ?? configuration.defaultPageSize, 1000))
        let pre = r.nb.bool("pre") ?? false
        let cursor = r.nb.string("cursor")
        let rows = try await store.read { db -> [Record] in
            var anchor: Int64? = nil
            if let cursor {
                anchor = try Int64.fetchOne(db, sql: "SELECT seq FROM uploads WHERE space = ? AND root = ?", arguments: [space, cursor])
                    ?? Int64(cursor)
            }
            if pre {
                let rows = try Row.fetchAll(db, sql: "SELECT * FROM uploads WHERE space = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                                            arguments: [space, anchor ?? Int64.max, size]).map(Record.init)
                return rows.reversed()
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM uploads WHERE space = ? AND seq > ? ORDER BY seq LIMIT ?",
                                    arguments: [space, anchor ?? 0, size + 1]).map(Record.init)
        }
        let page = pre ? Array(rows) : Array(rows.prefix(size))
        var ok: [String: IPLDValue] = ["size": Value.int(page.count), "results": .list(try page.map(uploadRecord))]
        if let first = page.first { ok["before"] = .string(first.text("root")) }
        if let last = page.last {
            ok["after"] = .string(last.text("root"))
            if pre || rows.count > size { ok["cursor"] = .string(last.text("root")) }
        }
        return HandlerResult(.ok(.map(ok)))
    }

    /// `upload/shard/list`
    func uploadShardList(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let root = try r.nb.link("root")
        let rootText = root.description
        guard let shardsText = try await store.read({ db in
            try String.fetchOne(db, sql: "SELECT shards FROM uploads WHERE space = ? AND root = ?", arguments: [space, rootText])
        }) else { throw Failure(name: "UploadNotFound", message: "upload \(root) is not in \(space)") }
        let all = shardsText.split(separator: ",").map(String.init)
        let size = max(1, min(r.nb.int("size") ?? configuration.defaultPageSize, 1000))
        var start = 0
        if let cursor = r.nb.string("cursor") {
            // A cursor is a shard CID from an earlier page, or a position within the list.
            guard let position = all.firstIndex(of: cursor).map({ $0 + 1 }) ?? Int(cursor), (0...all.count).contains(position) else {
                let shown = cursor.prefix(100)
                throw Failure(name: "InvalidCursor",
                              message: "upload/shard/list: cursor \"\(shown)\" is not a shard of \(root) nor a position in 0…\(all.count)")
            }
            start = position
        }
        let page = Array(all.dropFirst(start).prefix(size))
        var ok: [String: IPLDValue] = ["size": Value.int(page.count), "results": .list(try page.map { .link(try CID($0)) })]
        if start + page.count < all.count, let last = page.last { ok["cursor"] = .string(last) }
        return HandlerResult(.ok(.map(ok)))
    }

    /// `space/index/add`: reads the index blob, checks every shard is in the space, records the slices.
    func indexAdd(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let index = try r.nb.link("index")
        let digest = index.multihash
        let digestBytes = Data(digest.bytes)
        let registered = try await store.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE space = ? AND digest = ?", arguments: [space, digestBytes]) ?? false
        }
        guard registered, blobs.has(digest) else { throw Failure(name: "IndexNotFound", message: "index blob \(digest) is not stored in \(space)") }
        guard let size = blobs.size(of: digest), size <= UploadService.maxIndexSize else {
            throw Failure(name: "IndexTooLarge", message: "index \(index) is larger than \(UploadService.maxIndexSize) bytes; split the upload")
        }
        let url = blobs.url(for: digest)
        let claimed = try r.nb.optionalLink("content")
        let indexText = index.description
        let now = r.now
        // Streamed from the stored blob inside one transaction: memory holds one index block at a time,
        // and a bad index leaves nothing behind. GRDB runs this on its writer queue, off the cooperative pool.
        let notAnIndex = { @Sendable (error: Error) in
            Failure(name: "DecodeFailure", message: "index \(index) is not an index/sharded/dag@0.1 CAR: \(error)")
        }
        try await store.write { db in
            let reader: ShardedDAGIndexReader
            do { reader = try ShardedDAGIndexReader(url: url) } catch { throw notAnIndex(error) }
            if let claimed, claimed != reader.content {
                throw Failure(name: "InvalidContent", message: "index is for \(reader.content), not \(claimed)")
            }
            let content = reader.content.description
            try db.execute(sql: "DELETE FROM slices WHERE space = ? AND indexCID = ?", arguments: [space, indexText])
            let insert = try db.makeStatement(sql: """
                INSERT INTO slices (space, indexCID, content, slice, shard, offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let registered = try db.makeStatement(sql: "SELECT 1 FROM blobs WHERE space = ? AND digest = ?")
            do {
                try reader.forEachShard { shard, slices in
                    let shardKey = Data(shard.bytes)
                    guard try Bool.fetchOne(registered, arguments: [space, shardKey]) ?? false else {
                        throw Failure(name: "ShardNotFound", message: "shard \(shard) named by the index is not stored in \(space)")
                    }
                    for s in slices {
                        // decodeShard checked offset + length ≤ Int64.max.
                        try insert.execute(arguments: [space, indexText, content, Data(s.slice.bytes), shardKey,
                                                       Int64(s.position.offset), Int64(s.position.length)])
                    }
                }
            } catch let error where error is UnixFSError || error is CARError {
                throw notAnIndex(error)
            }
            try db.execute(sql: "INSERT OR REPLACE INTO indexes (space, indexCID, content, insertedAt) VALUES (?, ?, ?, ?)",
                           arguments: [space, indexText, content, now])
        }
        return HandlerResult(.ok([:]))
    }
}
