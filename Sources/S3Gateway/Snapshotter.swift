import CAR
import Foundation
import IPLD
import Logging
import Multiformats
import StorachaClient
import SystemIO
import UnixFS

/// When a changed bucket's snapshot is made: `quiet` seconds after its last change, at most `longest` after its first.
public struct SnapshotTiming: Sendable {
    public var quiet: Double = 2
    public var longest: Double = 30
    public var poll: Duration = .milliseconds(500)
    /// A pause between a snapshot's tree upload and its manifest upload, to test a crash there.
    public var pauseAfterTree: Duration?

    public init() {}
}

/// Makes the space the source of truth for the buckets: after changes (a few seconds after the last one, at most
/// `longest` after the first, and at shutdown), uploads a snapshot of each changed bucket (``SnapshotBuild``: the new
/// blocks as a tree upload, then a manifest upload that names the tree and every earlier tree upload it reuses),
/// keeps `keep` snapshots per bucket and removes older ones, then removes the uploads of replaced and deleted objects
/// that neither a key nor a retained snapshot refers to. A bucket's change mark is cleared only once its snapshot is
/// recorded, so a crash at any point leaves the previous snapshot in place and the next start makes the new one.
actor Snapshotter {
    typealias Timing = SnapshotTiming

    let index: ObjectIndex
    let session: SpaceSession
    let directory: URL
    let keep: Int
    let timing: Timing
    let logger: Logger
    /// Shared with the upload queue: an upload and the removal of an upload of the same bytes never overlap.
    let contentLocks: KeyedLock<UploadQueue.ContentKey>
    private var loop: Task<Void, Never>?
    /// Buckets whose last snapshot failed, and when to try again (seconds since 1970).
    private var retryAt: [String: Double] = [:]
    /// Whether the uploads of snapshots interrupted before this start were removed.
    private var cleaned = false
    /// Whether removal candidates may have become removable (a snapshot was made or removed, or a removal failed).
    private var sweepDue = true

    init(index: ObjectIndex, session: SpaceSession, directory: URL, keep: Int, contentLocks: KeyedLock<UploadQueue.ContentKey>,
         logger: Logger, timing: Timing = Timing()) {
        self.index = index
        self.session = session
        self.directory = directory
        self.keep = max(1, keep)
        self.contentLocks = contentLocks
        self.logger = logger
        self.timing = timing
    }

    /// Starts making snapshots in the background.
    func start() {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        guard loop == nil else { return }
        loop = Task {
            while !Task.isCancelled {
                await self.round(force: false)
                try? await Task.sleep(for: self.timing.poll)
            }
        }
    }

    /// Stops the background work and snapshots every changed bucket now.
    func stop() async {
        loop?.cancel()
        await loop?.value
        loop = nil
        await round(force: true)
    }

    /// Snapshots the buckets that are due (all changed ones with `force`), then removes what nothing refers to.
    func round(force: Bool) async {
        let now = Date().timeIntervalSince1970
        do {
            if !cleaned {
                try await removeInterruptedUploads()
                cleaned = true
            }
            for change in try await index.changedBuckets()
            where force || (now >= retryAt[change.bucket] ?? 0 && (now - change.last >= timing.quiet || now - change.first >= timing.longest)) {
                do {
                    try await snapshot(change.bucket)
                    retryAt[change.bucket] = nil
                    sweepDue = true
                } catch {
                    retryAt[change.bucket] = now + 15
                    logger.warning("snapshot of bucket \(change.bucket) failed, will retry in 15 s: \(error)")
                }
            }
            if sweepDue {
                try await sweep()
                sweepDue = false
            }
        } catch {
            logger.warning("snapshot round failed: \(error)")
        }
    }

    /// Snapshots one bucket (or, when it was deleted, removes its snapshots).
    func snapshot(_ bucket: String) async throws {
        let previous = try await index.snapshots(bucket)
        let all = try await index.allSnapshots()
        let known = Array(Set(all.flatMap(\.stores)))
        let last = previous.first?.meta
        var build = try await SnapshotBuild.make(bucket, index: index, previous: last, stores: known, full: false, directory: directory)
        if build.needsFull {
            build = try await SnapshotBuild.make(bucket, index: index, previous: last, stores: known, full: true, directory: directory)
        }
        defer { if let car = build.car { try? FileManager.default.removeItem(at: car) } }
        guard let owner = build.owner else {
            try await prune(bucket, keep: 0)
            try await index.clear(bucket, version: build.version)
            logger.info("removed the snapshots of deleted bucket \(bucket)")
            return
        }
        if let last = previous.first, last.tree == build.tree, last.meta == build.meta {
            try await index.clear(bucket, version: build.version)
            return
        }
        var stores = build.inherited
        if let car = build.car {
            try await index.recordAttempt(root: build.tree, blobs: try await BlockingIO.run { try SnapshotUpload.blobs(of: car) })
            let result = try await session.upload(car: car)
            let own = SnapshotStore(root: result.root, blobs: result.shards.map(\.cid) + [try result.index.archiveCID()])
            stores = [own] + stores.filter { $0.root != own.root }
            logger.info("snapshot \((previous.first?.seq ?? 0) + 1) of bucket \(bucket): tree \(build.tree) uploaded")
            if let pause = timing.pauseAfterTree { try? await Task.sleep(for: pause) }
        }
        let manifest = SnapshotManifest(bucket: bucket, owner: owner, seq: (previous.first?.seq ?? 0) + 1, created: build.created,
                                        bucketCreated: build.bucketCreated, tree: build.tree, meta: build.meta, stores: stores)
        let block = try Block(dagCBOR: manifest.encode())
        let manifestCAR = directory.appendingPathComponent("manifest-\(UniqueName.make()).car")
        defer { try? FileManager.default.removeItem(at: manifestCAR) }
        try CAREncoder.encode(roots: [block.cid], blocks: [block]).write(to: manifestCAR)
        try await index.recordAttempt(root: block.cid, blobs: try await BlockingIO.run { try SnapshotUpload.blobs(of: manifestCAR) })
        let uploaded = try await session.upload(car: manifestCAR)
        let record = SnapshotRecord(manifest: block.cid, bucket: bucket, seq: manifest.seq, created: manifest.created, tree: build.tree,
                                    meta: build.meta, stores: stores,
                                    blobs: uploaded.shards.map(\.cid) + [try uploaded.index.archiveCID()],
                                    added: build.added + 1, recovered: false)
        try await index.record(record, car: build.car, store: stores.first?.root.description ?? "", version: build.version)
        logger.info("snapshot \(manifest.seq) of bucket \(bucket): \(block.cid) (tree \(build.tree), \(build.added + 1) new blocks)")
        try await prune(bucket, keep: keep)
    }

    /// Removes `bucket`'s snapshots beyond the latest `keep`: their manifest uploads, and the tree uploads (and blobs)
    /// that no retained snapshot of any bucket uses.
    func prune(_ bucket: String, keep: Int) async throws {
        let all = try await index.allSnapshots()
        let doomed = Array(all.filter { $0.bucket == bucket }.dropFirst(keep))
        guard !doomed.isEmpty else { return }
        let gone = Set(doomed.map(\.manifest))
        let retained = all.filter { !gone.contains($0.manifest) }
        let retainedStores = Set(retained.flatMap(\.stores).map(\.root))
        let retainedBlobs = Set(retained.flatMap { $0.blobs + $0.stores.flatMap(\.blobs) })
        for snapshot in doomed {
            try await session.removeUpload(snapshot.manifest, blobs: snapshot.blobs.filter { !retainedBlobs.contains($0) })
        }
        var removed: Set<CID> = []
        for store in doomed.flatMap(\.stores) where !retainedStores.contains(store.root) && removed.insert(store.root).inserted {
            try await session.removeUpload(store.root, blobs: store.blobs.filter { !retainedBlobs.contains($0) })
        }
        try await index.forget(doomed.map(\.manifest))
        logger.info("removed \(doomed.count) superseded snapshot(s) of bucket \(bucket)")
    }

    /// Removes the tree and manifest uploads of snapshots that a crash interrupted before they were recorded (each is
    /// recorded with its blobs before it starts), unless a retained snapshot uses them.
    func removeInterruptedUploads() async throws {
        let attempts = try await index.attempts()
        guard !attempts.isEmpty else { return }
        let retained = try await index.allSnapshots()
        let roots = Set(retained.map(\.manifest) + retained.flatMap(\.stores).map(\.root))
        let blobs = Set(retained.flatMap { $0.blobs + $0.stores.flatMap(\.blobs) })
        for (root, stored) in attempts {
            if !roots.contains(root) {
                try await session.removeUpload(root, blobs: stored.filter { !blobs.contains($0) })
                logger.info("removed the upload \(root) of an interrupted snapshot")
            }
            try await index.dropAttempt(root: root)
        }
    }

    /// Removes the uploads of replaced and deleted objects that no key and no retained snapshot refers to.
    func sweep() async throws {
        let candidates = try await index.removalCandidates()
        guard !candidates.isEmpty else { return }
        let snapshots = Dictionary(grouping: try await index.allSnapshots(), by: \.bucket)
        for (root, group) in candidates {
            // Still some key's object (a copy): wait. Its candidates stay, for the snapshots that hold those keys.
            if try await index.references(root: root) { continue }
            var held = false
            for candidate in group {
                for snapshot in snapshots[candidate.bucket] ?? [] where try await holds(snapshot, candidate) { held = true }
            }
            guard !held, let cid = try? CID(root), let first = group.first else { continue }
            try await contentLocks.withLock(UploadQueue.ContentKey(size: first.size, etag: first.etag)) {
                guard try await !self.index.references(root: root) else { return }
                try await self.session.removeUpload(cid, blobs: first.shards.compactMap { try? CID($0) })
                self.logger.info("removed the upload \(root) of replaced or deleted \(first.bucket)/\(first.key)")
            }
            try await index.dropRemovals(root: root)
        }
    }

    /// Whether `snapshot` holds `candidate`'s key with its upload (true when its blocks are not kept locally).
    func holds(_ snapshot: SnapshotRecord, _ candidate: RemovalCandidate) async throws -> Bool {
        try await index.db.read { db in
            switch try? SnapshotLookup.object(candidate.key, meta: snapshot.meta, block: { try ObjectIndex.snapshotValue($0, db) }) {
            case .found(let object)?: return object.root.description == candidate.root
            case .absent?: return false
            case .missingBlock?, nil: return true  // not kept locally, or unreadable: keep the object
            }
        }
    }
}

extension ObjectIndex {
    /// Clears `bucket`'s change mark if nothing changed after `version`.
    func clear(_ bucket: String, version: Int?) async throws {
        guard let version else { return }
        try await db.write { db in try ObjectIndex.clearChange(bucket, version: version, db) }
    }
}

/// Finds a key in a snapshot's metadata tree, from blocks at hand.
enum SnapshotLookup {
    enum Outcome {
        case found(SnapshotObject)
        case absent
        case missingBlock
    }

    static func object(_ key: String, meta: CID, block: (CID) throws -> IPLDValue?) throws -> Outcome {
        let required: (CID) throws -> IPLDValue = { cid in
            guard let value = try block(cid) else { throw SnapshotFormatError("block \(cid) is not kept locally") }
            return value
        }
        guard let root = try block(meta) else { return .missingBlock }
        if let keys = root["keys"] {
            for (name, entry) in try SnapshotMetadata.entries(keys, localBlock: required) where name == key {
                if case .object(let object) = entry { return .found(object) }
            }
        }
        guard let parts = SnapshotPaths.segments(key) else { return .absent }
        var node = root
        for (i, part) in parts.enumerated() {
            guard let list = node["entries"] else { return .absent }
            guard let entry = try SnapshotMetadata.entries(list, localBlock: required).first(where: { $0.0 == part })?.1 else { return .absent }
            switch entry {
            case .object(let object): return i == parts.count - 1 ? .found(object) : .absent
            case .directory(let cid):
                guard i < parts.count - 1 else { return .absent }
                guard let next = try block(cid) else { return .missingBlock }
                node = next
            }
        }
        return .absent
    }
}
