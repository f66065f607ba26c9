import Foundation
import Multiformats
import IPLD
import SystemIO

/// Serves blocks from one or more CAR files (the shards of a DAG) without loading them: an index of
/// block positions is built by one streaming pass, and each block is read and verified on demand.
public actor CARBlockStore: BlockSource {
    struct Location: Sendable {
        let file: Int
        let offset: UInt64
        let length: Int
    }

    let urls: [URL]
    var index: [Multihash: Location] = [:]
    /// The roots named in the CAR headers, in file order.
    public let roots: [CID]
    /// Number of distinct blocks.
    public var count: Int { index.count }

    /// Indexes the CARs at `urls`. Structure is checked here; hashes are checked when a block is read.
    public init(urls: [URL]) throws {
        self.urls = urls
        var roots: [CID] = []
        var index: [Multihash: Location] = [:]
        for (i, url) in urls.enumerated() {
            let handle: FileHandle
            do { handle = try FileHandle(forReadingFrom: url) } catch {
                throw CARError.io("cannot open \(url.path): \(error.localizedDescription)")
            }
            defer { try? handle.close() }
            var reader = try CARReader(source: FileByteSource(handle: handle), verify: false)
            roots.append(contentsOf: reader.header.roots)
            while let b = try reader.next() {
                index[b.block.cid.multihash] = Location(file: i, offset: UInt64(b.dataOffset), length: b.block.bytes.count)
            }
        }
        self.roots = roots
        self.index = index
    }

    /// The last root named by any header (the root-bearing shard's root), if any.
    public var root: CID? { roots.last }

    /// `true` if the store holds `cid`'s block.
    public func contains(_ cid: CID) -> Bool { index[cid.multihash] != nil }

    public func block(_ cid: CID) async throws -> Data {
        guard let loc = index[cid.multihash] else { throw CARError.io("block \(cid) is not in the CAR") }
        let url = urls[loc.file]
        // Read on the blocking-I/O pool: the actor stays free and the cooperative pool never waits on a disk.
        let data = try await BlockingIO.run { () throws -> Data in
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            try handle.seek(toOffset: loc.offset)
            return try handle.read(upToCount: loc.length) ?? Data()
        }
        guard data.count == loc.length else { throw CARError.truncatedBlock(offset: Int(loc.offset)) }
        guard cid.multihash.verifies(data) else { throw CARError.hashMismatch(cid: cid.description, offset: Int(loc.offset)) }
        return data
    }

    /// Releases resources (each read opens and closes its file, so there is nothing left open).
    public func close() {}
}
