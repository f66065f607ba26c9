import Crypto
import Foundation
import IPLD
import Logging
import Multiformats
import S3Protocol
import StorachaClient
import SystemIO
import UnixFS

/// S3 buckets kept in a Storacha space: every object is an upload of its own (a UnixFS file with its
/// shards and index, listed by `storacha ls` and retrievable from any IPFS gateway), and a bucket is a
/// named set of keys in the gateway's index (``ObjectIndex``). A PUT is answered once the object's local
/// copy is fsynced and its row committed (pending); the ``UploadQueue`` then puts it on Storacha, and
/// picks up what is pending after a restart. GETs read the local copy, or else the verified gateway
/// reader. An object overwritten or deleted has its upload and blobs removed once no key refers to them.
public final class StorachaBuckets: S3Backend {
    let session: SpaceSession
    let gatewayURL: String
    let index: ObjectIndex
    let cache: URL
    let incoming: URL
    let parts: URL
    let logger: Logger
    let queue: UploadQueue
    let budget: LocalCopyBudget
    /// Shared with the upload queue: see ``UploadQueue/contentLocks``.
    let contentLocks = KeyedLock<UploadQueue.ContentKey>()
    let commits: BatchedWork<IndexEntry, ObjectRecord?>
    let snapshots: Snapshotter
    /// Whole-object MD5s of multipart objects, for rclone (``ObjectChecksums``).
    let checksums: ObjectChecksums
    /// Who may sign requests, and which buckets each may read or write.
    let users: GatewayUsers

    /// Buckets of `session`'s space, with the index and local copies under `directory`; blocks not kept
    /// locally are read from the trustless gateway at `gatewayURL`. Each bucket's latest `keepSnapshots` snapshots
    /// are kept on Storacha.
    public init(session: SpaceSession, gatewayURL: String, directory: URL, localCopyLimit: UInt64 = LocalCopyBudget.unlimited,
                keepSnapshots: Int = 1, snapshotTiming: SnapshotTiming = SnapshotTiming(), users: GatewayUsers, logger: Logger) throws {
        self.session = session
        self.users = users
        self.gatewayURL = gatewayURL
        self.logger = logger
        cache = directory.appendingPathComponent("objects")
        incoming = directory.appendingPathComponent("incoming")
        parts = directory.appendingPathComponent("multipart")
        // Private: the index holds small objects' bytes, the directories below the others'.
        try PrivateDirectory.make(directory)
        for dir in [cache, incoming, parts] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        // Bodies that were arriving when the gateway stopped were never acknowledged.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: incoming.path)) ?? [] {
            try? FileManager.default.removeItem(at: incoming.appendingPathComponent(name))
        }
        index = try ObjectIndex(url: directory.appendingPathComponent("index.sqlite"))
        let budget = LocalCopyBudget(index: index, cache: cache, limit: localCopyLimit, logger: logger)
        self.budget = budget
        queue = UploadQueue(session: session, index: index, cache: cache, budget: budget, contentLocks: contentLocks, logger: logger)
        checksums = ObjectChecksums(index: index, cache: cache, budget: budget, logger: logger)
        snapshots = Snapshotter(index: index, session: session, directory: directory.appendingPathComponent("snapshots"),
                                keep: keepSnapshots, contentLocks: contentLocks, logger: logger, timing: snapshotTiming)
        commits = BatchedWork { [index, cache] entries in
            do {
                // The local copies' directory entries are durable before any row refers to them.
                if entries.contains(where: { $0.record.cacheFile.map { !LocalCopy.isInline($0) } ?? false }) {
                    try await BlockingIO.run { try DurableFile.syncDirectory(cache) }
                }
                return try await index.put(entries)
            } catch {
                return entries.map { _ in .failure(error) }
            }
        }
    }

    static func noSuchBucket(_ bucket: String) -> S3Error { S3Error("NoSuchBucket", status: 404, "The specified bucket does not exist: \(bucket)") }
    static func noSuchKey(_ key: String) -> S3Error { S3Error("NoSuchKey", status: 404, "The specified key does not exist: \(key)") }

    static let accessDenied = S3Error("AccessDenied", status: 403, "Access Denied")

    /// Checks that `accessKey` may `access` `bucket` (AccessDenied, whether or not it exists), then that it exists.
    func authorize(_ bucket: String, _ accessKey: String, _ access: GatewayAccess = .write) async throws {
        guard users.may(accessKey, access, bucket) else { throw StorachaBuckets.accessDenied }
        guard index.owner(of: bucket) != nil else { throw StorachaBuckets.noSuchBucket(bucket) }
    }

    public func listBuckets(accessKey: String) async throws -> [S3BucketInfo] {
        try await index.buckets().filter { users.may(accessKey, .read, $0.name) }
    }

    public func createBucket(_ bucket: String, accessKey: String) async throws {
        guard users.may(accessKey, .write, bucket) else { throw StorachaBuckets.accessDenied }
        if index.owner(of: bucket) != nil { return }
        try await index.createBucket(bucket, owner: accessKey)
    }

    public func headBucket(_ bucket: String, accessKey: String) async throws { try await authorize(bucket, accessKey, .read) }

    public func deleteBucket(_ bucket: String, accessKey: String) async throws {
        try await authorize(bucket, accessKey)
        guard try await index.deleteBucket(bucket) else {
            throw S3Error("BucketNotEmpty", status: 409, "The bucket you tried to delete is not empty")
        }
    }

    public func listObjects(_ bucket: String, prefix: String, after: String?, limit: Int, accessKey: String) async throws -> [S3ObjectInfo] {
        try await authorize(bucket, accessKey, .read)
        return try await index.list(bucket, prefix: prefix, after: after, limit: limit)
    }

    public func headObject(_ bucket: String, key: String, accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(bucket, accessKey, .read)
        guard let record = try await index.object(bucket, key: key) else { throw StorachaBuckets.noSuchKey(key) }
        return record.info
    }

    public func getObject(_ bucket: String, key: String, range: Range<UInt64>?, accessKey: String) async throws -> S3ObjectContent {
        try await authorize(bucket, accessKey, .read)
        guard let record = try await index.object(bucket, key: key) else { throw StorachaBuckets.noSuchKey(key) }
        let wanted = range ?? 0..<record.info.size
        if let name = record.cacheFile, LocalCopy.isInline(name), let body = try await index.body(name), body.count == record.info.size {
            await budget.read(LocalCopyRef(bucket: bucket, key: key, cacheFile: name))
            let bytes = wanted.isEmpty ? [] : Array(body[Int(wanted.lowerBound)..<Int(wanted.upperBound)])
            return S3ObjectContent(info: record.info, bytes: S3ByteStream { $0.yield(bytes); $0.finish() })
        }
        if let name = record.cacheFile, !LocalCopy.isInline(name) {
            // Leased while it streams: neither the budget nor an overwrite removes it under the reader.
            let lease = await budget.lease(LocalCopyRef(bucket: bucket, key: key, cacheFile: name))
            let url = cache.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) {
                return S3ObjectContent(info: record.info, bytes: LocalCopy.stream(url, range: wanted, holding: lease))
            }
        }
        guard !record.pending, let root = try? CID(record.root) else {
            throw S3Error("InternalError", status: 500, "the local copy of \(key) is missing and it is not on Storacha yet")
        }
        // From Storacha, every block verified; one piece at a time, as fast as the client reads.
        let exporter = UnixFSExporter(source: PrefetchingBlockSource(GatewayBlockSource(url: gatewayURL)))
        let handoff = AsyncHandoff<[UInt8]>()
        let producer = Task {
            do {
                try await exporter.read(root, range: wanted) { data in try await handoff.send(Array(data)) }
                handoff.finish()
            } catch {
                handoff.finish(throwing: error)
            }
        }
        let stop = CancelOnRelease { producer.cancel(); handoff.cancel() }
        return S3ObjectContent(info: record.info, bytes: S3ByteStream(unfolding: { [stop] in
            withExtendedLifetime(stop) {}
            return try await handoff.next()
        }))
    }

    public func putObject(_ bucket: String, key: String, body: S3UploadBody, contentType: String, metadata: [String: String],
                          accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(bucket, accessKey)
        let (received, size) = try await IncomingBody.receive(body, in: incoming)
        do {
            guard let md5 = body.md5 else { throw S3Error("IncompleteBody", status: 400, "the body was not read to its end") }
            return try await store(received, size: size, bucket: bucket, key: key, etag: SigV4.hex(md5), contentType: contentType,
                                   metadata: metadata)
        } catch {
            if case .file(let temp) = received { try? FileManager.default.removeItem(at: temp) }
            throw error
        }
    }

    /// Keeps a complete body (small, or an fsynced file or directory of parts) as the object `key`: a file moves into
    /// the cache directory, its index row is committed as pending (with a small body in it), and the upload queue sends it to
    /// Storacha (and, with `addMD5`, ``ObjectChecksums`` adds its MD5). What the key held before is released.
    func store(_ body: IncomingBody, size: UInt64, bucket: String, key: String, etag: String, contentType: String,
               metadata: [String: String], addMD5: Bool = false) async throws -> S3ObjectInfo {
        let name: String
        var inline: Data?
        switch body {
        case .inline(let bytes):
            name = LocalCopy.inlineName()
            inline = bytes
        case .file(let temp):
            name = UniqueName.make()
            try await BlockingIO.run { [cache] in try DurableFile.moveIntoPlace(temp, cache.appendingPathComponent(name), syncDirectory: false) }
        }
        let info = S3ObjectInfo(key: key, size: size, etag: etag, lastModified: Date(), contentType: contentType, metadata: metadata)
        let record = ObjectRecord(info: info, root: "", shards: [], cacheFile: name, pending: true, addMD5: addMD5)
        if let old = try await commit(IndexEntry(bucket: bucket, record: record, body: inline)) { await release(old, keeping: record) }
        await queue.add(UploadQueue.Item(bucket: bucket, key: key, cacheFile: name, size: size, etag: etag), arriving: true)
        if ObjectChecksums.needed(record) { await checksums.add(record, bucket: bucket) }
        return info
    }

    /// Makes `record` (whose local copy is in the cache directory, renamed or linked there) the key's object:
    /// concurrent calls share one directory fsync and one index transaction. Returns what the key held.
    func commit(_ entry: IndexEntry) async throws -> ObjectRecord? { try await commits.submit(entry) }

    /// Removes what a crash left unacknowledged, takes up the MD5s still to compute, trims the local copies to their
    /// budget, starts uploading what was acknowledged before a restart and starts making snapshots. On an empty index
    /// (a fresh data directory), first rebuilds the buckets from their snapshots on Storacha, as owned by
    /// `owner(owner in the snapshot)`; a failure to read them is thrown (serving an empty index would hide them).
    /// Call it before serving.
    public func start(recoveringFor owner: @escaping @Sendable (String) -> String) async throws {
        if try await index.isEmpty() {
            let recovery = BucketRecovery(index: index, session: session, blocks: PrefetchingBlockSource(GatewayBlockSource(url: gatewayURL)),
                                          logger: logger, owner: owner)
            do { _ = try await recovery.run() } catch {
                throw S3GatewayError("cannot rebuild the buckets from their snapshots on Storacha: \(error)")
            }
        }
        do { try await LocalCopyBudget.removeOrphans(index: index, cache: cache) } catch {
            logger.warning("could not look for leftover local copies: \(error)")
        }
        // Before the trim: the MD5s still to compute hold their local copies.
        await checksums.resume()
        await budget.trim()
        await queue.resume()
        await snapshots.start()
    }

    /// Snapshots every changed bucket now and stops making snapshots (at shutdown).
    public func stop() async { await snapshots.stop() }

    /// How many acknowledged objects of the gateway whose data directory is `directory` wait for their upload.
    public static func pendingUploads(directory: URL) throws -> Int {
        try ObjectIndex.pendingCount(at: directory.appendingPathComponent("index.sqlite"))
    }

    /// How many buckets of the gateway whose data directory is `directory` changed since their last snapshot.
    public static func unsnapshottedBuckets(directory: URL) throws -> Int {
        try ObjectIndex.changedCount(at: directory.appendingPathComponent("index.sqlite"))
    }

    /// How many multipart objects of the gateway whose data directory is `directory` wait for their MD5
    /// (``ObjectChecksums``).
    public static func objectsAwaitingMD5(directory: URL) throws -> Int {
        try ObjectIndex.countAwaitingMD5(at: directory.appendingPathComponent("index.sqlite"))
    }

    /// Returns once every acknowledged object is on Storacha and every multipart object has its MD5.
    public func drained() async {
        await queue.drained()
        await checksums.drained()
    }

    public func copyObject(from: (bucket: String, key: String), to: (bucket: String, key: String), contentType: String?,
                           metadata: [String: String]?, accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(from.bucket, accessKey, .read)
        try await authorize(to.bucket, accessKey, .write)
        guard let source = try await index.object(from.bucket, key: from.key) else { throw StorachaBuckets.noSuchKey(from.key) }
        var record = source
        record.info.key = to.key
        record.info.lastModified = Date()
        if let contentType { record.info.contentType = contentType }
        if let metadata { record.info.metadata = metadata }
        // The copy shares the upload; its local copy is a hard link to the same bytes (or their copy in the index).
        var entry = IndexEntry(bucket: to.bucket, record: record)
        if let file = source.cacheFile, LocalCopy.isInline(file) {
            record.cacheFile = LocalCopy.inlineName()
            entry.bodyCopiedFrom = file
        } else if let file = source.cacheFile {
            let name = UniqueName.make()
            do {
                try LocalCopy.link(cache.appendingPathComponent(file), to: cache.appendingPathComponent(name))
                record.cacheFile = name
            } catch {
                record.cacheFile = nil
            }
        }
        if source.pending && record.cacheFile == nil {
            throw S3Error("InternalError", status: 500, "cannot copy \(from.key) before it is uploaded")
        }
        entry.record = record
        if let old = try await commit(entry) { await release(old, keeping: record) }
        if record.pending, let file = record.cacheFile {
            await queue.add(UploadQueue.Item(bucket: to.bucket, key: to.key, cacheFile: file, size: record.info.size,
                                                      etag: record.info.etag), arriving: true)
        }
        if ObjectChecksums.needed(record) { await checksums.add(record, bucket: to.bucket) }
        return record.info
    }

    public func deleteObject(_ bucket: String, key: String, accessKey: String) async throws {
        try await authorize(bucket, accessKey)
        if let old = try await index.remove(bucket, key: key) { await release(old, keeping: nil) }
    }

    /// Drops what a replaced or deleted record held: its local copy. Its upload is a removal candidate (recorded with the
    /// change) that the ``Snapshotter`` removes once neither a key nor a retained snapshot refers to it.
    func release(_ old: ObjectRecord, keeping current: ObjectRecord?) async {
        if let file = old.cacheFile, file != current?.cacheFile, !LocalCopy.isInline(file) { await budget.remove(file) }
    }
}

/// The gateway cannot do what it was asked, with the reason.
public struct S3GatewayError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
