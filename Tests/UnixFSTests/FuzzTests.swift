import Foundation
import Testing
import CAR
import IPLD
import Multiformats
import TestSupport
@testable import UnixFS

/// Feeds random and mutated bytes to every decoder: each must return or throw, never trap.
@Suite struct FuzzTests {
    static let iterations = 3000

    /// Valid inputs to mutate.
    static func seeds() throws -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        let cbor: IPLDValue = ["a": [1, -2, "x", .bytes([1, 2, 3])], "link": .link(CID.sha256(codec: 0x55, [UInt8]([1]))), "f": .float(1.5), "n": nil, "t": true]
        seeds.append(try DAGCBOR.encode(cbor))
        seeds.append(try DAGJSON.encode(cbor))
        let collect = CollectingSink()
        _ = try DirectoryImporter(sink: collect).importDirectory([
            ImportFile(name: "a.txt", data: Data("hello".utf8)), ImportFile(name: "d/b.bin", data: Data(repeating: 7, count: 3000)),
        ])
        for b in collect.blocks { seeds.append([UInt8](b.bytes)) }
        seeds.append([UInt8](CAREncoder.encode(roots: [collect.blocks.last!.cid], blocks: collect.blocks)))
        seeds.append([UInt8](try ShardedDAGIndex(content: collect.blocks.last!.cid, shards: []).archive()))
        seeds.append(UnixFSData(kind: .file, filesize: 10, blocksizes: [5, 5]).encode())
        return seeds
    }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        switch rng.next() % 5 {
        case 0 where !b.isEmpty: b[Int(rng.next() % UInt64(b.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
        case 1 where !b.isEmpty: b.removeLast(Int(rng.next() % UInt64(b.count)))
        case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(b.count + 1)))
        case 3 where b.count > 1:
            let i = Int(rng.next() % UInt64(b.count))
            b[i] = [0x00, 0xff, 0x7f, 0x80, 0x1b, 0x9f, 0x5b][Int(rng.next() % 7)]
        default:
            b = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return b
    }

    static func decodeEverything(_ bytes: [UInt8]) {
        _ = try? DAGCBOR.decode(bytes)
        _ = try? DAGJSON.decode(bytes)
        _ = try? DAGPB.decode(bytes)
        _ = try? UnixFSData(bytes: bytes)
        _ = try? CID(bytes: bytes)
        _ = try? Multihash(bytes: bytes)
        _ = try? Varint.decode(bytes, at: 0)
        _ = try? CID(String(decoding: bytes, as: UTF8.self))
        _ = try? Multibase.decode(String(decoding: bytes, as: UTF8.self))
        _ = try? CARReader.readAll(Data(bytes))
        _ = try? ShardedDAGIndex(archive: Data(bytes))
    }

    @Test func randomAndMutatedInputsNeverCrash() throws {
        var rng = SplitMix64(state: 0x5eed)
        let seeds = try Self.seeds()
        for i in 0..<Self.iterations {
            var input = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 3)) { input = Self.mutate(input, &rng) }
            Self.decodeEverything(input)
        }
    }

    @Test func exporterSurvivesCorruptDAGs() async throws {
        // A DAG whose interior node lies about its children must give a typed error.
        let bogus = PBNode(links: [PBLink(hash: CID.sha256(codec: 0x55, [UInt8]([9])), name: "", tsize: 1)],
                           data: UnixFSData(kind: .file, filesize: 10, blocksizes: [1, 2]).encode())
        let block = Block(codec: CID.Codec.dagPB, bytes: Data(DAGPB.encode(bogus)))
        let store = MemoryBlockStore([block])
        await #expect(throws: UnixFSError.self) {
            try await UnixFSExporter(source: store).read(block.cid) { _ in }
        }
    }
}

/// Blocks in memory, verified on read.
struct MemoryBlockStore: BlockSource {
    let blocks: [Multihash: Data]
    init(_ blocks: [Block]) { self.blocks = Dictionary(blocks.map { ($0.cid.multihash, $0.bytes) }, uniquingKeysWith: { a, _ in a }) }
    func block(_ cid: CID) async throws -> Data {
        guard let b = blocks[cid.multihash] else { throw UnixFSError.blockNotFound(cid: cid.description) }
        guard cid.multihash.verifies(b) else { throw UnixFSError.invalidNode("hash mismatch") }
        return b
    }
}
