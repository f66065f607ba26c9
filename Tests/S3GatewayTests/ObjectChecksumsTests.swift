import Crypto
import Foundation
import Logging
@testable import S3Gateway
import S3Protocol
import SystemIO
import TestSupport
import Testing

@Suite struct ObjectChecksumsTests {
    /// Only rclone's uploads without `md5chksum` are marked for it; other clients' objects keep their metadata as sent.
    @Test func onlyRcloneUploadsWithoutItAreMarked() {
        #expect(ObjectChecksums.wanted(metadata: ["mtime": "1"], userAgent: "rclone/v1.75.2"))
        #expect(ObjectChecksums.wanted(metadata: [:], userAgent: "rclone/v1.60.1-DEV"))
        #expect(!ObjectChecksums.wanted(metadata: ["md5chksum": "c2VudA=="], userAgent: "rclone/v1.75.2"))
        #expect(!ObjectChecksums.wanted(metadata: [:], userAgent: "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux"))
        #expect(!ObjectChecksums.wanted(metadata: [:], userAgent: "aws-cli/2.17.0 md/awscrt#0.21.0"))
        #expect(!ObjectChecksums.wanted(metadata: [:], userAgent: nil))
    }

    /// A marked multipart object without an MD5 gets the MD5 of its parts, read in order, as `md5chksum` (base64) beside
    /// its other metadata; one whose client sent it, an unmarked one and one replaced meanwhile are left alone; and an
    /// index still missing one after a restart has it computed by ``ObjectChecksums/resume()``.
    @Test func multipartObjectsGetTheMD5OfTheirBytes() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("index.sqlite")
        let cache = dir.appendingPathComponent("objects")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let index = try ObjectIndex(url: url)
        try await index.createBucket("b", owner: "me")
        let parts = [lcg(5 << 20, seed: 1), lcg(5 << 20, seed: 2), lcg(123_457, seed: 3)]
        let whole = Data(parts.joined())
        let expected = Data(Insecure.MD5.hash(data: whole)).base64EncodedString()
        func store(_ key: String, metadata: [String: String], marked: Bool = true, pending: Bool = true) async throws -> ObjectRecord {
            let name = UniqueName.make()
            let copy = cache.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: false)
            for (i, part) in parts.enumerated() { try part.write(to: copy.appendingPathComponent(LocalCopy.partName(i))) }
            let info = S3ObjectInfo(key: key, size: UInt64(whole.count), etag: "0123456789abcdef0123456789abcdef-3", lastModified: Date(),
                                    contentType: "x/y", metadata: metadata)
            let record = ObjectRecord(info: info, root: pending ? "" : "bafkqaaa", shards: [], cacheFile: name, pending: pending,
                                      addMD5: marked)
            _ = try await index.put("b", record)
            return record
        }
        let budget = LocalCopyBudget(index: index, cache: cache, limit: LocalCopyBudget.unlimited, logger: Logger(label: "test"))
        let checksums = ObjectChecksums(index: index, cache: cache, budget: budget, logger: Logger(label: "test"))
        let plain = try await store("plain", metadata: ["mtime": "1700000000"])
        let given = try await store("given", metadata: ["md5chksum": "c2VudA=="])
        let other = try await store("other", metadata: ["purpose": "test"], marked: false)
        let replaced = try await store("replaced", metadata: [:])
        #expect(try ObjectIndex.countAwaitingMD5(at: url) == 2)
        _ = try await store("replaced", metadata: [:], pending: false)
        for record in [plain, given, other, replaced] { await checksums.add(record, bucket: "b") }
        await checksums.drained()
        #expect(try await index.object("b", key: "plain")?.info.metadata == ["mtime": "1700000000", "md5chksum": expected])
        #expect(try await index.object("b", key: "given")?.info.metadata == ["md5chksum": "c2VudA=="])
        #expect(try await index.object("b", key: "other")?.info.metadata == ["purpose": "test"])
        #expect(try await index.object("b", key: "replaced")?.info.metadata == [:], "its new copy was not queued")
        #expect(try ObjectIndex.countAwaitingMD5(at: url) == 1)
        // As after a restart: what is still missing is found and computed; the bucket of a stored object is marked
        // changed, so that its next snapshot has the MD5.
        try await index.clear("b", version: try await index.changedBuckets().first?.version ?? 0)
        #expect(try await index.changedBuckets().isEmpty)
        let again = ObjectChecksums(index: index, cache: cache, budget: budget, logger: Logger(label: "test"))
        await again.resume()
        await again.drained()
        #expect(try await index.object("b", key: "replaced")?.info.metadata == ["md5chksum": expected])
        #expect(try ObjectIndex.countAwaitingMD5(at: url) == 0)
        #expect(try await index.changedBuckets().map(\.bucket) == ["b"])
    }
}
