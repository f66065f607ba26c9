import CAR
import Foundation
import IPLD
import Multiformats

/// Reads an `index/sharded/dag@0.1` CAR from a file one block at a time, so that an index of any size
/// costs memory for its largest block, not for the whole index. A first pass locates the blocks, the
/// second decodes the root and then each shard block, verified against its CID.
public struct ShardedDAGIndexReader {
    /// Most blocks an index may have (one per shard, plus the root).
    public static let maxBlocks = 100_000
    /// Largest index block accepted (one shard's slices).
    public static let maxBlockSize = 16 << 20

    let url: URL
    /// Root CID of the indexed content.
    public let content: CID
    let shardLinks: [CID]
    let locations: [CID: (offset: UInt64, length: Int)]

    /// Opens the index at `url` and reads its root block.
    public init(url: URL) throws {
        self.url = url
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch { throw UnixFSError.io("cannot open the index \(url.path)") }
        defer { try? handle.close() }
        var reader = try CARReader(source: FileByteSource(handle: handle), maxBlockSize: ShardedDAGIndexReader.maxBlockSize, verify: false)
        guard let rootCID = reader.header.roots.first else { throw UnixFSError.invalidNode("the index CAR has no root") }
        var locations: [CID: (offset: UInt64, length: Int)] = [:]
        while let b = try reader.next() {
            guard locations.count < ShardedDAGIndexReader.maxBlocks else {
                throw UnixFSError.invalidNode("the index has more than \(ShardedDAGIndexReader.maxBlocks) blocks")
            }
            locations[b.block.cid] = (UInt64(b.dataOffset), b.block.bytes.count)
        }
        self.locations = locations
        let root = Block(cid: rootCID, bytes: try ShardedDAGIndexReader.block(rootCID, at: locations, in: url))
        (content, shardLinks) = try ShardedDAGIndex.decodeRoot(root)
    }

    /// Calls `body` with each shard and the positions of its slices. Offsets and lengths are checked:
    /// each slice ends at or before 2^63 bytes, so they fit every signed 64-bit store.
    public func forEachShard(_ body: (Multihash, [(slice: Multihash, position: ShardedDAGIndex.Position)]) throws -> Void) throws {
        for cid in shardLinks {
            let bytes = try ShardedDAGIndexReader.block(cid, at: locations, in: url)
            let (shard, slices) = try ShardedDAGIndex.decodeShard(Block(cid: cid, bytes: bytes))
            try body(shard, slices)
        }
    }

    static func block(_ cid: CID, at locations: [CID: (offset: UInt64, length: Int)], in url: URL) throws -> Data {
        guard let at = locations[cid] else { throw UnixFSError.invalidNode("index block \(cid) is missing") }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: at.offset)
        let data = try handle.read(upToCount: at.length) ?? Data()
        guard data.count == at.length, cid.multihash.verifies(data) else {
            throw UnixFSError.invalidNode("index block \(cid) does not match its CID")
        }
        return data
    }
}
