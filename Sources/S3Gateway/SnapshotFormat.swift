import Crypto
import Foundation
import IPLD
import Multiformats
import S3Protocol

/// The root of a bucket snapshot: the block that the snapshot's manifest upload has as its root (DAG-CBOR,
/// the only kind of upload root the gateway makes in DAG-CBOR, which is how recovery finds them in
/// `upload/list`). Format: `docs/S3-SNAPSHOTS.md`.
struct SnapshotManifest: Sendable, Equatable {
    /// The marker field and its version.
    static let marker = "storacha-s3-snapshot"
    static let version = 1

    var bucket: String
    /// The access key that owns the bucket.
    var owner: String
    /// 1 for a bucket's first snapshot, one more than the previous one's after.
    var seq: Int
    /// Seconds since 1970 when the index was read.
    var created: Double
    /// Seconds since 1970 when the bucket was created.
    var bucketCreated: Double
    /// The UnixFS directory of the keys that are paths.
    var tree: CID
    /// The metadata node of the root directory (``SnapshotMetadata``).
    var meta: CID
    /// Every tree upload holding a block of this snapshot, this snapshot's own first.
    var stores: [SnapshotStore]

    func encode() -> IPLDValue {
        .map([
            SnapshotManifest.marker: .int(SnapshotManifest.version), "bucket": .string(bucket), "owner": .string(owner),
            "seq": .int(seq), "created": .float(created), "bucketCreated": .float(bucketCreated), "tree": .link(tree), "meta": .link(meta),
            "stores": .list(stores.map { .map(["root": .link($0.root), "blobs": .list($0.blobs.map { .string($0.description) })]) }),
        ])
    }

    /// Reads a manifest; nil when `value` is not one (another tool's DAG-CBOR upload).
    static func decode(_ value: IPLDValue) throws -> SnapshotManifest? {
        guard let map = value.mapValue, let version = map[marker]?.intValue else { return nil }
        guard version == SnapshotManifest.version else { throw SnapshotFormatError("snapshot format version \(version) is not known") }
        guard let bucket = map["bucket"]?.stringValue, let owner = map["owner"]?.stringValue, let seq = map["seq"]?.intValue,
              let tree = map["tree"]?.linkValue, let meta = map["meta"]?.linkValue, let stores = map["stores"]?.listValue
        else { throw SnapshotFormatError("a snapshot manifest lacks a field") }
        func time(_ name: String) throws -> Double {
            switch map[name] {
            case .float(let f)?: return f
            case .integer(let i)?: return Double(i.int64 ?? 0)
            default: throw SnapshotFormatError("a snapshot manifest has no \(name) time")
            }
        }
        return SnapshotManifest(bucket: bucket, owner: owner, seq: seq, created: try time("created"), bucketCreated: try time("bucketCreated"),
                                tree: tree, meta: meta,
                                stores: try stores.map { store in
            guard let root = store["root"]?.linkValue, let blobs = store["blobs"]?.listValue else {
                throw SnapshotFormatError("a snapshot store lacks its root or blobs")
            }
            return SnapshotStore(root: root, blobs: try blobs.map { try CID($0.stringValue ?? "") })
        })
    }
}

/// An upload holding snapshot blocks (a tree upload): its root and the blobs (CAR shards, then index) it stored.
struct SnapshotStore: Sendable, Equatable, Hashable {
    var root: CID
    var blobs: [CID]
}

/// What a snapshot keeps of one object: all that recovery needs to give the key back as it was.
struct SnapshotObject: Sendable, Equatable {
    var root: CID
    var size: UInt64
    var etag: String
    var modified: Double
    var contentType: String
    var metadata: [String: String]
    /// The object's upload blobs (shards, then index), so that a recovered gateway can remove them.
    var blobs: [String]

    init(_ record: ObjectRecord) throws {
        root = try CID(record.root)
        size = record.info.size
        etag = record.info.etag
        modified = record.info.lastModified.timeIntervalSince1970
        contentType = record.info.contentType
        metadata = record.info.metadata
        blobs = record.shards
    }

    func record(key: String) -> ObjectRecord {
        ObjectRecord(info: S3ObjectInfo(key: key, size: size, etag: etag, lastModified: Date(timeIntervalSince1970: modified),
                                        contentType: contentType, metadata: metadata),
                     root: root.description, shards: blobs, cacheFile: nil, pending: false)
    }

    func encode() -> IPLDValue {
        .map(["cid": .link(root), "size": .integer(IPLDInteger(size)), "etag": .string(etag), "mtime": .float(modified),
              "type": .string(contentType), "meta": .map(metadata.mapValues { .string($0) }),
              "blobs": .list(blobs.map { .string($0) })])
    }

    init(decoding value: IPLDValue) throws {
        guard let map = value.mapValue, let root = map["cid"]?.linkValue, case .integer(let size)? = map["size"], let size = size.uint64,
              let etag = map["etag"]?.stringValue, case .float(let modified)? = map["mtime"], let type = map["type"]?.stringValue,
              let meta = map["meta"]?.mapValue, let blobs = map["blobs"]?.listValue
        else { throw SnapshotFormatError("an object entry of a snapshot lacks a field") }
        self.root = root
        self.size = size
        self.etag = etag
        self.modified = modified
        contentType = type
        metadata = try meta.mapValues { guard let s = $0.stringValue else { throw SnapshotFormatError("metadata is not text") }; return s }
        self.blobs = try blobs.map { guard let s = $0.stringValue else { throw SnapshotFormatError("a blob is not text") }; return s }
    }
}

/// One entry of a directory's metadata node: an object, or a subdirectory's metadata node.
enum SnapshotEntry: Sendable, Equatable {
    case object(SnapshotObject)
    case directory(CID)

    func encode() -> IPLDValue {
        switch self {
        case .object(let object): return object.encode()
        case .directory(let cid): return .map(["dir": .link(cid)])
        }
    }

    init(decoding value: IPLDValue) throws {
        if let dir = value["dir"]?.linkValue { self = .directory(dir) } else { self = .object(try SnapshotObject(decoding: value)) }
    }
}

/// A directory's metadata node: `{"entries": L}` with its entries by name (UTF-8 byte order), and in the root's
/// node also `{"keys": L}`: the objects whose keys are not UnixFS paths, by full key. A list `L` is the pairs
/// `[name, entry]` themselves up to ``inlineLimit`` of them, else `{"pages": [link…]}` to pages `{"entries": […]}`
/// cut where content decides (after a name whose SHA-256 starts with a zero byte, or at ``pageLimit``), so that a
/// change in a large directory makes one new page, not a new list.
enum SnapshotMetadata {
    static let inlineLimit = 256
    static let pageLimit = 2048

    /// Encodes `entries` (sorted) as a list value; page blocks go to `emit`.
    static func list(_ entries: [(String, SnapshotEntry)], emit: (Block) throws -> Void) throws -> IPLDValue {
        let pairs = entries.map { IPLDValue.list([.string($0.0), $0.1.encode()]) }
        guard pairs.count > inlineLimit else { return .list(pairs) }
        var pages: [IPLDValue] = []
        var page: [IPLDValue] = []
        func close() throws {
            let block = try Block(dagCBOR: .map(["entries": .list(page)]))
            try emit(block)
            pages.append(.link(block.cid))
            page = []
        }
        for (i, pair) in pairs.enumerated() {
            page.append(pair)
            if page.count >= pageLimit || Array(SHA256.hash(data: Data(entries[i].0.utf8)))[0] == 0 { try close() }
        }
        if !page.isEmpty { try close() }
        return .map(["pages": .list(pages)])
    }

    /// The entries of a list value, reading pages through `block`.
    static func entries(_ list: IPLDValue, block: (CID) async throws -> IPLDValue) async throws -> [(String, SnapshotEntry)] {
        var pairs = try inline(list) ?? []
        for page in try pages(list) { pairs += try entries(ofPage: try await block(page)) }
        return try decode(pairs)
    }

    /// The entries of a list value, reading pages through `block` (blocks at hand, such as the index's).
    static func entries(_ list: IPLDValue, localBlock block: (CID) throws -> IPLDValue) throws -> [(String, SnapshotEntry)] {
        var pairs = try inline(list) ?? []
        for page in try pages(list) { pairs += try entries(ofPage: try block(page)) }
        return try decode(pairs)
    }

    private static func inline(_ list: IPLDValue) throws -> [IPLDValue]? {
        if let inline = list.listValue { return inline }
        guard list["pages"] != nil else { throw SnapshotFormatError("a metadata list is neither entries nor pages") }
        return nil
    }

    private static func pages(_ list: IPLDValue) throws -> [CID] {
        guard let pages = list["pages"]?.listValue else { return [] }
        return try pages.map { guard let cid = $0.linkValue else { throw SnapshotFormatError("a metadata page is not a link") }; return cid }
    }

    private static func entries(ofPage page: IPLDValue) throws -> [IPLDValue] {
        guard let items = page["entries"]?.listValue else { throw SnapshotFormatError("a metadata page is not a list of entries") }
        return items
    }

    private static func decode(_ pairs: [IPLDValue]) throws -> [(String, SnapshotEntry)] {
        try pairs.map { pair in
            guard let items = pair.listValue, items.count == 2, let name = items[0].stringValue else {
                throw SnapshotFormatError("a metadata entry is not [name, entry]")
            }
            return (name, try SnapshotEntry(decoding: items[1]))
        }
    }
}

/// Which keys are UnixFS paths in a snapshot's tree: every `/`-separated segment non-empty, not `.` or `..`, at most
/// 255 bytes, and the key not also a directory of other keys (`a` beside `a/b`). The others are kept in the root's
/// metadata node under their full key.
enum SnapshotPaths {
    static func segments(_ key: String) -> [String]? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= 255 }) else { return nil }
        return parts
    }

    /// The directories (`a`, `a/b` for `a/b/c`) of a key whose segments are valid.
    static func directories(of key: String) -> [String] {
        guard let parts = segments(key), parts.count > 1 else { return [] }
        return (1..<parts.count).map { parts[0..<$0].joined(separator: "/") }
    }
}

/// A snapshot block that is not what the format says.
struct SnapshotFormatError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "a bucket snapshot is damaged: " + description }
}
