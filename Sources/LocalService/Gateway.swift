import CAR
import Foundation
import GRDB
import IPLD
import Multiformats
import UnixFS

/// Blocks of content registered with `space/index/add`, read from the stored shards at the offsets
/// the index gives, and verified against their CIDs.
struct IndexedBlockSource: BlockSource {
    let store: ServiceStore
    let blobs: BlobStore

    func locate(_ multihash: Multihash) async throws -> (shard: Multihash, offset: UInt64, length: UInt64)? {
        let key = Data(multihash.bytes)
        guard let row = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT shard, offset, length FROM slices WHERE slice = ? LIMIT 1", arguments: [key]).map(Record.init)
        }) else { return nil }
        // Offsets and lengths were checked when the index was added: non-negative, and their sum fits.
        guard let offset = UInt64(exactly: row.int("offset")), let length = UInt64(exactly: row.int("length")),
              !offset.addingReportingOverflow(length).overflow else {
            throw UnixFSError.invalidNode("the index gives an impossible position for \(multihash)")
        }
        return (try Multihash(bytes: [UInt8](row.blob("shard"))), offset, length)
    }

    func block(_ cid: CID) async throws -> Data {
        guard let (shard, offset, length) = try await locate(cid.multihash) else { throw UnixFSError.blockNotFound(cid: cid.description) }
        let data = try await blobs.readAsync(shard, range: offset..<offset + length)
        guard UInt64(data.count) == length, cid.multihash.verifies(data) else {
            throw UnixFSError.invalidNode("stored bytes of \(cid) do not match it")
        }
        return data
    }

    /// `true` when `shard` is a shard of some indexed content.
    func isIndexedShard(_ shard: Multihash) async throws -> Bool {
        let key = Data(shard.bytes)
        return try await store.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM slices WHERE shard = ? LIMIT 1", arguments: [key]) ?? false }
    }
}

/// Content types by file extension, and by magic bytes when the name says nothing.
enum ContentType {
    static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8", "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "json": "application/json", "xml": "application/xml",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "svg": "image/svg+xml",
        "ico": "image/x-icon", "pdf": "application/pdf", "zip": "application/zip", "gz": "application/gzip", "tar": "application/x-tar",
        "mp4": "video/mp4", "webm": "video/webm", "mp3": "audio/mpeg", "wav": "audio/wav", "wasm": "application/wasm", "car": "application/vnd.ipld.car",
    ]

    static func guess(name: String?, head: Data) -> String {
        if let ext = name?.split(separator: ".").last.map({ $0.lowercased() }), name?.contains(".") == true, let t = byExtension[ext] { return t }
        let b = [UInt8](head.prefix(16))
        func starts(_ p: [UInt8]) -> Bool { b.count >= p.count && Array(b.prefix(p.count)) == p }
        if starts([0x89, 0x50, 0x4e, 0x47]) { return "image/png" }
        if starts([0xff, 0xd8, 0xff]) { return "image/jpeg" }
        if starts(Array("GIF8".utf8)) { return "image/gif" }
        if starts(Array("%PDF".utf8)) { return "application/pdf" }
        if starts([0x50, 0x4b, 0x03, 0x04]) { return "application/zip" }
        if starts([0x1f, 0x8b]) { return "application/gzip" }
        if starts(Array("<!DOCTYPE html".utf8)) || starts(Array("<html".utf8)) { return "text/html; charset=utf-8" }
        if !b.isEmpty, String(data: head.prefix(512), encoding: .utf8) != nil, !b.contains(0) { return "text/plain; charset=utf-8" }
        return "application/octet-stream"
    }
}
