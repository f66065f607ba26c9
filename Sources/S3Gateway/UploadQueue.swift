import DequeModule
import Foundation
import Logging
import Multiformats
import S3Protocol
import StorachaClient
import SystemIO
import UnixFS

/// The write-ahead queue between an acknowledged PUT and its upload on Storacha. An object is answered 200
/// once its local copy is fsynced and its index row (marked pending) committed; this queue then uploads it and
/// records the upload: `concurrency` objects with a local-copy file at a time and, beside them,
/// `inlineConcurrency` small ones (kept in the index): each object is its own upload, a chain of round trips that
/// costs a small object the same time as a large one, so small ones go many at a time. Pending rows survive a
/// crash: ``resume()`` picks them up at start. An object overwritten or deleted while its upload ran has that
/// upload removed again.
///
/// Uploads cost CPU (packing, signing, receipts) on the cores that also serve the client, so while objects
/// keep arriving they wait, as a write-back buffer bounded by ``Buffering``: they start once no object has
/// arrived for `quiet`, or once the buffer holds `objects` objects or `bytes` bytes, or its oldest object
/// has waited `longest`.
actor UploadQueue {
    /// When waiting objects stop waiting for a quiet moment.
    struct Buffering: Sendable {
        var quiet: Duration = .milliseconds(500)
        var objects = 10_000
        var bytes: UInt64 = 256 << 20
        var longest: Duration = .seconds(30)
    }

    struct Item: Sendable, Hashable {
        let bucket: String
        let key: String
        let cacheFile: String
        let size: UInt64
        let etag: String
    }

    let session: SpaceSession
    let index: ObjectIndex
    let cache: URL
    let logger: Logger
    let buffering: Buffering
    /// Objects with a local-copy file, and small ones kept in the index: each kind waits and runs apart.
    private var files: Lane
    private var inline: Lane
    private var waitingBytes: UInt64 = 0
    private var lastArrival: ContinuousClock.Instant?
    private var wakeScheduled = false
    private var idle: [CheckedContinuation<Void, Never>] = []
    /// Uploads finished since the index's last checkpoint: one runs when the queue goes idle after many.
    private var uploadedSinceCheckpoint = 0

    /// Holds each local copy while it is uploaded (an overwrite or delete meanwhile waits to remove it), and hears
    /// of each finished upload.
    let budget: LocalCopyBudget

    /// Held by an upload for its content (size and ETag) from its first shard to its record, and by the removal
    /// of an upload with that content: an upload of the same bytes as one being removed runs before or after it,
    /// never across it (else it could count on shards the removal then deletes).
    let contentLocks: KeyedLock<ContentKey>

    /// Objects of one kind: those waiting, oldest first, and how many of at most `limit` are uploading.
    private struct Lane {
        let limit: Int
        var waiting: Deque<(item: Item, since: ContinuousClock.Instant)> = []
        var running = 0

        init(limit: Int) { self.limit = max(1, limit) }

        var canStart: Bool { running < limit && !waiting.isEmpty }
        var count: Int { waiting.count + running }

        /// Takes the oldest waiting object as running.
        mutating func start() -> Item? {
            guard canStart, let next = waiting.popFirst() else { return nil }
            running += 1
            return next.item
        }
    }

    /// What an object's bytes are known by before they are uploaded.
    struct ContentKey: Hashable, Sendable {
        let size: UInt64
        let etag: String
    }

    init(session: SpaceSession, index: ObjectIndex, cache: URL, budget: LocalCopyBudget, contentLocks: KeyedLock<ContentKey>,
         logger: Logger, concurrency: Int = 4, inlineConcurrency: Int = 16, buffering: Buffering = Buffering()) {
        self.session = session
        self.contentLocks = contentLocks
        self.budget = budget
        self.index = index
        self.cache = cache
        self.logger = logger
        self.files = Lane(limit: concurrency)
        self.inline = Lane(limit: inlineConcurrency)
        self.buffering = buffering
    }

    /// Queues every object the index holds as pending (after a restart).
    func resume() async {
        do {
            for p in try await index.pending() {
                add(Item(bucket: p.bucket, key: p.key, cacheFile: p.cacheFile, size: p.size, etag: p.etag))
            }
        } catch {
            logger.error("cannot read the pending uploads: \(error)")
        }
    }

    /// Queues one acknowledged object; `arriving` when a client just sent it (its upload may wait for a quiet moment).
    func add(_ item: Item, arriving: Bool = false) {
        let now = ContinuousClock.now
        if arriving { lastArrival = now }
        if LocalCopy.isInline(item.cacheFile) {
            inline.waiting.append((item, now))
        } else {
            files.waiting.append((item, now))
        }
        waitingBytes += item.size
        pump()
    }

    /// Returns once nothing is queued or uploading.
    func drained() async {
        if isIdle { return }
        await withCheckedContinuation { idle.append($0) }
    }

    /// Objects queued or uploading.
    var backlog: Int { files.count + inline.count }

    private var isIdle: Bool { backlog == 0 }

    /// How much longer waiting objects should wait for a quiet moment, or nil to start now.
    private func delay() -> Duration? {
        let firsts = [files.waiting.first?.since, inline.waiting.first?.since].compactMap { $0 }
        guard let last = lastArrival, let oldest = firsts.min(),
              files.waiting.count + inline.waiting.count < buffering.objects, waitingBytes < buffering.bytes
        else { return nil }
        let now = ContinuousClock.now
        let left = min(buffering.quiet - (now - last), buffering.longest - (now - oldest))
        return left > .zero ? left : nil
    }

    private func pump() {
        while files.canStart || inline.canStart {
            if let wait = delay() {
                if !wakeScheduled {
                    wakeScheduled = true
                    Task {
                        try? await Task.sleep(for: wait)
                        self.wake()
                    }
                }
                return
            }
            guard let item = inline.start() ?? files.start() else { break }
            waitingBytes -= min(waitingBytes, item.size)
            Task { await self.finish(item, retry: await self.upload(item)) }
        }
        if isIdle {
            for c in idle { c.resume() }
            idle.removeAll()
            if uploadedSinceCheckpoint >= 100 {
                uploadedSinceCheckpoint = 0
                Task { [index, logger] in
                    do { try await index.checkpoint() } catch { logger.warning("cannot checkpoint the index: \(error)") }
                }
            }
        }
    }

    private func wake() {
        wakeScheduled = false
        pump()
    }

    private func finish(_ item: Item, retry: Bool) {
        if LocalCopy.isInline(item.cacheFile) { inline.running -= 1 } else { files.running -= 1 }
        uploadedSinceCheckpoint += 1
        if retry {
            // Try again later (the network or the service failed); the object stays pending meanwhile.
            Task {
                try? await Task.sleep(for: .seconds(5))
                self.add(item)
            }
        }
        pump()
    }

    /// Uploads `file` and records it as `item`'s upload; returns false (and removes the upload again, unless
    /// another key refers to it) when the key no longer holds the item.
    private func uploadAndRecord(_ file: ImportFile, _ item: Item) async throws -> Bool {
        let result = try await session.upload([file], options: PackOptions(wrap: false))
        let indexCID = try result.index.archiveCID()
        let blobs = result.shards.map(\.cid) + [indexCID]
        let recorded = try await index.markStored(item.bucket, key: item.key, cacheFile: item.cacheFile, root: result.root.description,
                                                  shards: blobs.map(\.description))
        logger.info("uploaded \(item.bucket)/\(item.key): \(result.root) with \(blobs.map(\.description))\(recorded ? "" : " (gone meanwhile)")")
        if !recorded, try await !index.references(root: result.root.description) {
            // Overwritten or deleted while it went up: nothing refers to this upload.
            try await session.removeUpload(result.root, blobs: blobs)
            logger.info("removed the upload \(result.root) of \(item.bucket)/\(item.key), overwritten or deleted")
        }
        return recorded
    }

    /// Uploads one object; returns whether it should be tried again.
    private func upload(_ item: Item) async -> Bool {
        do {
            guard try await index.isPending(item.bucket, key: item.key, cacheFile: item.cacheFile) else { return false }
            logger.debug("uploading \(item.bucket)/\(item.key) (\(item.size) bytes)")
            let content: ImportFile.Content
            // Held until the upload has read it, even if the key is overwritten or deleted meanwhile: the upload
            // then finishes and is removed whole, rather than failing halfway with some shards stored.
            let lease = await budget.lease(LocalCopyRef(bucket: item.bucket, key: item.key, cacheFile: item.cacheFile))
            defer { withExtendedLifetime(lease) {} }
            if LocalCopy.isInline(item.cacheFile) {
                guard let body = try await index.body(item.cacheFile) else {
                    throw S3Error("InternalError", status: 500, "the local copy of \(item.key) is missing")
                }
                content = .data(body)
            } else {
                let url = cache.appendingPathComponent(item.cacheFile)
                content = try await BlockingIO.run { try LocalCopy.content(url) }
            }
            let file = ImportFile(name: String(item.key.split(separator: "/").last ?? "object"), size: item.size, content: content)
            let recorded = try await contentLocks.withLock(ContentKey(size: item.size, etag: item.etag)) {
                try await self.uploadAndRecord(file, item)
            }
            if recorded { await budget.uploaded() }
            return false
        } catch {
            let stillWanted = (try? await index.isPending(item.bucket, key: item.key, cacheFile: item.cacheFile)) ?? true
            if stillWanted {
                logger.warning("upload of \(item.bucket)/\(item.key) failed, will retry: \(error)")
            } else {
                logger.info("upload of \(item.bucket)/\(item.key) stopped, the key no longer holds it: \(error)")
            }
            return stillWanted
        }
    }
}
