import Foundation
import IPLD

/// Hands blocks to `inner` on a second thread through a bounded queue, so that hashing leaves
/// (producer) and writing/hashing shards (consumer) use two cores. Memory is bounded by `capacity`
/// blocks in flight.
///
/// The consumer thread holds only the shared queue, never the sink itself; dropping the sink without
/// ``close()`` stops the thread.
public final class PipelinedSink: BlockSink, @unchecked Sendable {
    /// What the producer and the consumer thread share, behind one condition variable.
    final class Queue: @unchecked Sendable {
        let inner: BlockSink
        let capacity: Int
        let condition = NSCondition()
        var blocks: [Block] = []
        var closed = false
        var failure: Error?
        var finishedDraining = false

        init(inner: BlockSink, capacity: Int) {
            self.inner = inner
            self.capacity = capacity
        }

        func drain() {
            while true {
                condition.lock()
                while blocks.isEmpty && !closed { condition.wait() }
                if blocks.isEmpty && closed {
                    finishedDraining = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                let block = blocks.removeFirst()  // at most `capacity` elements: cheap, and nothing is retained
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

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }

    let queue: Queue

    /// Starts the consumer thread.
    public init(_ inner: BlockSink, capacity: Int = 8) {
        let queue = Queue(inner: inner, capacity: capacity)
        self.queue = queue
        let thread = Thread { queue.drain() }
        thread.name = "storacha.car-writer"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit { queue.close() }

    public func put(_ block: Block) throws {
        let q = queue
        q.condition.lock()
        defer { q.condition.unlock() }
        while q.blocks.count >= q.capacity && q.failure == nil { q.condition.wait() }
        if let failure = q.failure { throw failure }
        q.blocks.append(block)
        q.condition.broadcast()
    }

    /// Waits until every queued block reached `inner`; rethrows the consumer's first error.
    public func close() throws {
        let q = queue
        q.close()
        q.condition.lock()
        while !q.finishedDraining { q.condition.wait() }
        let failure = q.failure
        q.condition.unlock()
        if let failure { throw failure }
    }
}
