import CAR
import Foundation
import IPLD
import Multiformats
import UnixFS

extension FuzzTargets {
    static let containers: [FuzzTarget] = [
        FuzzTarget(name: "car", summary: "the streaming CAR reader; every block it yields hashes to its CID") { input in
            guard var reader = try? CARReader(source: MemoryByteSource(Data(input)), maxBlockSize: 1 << 20) else { return }
            var count = 0
            while count < 10_000, let next = try? reader.next() {
                try require(next.block.isValid, "the CAR reader yielded a block whose bytes do not hash to \(next.block.cid)")
                count += 1
            }
        },
        FuzzTarget(name: "unixfs-node", summary: "UnixFS Data decoding; a decoded node re-encodes to a node that decodes the same") { input in
            guard let node = try? UnixFSData(bytes: input) else { return }
            let encoded = node.encode()
            try require(try UnixFSData(bytes: encoded).encode() == encoded, "a UnixFS node does not round-trip")
        },
        FuzzTarget(name: "exporter", summary: "the UnixFS exporter (stat, list, read, ranges) over the blocks of a CAR") { input in
            guard let (header, blocks) = try? CARReader.readAll(Data(input), maxBlockSize: 1 << 20, maxBlocks: 4096),
                  let root = header.roots.first else { return }
            let store = VerifiedMemoryStore(blocks)
            let outcome = blocking {
                let exporter = UnixFSExporter(source: store)
                var read: UInt64 = 0
                // A DAG may claim any size: read at most 4 MiB of it.
                let entry = try await exporter.stat(root)
                if entry.kind == .directory { _ = try await exporter.list(root) }
                try await exporter.read(root, range: 0..<min(entry.size, 4 << 20)) { data in read += UInt64(data.count) }
                if entry.size > 10 { try await exporter.read(root, range: 3..<min(entry.size, 4 << 20) - 2) { _ in } }
                return (read, min(entry.size, 4 << 20))
            }
            if case .success(let (read, wanted)) = outcome { try require(read == wanted, "the exporter read \(read) bytes of \(wanted)") }
        },
        FuzzTarget(name: "dag-index", summary: "sharded DAG index archives (index/sharded/dag@0.1)") { input in
            guard let index = try? ShardedDAGIndex(archive: Data(input)) else { return }
            _ = try? index.archive()
        },
    ]
}

/// Blocks in memory, checked against their CIDs when read.
struct VerifiedMemoryStore: BlockSource {
    let blocks: [Multihash: Data]
    init(_ blocks: [Block]) { self.blocks = Dictionary(blocks.map { ($0.cid.multihash, $0.bytes) }, uniquingKeysWith: { a, _ in a }) }
    func block(_ cid: CID) async throws -> Data {
        guard let bytes = blocks[cid.multihash] else { throw UnixFSError.blockNotFound(cid: cid.description) }
        guard cid.multihash.verifies(bytes) else { throw FuzzFinding("a block store served a block that does not match its CID") }
        return bytes
    }
}
