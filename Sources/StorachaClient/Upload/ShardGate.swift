import Foundation
import Multiformats

/// The hand-off between the packing thread and the shard uploads: the packer waits while `limit`
/// shards are packed but not yet stored, so that no more than that many sit on disk, and the first
/// failure on either side stops both with that error.
final class ShardGate: @unchecked Sendable {
    private let condition = NSCondition()
    private let limit: Int
    private var waiting = 0
    private var inFlight: [CID: Int] = [:]
    private var failure: Error?

    /// A gate letting `limit` shards through at once (at least one).
    init(limit: Int) { self.limit = max(1, limit) }

    /// Blocks the packing thread until `shard` may be handed over; throws the first failure instead.
    func enter(_ shard: CID) throws {
        condition.lock()
        defer { condition.unlock() }
        while waiting >= limit && failure == nil { condition.wait() }
        if let failure { throw failure }
        waiting += 1
        inFlight[shard, default: 0] += 1
    }

    /// A shard is stored; returns whether no other shard with the same bytes is still in flight (so its
    /// file may be deleted).
    func leave(_ shard: CID) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        waiting -= 1
        let left = (inFlight[shard] ?? 1) - 1
        inFlight[shard] = left > 0 ? left : nil
        condition.broadcast()
        return left == 0
    }

    /// Records the first failure and wakes the packer, whose next ``enter(_:)`` throws it.
    func fail(_ error: Error) {
        condition.lock()
        defer { condition.unlock() }
        if failure == nil { failure = error }
        condition.broadcast()
    }

    /// The first failure recorded, if any.
    var firstFailure: Error? {
        condition.lock()
        defer { condition.unlock() }
        return failure
    }
}
