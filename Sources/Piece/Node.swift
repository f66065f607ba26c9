internal import CPieceTree

/// One 32-byte tree node, kept inline (no heap allocation).
struct Node: Sendable, Equatable {
    var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }

    init() {}

    init(bytes: [UInt8]) {
        withUnsafeMutableBytes(of: &storage) { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
    }

    init(_ raw: UnsafeRawBufferPointer) {
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<32])) }
    }

    static func == (a: Node, b: Node) -> Bool { a.storage == b.storage }

    /// `sha256(left ‖ right)` with the two top bits of the last byte cleared.
    static func hash(_ left: Node, _ right: Node) -> Node {
        var pair = (left.storage, right.storage)
        var out = Node()
        withUnsafeBytes(of: &pair) { input in
            withUnsafeMutableBytes(of: &out.storage) { NodeHash.pairs(input, into: $0, count: 1) }
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

/// The node hash over many 64-byte messages at once: the x86 SHA extensions when the CPU has them (two
/// messages at a time), portable C otherwise. Both give the bytes of `SHA-256` with byte 31 truncated.
enum NodeHash {
    /// Whether the hardware kernel is used on this CPU.
    static let hardware = piece_tree_has_sha_extensions() != 0

    /// Hashes `count` 64-byte messages of `input` into `count` 32-byte nodes of `output` (which may be
    /// `input`: a level is reduced in place).
    static func pairs(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, count: Int,
                      hardware: Bool = NodeHash.hardware) {
        precondition(input.count >= 64 * count && output.count >= 32 * count)
        guard count > 0, let source = input.baseAddress, let target = output.baseAddress else { return }
        let from = source.assumingMemoryBound(to: UInt8.self)
        let to = target.assumingMemoryBound(to: UInt8.self)
        if hardware {
            piece_tree_hash_pairs_hardware(from, to, count)
        } else {
            piece_tree_hash_pairs_portable(from, to, count)
        }
    }
}

/// fr32 padding: 127 bytes of payload become four 32-byte leaves whose two top bits are zero.
enum Fr32 {
    /// Pads `quads` groups of 127 bytes from `input` into `quads` groups of 128 bytes in `output`.
    static func pad(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, quads: Int) {
        precondition(input.count >= 127 * quads && output.count >= 128 * quads)
        guard quads > 0, let source = input.baseAddress, let target = output.baseAddress else { return }
        piece_tree_fr32_pad(source.assumingMemoryBound(to: UInt8.self), target.assumingMemoryBound(to: UInt8.self), quads)
    }
}
