import Foundation
@testable import S3Gateway
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
}
