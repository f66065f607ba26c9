import Crypto
import DequeModule
import Foundation
import Logging
import S3Protocol

/// The whole-object MD5 of multipart objects, as rclone's `md5chksum` metadata (base64), for the objects rclone
/// uploaded without it (``wanted(metadata:userAgent:)``). A multipart object's ETag is not the MD5 of its bytes, so
/// rclone reads that metadata for `md5sum` and `check`; `rclone config` of this gateway sets `disable_checksum` (rclone
/// then no longer reads a large file whole before its first part, nor sets the metadata), and the gateway computes it
/// here instead, from the bytes it stored, right after CompleteMultipartUpload. HEAD and GET carry it once it is
/// computed (a second or so per GiB); until then the object has no MD5 rclone can check, as with any multipart object
/// without it. The local copy is held until its MD5 is read; objects still without one are taken up again at start.
actor ObjectChecksums {
    /// The metadata rclone keeps a whole object's MD5 in (`x-amz-meta-md5chksum`).
    static let metadataName = "md5chksum"

    let index: ObjectIndex
    let cache: URL
    let budget: LocalCopyBudget
    let logger: Logger
    private var waiting: Deque<(job: LocalCopyRef, lease: LocalCopyBudget.Lease)> = []
    private var queued: Set<LocalCopyRef> = []
    private var running = false
    private var idle: [CheckedContinuation<Void, Never>] = []

    init(index: ObjectIndex, cache: URL, budget: LocalCopyBudget, logger: Logger) {
        self.index = index
        self.cache = cache
        self.budget = budget
        self.logger = logger
    }

    /// Whether an upload with `metadata` from the client `userAgent` should get its MD5: rclone's, without it.
    /// (Other clients' objects keep the metadata they were sent with: an S3 client may compare it.)
    static func wanted(metadata: [String: String], userAgent: String?) -> Bool {
        metadata[metadataName] == nil && (userAgent?.lowercased().hasPrefix("rclone/") ?? false)
    }

    /// Whether `record` is marked for its MD5 and has none yet, with its bytes in a file of the cache.
    static func needed(_ record: ObjectRecord) -> Bool {
        guard record.addMD5, record.info.metadata[metadataName] == nil, let file = record.cacheFile else { return false }
        return !LocalCopy.isInline(file)
    }

    /// Computes `record`'s MD5 (after those already queued) when it has none; `bucket/key` holds `record`.
    func add(_ record: ObjectRecord, bucket: String) async {
        guard ObjectChecksums.needed(record), let file = record.cacheFile else { return }
        let job = LocalCopyRef(bucket: bucket, key: record.info.key, cacheFile: file)
        guard queued.insert(job).inserted else { return }
        let lease = await budget.lease(job)
        waiting.append((job, lease))
        pump()
    }

    /// Queues the objects the index holds without an MD5 (after a restart).
    func resume() async {
        do {
            for (bucket, record) in try await index.recordsAwaitingMD5() {
                await add(record, bucket: bucket)
            }
        } catch {
            logger.warning("cannot read which objects need their MD5: \(error)")
        }
    }

    /// Returns once no MD5 is queued or being computed.
    func drained() async {
        if waiting.isEmpty && !running { return }
        await withCheckedContinuation { idle.append($0) }
    }

    private func pump() {
        guard !running else { return }
        guard !waiting.isEmpty else {
            for c in idle { c.resume() }
            idle.removeAll()
            return
        }
        running = true
        let (job, lease) = waiting.removeFirst()
        Task(priority: .utility) {
            await self.compute(job)
            withExtendedLifetime(lease) {}
            self.finished(job)
        }
    }

    private func finished(_ job: LocalCopyRef) {
        queued.remove(job)
        running = false
        pump()
    }

    /// Reads the local copy, if the key still holds it, and records its MD5.
    private func compute(_ job: LocalCopyRef) async {
        do {
            guard let record = try await index.object(job.bucket, key: job.key), record.cacheFile == job.cacheFile,
                  ObjectChecksums.needed(record) else { return }
            let url = cache.appendingPathComponent(job.cacheFile)
            var md5 = Insecure.MD5()
            var size: UInt64 = 0
            for try await piece in LocalCopy.stream(url, range: 0..<record.info.size) {
                md5.update(data: piece)
                size += UInt64(piece.count)
            }
            guard size == record.info.size else { return }
            let value = Data(md5.finalize()).base64EncodedString()
            let added = try await index.addMD5(job.bucket, key: job.key, cacheFile: job.cacheFile, md5: value)
            logger.debug("MD5 of \(job.bucket)/\(job.key): \(value)\(added ? "" : " (replaced meanwhile)")")
        } catch {
            logger.warning("cannot compute the MD5 of \(job.bucket)/\(job.key): \(error)")
        }
    }
}
