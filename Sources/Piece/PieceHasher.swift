import Multiformats

/// The Filecoin piece commitment (CommP) of a byte stream, computed as the bytes arrive: the payload
/// is zero-padded, fr32-padded (254 data bits in every 32-byte node) and hashed into a binary
/// SHA-256 tree whose nodes are truncated to 254 bits (`sha2-256-trunc254-padded`).
///
/// Leaves are gathered in a batch of 4,096 (128 KiB), which is reduced level by level in place to one
/// node of height 12; above that, one pending node per level. Memory is the same whatever the size.
public struct PieceHasher: Sendable {
    /// Bytes of payload taken so far.
    public private(set) var count: UInt64 = 0
    /// Payload bytes waiting for a full 127-byte fr32 quad (`pendingCount` of them are valid).
    private var pending = [UInt8](repeating: 0, count: PieceHasher.quadInput)
    private var pendingCount = 0
    /// Padded leaves not yet reduced (`batchLeaves` of them).
    private var batch = [UInt8](repeating: 0, count: 32 << PieceHasher.batchHeight)
    private var batchLeaves = 0
    /// A left node waiting for its right sibling, per level.
    private var levels: [Node?] = []
    /// Leaves (32-byte nodes) added to `levels`.
    private var leaves: UInt64 = 0

    /// Bytes of payload in one fr32 quad (four 32-byte nodes).
    static let quadInput = 127
    /// The height of the subtree one full batch reduces to.
    static let batchHeight = 12

    /// A fresh hasher.
    public init() {}

    /// Takes more payload.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(buffer: UnsafeRawBufferPointer($0)) }) { return done }
        let array = Array(bytes)
        array.withUnsafeBytes { update(buffer: $0) }
    }

    /// Takes more payload from raw memory.
    public mutating func update(buffer: UnsafeRawBufferPointer) {
        count += UInt64(buffer.count)
        var offset = 0
        if pendingCount > 0 {
            let take = min(PieceHasher.quadInput - pendingCount, buffer.count)
            let at = pendingCount
            pending.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[at..<(at + take)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<take]))
            }
            pendingCount += take
            offset = take
            guard pendingCount == PieceHasher.quadInput else { return }
            let quad = pending
            quad.withUnsafeBytes { addQuads($0, quads: 1) }
            pendingCount = 0
        }
        let quads = (buffer.count - offset) / PieceHasher.quadInput
        if quads > 0 {
            addQuads(UnsafeRawBufferPointer(rebasing: buffer[offset...]), quads: quads)
            offset += quads * PieceHasher.quadInput
        }
        let rest = buffer.count - offset
        if rest > 0 {
            let from = offset
            pending.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[0..<rest]).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[from...]))
            }
            pendingCount = rest
        }
    }

    /// The piece: its root, sizes and CIDs.
    public func finalize() -> Piece {
        var copy = self
        if copy.pendingCount > 0 {
            var quad = copy.pending
            for i in copy.pendingCount..<PieceHasher.quadInput { quad[i] = 0 }
            quad.withUnsafeBytes { copy.addQuads($0, quads: 1) }
            copy.pendingCount = 0
        }
        let rest = copy.batch
        rest.withUnsafeBytes { leaves in
            for i in 0..<copy.batchLeaves { copy.add(Node(UnsafeRawBufferPointer(rebasing: leaves[(32 * i)...])), level: 0) }
        }
        let size = Piece.pieceSize(payload: count)
        let height = size.trailingZeroBitCount - 5
        return Piece(root: copy.root(height: height).bytes, payloadSize: count, pieceSize: size, height: UInt8(height))
    }

    /// The root of this payload's tree lifted to `height` (the payload must fit in a subtree of
    /// that height): the right side of the subtree is zeros.
    func subtreeRoot(height: Int) -> Node {
        let piece = finalize()
        var node = Node(bytes: piece.root)
        for level in Int(piece.height)..<height { node = Node.hash(node, Node.zeros[level]) }
        return node
    }

    /// The piece of `count` payload bytes whose consecutive subtrees of height `height` have the
    /// given roots (all full but the last, which is lifted with ``subtreeRoot(height:)``).
    static func combine(_ roots: [Node], height: Int, count: UInt64) -> Piece {
        var top = PieceHasher()
        for root in roots { top.add(root, level: 0) }
        let size = Piece.pieceSize(payload: count)
        let total = size.trailingZeroBitCount - 5
        let node = top.root(height: total - height, zeroOffset: height)
        return Piece(root: node.bytes, payloadSize: count, pieceSize: size, height: UInt8(total))
    }

    /// fr32-pads whole quads into the batch, reducing it each time it fills.
    private mutating func addQuads(_ input: UnsafeRawBufferPointer, quads: Int) {
        let capacity = 1 << PieceHasher.batchHeight
        var done = 0
        while done < quads {
            let take = min(quads - done, (capacity - batchLeaves) / 4)
            let source = UnsafeRawBufferPointer(rebasing: input[(done * PieceHasher.quadInput)...])
            let at = batchLeaves
            batch.withUnsafeMutableBytes { Fr32.pad(source, into: UnsafeMutableRawBufferPointer(rebasing: $0[(32 * at)...]), quads: take) }
            batchLeaves += 4 * take
            done += take
            if batchLeaves == capacity { reduceBatch() }
        }
    }

    /// Reduces a full batch in place to its subtree root, which joins the tree at the batch height.
    private mutating func reduceBatch() {
        let root: Node = batch.withUnsafeMutableBytes { nodes in
            var width = 1 << PieceHasher.batchHeight
            while width > 1 {
                width /= 2
                NodeHash.pairs(UnsafeRawBufferPointer(nodes), into: nodes, count: width)
            }
            return Node(UnsafeRawBufferPointer(nodes))
        }
        batchLeaves = 0
        add(root, level: PieceHasher.batchHeight)
    }

    /// Adds a node whose subtree holds `2^level` leaves; every level below it must be empty.
    private mutating func add(_ node: Node, level start: Int) {
        leaves += 1 << UInt64(start)
        while levels.count < start { levels.append(nil) }
        var carry = node
        var level = start
        while level < levels.count, let left = levels[level] {
            carry = Node.hash(left, carry)
            levels[level] = nil
            level += 1
        }
        if level == levels.count { levels.append(carry) } else { levels[level] = carry }
    }

    private func root(height: Int, zeroOffset z: Int = 0) -> Node {
        if leaves == 0 { return Node.zeros[height + z] }
        var acc: Node?
        for k in 0..<height {
            let left = k < levels.count ? levels[k] : nil
            if let left {
                acc = Node.hash(left, acc ?? Node.zeros[k + z])
            } else if let a = acc {
                acc = Node.hash(a, Node.zeros[k + z])
            }
        }
        if height < levels.count, let full = levels[height] { return full }
        return acc ?? Node.zeros[height + z]
    }
}
