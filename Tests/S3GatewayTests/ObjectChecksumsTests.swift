import Crypto
import Foundation
import Logging
@testable import S3Gateway
import S3Protocol
import SystemIO
import TestSupport
import Testing

@Suite struct ObjectChecksumsTests {
    /// A multipart object without an MD5 gets the MD5 of its parts, read in order, as `md5chksum` (base64) beside its
    /// other metadata; one whose client sent it, a single-part one and one replaced meanwhile are left alone; and an
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
        func store(_ key: String, etag: String, metadata: [String: String], pending: Bool = true) async throws -> ObjectRecord {
            let name = UniqueName.make()
            let copy = cache.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: false)
            for (i, part) in parts.enumerated() { try part.write(to: copy.appendingPathComponent(LocalCopy.partName(i))) }
            let info = S3ObjectInfo(key: key, size: UInt64(whole.count), etag: etag, lastModified: Date(), contentType: "x/y",
                                    metadata: metadata)
            let record = ObjectRecord(info: info, root: pending ? "" : "bafkqaaa", shards: [], cacheFile: name, pending: pending)
            _ = try await index.put("b", record)
            return record
        }
        let budget = LocalCopyBudget(index: index, cache: cache, limit: LocalCopyBudget.unlimited, logger: Logger(label: "test"))
        let checksums = ObjectChecksums(index: index, cache: cache, budget: budget, logger: Logger(label: "test"))
        let plain = try await store("plain", etag: "0123456789abcdef0123456789abcdef-3", metadata: ["mtime": "1700000000"])
        let given = try await store("given", etag: "0123456789abcdef0123456789abcdef-3", metadata: ["md5chksum": "c2VudA=="])
        let single = try await store("single", etag: "0123456789abcdef0123456789abcdef", metadata: [:])
        let replaced = try await store("replaced", etag: "0123456789abcdef0123456789abcdef-3", metadata: [:])
        #expect(try ObjectIndex.countMissing(metadata: "md5chksum", at: url) == 2)
        _ = try await store("replaced", etag: "0123456789abcdef0123456789abcdef-3", metadata: [:], pending: false)
        for record in [plain, given, single, replaced] { await checksums.add(record, bucket: "b") }
        await checksums.drained()
        #expect(try await index.object("b", key: "plain")?.info.metadata == ["mtime": "1700000000", "md5chksum": expected])
        #expect(try await index.object("b", key: "given")?.info.metadata == ["md5chksum": "c2VudA=="])
        #expect(try await index.object("b", key: "single")?.info.metadata == [:])
        #expect(try await index.object("b", key: "replaced")?.info.metadata == [:], "its new copy was not queued")
        #expect(try ObjectIndex.countMissing(metadata: "md5chksum", at: url) == 1)
        // As after a restart: what is still missing is found and computed; the bucket of a stored object is marked
        // changed, so that its next snapshot has the MD5.
        try await index.clear("b", version: try await index.changedBuckets().first?.version ?? 0)
        let again = ObjectChecksums(index: index, cache: cache, budget: budget, logger: Logger(label: "test"))
        await again.resume()
        await again.drained()
        #expect(try await index.object("b", key: "replaced")?.info.metadata == ["md5chksum": expected])
        #expect(try ObjectIndex.countMissing(metadata: "md5chksum", at: url) == 0)
        #expect(try await index.changedBuckets().map(\.bucket) == ["b"])
    }
}
