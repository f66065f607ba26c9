/// Group commit: work submitted concurrently runs in batches. While one batch runs, later submissions
/// queue and then run together as the next, so that one costly step (an fsync, a database transaction)
/// serves every caller that arrived meanwhile. Each caller gets its own result or error.
public actor BatchedWork<Input: Sendable, Output: Sendable> {
    /// Runs one batch; returns one result per input, in order.
    public typealias Operation = @Sendable ([Input]) async -> [Result<Output, any Error>]

    private let operation: Operation
    private let maxBatch: Int
    private var queued: [(input: Input, continuation: CheckedContinuation<Output, any Error>)] = []
    private var running = false

    /// Batches of at most `maxBatch` inputs for `operation`.
    public init(maxBatch: Int = 256, _ operation: @escaping Operation) {
        self.operation = operation
        self.maxBatch = max(1, maxBatch)
    }

    /// Runs `input` in the next batch and returns its result.
    public func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            queued.append((input, continuation))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = Array(queued.prefix(maxBatch))
            queued.removeFirst(batch.count)
            var results = await operation(batch.map(\.input))
            if results.count != batch.count {
                results = Array(repeating: .failure(BatchedWorkError()), count: batch.count)
            }
            for (item, result) in zip(batch, results) { item.continuation.resume(with: result) }
        }
        running = false
    }
}

/// A batch operation returned a different number of results than it was given inputs.
public struct BatchedWorkError: Error, CustomStringConvertible {
    public var description: String { "internal error: a batch returned the wrong number of results" }
}
