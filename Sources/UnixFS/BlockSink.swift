import IPLD
import Multiformats

/// Receives the blocks of a DAG in emission order.
public protocol BlockSink: AnyObject {
    /// Takes the next block.
    func put(_ block: Block) throws
}

/// Drops blocks whose CID was already emitted (the JS client's default `dedupe`).
public final class DeduplicatingSink: BlockSink {
    let inner: BlockSink
    var seen = Set<CID>()

    /// Wraps `inner`.
    public init(_ inner: BlockSink) { self.inner = inner }

    public func put(_ block: Block) throws {
        guard seen.insert(block.cid).inserted else { return }
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
