import Foundation
import IPLD
import Multiformats

/// Builds a UnixFS HAMT directory (fanout 256, murmur3-x64-64) in its canonical form: a slot holds an
/// entry when exactly one key lands there, a sub-shard otherwise. Nodes are emitted in post-order,
/// child slots ascending, root last.
struct HAMTBuilder {
    static let fanout = 256
    let sink: BlockSink

    struct Keyed {
        let name: String
        let link: UnixFSLink
        var key: HAMTKey

        mutating func slot(depth: Int) -> Int { key.slot(depth: depth) }
    }

    func build(_ entries: [(String, UnixFSLink)]) throws -> UnixFSLink {
        let keyed = entries.map { Keyed(name: $0.0, link: $0.1, key: HAMTKey($0.0)) }
        return try node(keyed, depth: 0)
    }

    func node(_ entries: [Keyed], depth: Int) throws -> UnixFSLink {
        var buckets = [[Keyed]](repeating: [], count: HAMTBuilder.fanout)
        for var e in entries {
            let s = e.slot(depth: depth)
            buckets[s].append(e)
        }
        var links: [PBLink] = []
        var bitfield = [UInt8](repeating: 0, count: HAMTBuilder.fanout / 8)
        var childSizes: UInt64 = 0
        for slot in 0..<HAMTBuilder.fanout where !buckets[slot].isEmpty {
            bitfield[bitfield.count - 1 - slot / 8] |= 1 << UInt8(slot % 8)
            let prefix = HAMTKey.prefix(slot)
            if buckets[slot].count == 1 {
                let e = buckets[slot][0]
                links.append(PBLink(hash: e.link.cid, name: prefix + e.name, tsize: e.link.dagSize))
                childSizes += e.link.dagSize
            } else {
                let child = try node(buckets[slot], depth: depth + 1)
                links.append(PBLink(hash: child.cid, name: prefix, tsize: child.dagSize))
                childSizes += child.dagSize
            }
        }
        let trimmed = Array(bitfield.drop { $0 == 0 })
        let data = UnixFSData(kind: .hamtShard, data: trimmed, hashType: Multihash.murmur3x64_64Code, fanout: UInt64(HAMTBuilder.fanout))
        let bytes = DAGPB.encode(PBNode(links: links, data: data.encode()))
        let block = Block(codec: CID.Codec.dagPB, bytes: Data(bytes))
        try sink.put(block)
        return UnixFSLink(cid: block.cid, dagSize: UInt64(bytes.count) + childSizes, contentSize: 0)
    }
}

/// The hash stream of a HAMT key: frame 0 is murmur3-x64-64(name), frame f ≥ 1 is that of name ‖ f.
struct HAMTKey {
    let nameBytes: [UInt8]
    var frames: [[UInt8]] = []

    init(_ name: String) { nameBytes = Array(name.utf8) }

    /// The slot (0–255) of this key at `depth`.
    mutating func slot(depth: Int) -> Int {
        let frame = depth / 8
        while frames.count <= frame {
            let f = frames.count
            frames.append(Murmur3.x64_64(f == 0 ? nameBytes : nameBytes + [UInt8(truncatingIfNeeded: f)]))
        }
        return Int(frames[frame][depth % 8])
    }

    static let hexDigits = Array("0123456789ABCDEF")

    /// The link-name prefix of a slot: two upper-case hex digits.
    static func prefix(_ slot: Int) -> String { String([hexDigits[slot >> 4], hexDigits[slot & 15]]) }
}
