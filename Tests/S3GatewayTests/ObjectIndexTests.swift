import Foundation
import GRDB
import Logging
@testable import S3Gateway
import S3Protocol
import SystemIO
import TestSupport
import Testing

@Suite struct ObjectIndexTests {
    /// Metadata and shard lists read back what was written, and what earlier versions wrote (Foundation's
    /// JSONEncoder, which escapes `/`) still reads.
    @Test func metadataAndShardColumnsRoundTrip() throws {
        let metadata = ["mtime": "1700000000.5", "odd/key": "quote \" slash / é \u{1}", "": ""]
        let shards = ["bagbaiera", "bagbaierb"]
        #expect(try ObjectIndex.stringMap(ObjectIndex.json(metadata)) == metadata)
        #expect(try ObjectIndex.stringList(ObjectIndex.json(shards)) == shards)
        let old = String(decoding: try JSONEncoder().encode(metadata), as: UTF8.self)
        #expect(old.contains("\\/"))
        #expect(try ObjectIndex.stringMap(old) == metadata)
        #expect(try ObjectIndex.stringList(String(decoding: try JSONEncoder().encode(shards), as: UTF8.self)) == shards)
        #expect(throws: (any Error).self) { try ObjectIndex.stringMap("[\"a\"]") }
        #expect(throws: (any Error).self) { try ObjectIndex.stringList("[1]") }
    }

    /// The writer syncs the WAL at every commit (synchronous FULL = 2), not only at checkpoints (NORMAL, which the
    /// pool's own set-up leaves): an acknowledged object's row survives a power cut, as its fsynced body does.
    @Test func commitsAreSyncedToDisk() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = try ObjectIndex(url: dir.appendingPathComponent("index.sqlite"))
        let level = try index.db.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2)
    }

    /// SQLite checkpoints only a long WAL by itself; ``ObjectIndex/checkpoint()`` (run when the gateway is idle) copies
    /// all of it into the database file.
    @Test func anIdleCheckpointCopiesTheWALIntoTheDatabase() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("index.sqlite")
        let index = try ObjectIndex(url: url)
        #expect(try await index.db.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") } == 16384)
        func fileSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0 }
        try await index.db.write { db in try db.execute(sql: "INSERT INTO bodies (name, bytes) VALUES ('db:x', zeroblob(1000000))") }
        #expect(try fileSize() < 1_000_000, "the body is in the WAL only")
        try await index.checkpoint()
        #expect(try fileSize() > 1_000_000, "the body is in the database file")
    }

    /// With no room for local copies (`--cache-size 0`), a trim drops every uploaded copy, an empty one too (it holds
    /// no bytes, so it is never over a byte limit), and keeps a pending one.
    @Test func noRoomDropsEmptyUploadedCopies() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("index.sqlite")
        let index = try ObjectIndex(url: url)
        try await index.createBucket("b", owner: "me")
        func record(_ key: String, pending: Bool) -> IndexEntry {
            let info = S3ObjectInfo(key: key, size: 0, etag: "d41d8cd98f00b204e9800998ecf8427e", lastModified: Date(),
                                    contentType: "binary/octet-stream", metadata: [:])
            return IndexEntry(bucket: "b", record: ObjectRecord(info: info, root: pending ? "" : "bafkqaaa", shards: [],
                                                                cacheFile: LocalCopy.inlineName(), pending: pending), body: Data())
        }
        for result in try await index.put([record("uploaded", pending: false), record("pending", pending: true)]) { _ = try result.get() }
        #expect(try ObjectIndex.localCopyCount(at: url) == (0, 2))
        let budget = LocalCopyBudget(index: index, cache: dir.appendingPathComponent("objects"), limit: 0, logger: Logger(label: "test"))
        await budget.trim()
        #expect(try ObjectIndex.localCopyCount(at: url) == (0, 1))
        #expect(try await index.object("b", key: "uploaded")?.cacheFile == nil)
        #expect(try await index.object("b", key: "pending")?.cacheFile != nil)
    }

    /// A snapshot recorded while changes went on keeps the bucket marked, with its first change restarted at the
    /// record: under a steady stream of changes the next snapshot is due `longest` seconds later, not at once.
    @Test func aSnapshotDuringChangesRestartsTheirClock() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = try ObjectIndex(url: dir.appendingPathComponent("index.sqlite"))
        try await index.db.write { db in
            try ObjectIndex.changed("b", db)
            try db.execute(sql: "UPDATE changed_buckets SET first = 1000 WHERE bucket = 'b'")
            try ObjectIndex.changed("b", db)
        }
        let before = Date().timeIntervalSince1970
        try await index.clear("b", version: 1)
        let marked = try await index.changedBuckets()
        #expect(marked.count == 1 && marked.first?.version == 2)
        #expect((marked.first?.first ?? 0) >= before, "\(marked)")
        try await index.clear("b", version: 2)
        #expect(try await index.changedBuckets().isEmpty)
    }
}

@Suite struct AsyncHandoffTests {
    /// The producer is never more than one value ahead of a slow consumer, every value arrives in order, and a
    /// consumer that stops makes the producer's next send throw.
    @Test func theProducerWaitsForTheConsumer() async throws {
        let handoff = AsyncHandoff<Int>()
        let sent = Locked(0)
        let producer = Task {
            for i in 0..<50 {
                try await handoff.send(i)
                sent.update { $0 = i + 1 }
            }
            handoff.finish()
        }
        var received: [Int] = []
        while let value = try await handoff.next() {
            received.append(value)
            #expect(sent.value <= received.count, "sent \(sent.value) with \(received.count) taken")
            if received.count % 10 == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await producer.value
        #expect(received == Array(0..<50))

        let stopped = AsyncHandoff<Int>()
        let blocked = Task { () -> Bool in
            do {
                try await stopped.send(1)
                try await stopped.send(2)
                return false
            } catch is CancellationError {
                return true
            }
        }
        #expect(try await stopped.next() == 1)
        stopped.cancel()
        #expect(try await blocked.value)
    }
}
