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
    /// The piece of a file's bytes, read in 1 MiB pieces (blocking: call it off the cooperative pool).
    public static func computed(fromFileAt url: URL) throws -> Piece {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = PieceHasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update(buffer: $0) } }
        return hasher.finalize()
    }
}
