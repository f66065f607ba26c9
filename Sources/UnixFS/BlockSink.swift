import IPLD
import Multiformats

/// Receives the blocks of a DAG in emission order.
public protocol BlockSink: AnyObject {
    /// Takes the next block.
    func put(_ block: Block) throws
}

/// Drops blocks whose CID was already emitted (the JS client's default `dedupe`).
///
/// Each distinct block costs a 16-byte fingerprint of its SHA-256 digest (about 32 bytes of memory with
/// the set's overhead: some 32 MiB per TiB of 1 MiB chunks), and at most ``maxBlocks`` are tracked; past
/// that the import stops with an error that suggests `--no-dedupe`.
public final class DeduplicatingSink: BlockSink {
    /// Most distinct blocks remembered (8 Mi: about 256 MiB of fingerprints, 8 TiB of 1 MiB chunks).
    public static let maxBlocks = 8 << 20

    struct Fingerprint: Hashable {
        let high: UInt64
        let low: UInt64
    }

    let inner: BlockSink
    let limit: Int
    var seen = Set<Fingerprint>()
    var others = Set<CID>()

    /// Wraps `inner`, remembering at most `limit` blocks.
    public init(_ inner: BlockSink, limit: Int = DeduplicatingSink.maxBlocks) {
        self.inner = inner
        self.limit = limit
    }

    public func put(_ block: Block) throws {
        let cid = block.cid
        let inserted: Bool
        let digest = cid.multihash.digest
        if cid.multihash.code == Multihash.sha256Code, digest.count == 32 {
            var high: UInt64 = 0
            var low: UInt64 = 0
            for i in 0..<8 {
                high = high << 8 | UInt64(digest[i])
                low = low << 8 | UInt64(digest[8 + i])
            }
            inserted = seen.insert(Fingerprint(high: high ^ cid.codec, low: low)).inserted
        } else {
            inserted = others.insert(cid).inserted
        }
        guard inserted else { return }
        guard seen.count + others.count <= limit else {
            throw UnixFSError.limitExceeded("the input has more than \(limit) distinct blocks to deduplicate; use --no-dedupe")
        }
        try inner.put(block)
    }
}

/// Collects blocks in memory (small DAGs and tests).
public final class CollectingSink: BlockSink {
    /// Blocks in emission order.
    public private(set) var blocks: [Block] = []

    /// Creates an empty sink.
    public init() {}

    public func put(_ block: Block) throws { blocks.append(block) }
}
