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
    /// As many 256 MiB uploads as there are cores pack, hash and store at once, and a ticking task on the
    /// cooperative pool still runs every few milliseconds: file work and packing happen on the blocking
    /// I/O pool, not on the threads that serve every other request.
    ///
    /// Opt-in (`STORACHA_POOL_TEST=1 swift test --filter CooperativePoolTests`): it must run alone, since
    /// other suites' synchronous test bodies occupy the same pool while they run.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STORACHA_POOL_TEST"] == "1"))
    func uploadsDoNotBlockTheCooperativePool() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let session = world.spaceSession
        // One large upload per core: packing each takes long enough that a blocked pool would show.
        let count = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let chunk = lcg(1 << 20, seed: 300)
        let inputs = (0..<count).map { n in
            var data = Data(capacity: 256 << 20)
            for i in 0..<256 {
                var piece = chunk
                piece[0] = UInt8(truncatingIfNeeded: i)
                piece[1] = UInt8(truncatingIfNeeded: n)
                data.append(piece)
            }
            return data
        }
        let pause = try await longestPause {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, data) in inputs.enumerated() {
                    group.addTask { _ = try await session.upload([ImportFile(name: "f\(i).bin", data: data)]) }
                }
                try await group.waitForAll()
            }
        }
        #expect(pause < 0.3, "the cooperative pool stalled for \(pause) s")
    }
}
