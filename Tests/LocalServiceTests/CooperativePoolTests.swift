import Foundation
import Testing
import TestSupport
import UnixFS

/// The longest pause a ticking task sees while `work` runs: a blocked cooperative pool shows as a long
/// pause, since the ticker cannot be scheduled.
func longestPause(during work: @escaping @Sendable () async throws -> Void) async throws -> TimeInterval {
    let ticker = Task { () -> TimeInterval in
        var last = Date()
        var longest: TimeInterval = 0
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 5_000_000)
            let now = Date()
            longest = max(longest, now.timeIntervalSince(last))
            last = now
        }
        return longest
    }
    try await work()
    ticker.cancel()
    return await ticker.value
}

@Suite(.serialized) struct CooperativePoolTests {
    /// As many uploads as there are cores pack, hash and store at once, and a ticking task on the
    /// cooperative pool still runs every few milliseconds: file work and packing happen on the blocking
    /// I/O pool, not on the threads that serve every other request.
    @Test func uploadsDoNotBlockTheCooperativePool() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let session = world.spaceSession
        let count = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let inputs = (0..<count).map { lcg(64 << 20, seed: UInt32(300 + $0)) }
        let pause = try await longestPause {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, data) in inputs.enumerated() {
                    group.addTask { _ = try await session.upload([ImportFile(name: "f\(i).bin", data: data)]) }
                }
                try await group.waitForAll()
            }
        }
        #expect(pause < 1.0, "the cooperative pool stalled for \(pause) s")
    }
}
