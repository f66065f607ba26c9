import Foundation
import Logging
import SystemIO

/// Keeps the gateway's local copies within a byte budget. Once they hold more than `limit` bytes, the copies
/// of objects already on Storacha are dropped, least recently read first, down to 90% of the limit; those
/// objects are then read from Storacha through the verified gateway reader. Copies of objects not uploaded
/// yet always stay (they are the write-ahead queue), and so does a copy while a GET streams from it.
public actor LocalCopyBudget {
    /// No budget: every local copy is kept.
    public static let unlimited = UInt64.max

    let index: ObjectIndex
    let cache: URL
    let limit: UInt64
    let logger: Logger
    /// Reads not yet written to the index (written at the next trim).
    private var reads: [LocalCopyRef: Double] = [:]
    /// Local copies GETs are streaming from, with how many.
    private var readers: [String: Int] = [:]
    private var trimming = false
    private var trimAgain = false

    /// A budget of `limit` bytes (``unlimited``: keep every copy) for the copies in `cache`.
    init(index: ObjectIndex, cache: URL, limit: UInt64, logger: Logger) {
        self.index = index
        self.cache = cache
        self.limit = limit
        self.logger = logger
    }

    /// Local copies to remove once no GET streams from them any more (their objects were replaced or deleted).
    private var doomed: Set<String> = []
    private var trimScheduled = false

    /// A local copy held open by a GET: released when the GET's stream is done with or dropped.
    final class Lease: Sendable {
        let budget: LocalCopyBudget
        let cacheFile: String

        init(budget: LocalCopyBudget, cacheFile: String) {
            self.budget = budget
            self.cacheFile = cacheFile
        }

        deinit { Task { [budget, cacheFile] in await budget.closed(cacheFile) } }
    }

    /// Notes a read of `ref` (for least-recently-read order).
    func read(_ ref: LocalCopyRef) {
        guard limit != LocalCopyBudget.unlimited else { return }
        reads[ref] = Date().timeIntervalSince1970
        // Written to the index at the next trim; a long run of reads does not wait for an upload to bring one.
        if reads.count >= 10_000 { scheduleTrim() }
    }

    /// Notes a read of `ref` and holds its copy until the returned lease is released.
    func lease(_ ref: LocalCopyRef) -> Lease {
        read(ref)
        readers[ref.cacheFile, default: 0] += 1
        return Lease(budget: self, cacheFile: ref.cacheFile)
    }

    private func closed(_ cacheFile: String) async {
        guard let count = readers[cacheFile] else { return }
        if count > 1 {
            readers[cacheFile] = count - 1
            return
        }
        readers[cacheFile] = nil
        if doomed.remove(cacheFile) != nil { await delete(cacheFile) }
    }

    /// Removes the local copy file `cacheFile` (no row refers to it any more), once no GET streams from it.
    func remove(_ cacheFile: String) async {
        if readers[cacheFile] != nil { doomed.insert(cacheFile) } else { await delete(cacheFile) }
    }

    private func delete(_ cacheFile: String) async {
        let url = cache.appendingPathComponent(cacheFile)
        try? await BlockingIO.run { try FileManager.default.removeItem(at: url) }
    }

    /// An upload finished: the copies are trimmed a second later (once for a burst of uploads).
    func uploaded() { scheduleTrim() }

    private func scheduleTrim() {
        guard limit != LocalCopyBudget.unlimited, !trimScheduled else { return }
        trimScheduled = true
        Task {
            try? await Task.sleep(for: .seconds(1))
            await self.scheduledTrim()
        }
    }

    private func scheduledTrim() async {
        trimScheduled = false
        await trim()
    }

    /// Drops local copies of uploaded objects, least recently read first, while they hold more than the limit.
    func trim() async {
        guard limit != LocalCopyBudget.unlimited else { return }
        if trimming {
            trimAgain = true
            return
        }
        trimming = true
        defer { trimming = false }
        repeat {
            trimAgain = false
            do { try await trimOnce() } catch { logger.warning("could not trim the local copies: \(error)") }
        } while trimAgain
    }

    private func trimOnce() async throws {
        let pendingReads = reads
        reads = [:]
        try await index.recordReads(pendingReads)
        var held = try await index.localCopyBytes()
        let target = limit - limit / 10
        // With no room at all (`--cache-size 0`) every uploaded copy goes, empty ones included.
        let dropAll = limit == 0
        guard held > limit || dropAll else { return }
        var skipped = 0
        while held > target || dropAll {
            let candidates = try await index.evictionCandidates(limit: 256 + skipped)
            var dropped = false
            skipped = 0
            for (ref, size) in candidates where held > target || dropAll {
                if readers[ref.cacheFile] != nil {
                    skipped += 1
                    continue
                }
                guard try await index.dropLocalCopy(ref) else { continue }
                dropped = true
                held -= min(held, size)
                if !LocalCopy.isInline(ref.cacheFile) { await delete(ref.cacheFile) }
            }
            // Only pending copies and copies being read are left: they stay over the limit until uploaded or closed.
            if !dropped { return }
        }
    }

    /// Removes files in the cache directory that no index row names (left by a crash between a file's move
    /// into place and its row's commit: never acknowledged).
    static func removeOrphans(index: ObjectIndex, cache: URL) async throws {
        let named = try await index.localCopyNames()
        try await BlockingIO.run {
            for name in try FileManager.default.contentsOfDirectory(atPath: cache.path) where !named.contains(name) {
                try? FileManager.default.removeItem(at: cache.appendingPathComponent(name))
            }
        }
    }
}
