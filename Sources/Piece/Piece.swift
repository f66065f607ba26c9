import Foundation
import Multiformats

/// A Filecoin piece: the CommP root of a payload with its sizes, and its CIDs.
public struct Piece: Sendable, Hashable {
    /// The 32-byte tree root.
    public let root: [UInt8]
    /// Bytes of payload.
    public let payloadSize: UInt64
    /// The piece size: the fr32-padded payload rounded up to a power of two (at least 128).
    public let pieceSize: UInt64
    /// `log2(pieceSize / 32)`, the tree height.
    public let height: UInt8

    /// Multicodec of the v2 piece multihash, `fr32-sha2-256-trunc254-padded-binary-tree`.
    public static let multihashCode: UInt64 = 0x1011
    /// Multicodec of the v1 form's multihash, `sha2-256-trunc254-padded`.
    public static let v1MultihashCode: UInt64 = 0x1012
    /// Multicodec of the v1 form's CID, `fil-commitment-unsealed`.
    public static let v1Codec: UInt64 = 0xf101

    /// The payload size once zero-padded to the fr32 boundary (127 bytes per 128 of piece).
    public var paddedSize: UInt64 { pieceSize / 128 * 127 }
    /// Zero bytes added to reach `paddedSize`.
    public var padding: UInt64 { paddedSize - payloadSize }

    /// The v2 piece CID the JS client sends in `filecoin/offer` (`bafkzcib…`): raw codec, the 0x1011
    /// multihash whose digest is `varint(padding) ‖ height ‖ root`.
    public var cid: CID {
        CID(codec: CID.Codec.raw, multihash: Multihash(code: Piece.multihashCode, digest: Varint.encode(padding) + [height] + root))
    }

    /// The legacy v1 commitment CID (`baga6ea4sea…`).
    public var v1CID: CID { CID(codec: Piece.v1Codec, multihash: Multihash(code: Piece.v1MultihashCode, digest: root)) }

    /// The piece size for `payload` bytes.
    public static func pieceSize(payload: UInt64) -> UInt64 {
        let quads = (payload + 126) / 127
        let needed = max(128, quads * 128)
        return needed <= 1 << 63 ? (needed.nonzeroBitCount == 1 ? needed : 1 << (64 - (needed - 1).leadingZeroBitCount)) : 1 << 63
    }
}

extension Piece {
    /// Payload bytes per parallel part: 127 × 2^18 (33 MB), a whole subtree of height 20.
    static let partHeight = 20

    /// The piece of a file's bytes, read in 1 MiB pieces (blocking: call it off the cooperative pool).
    /// Files larger than one part are hashed as independent subtrees on `threads` threads, whose roots
    /// are then combined: the same tree, computed in parallel.
    public static func computed(fromFileAt url: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> Piece {
        try computed(fromFileAt: url, threads: threads, partHeight: partHeight)
    }

    static func computed(fromFileAt url: URL, threads: Int, partHeight: Int) throws -> Piece {
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        let part = UInt64(127) << UInt64(partHeight - 2)
        let parts = Int((size + part - 1) / part)
        guard parts > 1, threads > 1 else { return try hashRange(url, from: 0, count: size).finalize() }
        // One iteration per part; Dispatch runs as many at once as there are cores.
        let results = PartResults(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { index in
            do {
                let start = UInt64(index) * part
                results.set(index, try hashRange(url, from: start, count: min(part, size - start)).subtreeRoot(height: partHeight))
            } catch {
                results.fail(error)
            }
        }
        let roots = try results.roots()
        return PieceHasher.combine(roots, height: partHeight, count: size)
    }

    /// Subtree roots gathered from parallel work.
    final class PartResults: @unchecked Sendable {
        private let lock = NSLock()
        private var nodes: [Node?]
        private var failure: Error?

        init(count: Int) { nodes = [Node?](repeating: nil, count: count) }
        func set(_ index: Int, _ node: Node) { lock.withLock { nodes[index] = node } }
        func fail(_ error: Error) { lock.withLock { failure = failure ?? error } }
        func roots() throws -> [Node] {
            try lock.withLock {
                if let failure { throw failure }
                return nodes.compactMap { $0 }
            }
        }
    }

    static func hashRange(_ url: URL, from start: UInt64, count: UInt64) throws -> PieceHasher {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: start)
        var hasher = PieceHasher()
        var left = count
        while left > 0, let chunk = try handle.read(upToCount: Int(min(left, 1 << 20))), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update(buffer: $0) }
            left -= UInt64(chunk.count)
        }
        return hasher
    }
}
