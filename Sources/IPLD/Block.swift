import Foundation
import Multiformats

/// A block: bytes and the CID that addresses them.
public struct Block: Sendable, Hashable {
    /// The block's CID.
    public let cid: CID
    /// The block's bytes.
    public let bytes: Data

    /// Pairs a CID with bytes (not verified; see ``verified(cid:bytes:)``).
    public init(cid: CID, bytes: Data) {
        self.cid = cid
        self.bytes = bytes
    }

    /// A CIDv1/sha2-256 block of `bytes` with `codec`.
    public init(codec: UInt64, bytes: Data) {
        self.cid = CID.sha256(codec: codec, bytes)
        self.bytes = bytes
    }

    /// A DAG-CBOR block of `value`.
    public init(dagCBOR value: IPLDValue) throws(DAGCBORError) {
        self.init(codec: DAGCBOR.code, bytes: Data(try DAGCBOR.encode(value)))
    }

    /// `true` when `bytes` hash to `cid`'s multihash.
    public var isValid: Bool { cid.multihash.verifies(bytes) }
}
