import Foundation
import LocalService
import Multiformats
import Testing
import TestSupport

@Suite struct BlobStoreTests {
    /// Many writers of one digest committing at once all succeed, and the blob is whole: a
    /// content-addressed write is idempotent, so the second rename over the first is harmless.
    @Test func concurrentIdenticalCommitsAllSucceed() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("blobstore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try BlobStore(root: root)
        let failures = Locked(0)
        for round in 0..<100 {
            let data = lcg(512, seed: UInt32(round))
            let digest = Multihash.sha256(data)
            let writers = try (0..<8).map { _ in try store.writer(expecting: digest, size: UInt64(data.count)) }
            for w in writers { try w.write(data) }
            DispatchQueue.concurrentPerform(iterations: writers.count) { i in
                do { try writers[i].commit() } catch { failures.withLock { $0 += 1 } }
            }
            #expect(digest.verifies(try Data(contentsOf: store.url(for: digest))))
        }
        #expect(failures.withLock { $0 } == 0, "every identical commit succeeds")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".tmp").path).isEmpty)
    }
}

/// A value behind a lock, for counting across threads in tests.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}
