import Foundation
import IPLD

/// Hands blocks to `inner` on a second thread through a bounded queue, so that hashing leaves
/// (producer) and writing/hashing shards (consumer) use two cores. Memory is bounded by `capacity`
/// blocks in flight.
public final class PipelinedSink: BlockSink, @unchecked Sendable {
    let inner: BlockSink
    let capacity: Int
    let condition = NSCondition()
    var queue: [Block] = []
    var closed = false
    var failure: Error?
    var finishedDraining = false
    var thread: Thread?

    /// Starts the consumer thread.
    public init(_ inner: BlockSink, capacity: Int = 8) {
        self.inner = inner
        self.capacity = capacity
        let t = Thread { [unowned self] in self.drain() }
        t.name = "storacha.car-writer"
        t.stackSize = 1 << 20
        thread = t
        t.start()
    }

    public func put(_ block: Block) throws {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= capacity && failure == nil { condition.wait() }
        if let failure { throw failure }
        queue.append(block)
        condition.broadcast()
    }

    func drain() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                finishedDraining = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let block = queue.removeFirst()  // at most `capacity` elements: cheap, and nothing is retained
            condition.broadcast()
            let failed = failure != nil
            condition.unlock()
            if failed { continue }
            do { try inner.put(block) } catch {
                condition.lock()
                failure = error
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Waits until every queued block reached `inner`; rethrows the consumer's first error.
    public func close() throws {
        condition.lock()
        closed = true
        condition.broadcast()
        while !finishedDraining { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
    }
}
