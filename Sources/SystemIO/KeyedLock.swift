import Foundation

/// Mutual exclusion per key across async tasks: work on one key (a blob digest: its acceptance into a space,
/// its removal and the deletion of its file) runs one at a time, while other keys proceed in parallel.
public actor KeyedLock<Key: Hashable & Sendable> {
    private var held = Set<Key>()
    private var waiters: [Key: [CheckedContinuation<Void, Never>]] = [:]

    /// An unlocked set of keys.
    public init() {}

    /// Runs `body` holding the lock for `key`.
    public func withLock<T: Sendable>(_ key: Key, _ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire(key)
        do {
            let value = try await body()
            release(key)
            return value
        } catch {
            release(key)
            throw error
        }
    }

    private func acquire(_ key: Key) async {
        guard held.contains(key) else {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    private func release(_ key: Key) {
        // The lock passes straight to the next waiter, if any, so nobody can barge in between.
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            held.remove(key)
        }
    }
}
