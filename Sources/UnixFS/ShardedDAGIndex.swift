import Foundation
import IPLD
import Multiformats
import CAR

/// The sharded DAG index (`index/sharded/dag@0.1`) the client uploads beside the shards: for each
/// shard, where every block lies inside it (and the shard itself as `[0, size]`).
public struct ShardedDAGIndex: Sendable, Hashable {
    /// Version key of the root block.
    public static let version = "index/sharded/dag@0.1"

    /// Root CID of the content DAG.
    public var content: CID
    /// Shard multihash → (slice multihash → (offset, length)).
    public var shards: [Multihash: [Multihash: Position]]

    /// A byte range inside a shard.
    public struct Position: Sendable, Hashable {
        /// Offset from the start of the shard.
        public var offset: UInt64
        /// Length in bytes.
        public var length: UInt64

        /// Creates a position.
        public init(offset: UInt64, length: UInt64) {
            self.offset = offset
            self.length = length
        }
    }

    /// An empty index for `content`.
    public init(content: CID) {
        self.content = content
        self.shards = [:]
    }

    /// The index of an upload's shards, as the JS client builds it.
    public init(content: CID, shards: [ShardInfo]) {
        self.init(content: content)
        for shard in shards {
            for s in shard.slices { setSlice(shard: shard.cid.multihash, slice: s.multihash, Position(offset: s.offset, length: s.length)) }
            setSlice(shard: shard.cid.multihash, slice: shard.cid.multihash, Position(offset: 0, length: shard.size))
        }
    }

    /// Records a slice.
    public mutating func setSlice(shard: Multihash, slice: Multihash, _ position: Position) {
        shards[shard, default: [:]][slice] = position
    }

    static func int(_ v: UInt64) -> IPLDValue { .integer(IPLDInteger(isNegative: false, magnitude: v)) }

    /// The CID of ``archive()`` as a blob (CAR codec), as `space/index/add` names it.
    public func archiveCID() throws -> CID { CID(codec: CID.Codec.car, multihash: .sha256(try archive())) }

    /// The index as a CAR: root block first, then one block per shard (sorted by digest bytes).
    public func archive() throws -> Data {
        var blocks: [Block] = []
        var shardLinks: [IPLDValue] = []
        for (shard, slices) in shards.sorted(by: { $0.key.digest.lexicographicallyPrecedes($1.key.digest) }) {
            let entries: [IPLDValue] = slices.sorted(by: { $0.key.digest.lexicographicallyPrecedes($1.key.digest) }).map {
                .list([.bytes($0.key.bytes), .list([ShardedDAGIndex.int($0.value.offset), ShardedDAGIndex.int($0.value.length)])])
            }
            let block = try Block(dagCBOR: .list([.bytes(shard.bytes), .list(entries)]))
            blocks.append(block)
            shardLinks.append(.link(block.cid))
        }
        let root = try Block(dagCBOR: .map([ShardedDAGIndex.version: .map(["content": .link(content), "shards": .list(shardLinks)])]))
        return CAREncoder.encode(roots: [root.cid], blocks: [root] + blocks)
    }

    /// Parses an index CAR held in memory (small indexes; the service streams with ``ShardedDAGIndexReader``).
    public init(archive: Data) throws {
        let (header, blocks) = try CARReader.readAll(archive)
        guard let rootCID = header.roots.first else { throw UnixFSError.invalidNode("index CAR has no root") }
        var byCID: [CID: Block] = [:]
        for b in blocks { byCID[b.cid] = b }
        guard let root = byCID[rootCID] else { throw UnixFSError.invalidNode("index root block missing") }
        let (content, shardLinks) = try ShardedDAGIndex.decodeRoot(root)
        self.init(content: content)
        for cid in shardLinks {
            guard let block = byCID[cid] else { throw UnixFSError.invalidNode("index shard block missing") }
            let (shard, slices) = try ShardedDAGIndex.decodeShard(block)
            for s in slices { setSlice(shard: shard, slice: s.slice, s.position) }
        }
    }

    /// The content root and shard-block links of an index root block.
    static func decodeRoot(_ root: Block) throws -> (content: CID, shards: [CID]) {
        guard root.cid.codec == DAGCBOR.code else { throw UnixFSError.invalidNode("index root is not DAG-CBOR") }
        guard case .map(let body)? = try DAGCBOR.decode(root.bytes)[ShardedDAGIndex.version],
              case .link(let content)? = body["content"], case .list(let links)? = body["shards"]
        else { throw UnixFSError.invalidNode("not an \(ShardedDAGIndex.version) index") }
        return (content, try links.map { v in
            guard case .link(let c) = v else { throw UnixFSError.invalidNode("index shard entries must be links") }
            return c
        })
    }

    /// One shard block: the shard's multihash and its slices. Each slice ends at or before 2^63 bytes,
    /// so positions fit every signed 64-bit store.
    static func decodeShard(_ block: Block) throws -> (shard: Multihash, slices: [(slice: Multihash, position: Position)]) {
        guard case .list(let pair) = try DAGCBOR.decode(block.bytes), pair.count == 2,
              case .bytes(let shardMH) = pair[0], case .list(let entries) = pair[1]
        else { throw UnixFSError.invalidNode("malformed index shard block \(block.cid)") }
        var slices: [(slice: Multihash, position: Position)] = []
        slices.reserveCapacity(min(entries.count, 1 << 16))
        for e in entries {
            guard case .list(let item) = e, item.count == 2, case .bytes(let sliceMH) = item[0],
                  case .list(let pos) = item[1], pos.count == 2,
                  case .integer(let off) = pos[0], case .integer(let len) = pos[1],
                  let o = off.uint64, let l = len.uint64
            else { throw UnixFSError.invalidNode("malformed slice in index shard \(block.cid)") }
            let (end, overflow) = o.addingReportingOverflow(l)
            guard !overflow, end <= UInt64(Int64.max) else {
                throw UnixFSError.invalidNode("slice at offset \(o) with length \(l) in index shard \(block.cid) is out of range")
            }
            slices.append((try Multihash(bytes: sliceMH), Position(offset: o, length: l)))
        }
        return (try Multihash(bytes: shardMH), slices)
    }
}
