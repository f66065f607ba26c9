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

    /// Buckets of `session`'s space, with the index and local copies under `directory`; blocks not kept
    /// locally are read from the trustless gateway at `gatewayURL`.
    public init(session: SpaceSession, gatewayURL: String, directory: URL, logger: Logger) throws {
        self.session = session
        self.gatewayURL = gatewayURL
        self.logger = logger
        cache = directory.appendingPathComponent("objects")
        incoming = directory.appendingPathComponent("incoming")
        parts = directory.appendingPathComponent("multipart")
        for dir in [directory, cache, incoming, parts] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        // Bodies that were arriving when the gateway stopped were never acknowledged.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: incoming.path)) ?? [] {
            try? FileManager.default.removeItem(at: incoming.appendingPathComponent(name))
        }
        index = try ObjectIndex(url: directory.appendingPathComponent("index.sqlite"))
        queue = UploadQueue(session: session, index: index, cache: cache, logger: logger)
    }

    static func noSuchBucket(_ bucket: String) -> S3Error { S3Error("NoSuchBucket", status: 404, "The specified bucket does not exist: \(bucket)") }
    static func noSuchKey(_ key: String) -> S3Error { S3Error("NoSuchKey", status: 404, "The specified key does not exist: \(key)") }

    /// Checks that `bucket` exists and belongs to `accessKey`.
    func authorize(_ bucket: String, _ accessKey: String) async throws {
        guard let owner = try await index.owner(of: bucket) else { throw StorachaBuckets.noSuchBucket(bucket) }
        guard owner == accessKey else { throw S3Error("AccessDenied", status: 403, "Access Denied") }
    }

    public func listBuckets(accessKey: String) async throws -> [S3BucketInfo] { try await index.buckets(owner: accessKey) }

    public func createBucket(_ bucket: String, accessKey: String) async throws {
        if let owner = try await index.owner(of: bucket) {
            guard owner == accessKey else { throw S3Error("BucketAlreadyExists", status: 409, "The requested bucket name is not available.") }
            return
        }
        try await index.createBucket(bucket, owner: accessKey)
    }

    public func headBucket(_ bucket: String, accessKey: String) async throws { try await authorize(bucket, accessKey) }

    public func deleteBucket(_ bucket: String, accessKey: String) async throws {
        try await authorize(bucket, accessKey)
        guard try await index.deleteBucket(bucket) else {
            throw S3Error("BucketNotEmpty", status: 409, "The bucket you tried to delete is not empty")
        }
    }

    public func listObjects(_ bucket: String, prefix: String, after: String?, limit: Int, accessKey: String) async throws -> [S3ObjectInfo] {
        try await authorize(bucket, accessKey)
        return try await index.list(bucket, prefix: prefix, after: after, limit: limit)
    }

    public func headObject(_ bucket: String, key: String, accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(bucket, accessKey)
        guard let record = try await index.object(bucket, key: key) else { throw StorachaBuckets.noSuchKey(key) }
        return record.info
    }

    public func getObject(_ bucket: String, key: String, range: Range<UInt64>?, accessKey: String) async throws -> S3ObjectContent {
        try await authorize(bucket, accessKey)
        guard let record = try await index.object(bucket, key: key) else { throw StorachaBuckets.noSuchKey(key) }
        let wanted = range ?? 0..<record.info.size
        if let name = record.cacheFile, FileManager.default.fileExists(atPath: cache.appendingPathComponent(name).path) {
            return S3ObjectContent(info: record.info, bytes: LocalCopy.stream(cache.appendingPathComponent(name), range: wanted))
        }
        guard let root = try? CID(record.root) else { throw S3Error("InternalError", status: 500, "the index holds a bad CID for \(key)") }
        let exporter = UnixFSExporter(source: PrefetchingBlockSource(GatewayBlockSource(url: gatewayURL)))
        let stream = S3ByteStream { continuation in
            let task = Task {
                do {
                    try await exporter.read(root, range: wanted) { data in continuation.yield(Array(data)) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return S3ObjectContent(info: record.info, bytes: stream)
    }

    public func putObject(_ bucket: String, key: String, body: S3UploadBody, contentType: String, metadata: [String: String],
                          accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(bucket, accessKey)
        let temp = incoming.appendingPathComponent(UUID().uuidString)
        do {
            let size = try await StorachaBuckets.receive(body, into: temp)
            guard let md5 = body.md5 else { throw S3Error("IncompleteBody", status: 400, "the body was not read to its end") }
            return try await store(temp, size: size, bucket: bucket, key: key, etag: SigV4Hex.hex(md5), contentType: contentType, metadata: metadata)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    /// Keeps the complete, fsynced file (or directory of parts) `temp` as the object `key`: its local copy moves into place, its index
    /// row is committed as pending, and the upload queue sends it to Storacha. What the key held before is released.
    func store(_ temp: URL, size: UInt64, bucket: String, key: String, etag: String, contentType: String,
               metadata: [String: String]) async throws -> S3ObjectInfo {
        let name = UUID().uuidString
        try await BlockingIO.run { [cache] in try DurableFile.moveIntoPlace(temp, cache.appendingPathComponent(name)) }
        let info = S3ObjectInfo(key: key, size: size, etag: etag, lastModified: Date(), contentType: contentType, metadata: metadata)
        let record = ObjectRecord(info: info, root: "", shards: [], cacheFile: name, pending: true)
        if let old = try await index.put(bucket, record) { await release(old, keeping: record) }
        await queue.add(UploadQueue.Item(bucket: bucket, key: key, cacheFile: name, size: size))
        return info
    }

    /// Starts uploading what was acknowledged before a restart.
    public func start() async { await queue.resume() }

    /// Returns once every acknowledged object is on Storacha.
    public func drained() async { await queue.drained() }

    public func copyObject(from: (bucket: String, key: String), to: (bucket: String, key: String), contentType: String?,
                           metadata: [String: String]?, accessKey: String) async throws -> S3ObjectInfo {
        try await authorize(from.bucket, accessKey)
        try await authorize(to.bucket, accessKey)
        guard let source = try await index.object(from.bucket, key: from.key) else { throw StorachaBuckets.noSuchKey(from.key) }
        var record = source
        record.info.key = to.key
        record.info.lastModified = Date()
        if let contentType { record.info.contentType = contentType }
        if let metadata { record.info.metadata = metadata }
        // The copy shares the upload; its local copy is a hard link to the same bytes.
        if let file = source.cacheFile {
            let name = UUID().uuidString
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
        if let old = try await index.put(to.bucket, record) { await release(old, keeping: record) }
        if record.pending, let file = record.cacheFile {
            await queue.add(UploadQueue.Item(bucket: to.bucket, key: to.key, cacheFile: file, size: record.info.size))
        }
        return record.info
    }

    public func deleteObject(_ bucket: String, key: String, accessKey: String) async throws {
        try await authorize(bucket, accessKey)
        if let old = try await index.remove(bucket, key: key) { await release(old, keeping: nil) }
    }

    /// Drops what a replaced or deleted record held: its local copy, and its upload once no key refers to it.
    func release(_ old: ObjectRecord, keeping current: ObjectRecord?) async {
        if let file = old.cacheFile, file != current?.cacheFile { try? FileManager.default.removeItem(at: cache.appendingPathComponent(file)) }
        guard !old.pending, old.root != current?.root, (try? await index.references(root: old.root)) == false,
              let root = try? CID(old.root) else { return }
        do {
            try await session.removeUpload(root, blobs: old.shards.compactMap { try? CID($0) })
        } catch {
            logger.warning("could not remove the upload \(old.root) of a deleted object: \(error)")
        }
    }

    /// Writes a body to `url` in 1 MiB pieces on the blocking-I/O pool and fsyncs it; returns its size.
    static func receive(_ body: S3UploadBody, into url: URL) async throws -> UInt64 {
        try await write(body, into: url, md5: false).size
    }

    /// Writes a byte stream to `url` and fsyncs it; returns its size and MD5.
    static func receive(_ bytes: S3ByteStream, into url: URL) async throws -> (size: UInt64, md5: [UInt8]) {
        let (size, md5) = try await write(bytes, into: url, md5: true)
        return (size, md5 ?? [])
    }

    static func write<Bytes: AsyncSequence>(_ bytes: Bytes, into url: URL, md5 hashing: Bool) async throws -> (size: UInt64, md5: [UInt8]?)
        where Bytes.Element == [UInt8] {
        let handle = try await BlockingIO.run { () throws -> FileHandle in
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw S3Error("InternalError",
                status: 500, "cannot write \(url.path)") }
            return try FileHandle(forWritingTo: url)
        }
        defer { try? handle.close() }
        var md5 = hashing ? Insecure.MD5() : nil
        var pending = Data()
        var size: UInt64 = 0
        for try await chunk in bytes {
            pending.append(contentsOf: chunk)
            md5?.update(data: chunk)
            size += UInt64(chunk.count)
            if pending.count >= 1 << 20 {
                let piece = pending
                pending = Data()
                try await BlockingIO.run { try handle.write(contentsOf: piece) }
            }
        }
        let rest = pending
        try await BlockingIO.run {
            if !rest.isEmpty { try handle.write(contentsOf: rest) }
            try handle.synchronize()
        }
        return (size, md5.map { Array($0.finalize()) })
    }
}

/// Lower-case hex.
enum SigV4Hex {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
