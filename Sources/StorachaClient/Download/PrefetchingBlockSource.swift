import Foundation
import IPLD
import Multiformats

/// Fetches blocks from another source several at a time, in the order a depth-first reader will ask
/// for them (see ``BlockSource/prefetch(_:)``): up to `window` requests are in flight, and no more
/// than `window` fetched blocks wait to be read, so memory stays bounded whatever the DAG's size. The
/// last few blocks read are kept, so that a node read twice (described, then read) is fetched once.
public actor PrefetchingBlockSource: BlockSource {
    let base: any BlockSource
    let window: Int
    /// CIDs hinted and not started, the next one last.
    private var upcoming: [CID] = []
    /// Fetches started and not yet read.
    private var started: [CID: Task<Data, Error>] = [:]
    /// The blocks read last, the newest last.
    private var recent: [(CID, Data)] = []
    static let recentCount = 4

    /// Reads through `base` with up to `window` blocks in flight (at least one).
    public init(_ base: any BlockSource, window: Int = 16) {
        self.base = base
        self.window = max(1, window)
    }

    deinit {
        for task in started.values { task.cancel() }
    }

    public func prefetch(_ cids: [CID]) {
        upcoming.append(contentsOf: cids.reversed())
        fill()
    }

    public func block(_ cid: CID) async throws -> Data {
        if let hit = recent.last(where: { $0.0 == cid }) { return hit.1 }
        let task: Task<Data, Error>
        if let running = started.removeValue(forKey: cid) {
            task = running
        } else {
            // Asked for before its turn (or never hinted): drop the hint so that it is not fetched twice.
            if let at = upcoming.lastIndex(of: cid), at >= upcoming.count - window { upcoming.remove(at: at) }
            let base = self.base
            task = Task { try await base.block(cid) }
        }
        fill()
        let data = try await task.value
        recent.append((cid, data))
        if recent.count > PrefetchingBlockSource.recentCount { recent.removeFirst() }
        return data
    }

    private func fill() {
        while started.count < window, let next = upcoming.popLast() {
            guard started[next] == nil else { continue }
            let base = self.base
            started[next] = Task { try await base.block(next) }
        }
    }
}
