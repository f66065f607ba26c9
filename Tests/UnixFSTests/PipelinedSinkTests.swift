import Foundation
import IPLD
import Multiformats
import Testing
@testable import UnixFS

/// Counts blocks; can be told to fail.
final class CountingSink: BlockSink, @unchecked Sendable {
    let lock = NSLock()
    var count = 0
    let failAfter: Int?
    init(failAfter: Int? = nil) { self.failAfter = failAfter }
    struct Failed: Error {}
    func put(_ block: Block) throws {
        try lock.withLock {
            if let failAfter, count >= failAfter { throw Failed() }
            count += 1
        }
    }
}

@Suite struct PipelinedSinkTests {
    @Test func deliversEveryBlockAndRethrowsTheFirstError() throws {
        let inner = CountingSink()
        let sink = PipelinedSink(inner, capacity: 4)
        for i in 0..<100 { try sink.put(Block(codec: CID.Codec.raw, bytes: Data("\(i)".utf8))) }
        try sink.close()
        #expect(inner.count == 100)
        let failing = PipelinedSink(CountingSink(failAfter: 3), capacity: 2)
        #expect(throws: CountingSink.Failed.self) {
            for i in 0..<100 { try failing.put(Block(codec: CID.Codec.raw, bytes: Data("\(i)".utf8))) }
            try failing.close()
        }
    }

    /// A sink dropped without `close()` (an import that threw) stops its thread, which releases the
    /// inner sink; the thread never touches the freed sink.
    @Test func droppingTheSinkStopsItsThread() async throws {
        weak var released: CountingSink?
        var queue: PipelinedSink.Queue?
        do {
            let inner = CountingSink()
            released = inner
            let sink = PipelinedSink(inner, capacity: 2)
            queue = sink.queue
            try sink.put(Block(codec: CID.Codec.raw, bytes: Data("a".utf8)))
        }
        func drained() -> Bool { queue.map { q in q.condition.withLock { q.finishedDraining } } ?? false }
        for _ in 0..<200 where !drained() { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(drained(), "the consumer thread ended")
        queue = nil
        for _ in 0..<200 where released != nil { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(released == nil, "and let go of the inner sink")
    }
}
