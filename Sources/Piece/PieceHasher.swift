import Crypto
import Multiformats

/// The Filecoin piece commitment (CommP) of a byte stream, computed as the bytes arrive: the payload
/// is zero-padded, fr32-padded (254 data bits in every 32-byte node) and hashed into a binary
/// SHA-256 tree whose nodes are truncated to 254 bits (`sha2-256-trunc254-padded`). Memory is one
/// pending node per tree level, whatever the size.
public struct PieceHasher: Sendable {
    /// Bytes of payload taken so far.
    public private(set) var count: UInt64 = 0
    /// Payload bytes waiting for a full 127-byte fr32 quad.
    private var pending: [UInt8] = []
    /// A left node waiting for its right sibling, per level.
    private var levels: [[UInt8]?] = []
    /// Leaves (32-byte nodes) added.
    private var leaves: UInt64 = 0

    /// Bytes of payload in one fr32 quad (four 32-byte nodes).
    static let quadInput = 127

    /// A fresh hasher.
    public init() {
        pending.reserveCapacity(PieceHasher.quadInput)
    }

    /// Takes more payload.
    public mutating func update(_ bytes: some Collection<UInt8>) {
        count += UInt64(bytes.count)
        var rest = bytes[...]
        if !pending.isEmpty {
            let take = min(PieceHasher.quadInput - pending.count, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard pending.count == PieceHasher.quadInput else { return }
            let quad = pending
            pending.removeAll(keepingCapacity: true)
            addQuad(quad[...])
        }
        var quad = [UInt8](repeating: 0, count: PieceHasher.quadInput)
        while rest.count >= PieceHasher.quadInput {
            var i = 0
            for b in rest.prefix(PieceHasher.quadInput) { quad[i] = b; i += 1 }
            addQuad(quad[...])
            rest = rest.dropFirst(PieceHasher.quadInput)
        }
        pending.append(contentsOf: rest)
    }

    /// The piece: its root, sizes and CIDs. The hasher may be used again after `reset`.
    public func finalize() -> Piece {
        var copy = self
        if !copy.pending.isEmpty {
            var quad = copy.pending
            quad.append(contentsOf: [UInt8](repeating: 0, count: PieceHasher.quadInput - quad.count))
            copy.pending = []
            copy.addQuad(quad[...])
        }
        let size = Piece.pieceSize(payload: count)
        let height = size.trailingZeroBitCount - 5
        return Piece(root: copy.root(height: height), payloadSize: count, pieceSize: size, height: UInt8(height))
    }

    private mutating func addQuad(_ quad: ArraySlice<UInt8>) {
        let out = Fr32.pad(quad)
        for n in 0..<4 { addLeaf(Array(out[(n * 32)..<(n * 32 + 32)])) }
    }

    private mutating func addLeaf(_ leaf: [UInt8]) {
        leaves += 1
        var carry = leaf
        var level = 0
        while level < levels.count, let left = levels[level] {
            carry = PieceHasher.node(left, carry)
            levels[level] = nil
            level += 1
        }
        if level == levels.count { levels.append(carry) } else { levels[level] = carry }
    }

    private func root(height: Int) -> [UInt8] {
        if leaves == 0 { return PieceHasher.zeroNodes[height] }
        var acc: [UInt8]?
        for k in 0..<height {
            let left = k < levels.count ? levels[k] : nil
            if let left {
                acc = PieceHasher.node(left, acc ?? PieceHasher.zeroNodes[k])
            } else if let a = acc {
                acc = PieceHasher.node(a, PieceHasher.zeroNodes[k])
            }
        }
        if height < levels.count, let full = levels[height] { return full }
        return acc ?? PieceHasher.zeroNodes[height]
    }

    /// `sha256(left ‖ right)` with the two top bits of the last byte cleared.
    static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: left)
        h.update(data: right)
        var out = Array(h.finalize())
        out[31] &= 0x3f
        return out
    }

    /// Roots of all-zero subtrees by height (height 0 = one zero node), up to 2^64-byte pieces.
    static let zeroNodes: [[UInt8]] = {
        var nodes = [[UInt8](repeating: 0, count: 32)]
        for _ in 0..<60 { nodes.append(node(nodes[nodes.count - 1], nodes[nodes.count - 1])) }
        return nodes
    }()
}

/// fr32 padding: 127 bytes of payload become four 32-byte nodes whose two top bits are zero.
enum Fr32 {
    static func pad(_ q: ArraySlice<UInt8>) -> [UInt8] {
        let s = Array(q)
        var out = [UInt8](repeating: 0, count: 128)
        for i in 0..<32 { out[i] = s[i] }
        out[31] &= 0x3f
        for i in 32..<64 { out[i] = s[i] << 2 | s[i - 1] >> 6 }
        out[63] &= 0x3f
        for i in 64..<96 { out[i] = s[i] << 4 | s[i - 1] >> 4 }
        out[95] &= 0x3f
        for i in 96..<127 { out[i] = s[i] << 6 | s[i - 1] >> 2 }
        out[127] = s[126] >> 2
        return out
    }
}
