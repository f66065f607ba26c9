import Foundation
import Multiformats

/// Anything that can hand out blocks by CID: CAR files, a gateway, the local store.
/// Implementations must return only bytes that hash to the requested CID.
public protocol BlockSource: Sendable {
    /// The verified bytes of `cid`; throws when the block is unavailable or does not verify.
    func block(_ cid: CID) async throws -> Data

    /// A hint that `cids` will be asked for next, in this order, before anything asked for earlier and
    /// not yet fetched (readers walk DAGs depth first). Sources that fetch in parallel start on them;
    /// the default does nothing.
    func prefetch(_ cids: [CID]) async
}

extension BlockSource {
    public func prefetch(_ cids: [CID]) async {}
}
