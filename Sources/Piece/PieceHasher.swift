import Crypto
import Multiformats

/// The Filecoin piece commitment (CommP) of a byte stream, computed as the bytes arrive: the payload
/// is zero-padded, fr32-padded (254 data bits in every 32-byte node) and hashed into a binary
/// SHA-256 tree whose nodes are truncated to 254 bits (`sha2-256-trunc254-padded`). Memory is one
/// pending node per tree level, whatever the size; no allocation happens per node.
public struct PieceHasher: Sendable {
    /// Bytes of payload taken so far.
    public private(set) var count: UInt64 = 0
    /// Payload bytes waiting for a full 127-byte fr32 quad (`pendingCount` of them are valid).
    private var pending = [UInt8](repeating: 0, count: PieceHasher.quadInput)
    private var pendingCount = 0
    /// A left node waiting for its right sibling, per level.
    private var levels: [Node?] = []
    /// Leaves (32-byte nodes) added.
    private var leaves: UInt64 = 0

    /// Bytes of payload in one fr32 quad (four 32-byte nodes).
    static let quadInput = 127

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
            for i in 0..<take { pending[pendingCount + i] = buffer[i] }
            pendingCount += take
            offset = take
            guard pendingCount == PieceHasher.quadInput else { return }
            let quad = pending
            quad.withUnsafeBytes { addQuad($0) }
            pendingCount = 0
        }
        while buffer.count - offset >= PieceHasher.quadInput {
            addQuad(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + PieceHasher.quadInput)]))
            offset += PieceHasher.quadInput
        }
        for i in offset..<buffer.count { pending[pendingCount] = buffer[i]; pendingCount += 1 }
    }

    /// The piece: its root, sizes and CIDs.
    public func finalize() -> Piece {
        var copy = self
        if copy.pendingCount > 0 {
            var quad = copy.pending
            for i in copy.pendingCount..<PieceHasher.quadInput { quad[i] = 0 }
            quad.withUnsafeBytes { copy.addQuad($0) }
            copy.pendingCount = 0
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
        for root in roots { top.addLeaf(root) }
        let size = Piece.pieceSize(payload: count)
        let total = size.trailingZeroBitCount - 5
        let node = top.root(height: total - height, zeroOffset: height)
        return Piece(root: node.bytes, payloadSize: count, pieceSize: size, height: UInt8(total))
    }

    private mutating func addQuad(_ quad: UnsafeRawBufferPointer) {
        let nodes = Fr32.pad(quad)
        addLeaf(nodes.0)
        addLeaf(nodes.1)
        addLeaf(nodes.2)
        addLeaf(nodes.3)
    }

    private mutating func addLeaf(_ leaf: Node) {
        leaves += 1
        var carry = leaf
        var level = 0
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

/// One 32-byte tree node, kept inline (no heap allocation).
struct Node: Sendable {
    var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }

    init() {}

    init(bytes: [UInt8]) {
        withUnsafeMutableBytes(of: &storage) { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
    }

    /// `sha256(left ‖ right)` with the two top bits of the last byte cleared.
    static func hash(_ left: Node, _ right: Node) -> Node {
        var pair = (left.storage, right.storage)
        let digest = withUnsafeBytes(of: &pair) { SHA256.hash(data: $0) }
        var out = Node()
        withUnsafeMutableBytes(of: &out.storage) { target in
            digest.withUnsafeBytes { target.copyMemory(from: $0) }
            target[31] &= 0x3f
        }
        return out
    }

    /// Roots of all-zero subtrees by height (height 0 = one zero node), up to 2^64-byte pieces.
    static let zeros: [Node] = {
        var nodes = [Node()]
        for _ in 0..<60 { nodes.append(hash(nodes[nodes.count - 1], nodes[nodes.count - 1])) }
        return nodes
    }()
}

/// fr32 padding: 127 bytes of payload become four 32-byte nodes whose two top bits are zero.
enum Fr32 {
    static func pad(_ s: UnsafeRawBufferPointer) -> (Node, Node, Node, Node) {
        var out = (Node(), Node(), Node(), Node())
        withUnsafeMutableBytes(of: &out) { o in
            for i in 0..<32 { o[i] = s[i] }
            o[31] &= 0x3f
            for i in 32..<64 { o[i] = s[i] << 2 | s[i - 1] >> 6 }
            o[63] &= 0x3f
            for i in 64..<96 { o[i] = s[i] << 4 | s[i - 1] >> 4 }
            o[95] &= 0x3f
            for i in 96..<127 { o[i] = s[i] << 6 | s[i - 1] >> 2 }
            o[127] = s[126] >> 2
        }
        return out
    }
}
