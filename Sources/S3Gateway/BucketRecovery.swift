import CAR
import Foundation
import IPLD
import Logging
import Multiformats
import StorachaClient
import SystemIO
import UnixFS

/// Rebuilds the gateway's index from the space alone: finds the snapshot manifests among the space's uploads (the
/// uploads whose root is DAG-CBOR), takes each bucket's latest (highest `seq`), and reads its metadata tree through
/// the verified gateway reader, so that every key comes back with its size, time, ETag, content type, user metadata
/// and upload. Objects' bytes are not fetched: they are read from Storacha when asked for.
struct BucketRecovery {
    let index: ObjectIndex
    let session: SpaceSession
    let blocks: any BlockSource
    let logger: Logger
    /// The access key that owns a recovered bucket, given the one its snapshot names.
    let owner: @Sendable (String) -> String

    /// Recovers every bucket that has a snapshot; returns how many.
    func run() async throws -> Int {
        var found: [String: [(cid: CID, manifest: SnapshotManifest)]] = [:]
        for upload in try await session.listUploads() where upload.root.codec == DAGCBOR.code {
            do {
                guard let manifest = try SnapshotManifest.decode(try DAGCBOR.decode(try await blocks.block(upload.root))) else { continue }
                found[manifest.bucket, default: []].append((upload.root, manifest))
            } catch {
                logger.warning("upload \(upload.root) is not a snapshot this gateway can read: \(error)")
            }
        }
        for (bucket, list) in found {
            let ordered = list.sorted { ($0.manifest.seq, $0.manifest.created) > ($1.manifest.seq, $1.manifest.created) }
            let latest = ordered[0].manifest
            let fetched = Locked<[(cid: String, bytes: Data)]>([])
            let objects = try await SnapshotLookup.objects(meta: latest.meta) { [blocks] cid in
                let bytes = try await blocks.block(cid)
                fetched.update { $0.append((cid.description, bytes)) }
                return try DAGCBOR.decode(bytes)
            }
            let records = try ordered.map { item in
                SnapshotRecord(manifest: item.cid, bucket: bucket, seq: item.manifest.seq, created: item.manifest.created,
                               tree: item.manifest.tree, meta: item.manifest.meta, stores: item.manifest.stores,
                               blobs: try SnapshotUpload.blobs(of: item.manifest), added: 0, recovered: true)
            }
            try await index.restore(bucket: bucket, owner: owner(latest.owner), created: latest.bucketCreated, objects: objects,
                                    snapshots: records, blocks: fetched.value)
            logger.notice("recovered bucket \(bucket): \(objects.count) objects from snapshot \(latest.seq) (\(ordered[0].cid))")
        }
        return found.count
    }
}

/// What uploading a snapshot CAR stores.
enum SnapshotUpload {
    /// The blobs (shards, then index) that `SpaceSession.upload(car:)` stores for the CAR at `url`: the packing is
    /// deterministic, so they follow from the CAR's blocks.
    static func blobs(of url: URL) throws -> [CID] {
        let directory = try PrivateDirectory.makeTemporary(prefix: "storacha-snapshot-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let packed = try Packer.repack(car: url, into: directory)
        return packed.shards.map(\.cid) + [try packed.index.archiveCID()]
    }

    /// The blobs of a manifest's upload (a CAR of its one block).
    static func blobs(of manifest: SnapshotManifest) throws -> [CID] {
        let block = try Block(dagCBOR: manifest.encode())
        let directory = try PrivateDirectory.makeTemporary(prefix: "storacha-manifest-")
        defer { try? FileManager.default.removeItem(at: directory) }
        let car = directory.appendingPathComponent("manifest.car")
        try CAREncoder.encode(roots: [block.cid], blocks: [block]).write(to: car)
        return try blobs(of: car)
    }
}
