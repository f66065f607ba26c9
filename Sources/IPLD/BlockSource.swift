import Foundation
import Multiformats

/// Anything that can hand out blocks by CID: CAR files now, a gateway or the local store later.
/// Implementations must return only bytes that hash to the requested CID.
public protocol BlockSource: Sendable {
    /// The verified bytes of `cid`; throws when the block is unavailable or does not verify.
    func block(_ cid: CID) async throws -> Data
}
