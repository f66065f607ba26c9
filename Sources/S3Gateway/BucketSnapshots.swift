import Foundation
import GRDB
import IPLD
import Multiformats
import S3Protocol
import StorachaClient

/// One retained snapshot of a bucket, as `storacha s3 snapshots` shows it.
public struct SnapshotInfo: Sendable, Equatable {
    public let bucket: String
    public let seq: Int
    public let created: Date
    /// The UnixFS tree of the keys (`<root>/path/to/key` resolves at any IPFS gateway).
    public let root: CID
    /// The manifest, the root of the snapshot's upload.
    public let manifest: CID
    /// Blocks the snapshot added to the space (its new tree blocks and the manifest; 0 when recovered).
    public let addedBlocks: Int
}

/// Snapshots of a gateway's buckets, read from (and restored into) its data directory; a gateway may be running on it.
public enum BucketSnapshots {
    /// The retained snapshots of `bucket`, the latest first.
    public static func list(directory: URL, bucket: String) async throws -> [SnapshotInfo] {
        let index = try ObjectIndex(url: directory.appendingPathComponent("index.sqlite"))
        return try await index.snapshots(bucket).map {
            SnapshotInfo(bucket: $0.bucket, seq: $0.seq, created: Date(timeIntervalSince1970: $0.created), root: $0.tree,
                         manifest: $0.manifest, addedBlocks: $0.added)
        }
    }

    /// Makes the new bucket `target` hold what `bucket` held at its retained snapshot `snapshot` (its root or manifest
    /// CID): the same uploads under the same keys with the same S3 metadata; no byte is copied. Blocks the index does not
    /// keep are read from the gateway at `gatewayURL`. Returns how many objects it holds.
    public static func restore(directory: URL, bucket: String, snapshot: String, to target: String, gatewayURL: String) async throws -> Int {
        try S3Names.checkBucket(target)
        let index = try ObjectIndex(url: directory.appendingPathComponent("index.sqlite"))
        let wanted = try CID(snapshot)
        guard let record = try await index.snapshots(bucket).first(where: { $0.tree == wanted || $0.manifest == wanted }) else {
            throw S3GatewayError("\(snapshot) is not a retained snapshot of bucket \(bucket) (see `storacha s3 snapshots \(bucket)`)")
        }
        guard let owner = try await index.storedOwner(of: bucket) else { throw S3GatewayError("there is no bucket \(bucket)") }
        guard try await index.storedOwner(of: target) == nil else { throw S3GatewayError("bucket \(target) exists already") }
        let remote = GatewayBlockSource(url: gatewayURL)
        let objects = try await SnapshotLookup.objects(meta: record.meta) { cid in
            if let local = try await index.snapshotBlock(cid) { return try DAGCBOR.decode(local.bytes) }
            return try DAGCBOR.decode(try await remote.block(cid))
        }
        try await index.createBucket(target, owner: owner)
        for (key, object) in objects { try await index.put(target, object.record(key: key)) }
        return objects.count
    }
}

extension SnapshotLookup {
    /// Every object of a snapshot's metadata tree, with its key.
    static func objects(meta: CID, block: @Sendable (CID) async throws -> IPLDValue) async throws -> [(String, SnapshotObject)] {
        var objects: [(String, SnapshotObject)] = []
        let root = try await block(meta)
        if let keys = root["keys"] {
            for (key, entry) in try await SnapshotMetadata.entries(keys, block: block) {
                if case .object(let object) = entry { objects.append((key, object)) }
            }
        }
        try await walk(root, prefix: "", into: &objects, block: block)
        return objects
    }

    private static func walk(_ node: IPLDValue, prefix: String, into objects: inout [(String, SnapshotObject)],
                             block: @Sendable (CID) async throws -> IPLDValue) async throws {
        guard let list = node["entries"] else { throw SnapshotFormatError("a metadata node has no entries") }
        for (name, entry) in try await SnapshotMetadata.entries(list, block: block) {
            switch entry {
            case .object(let object): objects.append((prefix + name, object))
            case .directory(let cid): try await walk(try await block(cid), prefix: prefix + name + "/", into: &objects, block: block)
            }
        }
    }
}
